// Contract tests of "linear" (DLinear): shapes, finite values, gradients, determinism, overfitting, save/load,
// devices, bad configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/dlinear.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

// A narrow variant keeps the suite fast; the default widths are checked by the shape test.
const nlohmann::json kSmall = {{"kernel", 5}};
const ModelSpec kSpec{12, 2, 3, kSmall};

TEST(DLinearTest, ShapesForSeveralWindows) { expect_shapes("linear", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(DLinearTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("linear", kSpec); }
TEST(DLinearTest, DeterministicUnderSeed) { expect_deterministic("linear", kSpec); }
TEST(DLinearTest, TinyBatchOverfits) { expect_overfits("linear", kSpec, 400, 3e-2); }
TEST(DLinearTest, SaveLoadIdentical) { expect_save_load_identical("linear", kSpec); }
TEST(DLinearTest, DevicesMatchCpu) { expect_devices_match_cpu("linear", kSpec); }

TEST(DLinearTest, MovingAverageMatchesBruteForce) {
  torch::Tensor x = make_input(2, 11, 3).transpose(1, 2).contiguous();  // [2, 3, 11]
  for (int64_t k : {1, 4, 5, 25}) {
    torch::Tensor got = DLinearImpl::moving_average(x, k);
    ASSERT_EQ(got.sizes(), x.sizes());
    const int64_t front = (k - 1) / 2;
    for (int64_t t = 0; t < 11; ++t) {
      torch::Tensor sum = torch::zeros({2, 3});
      for (int64_t j = t - front; j < t - front + k; ++j) sum += x.select(2, std::clamp<int64_t>(j, 0, 10));
      EXPECT_TRUE(torch::allclose(got.select(2, t), sum / k, 1e-5, 1e-6)) << "k=" << k << " t=" << t;
    }
  }
}

TEST(DLinearTest, AllChannelsVariant) {
  ModelSpec spec = kSpec;
  spec.options["all_channels"] = true;
  Forecaster m = make_forecaster("linear", spec);
  EXPECT_EQ(count_parameters(*m), 2 * (12 * 3 * 2 + 2));
  expect_gradients_reach_every_parameter("linear", spec);
}

}  // namespace
}  // namespace spikecast::models::test
