// Contract tests of "cnn_lstm" (CnnLstm): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"filters", 8}, {"hidden", {32, 16}}, {"head", {32, 16}}, {"dropout", 0.0}};
const ModelSpec kSpec{12, 2, 3, kSmall};

TEST(CnnLstmTest, ShapesForSeveralWindows) { expect_shapes("cnn_lstm", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(CnnLstmTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("cnn_lstm", kSpec); }
TEST(CnnLstmTest, DeterministicUnderSeed) { expect_deterministic("cnn_lstm", kSpec); }
TEST(CnnLstmTest, TinyBatchOverfits) { expect_overfits("cnn_lstm", kSpec); }
TEST(CnnLstmTest, SaveLoadIdentical) { expect_save_load_identical("cnn_lstm", kSpec); }
TEST(CnnLstmTest, DevicesMatchCpu) { expect_devices_match_cpu("cnn_lstm", kSpec); }

TEST(CnnLstmTest, BadConfigurationsAreConfigErrors) {
  EXPECT_THROW(make_forecaster("cnn_lstm", {12, 1, 3, {{"kernels", {3, 4}}}}), ConfigError);
  EXPECT_THROW(make_forecaster("cnn_lstm", {12, 1, 3, {{"filters", 0}}}), ConfigError);
  EXPECT_THROW(make_forecaster("cnn_lstm", {12, 0, 3, {}}), ConfigError);
}

}  // namespace
}  // namespace spikecast::models::test
