// Trains one model (an ensemble member) on windows of a DeviceData: AdamW, warm-up + cosine or
// plateau decay, gradient clipping, accumulation over micro-batches, bf16/fp16 autocast on CUDA,
// early stopping on the validation loss with the best weights restored, a checkpoint each epoch
// and resume, and a deadline that ends training gracefully.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "models/forecaster.h"
#include "tensor/context.h"
#include "train/device_data.h"
#include "train/progress.h"

namespace spikecast::train {

// A wall-clock limit shared by everything in one run.
class Deadline {
 public:
  Deadline() = default;  // none
  explicit Deadline(double seconds);
  bool expired() const;
  bool active() const { return active_; }
  double remaining_s() const;

 private:
  bool active_ = false;
  std::chrono::steady_clock::time_point end_{};
};

struct MemberResult {
  std::string model;
  std::vector<EpochRecord> history;
  double best_val_loss = 0;   // MSE on the scaled target over every validation window
  int64_t best_epoch = 0;     // 1-based; 0 when the model has nothing to train
  int64_t epochs_run = 0;
  bool stopped_early = false;      // patience ran out
  bool stopped_by_deadline = false;
  bool resumed = false;            // continued from a checkpoint
  double seconds = 0;
};

struct TrainHooks {
  // Called after each epoch's checkpoint is on disk (tests use it to simulate a kill).
  std::function<void(const std::string& model, int64_t epoch)> after_checkpoint;
};

// Trains `model` in place and leaves it holding its best weights. `checkpoint_path` empty: no
// checkpoints. An existing checkpoint at that path is resumed.
MemberResult train_member(models::ForecasterImpl& model, const DeviceData& data,
                          const std::vector<int64_t>& train_windows, const std::vector<int64_t>& val_windows,
                          const TrainConfig& config, const Context& ctx, Progress& progress,
                          const std::string& checkpoint_path = "", const Deadline& deadline = Deadline(),
                          const TrainHooks& hooks = TrainHooks());

// Mean squared error of the value forecast over `windows` (scaled target), in eval mode.
double validation_mse(models::ForecasterImpl& model, const DeviceData& data,
                      const std::vector<int64_t>& windows, const Context& ctx, int64_t batch_size = 1024);

// Clips the global gradient norm to max_norm without a host synchronisation (no device-to-host
// read: clip_grad_norm_ returns a double, which would stall the GPU every step).
void clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);

// Whether every parameter has a gradient (a parameter the loss did not reach has none).
bool all_have_gradients(const std::vector<torch::Tensor>& params);

// Per-window loss of one batch: MSE or Huber on values, plus weighted BCE for a spike head.
torch::Tensor batch_loss(const models::ForecastOutput& out, const WindowBatch& batch, const TrainConfig& config,
                         double spike_pos_weight);

}  // namespace spikecast::train
