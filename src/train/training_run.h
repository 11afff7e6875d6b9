// The users' recipe end to end: members trained (side by side on CUDA, in turn on the CPU:
// train.member_schedule) on the training windows (early stopping on
// validation), then the ensemble gate on the members' validation predictions with the members
// frozen (ensemble_trainer.h), then an optional short joint fine-tune at a low learning rate.
// Checkpoints go to <work_dir>/checkpoints; with resume, finished members are reloaded and an
// interrupted member continues from its last epoch.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config.h"
#include "models/dynamic_ensemble.h"
#include "tensor/context.h"
#include "train/dataset.h"
#include "train/ensemble_trainer.h"
#include "train/member_trainer.h"

namespace spikecast::train {

struct TrainRunOptions {
  std::string work_dir;  // checkpoints live here; empty: none
  bool resume = false;   // continue from the checkpoints in work_dir
  TrainHooks hooks;
};

struct TrainRun {
  models::DynamicEnsemble ensemble{nullptr};
  std::vector<MemberResult> members;
  GateResult gate;
  MemberResult fine_tune;  // epochs_run == 0 when not run
  std::vector<std::string> joined;  // the members of train.join this run's data size added
  bool stopped_by_deadline = false;
  double seconds = 0;

  // Training history for the bundle and the report: per model, per epoch; the gate's choice.
  nlohmann::json history() const;
};

// The options JSON of member `name`: [models.<name>] from the config, plus what the data decides
// (the seasonal period, the rules layer's scaler).
nlohmann::json member_options(const std::string& name, const Config& config, const Dataset& data);

// The members of train.join that join at `train_windows` training windows: all of them from
// train.join_min_windows, else none.
std::vector<std::string> joining_members(const TrainConfig& tc, size_t train_windows);

// The members a run trains, in order: train.members, then joining_members(tc, train_windows).
std::vector<std::string> members_for(const TrainConfig& tc, size_t train_windows);

// Trains members_for(config.train, data.windows.train.size()); a run whose data is large enough for
// members to join says so on `progress` and in history()'s "joined".
TrainRun run_training(const Dataset& data, const Config& config, const Context& ctx, Progress& progress,
                      const TrainRunOptions& options = {});

}  // namespace spikecast::train
