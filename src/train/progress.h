// Training progress: a one-line bar on a terminal (model, epoch, step, loss, samples/s, ETA),
// JSON lines otherwise (one object per epoch end and per stage), so logs stay machine-readable.
// Thread-safe: members training side by side report through one Progress.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace spikecast::train {

struct EpochRecord {
  std::string model;
  int64_t epoch = 0;       // 1-based
  double train_loss = 0;   // mean over the epoch's micro-batches
  double val_loss = 0;     // mean over every validation window
  double lr = 0;
  double seconds = 0;
  double samples_per_s = 0;
  bool improved = false;
};

class Progress {
 public:
  enum class Mode { kAuto, kBar, kJson, kQuiet };
  explicit Progress(Mode mode = Mode::kAuto, std::FILE* out = stderr);

  // Within an epoch: called after each optimizer step (the bar is redrawn at most 10 times a second).
  void step(const std::string& model, int64_t epoch, int64_t epochs, int64_t step, int64_t steps,
            double loss, double samples_per_s, double eta_s);
  void epoch_end(const EpochRecord& r);
  // A free-form event: {"event": name, "message": text}.
  void event(const std::string& name, const std::string& message);

  bool is_bar() const { return mode_ == Mode::kBar; }

 private:
  Mode mode_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::mutex mutex_;
};

}  // namespace spikecast::train
