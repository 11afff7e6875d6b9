// Contract tests of "spike" (SpikeDetector): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"
#include "models/spike_detector.h"

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

TEST(SpikeDetectorTest, ChunkedAttentionEqualsOneCall) {
  // Large batches go through the attention in chunks (2^31-element score limit on CUDA); a small
  // limit forces 1-, 2- and 3-window chunks here, on every test device.
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(3);
    torch::nn::MultiheadAttention attention(torch::nn::MultiheadAttentionOptions(8, 2));
    attention->to(device);
    attention->eval();
    const torch::Tensor s = torch::randn({7, 6, 8}).to(device);  // [B, L, d]
    const torch::Tensor whole = self_attention(attention, s);
    for (int64_t windows : {1, 2, 3}) {
      const torch::Tensor chunked = self_attention(attention, s, windows * 2 * 6 * 6);
      ASSERT_EQ(chunked.sizes(), whole.sizes());
      EXPECT_LT((chunked - whole).abs().max().item<double>(), 1e-5) << windows;
    }
  }
}

TEST(SpikeDetectorTest, FusedSelfAttentionEqualsTheModulesForward) {
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(4);
    torch::nn::MultiheadAttention attention(torch::nn::MultiheadAttentionOptions(8, 2));
    attention->to(device);
    attention->eval();
    const torch::Tensor s = torch::randn({7, 6, 8}).to(device);  // [B, L, d]
    const torch::Tensor t = s.transpose(0, 1);                   // the module's [L, B, d]
    const torch::Tensor by_module = std::get<0>(attention->forward(t, t, t)).transpose(0, 1);
    const torch::Tensor ours = fused_self_attention(attention, s);
    ASSERT_EQ(ours.sizes(), by_module.sizes());
    EXPECT_LT((self_attention(attention, s) - by_module).abs().max().item<double>(), 5e-5);
    EXPECT_LT((ours - by_module).abs().max().item<double>(), 5e-5);
  }
}

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
