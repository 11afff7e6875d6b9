// The rules layer: each rule's semantics, units, the fired mask and float64 gradients.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/rules_layer.h"

namespace spikecast::models::test {
namespace {

RulesLayerOptions parse(const nlohmann::json& rules, double mean = 0, double std = 1) {
  RulesLayerOptions o;
  for (size_t i = 0; i < rules.size(); ++i) o.rules.push_back(Rule::from_json(rules[i], "r[" + std::to_string(i) + "]"));
  o.target_mean = mean;
  o.target_std = std;
  return o;
}

TEST(RulesLayerTest, ClampInOriginalUnits) {
  // Original = 10 + 2 * scaled; the range [8, 14] is [-1, 2] scaled.
  RulesLayer layer(parse({{{"type", "clamp"}, {"min", 8}, {"max", 14}}}, 10, 2));
  torch::Tensor y = torch::tensor({{-3.0f, 0.5f}, {1.0f, 2.5f}});
  RulesResult r = layer->forward(y, torch::zeros({2}));
  EXPECT_TRUE(torch::allclose(r.value, torch::tensor({{-1.0f, 0.5f}, {1.0f, 2.0f}})));
  EXPECT_TRUE(r.fired[0][0].item<bool>());
  EXPECT_TRUE(r.fired[1][0].item<bool>());
  RulesResult inside = layer->forward(torch::tensor({{0.0f, 1.0f}}), torch::zeros({1}));
  EXPECT_FALSE(inside.fired[0][0].item<bool>());
}

TEST(RulesLayerTest, OneSidedClampKeepsNullBound) {
  Rule r = Rule::from_json({{"type", "clamp"}, {"min", 0}}, "r");
  EXPECT_TRUE(std::isinf(r.max));
  Rule again = Rule::from_json(r.to_json(), "r");
  EXPECT_EQ(again.to_json(), r.to_json());
}

TEST(RulesLayerTest, MaxStepChangeGrowsWithHorizon) {
  RulesLayer layer(parse({{{"type", "max_step_change"}, {"max_change", 1.0}, {"units", "scaled"}}}));
  torch::Tensor y = torch::tensor({{5.0f, 5.0f, 5.0f}});
  RulesResult r = layer->forward(y, torch::tensor({0.5f}));
  EXPECT_TRUE(torch::allclose(r.value, torch::tensor({{1.5f, 2.5f, 3.5f}})));
  EXPECT_TRUE(r.fired[0][0].item<bool>());
}

TEST(RulesLayerTest, MaxRelativeChange) {
  // last scaled 1.0 = original 3.0 (mean 1, std 2); 10% per step = 0.3 original = 0.15 scaled.
  RulesLayer layer(parse({{{"type", "max_relative_change"}, {"fraction", 0.1}}}, 1, 2));
  RulesResult r = layer->forward(torch::tensor({{0.0f, 2.0f}}), torch::tensor({1.0f}));
  EXPECT_TRUE(torch::allclose(r.value, torch::tensor({{0.85f, 1.3f}}), 1e-5, 1e-6));
}

TEST(RulesLayerTest, FallbacksUseTheLastValue) {
  RulesLayer layer(parse({{{"type", "non_finite_fallback"}}, {{"type", "gap_fallback"}, {"max_filled_fraction", 0.5}}}));
  torch::Tensor y = torch::tensor({{NAN, 1.0f}, {2.0f, 3.0f}, {4.0f, 5.0f}});
  torch::Tensor last = torch::tensor({9.0f, 8.0f, 7.0f});
  RulesResult r = layer->forward(y, last, torch::tensor({0.0f, 0.0f, 0.75f}));
  EXPECT_TRUE(torch::equal(r.value, torch::tensor({{9.0f, 1.0f}, {2.0f, 3.0f}, {7.0f, 7.0f}})));
  EXPECT_TRUE(torch::equal(r.fired, torch::tensor({{true, false}, {false, false}, {false, true}})));
  // Without a filled fraction the gap rule cannot fire.
  RulesResult none = layer->forward(y, last);
  EXPECT_FALSE(none.fired.select(1, 1).any().item<bool>());
}

TEST(RulesLayerTest, BadRulesAreConfigErrors) {
  EXPECT_THROW(Rule::from_json({{"type", "teleport"}}, "r"), ConfigError);
  EXPECT_THROW(Rule::from_json({{"type", "clamp"}, {"min", 3}, {"max", 1}}, "r"), ConfigError);
  EXPECT_THROW(Rule::from_json({{"type", "clamp"}, {"mni", 3}}, "r"), ConfigError);
  EXPECT_THROW(Rule::from_json({{"type", "max_step_change"}, {"max_change", -1}}, "r"), ConfigError);
  EXPECT_THROW(Rule::from_json({{"type", "clamp"}, {"units", "furlongs"}}, "r"), ConfigError);
  EXPECT_THROW(Rule::from_json("clamp", "r"), ConfigError);
}

TEST(RulesLayerTest, Float64GradientPassesInsideAndStopsOutside) {
  RulesLayer layer(parse({{{"type", "clamp"}, {"min", -1.0}, {"max", 1.0}},
                          {{"type", "max_step_change"}, {"max_change", 0.8}},
                          {{"type", "max_relative_change"}, {"fraction", 0.5}},
                          {{"type", "gap_fallback"}, {"max_filled_fraction", 0.5}}},
                         0.3, 1.5));
  // Values well away from every bound, some inside and some outside, so the check avoids kinks.
  torch::Tensor y = torch::tensor({{0.1, 0.9, -3.0}, {2.0, -0.1, 0.4}, {0.3, 0.35, 0.5}}, torch::kDouble);
  torch::Tensor last = torch::tensor({0.2, 0.1, 0.4}, torch::kDouble);
  torch::Tensor filled = torch::tensor({0.0, 0.0, 0.9}, torch::kDouble);
  EXPECT_TRUE(gradcheck([&] { return layer->forward(y, last, filled).value.pow(2).sum(); }, {y, last}));
  // The gradient is exactly one inside every bound, zero where a bound acts.
  y.mutable_grad() = torch::Tensor();
  layer->forward(y, last, filled).value.sum().backward();
  EXPECT_DOUBLE_EQ(y.grad()[0][0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(y.grad()[0][2].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(y.grad()[2][0].item<double>(), 0.0);  // gap fallback
}

}  // namespace
}  // namespace spikecast::models::test
