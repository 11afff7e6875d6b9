// The daily cycle in one call: the store's rows, the registry's champion, a challenger (warm start
// from the champion, or a full retrain), both scored on the newest held-out slice with the
// `evaluate` protocol, and a promotion only when the challenger is better by a margin. New rows
// that fail the refusal rules (store/data_screen.h) stop the run before any training; the live
// model is never touched then. Every run writes a JSON report (docs/retraining.md).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "core/config.h"
#include "models/forecaster.h"
#include "store/data_screen.h"
#include "tensor/context.h"
#include "train/progress.h"

namespace spikecast::retrain {

enum class RetrainMode { kWarm, kFull };
// kKeep: the challenger reads data with the champion's scaler (its weights stay meaningful).
// kRefit: a scaler fitted on the retrain's training rows (full retrains always refit).
enum class ScalerPolicy { kKeep, kRefit };

struct RetrainHooks {
  // Warm start: the challenger just built from the champion's bundle, before any training step.
  std::function<void(models::ForecasterImpl& challenger)> before_training;
  // After the challenger was added to the registry, before `current` is switched.
  std::function<void(const std::string& version)> before_promote;
};

struct RetrainOptions {
  std::string store_dir;
  std::string registry_dir;
  std::string reports_dir;  // empty: <store_dir>/reports
  std::string work_dir;     // the challenger's bundle and checkpoints; empty: <store_dir>/.retrain-work
  RetrainMode mode = RetrainMode::kWarm;
  ScalerPolicy scaler = ScalerPolicy::kKeep;
  int64_t holdout_rows = 168;     // newest rows both models are scored on (one week of hourly rows)
  int64_t val_rows = 168;         // rows before them for early stopping / the gate
  int64_t replay_windows = 4096;  // older training windows sampled into a warm start
  int64_t warm_epochs = 3;        // epochs of a warm start (early stopping on val keeps the best)
  double warm_lr = 3e-4;          // its peak learning rate (no warm-up)
  double margin = 0.005;          // promote when MSE(challenger) < (1 - margin) * MSE(champion)
  // When the data has grown enough for members of train.join to join (docs/models.md) and the
  // champion lacks them, a warm start runs as a full retrain, which trains them; with this set it
  // stays warm and the report only names them (members_to_join).
  bool keep_members = false;
  store::ScreenOptions screen;
  int psi_bins = 10;
  RetrainHooks hooks;

  void validate() const;  // ConfigError naming the field
};

struct RetrainOutcome {
  std::string decision;  // "promoted", "kept", "refused" or "skipped"
  std::string reason;    // one line
  std::string champion;  // version ("" when the registry had none)
  std::string challenger;  // registry version of the challenger ("" unless promoted)
  std::string report_path;
  nlohmann::json report;
};

// `config`: the training settings (members, epochs, batch size, device, time budget); with a
// champion, its data settings (window, spikes) replace config's. DataError for refused data is
// not thrown: it becomes decision "refused" (with the report written). Other errors throw.
RetrainOutcome run_retrain(const RetrainOptions& options, Config config, train::Progress& progress);

const char* to_string(RetrainMode mode);
const char* to_string(ScalerPolicy policy);

}  // namespace spikecast::retrain
