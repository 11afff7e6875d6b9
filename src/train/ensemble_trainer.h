// Fits the ensemble's gate with the members frozen, on the members' out-of-sample predictions (the
// validation split: predictions on the training split are overfit, and a gate fitted there learns
// to trust the most overfit member — docs/ACCURACY.md). The validation windows are split in time:
// the gate learns on the earlier part; the later part (train.gate_holdout) chooses between the
// plain average, the average of the k best members (ranked on the earlier part), learned static
// weights and the input-dependent gate, so the ensemble falls back to a simple combination when
// the gate does not generalise: learned weights are taken only when a Diebold-Mariano test on the
// holdout finds them significantly better than the best fixed average.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "models/dynamic_ensemble.h"
#include "tensor/context.h"
#include "train/device_data.h"
#include "train/progress.h"

namespace spikecast::train {

struct GateResult {
  std::string mode;  // the candidate chosen: "equal", "top<k>-mean", "static" or "gated"
  std::map<std::string, double> holdout_mse;  // per candidate mode and per member, on the holdout
  int64_t fit_windows = 0, holdout_windows = 0;
  int64_t epochs = 0;                       // gate epochs of the chosen mode (best on holdout)
};

// Member predictions and gate context over a set of windows, computed once (no grad).
struct MemberPredictions {
  torch::Tensor preds;    // [N, M, H]
  torch::Tensor context;  // [N, context width]
  torch::Tensor y;        // [N, H]
};
MemberPredictions predict_members(models::DynamicEnsembleImpl& ensemble, const DeviceData& data,
                                  const std::vector<int64_t>& windows, const Context& ctx,
                                  int64_t batch_size = 1024);

// Returns a new ensemble over the same (trained) members with the chosen mode and fitted gate.
models::DynamicEnsemble fit_ensemble(models::DynamicEnsembleImpl& ensemble, const DeviceData& data,
                                     const std::vector<int64_t>& val_windows, const TrainConfig& config,
                                     const Context& ctx, Progress& progress, GateResult& result);

}  // namespace spikecast::train
