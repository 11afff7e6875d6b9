// Fits the ensemble's gate with the members frozen, on the members' out-of-sample predictions (the
// validation split: predictions on the training split are overfit, and a gate fitted there learns
// to trust the most overfit member — docs/ACCURACY.md). The validation windows are split in time:
// the gate learns on the earlier part; the later part (train.gate_holdout) chooses between the
// average of the members a Diebold-Mariano test on the validation windows cannot tell from the best
// member, learned static weights and the input-dependent gate (train/combination_choice.h):
// learned weights are taken only when the test finds them significantly better than the average.
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
  std::string mode;  // the candidate chosen: "set<k>-mean", "equal", "static" or "gated"
  std::map<std::string, double> holdout_mse;  // per candidate mode and per member, on the holdout
  // Diebold-Mariano statistics: "member:<name>" against the best member on every validation window;
  // a learned candidate's against the fixed average on the holdout (when it was 0.5% better).
  std::map<std::string, double> dm_statistic;
  std::vector<std::string> ranking;  // members by MSE on the fit part, best first (topK-mean: the first K)
  // Every fixed average scored: "equal", "top<k>-mean" and the confidence set's "set<k>-mean",
  // each with the members it weights equally.
  std::map<std::string, std::vector<std::string>> averages;
  // Each fixed average's MSE on the test split, filled after training by record_test_mse(): a
  // diagnostic for ablations (what another rule would have scored), never read by the choice.
  std::map<std::string, double> test_mse;
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

// Fills result.test_mse from the members' test forecasts member_preds [N, M, H] (members in
// `member_names` order) and the targets y [N, H], for every fixed average in result.holdout_mse.
void record_test_mse(GateResult& result, const torch::Tensor& member_preds,
                     const std::vector<std::string>& member_names, const torch::Tensor& y);

}  // namespace spikecast::train
