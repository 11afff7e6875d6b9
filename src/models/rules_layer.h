// The rules layer: domain rules as DATA, applied in order to a forecast of the scaled target.
// Each rule is a JSON object {"type": ..., parameters..., "units": "original"|"scaled"}; values in
// original units are converted with the scaler's target mean/std (given in the options).
//   clamp                {"min": a, "max": b}   physical range (either bound may be omitted)
//   max_step_change      {"max_change": c}      |y_h - last| <= c * h, h = 1..H steps ahead
//   max_relative_change  {"fraction": f}        |y_h - last| <= f * |last| * h (original units)
//   gap_fallback         {"max_filled_fraction": p}  y = last when more than p of the window's
//                                               rows were gap-filled
//   non_finite_fallback  {}                     y = last where the forecast is NaN or infinite
// "last" is the last observed target of the window. Bounds act through torch::minimum/maximum,
// so the gradient passes unchanged inside the bounds; fallbacks pass none where they act.
//   y [B, H], last [B], filled_fraction [B] or undefined -> value [B, H], fired [B, n_rules] bool
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

namespace spikecast::models {

enum class RuleType { kClamp, kMaxStepChange, kMaxRelativeChange, kGapFallback, kNonFiniteFallback };

struct Rule {
  RuleType type = RuleType::kClamp;
  bool original_units = true;  // "units": "original" (default) or "scaled"
  double min = -std::numeric_limits<double>::infinity();  // clamp
  double max = std::numeric_limits<double>::infinity();   // clamp
  double max_change = 0;           // max_step_change, per step
  double fraction = 0;             // max_relative_change, per step
  double max_filled_fraction = 0;  // gap_fallback

  // ConfigError naming `field` (e.g. "models.rule.rules[2]") on an unknown type or key.
  static Rule from_json(const nlohmann::json& j, const std::string& field);
  nlohmann::json to_json() const;
  std::string name() const;  // the JSON type string
};

struct RulesLayerOptions {
  std::vector<Rule> rules;   // applied in order
  double target_mean = 0.0;  // scaler: original = mean + std * scaled
  double target_std = 1.0;

  void validate(const std::string& prefix) const;
};

struct RulesResult {
  torch::Tensor value;  // [B, H]
  torch::Tensor fired;  // [B, n_rules] bool
};

class RulesLayerImpl : public torch::nn::Module {
 public:
  explicit RulesLayerImpl(const RulesLayerOptions& options);
  RulesResult forward(const torch::Tensor& y, const torch::Tensor& last,
                      const torch::Tensor& filled_fraction = {});
  const RulesLayerOptions& options() const { return options_; }

 private:
  RulesLayerOptions options_;
};
TORCH_MODULE(RulesLayer);

}  // namespace spikecast::models
