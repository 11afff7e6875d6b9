// Contract tests of "spike" (SpikeDetector): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"d_model", 32}, {"lstm_hidden", 16}, {"head", {32}}, {"dropout", 0.0}};
const ModelSpec kSpec{12, 2, 3, kSmall};

TEST(SpikeDetectorTest, ShapesForSeveralWindows) { expect_shapes("spike", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(SpikeDetectorTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("spike", kSpec); }
TEST(SpikeDetectorTest, DeterministicUnderSeed) { expect_deterministic("spike", kSpec); }
TEST(SpikeDetectorTest, TinyBatchOverfits) { expect_overfits("spike", kSpec); }
TEST(SpikeDetectorTest, SaveLoadIdentical) { expect_save_load_identical("spike", kSpec); }
TEST(SpikeDetectorTest, DevicesMatchCpu) { expect_devices_match_cpu("spike", kSpec); }

TEST(SpikeDetectorTest, HasSpikeLogit) {
  Forecaster m = make_forecaster("spike", kSpec);
  EXPECT_TRUE(m->has_spike_head());
  ForecastOutput out = m->forward(make_input(5, 12, 3));
  ASSERT_TRUE(out.spike_logit.defined());
  EXPECT_EQ(out.spike_logit.sizes(), (std::vector<int64_t>{5}));
}

TEST(SpikeDetectorTest, BadConfigurationsAreConfigErrors) {
  EXPECT_THROW(make_forecaster("spike", {12, 1, 3, {{"heads", 0}}}), ConfigError);
  EXPECT_THROW(make_forecaster("spike", {12, 1, 3, {{"d_model", 30}, {"heads", 4}}}), ConfigError);
  EXPECT_THROW(make_forecaster("spike", {12, 1, 3, {{"kernel", 4}}}), ConfigError);
  try {
    make_forecaster("spike", {12, 1, 3, {{"d_model", 30}, {"heads", 4}}});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("divisible"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace spikecast::models::test
