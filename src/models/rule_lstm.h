// "rule": the users' rule-constrained LSTM. LSTM 32, dense head 64 -> 32 -> H inside the forecast
// frame, then the rules layer (rules_layer.h): the rules are data in the options, e.g.
//   {"rules": [{"type": "clamp", "min": 0, "max": 500}, {"type": "gap_fallback", ...}],
//    "target_mean": 12.3, "target_std": 4.5}
//   x [B, L, C], filled_fraction [B] (optional) -> value [B, H], rules_fired [B, n_rules]
#pragma once

#include "models/dense_head.h"
#include "models/forecast_frame.h"
#include "models/forecaster.h"
#include "models/rules_layer.h"

namespace spikecast::models {

struct RuleLstmOptions {
  int64_t input_length = 100;            // L
  int64_t horizon = 1;                   // H
  int64_t channels = 13;                 // C
  int64_t hidden = 32;                   // LSTM width
  std::vector<int64_t> head = {64, 32};  // dense head hidden widths
  double dropout = 0.1;                  // in the head
  FrameOptions frame;                    // window normalisation + linear skip
  // Default rules: non-finite forecasts and windows more than half gap-filled fall back to the last
  // value; at most 3 scaled units of change per step (the users' +-3 rate-of-change rule).
  RulesLayerOptions rules = default_rules();

  static RulesLayerOptions default_rules();
  static RuleLstmOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

class RuleLstmImpl : public ForecasterImpl {
 public:
  explicit RuleLstmImpl(const RuleLstmOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "rule"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  RuleLstmOptions options_;
  ForecastFrame frame_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  DenseHead head_{nullptr};
  RulesLayer rules_{nullptr};
};
TORCH_MODULE(RuleLstm);

}  // namespace spikecast::models
