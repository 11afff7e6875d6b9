// Contract tests of "gru" (ResidualGru): shapes, finite values, gradients, determinism, overfitting, save/load,
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

TEST(ResidualGruTest, ShapesForSeveralWindows) { expect_shapes("gru", nlohmann::json::object(), {{12, 1, 13}, {20, 3, 1}, {8, 5, 4}}); }
TEST(ResidualGruTest, GradientReachesEveryParameter) { expect_gradients_reach_every_parameter("gru", kSpec); }
TEST(ResidualGruTest, DeterministicUnderSeed) { expect_deterministic("gru", kSpec); }
TEST(ResidualGruTest, TinyBatchOverfits) { expect_overfits("gru", kSpec); }
TEST(ResidualGruTest, SaveLoadIdentical) { expect_save_load_identical("gru", kSpec); }
TEST(ResidualGruTest, DevicesMatchCpu) { expect_devices_match_cpu("gru", kSpec); }

TEST(ResidualGruTest, ProjectionOnlyWhereWidthsDiffer) {
  Forecaster m = make_forecaster("gru", {8, 1, 2, {{"hidden", {4, 4, 3}}, {"head", {5}}}});
  bool proj1 = false, proj2 = false;
  for (const auto& p : m->named_parameters()) {
    proj1 = proj1 || p.key().find("proj1") != std::string::npos;
    proj2 = proj2 || p.key().find("proj2") != std::string::npos;
  }
  EXPECT_FALSE(proj1);  // 4 -> 4: identity residual
  EXPECT_TRUE(proj2);   // 4 -> 3: Linear projection
}

TEST(ResidualGruTest, Float64GradientCheckThroughResidualPaths) {
  torch::manual_seed(5);
  Forecaster m = make_forecaster("gru", {5, 2, 2, {{"hidden", {4, 4, 3}}, {"head", {5}}, {"dropout", 0.0}}});
  m->to(torch::kDouble);
  m->eval();
  torch::Tensor x = make_input(2, 5, 2, 3, torch::kDouble);
  std::vector<torch::Tensor> wrt = {x};
  for (auto& p : m->parameters()) wrt.push_back(p);
  EXPECT_TRUE(gradcheck([&] { return m->forward(x).value.sin().sum(); }, wrt));
}

}  // namespace
}  // namespace spikecast::models::test
