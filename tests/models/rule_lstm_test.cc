// Contract tests of "rule" (RuleLstm): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"dropout", 0.0}, {"rules", nlohmann::json::array()}};
const ModelSpec kSpec{12, 2, 3, kSmall};

TEST(RuleLstmTest, ShapesForSeveralWindows) { expect_shapes("rule", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(RuleLstmTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("rule", kSpec); }
TEST(RuleLstmTest, DeterministicUnderSeed) { expect_deterministic("rule", kSpec); }
TEST(RuleLstmTest, TinyBatchOverfits) { expect_overfits("rule", kSpec); }
TEST(RuleLstmTest, SaveLoadIdentical) { expect_save_load_identical("rule", kSpec); }
TEST(RuleLstmTest, DevicesMatchCpu) { expect_devices_match_cpu("rule", kSpec); }

TEST(RuleLstmTest, ReportsWhichRulesFired) {
  ModelSpec spec{12, 3, 2, {{"rules", {{{"type", "clamp"}, {"min", -0.5}, {"max", 0.5}, {"units", "scaled"}},
                                      {{"type", "gap_fallback"}, {"max_filled_fraction", 0.25}}}}}};
  Forecaster m = make_forecaster("rule", spec);
  m->eval();
  torch::Tensor x = make_input(4, 12, 2) * 5;
  torch::Tensor filled = torch::tensor({0.0f, 0.5f, 0.0f, 1.0f});
  ForecastOutput out = m->forward(x, filled);
  ASSERT_TRUE(out.rules_fired.defined());
  EXPECT_EQ(out.rules_fired.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(out.rules_fired.scalar_type(), torch::kBool);
  // Gap fallback: rows 1 and 3 repeat the last observed target exactly.
  torch::Tensor last = x.select(1, 11).select(1, 0);
  for (int64_t b : {1, 3}) {
    EXPECT_TRUE(out.rules_fired[b][1].item<bool>());
    EXPECT_TRUE(torch::allclose(out.value[b], last[b].expand({3})));
  }
  for (int64_t b : {0, 2}) {
    EXPECT_FALSE(out.rules_fired[b][1].item<bool>());
    EXPECT_LE(out.value[b].abs().max().item<double>(), 0.5 + 1e-6);
  }
  EXPECT_THROW(m->forward(x, torch::zeros({3})), ModelError);
}

TEST(RuleLstmTest, UnknownRuleTypeIsConfigError) {
  try {
    make_forecaster("rule", {12, 1, 2, {{"rules", {{{"type", "teleport"}}}}}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "models.rule.rules[0].type");
    EXPECT_NE(std::string(e.what()).find("teleport"), std::string::npos);
  }
  EXPECT_THROW(make_forecaster("rule", {12, 1, 2, {{"target_std", 0.0}}}), ConfigError);
}

TEST(RuleLstmTest, DefaultRulesRoundTripThroughJson) {
  Forecaster m = make_forecaster("rule", {12, 2, 2, {}});
  nlohmann::json j = m->options_json();
  EXPECT_EQ(j["rules"].size(), 3u);
  Forecaster again = make_forecaster("rule", {12, 2, 2, j});
  EXPECT_EQ(again->options_json(), j);
}

}  // namespace
}  // namespace spikecast::models::test
