// Contract tests of "lstm" (StackedLstm): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"hidden", {32, 32, 16}}, {"head", {32, 16}}, {"dropout", 0.0}};
const ModelSpec kSpec{12, 2, 3, kSmall};

TEST(StackedLstmTest, ShapesForSeveralWindows) { expect_shapes("lstm", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(StackedLstmTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("lstm", kSpec); }
TEST(StackedLstmTest, DeterministicUnderSeed) { expect_deterministic("lstm", kSpec); }
TEST(StackedLstmTest, TinyBatchOverfits) { expect_overfits("lstm", kSpec); }
TEST(StackedLstmTest, SaveLoadIdentical) { expect_save_load_identical("lstm", kSpec); }
TEST(StackedLstmTest, DevicesMatchCpu) { expect_devices_match_cpu("lstm", kSpec); }

TEST(StackedLstmTest, BadConfigurationsAreConfigErrors) {
  EXPECT_THROW(make_forecaster("lstm", {12, 0, 3, {}}), ConfigError);  // H = 0
  EXPECT_THROW(make_forecaster("lstm", {0, 1, 3, {}}), ConfigError);   // L = 0
  EXPECT_THROW(make_forecaster("lstm", {12, 1, 3, {{"hiden", {8}}}}), ConfigError);  // typo
  EXPECT_THROW(make_forecaster("lstm", {12, 1, 3, {{"dropout", 1.5}}}), ConfigError);
  EXPECT_THROW(make_forecaster("lstm", {12, 1, 3, {{"hidden", nlohmann::json::array()}}}), ConfigError);
  EXPECT_THROW(make_forecaster("lstm", {12, 1, 3, {{"window_norm", "median"}}}), ConfigError);
  try {
    make_forecaster("lstm", {12, 1, 3, {{"dropout", "high"}}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "models.lstm.dropout");
  }
}

TEST(StackedLstmTest, FrameCanBeSwitchedOff) {
  ModelSpec spec = kSpec;
  spec.options["window_norm"] = "none";
  spec.options["linear_skip"] = false;
  Forecaster m = make_forecaster("lstm", spec);
  for (const auto& p : m->named_parameters()) EXPECT_EQ(p.key().find("skip"), std::string::npos) << p.key();
  EXPECT_EQ(m->forward(make_input(2, 12, 3)).value.sizes(), (std::vector<int64_t>{2, 2}));
}

}  // namespace
}  // namespace spikecast::models::test
