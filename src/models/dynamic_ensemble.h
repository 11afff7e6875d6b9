// "ensemble": M member forecasters mixed by a gate that outputs softmax weights over members per
// horizon step. Modes:
//   "gated"  weights = softmax((static_logits[M,H] + gate(context, member preds)) / temperature)
//   "static" weights = softmax(static_logits[M,H] / temperature), the same for every input
//   "equal"  weights = 1/M, no parameters
// The gate is a one-hidden-layer MLP whose output layer starts at zero, and the static logits start
// at zero: an untrained ensemble is the plain average. `floor` mixes in a uniform share
// (w = floor/M + (1-floor) * softmax) so no member's weight falls below floor/M, and
// regularization() returns an entropy penalty (entropy_weight * (log M - entropy)) for the trainer:
// both keep the gate near the average unless the data insist (the peer's gate overfit and leaned
// 90% on one member).
// The gate is trainable on precomputed member predictions (members frozen): compute
// member_forecasts() and context_features() once per split, then fit mix() on the validation split.
//   x [B, L, C] -> members [B, M, H] -> value [B, H], weights [B, M, H], spike_logit [B]
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "models/forecaster.h"

namespace spikecast::models {

struct EnsembleMember {
  std::string name;                                   // registry name
  nlohmann::json options = nlohmann::json::object();  // that model's options
};

struct DynamicEnsembleOptions {
  int64_t input_length = 100;  // L
  int64_t horizon = 1;         // H
  int64_t channels = 13;       // C
  // The members; default: the users' five plus the linear model and repeat-last (ACCURACY.md).
  std::vector<EnsembleMember> members = default_members();
  std::string mode = "gated";   // "gated", "static" or "equal"
  int64_t gate_hidden = 16;     // gate MLP width (small: the gate must generalise)
  double gate_dropout = 0.1;    // on the gate's hidden layer
  int64_t volatility_window = 16;  // k: the context's volatility is the std of the last k targets
  double temperature = 1.0;     // softmax temperature (> 1 flattens the weights)
  double floor = 0.0;           // uniform share mixed into the weights, in [0, 1]
  double entropy_weight = 0.0;  // scale of regularization(); the trainer adds it to the loss

  static std::vector<EnsembleMember> default_members();
  static DynamicEnsembleOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

struct MemberForecasts {
  torch::Tensor preds;        // [B, M, H]
  torch::Tensor spike_logit;  // [B] from the first member with a spike head, or undefined
  torch::Tensor rules_fired;  // [B, n_rules] from the first member with rules, or undefined
};

class DynamicEnsembleImpl : public ForecasterImpl {
 public:
  // Builds the members from options.members through the registry.
  explicit DynamicEnsembleImpl(const DynamicEnsembleOptions& options);
  // Uses the given (e.g. trained) members; options.members is replaced by their names and options.
  DynamicEnsembleImpl(const DynamicEnsembleOptions& options, std::vector<Forecaster> members);

  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "ensemble"; }
  nlohmann::json options_json() const override { return options_.to_json(); }
  bool has_spike_head() const override { return spike_member_ >= 0; }

  // Every member's forecast: x [B, L, C] -> preds [B, M, H] (+ spike logit, rules).
  MemberForecasts member_forecasts(const torch::Tensor& x, const torch::Tensor& filled_fraction = {});
  // The gate's view of each input: [B, context_width()] = [last row (C values, feature 0 the last
  // target), std of the last k targets, spike probability (0 without a spike member)].
  torch::Tensor context_features(const torch::Tensor& x, const torch::Tensor& spike_logit) const;
  int64_t context_width() const { return channels() + 2; }
  // context [B, context_width()], preds [B, M, H] -> (forecast [B, H], weights [B, M, H]).
  std::pair<torch::Tensor, torch::Tensor> mix(const torch::Tensor& context, const torch::Tensor& preds);
  // entropy_weight * mean over B, H of (log M - entropy of the weights): 0 at equal weights.
  torch::Tensor regularization(const torch::Tensor& weights) const;

  // The gate's own parameters (static logits, MLP), for fitting it with members frozen.
  std::vector<torch::Tensor> gate_parameters() const;
  // requires_grad(false) on every member parameter (true to unfreeze).
  void freeze_members(bool frozen = true);
  const std::vector<Forecaster>& members() const { return members_; }

  // Run-time settings of inference (not saved with the model):
  // GPU inference runs each member on its own CUDA stream (true, the default) or in turn (false);
  // `spikecast bench` measures both.
  void set_side_streams(bool on) { side_streams_ = on; }
  // Inference (no grad) over more windows than this runs in chunks of this many: past ~2^31
  // elements in one intermediate, CUDA kernels index out of range (batch 65,536 crashed the card).
  void set_max_forward_batch(int64_t windows) { max_forward_batch_ = std::max<int64_t>(1, windows); }
  const DynamicEnsembleOptions& options() const { return options_; }

 private:
  void build();

  DynamicEnsembleOptions options_;
  std::vector<Forecaster> members_;
  int spike_member_ = -1;
  std::vector<int64_t> member_cost_;       // parameters per member: spreads members over CPU threads
  bool side_streams_ = true;
  int64_t max_forward_batch_ = 16384;
  torch::Tensor static_logits_;            // [M, H], modes gated and static
  torch::nn::Linear gate_in_{nullptr};     // (context + M*H) -> hidden, mode gated
  torch::nn::Dropout gate_dropout_{nullptr};
  torch::nn::Linear gate_out_{nullptr};    // hidden -> M*H, zero-initialised
};
TORCH_MODULE(DynamicEnsemble);

}  // namespace spikecast::models
