// Holds the live model and replaces it without dropping requests (hot reload).
//
// A load goes: verify the bundle's files (registry/bundle_check.h) -> build the Predictor through
// the factory -> probe (finite outputs of the right shapes on a probe input, check_output) -> warm
// (a few predicts at batch 1 and at the max batch) -> swap the shared_ptr. A request holds the
// shared_ptr of the model it was validated against until its batch ran, so requests in flight
// finish on the old model and the old one is freed after the last of them. Any failure before the
// swap leaves the old model serving.
//
// The source is either a registry (its `current` pointer is followed: polled, or on admin reload)
// or one fixed bundle directory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "registry/model_registry.h"
#include "serve/metrics.h"
#include "serve/predictor.h"

namespace spikecast::serve {

struct LoadedModel {
  std::shared_ptr<Predictor> predictor;
  ModelInfo info;          // a copy of predictor->info()
  std::string version;     // registry version, or "<dir name>@<sha8>" for a fixed bundle
  std::string bundle_dir;
  std::string loaded_at;   // UTC, ISO 8601
};

struct ModelHostOptions {
  std::string registry_root;  // follow this registry's `current`...
  std::string bundle_dir;     // ...or serve this one bundle (exactly one of the two)
  int64_t warmup_windows = 32;  // the largest warm-up batch (the server passes its max batch)
  int warmup_runs = 2;          // predicts per warm-up batch size
  std::function<void(const std::string&)> log;  // one line per event; stderr when empty
};

class ModelHost {
 public:
  ModelHost(ModelHostOptions options, PredictorFactory factory, Metrics* metrics);
  ~ModelHost();  // stops the watcher

  // The live model, or nullptr before the first successful load.
  std::shared_ptr<const LoadedModel> current() const;
  bool ready() const { return current() != nullptr; }
  // nullptr when serving a fixed bundle.
  ModelRegistry* registry() { return registry_ ? &*registry_ : nullptr; }

  // Loads the source's model: the fixed bundle, or the registry's current version. Returns false
  // (and stays unready) when the registry has no current version yet. ModelError when the bundle
  // is refused; the live model (if any) keeps serving.
  bool load_current();
  // Registry only (ModelError otherwise). Each loads and warms the target first and changes the
  // registry's pointer only once the model is ready, then swaps; on failure nothing changes.
  std::shared_ptr<const LoadedModel> promote(const std::string& version);
  std::shared_ptr<const LoadedModel> rollback();

  // Builds a ready-to-serve model without making it live (verify, factory, probe, warm-up).
  std::shared_ptr<const LoadedModel> prepare(const std::string& version, const std::string& bundle_dir);
  void activate(std::shared_ptr<const LoadedModel> model);

  // Follows the registry's `current` every `interval_ms` on a background thread (registry only).
  // A version that failed to load is not retried until `current` changes again.
  void start_watching(int64_t interval_ms);
  void stop_watching();
  // One poll, as the watcher does (exposed for tests). Returns true when a new model went live.
  bool poll();

 private:
  void log(const std::string& line) const;
  std::string fixed_version() const;

  ModelHostOptions options_;
  PredictorFactory factory_;
  Metrics* metrics_;
  std::optional<ModelRegistry> registry_;

  mutable std::mutex live_mu_;
  std::shared_ptr<const LoadedModel> live_;
  std::mutex load_mu_;            // one load (prepare + pointer change + swap) at a time
  std::string failed_version_;    // last registry version refused by the watcher

  std::thread watcher_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
};

}  // namespace spikecast::serve
