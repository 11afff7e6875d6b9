// Contract tests of "patchtst" (PatchTst): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"d_model", 32}, {"heads", 4}, {"d_ff", 64}, {"layers", 2}, {"dropout", 0.0}};
const ModelSpec kSpec{32, 2, 3, kSmall};

TEST(PatchTstTest, ShapesForSeveralWindows) { expect_shapes("patchtst", nlohmann::json::object(), {{16, 1, 13}, {40, 3, 1}, {33, 5, 4}}); }
TEST(PatchTstTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("patchtst", kSpec); }
TEST(PatchTstTest, DeterministicUnderSeed) { expect_deterministic("patchtst", kSpec); }
TEST(PatchTstTest, TinyBatchOverfits) { expect_overfits("patchtst", kSpec); }
TEST(PatchTstTest, SaveLoadIdentical) { expect_save_load_identical("patchtst", kSpec); }
TEST(PatchTstTest, DevicesMatchCpu) { expect_devices_match_cpu("patchtst", kSpec); }

TEST(PatchTstTest, BadConfigurationsAreConfigErrors) {
  EXPECT_THROW(make_forecaster("patchtst", {10, 1, 3, {}}), ConfigError);  // L < patch_len 16
  EXPECT_THROW(make_forecaster("patchtst", {32, 1, 3, {{"heads", 0}}}), ConfigError);
  EXPECT_THROW(make_forecaster("patchtst", {32, 1, 3, {{"d_model", 100}, {"heads", 16}}}), ConfigError);
  EXPECT_THROW(make_forecaster("patchtst", {32, 0, 3, {}}), ConfigError);
  EXPECT_THROW(make_forecaster("patchtst", {32, 1, 3, {{"stride", 0}}}), ConfigError);
  try {
    make_forecaster("patchtst", {10, 1, 3, {}});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("shorter than one patch"), std::string::npos) << e.what();
  }
}

TEST(PatchTstTest, ChannelMixVariant) {
  ModelSpec spec = kSpec;
  spec.options["channel_mix"] = true;
  expect_gradients_reach_every_parameter("patchtst", spec);
  expect_save_load_identical("patchtst", spec);
}

}  // namespace
}  // namespace spikecast::models::test
