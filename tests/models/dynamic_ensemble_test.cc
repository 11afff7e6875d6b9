// The ensemble: per-step softmax weights, modes, equal start, the gate fitted on precomputed
// member predictions, float64 gradients of the gate, save/load.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "model_test_util.h"
#include "models/dynamic_ensemble.h"
#include "models/model_bundle.h"
#include "models/model_registry.h"
#include "tensor/context.h"

namespace spikecast::models::test {
namespace {

nlohmann::json small_options(const std::string& mode = "gated") {
  return {{"mode", mode},
          {"gate_dropout", 0.0},
          {"members",
           {{{"name", "lstm"}, {"options", {{"hidden", {16}}, {"head", {16}}, {"dropout", 0.0}}}},
            {{"name", "spike"}, {"options", {{"d_model", 16}, {"lstm_hidden", 8}, {"head", {8}}, {"dropout", 0.0}}}},
            "linear",
            "repeat_last"}}};
}

std::shared_ptr<DynamicEnsembleImpl> make_ensemble(int64_t l, int64_t h, int64_t c, const std::string& mode = "gated") {
  auto m = std::dynamic_pointer_cast<DynamicEnsembleImpl>(make_forecaster("ensemble", {l, h, c, small_options(mode)}));
  EXPECT_TRUE(m);
  return m;
}

void perturb_gate(DynamicEnsembleImpl& e, double scale = 0.3) {
  torch::NoGradGuard g;
  for (auto& p : e.gate_parameters()) p.add_(torch::randn_like(p) * scale);
}

TEST(DynamicEnsembleTest, ShapesAndWeightsPerStep) {
  expect_shapes("ensemble", small_options(), {{12, 1, 13}, {10, 4, 2}});
  auto e = make_ensemble(10, 3, 2);
  e->eval();
  ForecastOutput out = e->forward(make_input(5, 10, 2));
  ASSERT_TRUE(out.weights.defined());
  EXPECT_EQ(out.weights.sizes(), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_TRUE(torch::allclose(out.weights.sum(1), torch::ones({5, 3})));
  ASSERT_TRUE(out.spike_logit.defined());  // from the spike member
  EXPECT_EQ(out.spike_logit.sizes(), (std::vector<int64_t>{5}));
}

TEST(DynamicEnsembleTest, StartsAsThePlainAverage) {
  for (const std::string mode : {"gated", "static", "equal"}) {
    auto e = make_ensemble(10, 3, 2, mode);
    e->eval();
    torch::Tensor x = make_input(4, 10, 2);
    MemberForecasts mf = e->member_forecasts(x);
    ForecastOutput out = e->forward(x);
    EXPECT_TRUE(torch::allclose(out.value, mf.preds.mean(1), 1e-5, 1e-6)) << mode;
    EXPECT_TRUE(torch::allclose(out.weights, torch::full({4, 4, 3}, 0.25))) << mode;
    EXPECT_NEAR(e->regularization(out.weights).item<double>(), 0.0, 1e-7);
  }
  EXPECT_TRUE(make_ensemble(10, 3, 2, "equal")->gate_parameters().empty());
  EXPECT_EQ(make_ensemble(10, 3, 2, "static")->gate_parameters().size(), 1u);
}

TEST(DynamicEnsembleTest, ContextFeatures) {
  auto e = make_ensemble(10, 2, 3);
  torch::Tensor x = make_input(2, 10, 3);
  torch::Tensor ctx = e->context_features(x, torch::zeros({2}));
  ASSERT_EQ(ctx.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(torch::equal(ctx.narrow(1, 0, 3), x.select(1, 9)));
  torch::Tensor recent = x.select(2, 0).narrow(1, 0, 10);  // k = min(16, L) = 10
  EXPECT_TRUE(torch::allclose(ctx.select(1, 3), recent.std(1, false)));
  EXPECT_TRUE(torch::allclose(ctx.select(1, 4), torch::full({2}, 0.5)));
}

TEST(DynamicEnsembleTest, FloorBoundsEveryWeight) {
  auto e = std::dynamic_pointer_cast<DynamicEnsembleImpl>(make_forecaster(
      "ensemble", {10, 2, 2, {{"members", {"linear", "repeat_last"}}, {"mode", "static"}, {"floor", 0.2}}}));
  {
    torch::NoGradGuard g;
    e->gate_parameters()[0].copy_(torch::tensor({{50.0f, -50.0f}, {-50.0f, 50.0f}}));
  }
  ForecastOutput out = e->forward(make_input(3, 10, 2));
  EXPECT_GE(out.weights.min().item<double>(), 0.1 - 1e-6);
  EXPECT_GT(e->regularization(out.weights).item<double>(), -1.0);
}

TEST(DynamicEnsembleTest, GradientReachesEveryParameter) {
  seed_everything(2);
  auto e = make_ensemble(10, 2, 2);
  perturb_gate(*e);  // the zero-initialised output layer blocks the gate's first layer at step 0
  e->train();
  output_loss(e->forward(make_input(4, 10, 2))).backward();
  for (const auto& p : e->named_parameters()) {
    SCOPED_TRACE(p.key());
    ASSERT_TRUE(p.value().grad().defined());
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(DynamicEnsembleTest, Float64GradientCheckOfTheGate) {
  for (const std::string mode : {"gated", "static"}) {
    seed_everything(3);
    auto e = std::dynamic_pointer_cast<DynamicEnsembleImpl>(make_forecaster(
        "ensemble", {6, 2, 2, {{"members", {"linear", "repeat_last", {{"name", "seasonal_naive"}, {"options", {{"period", 3}}}}}},
                               {"mode", mode},
                               {"gate_hidden", 4}, {"gate_dropout", 0.0}, {"temperature", 0.7},
                               {"floor", 0.1}, {"entropy_weight", 0.3}}}));
    e->to(torch::kDouble);
    perturb_gate(*e, 0.5);
    torch::Tensor ctx = torch::randn({3, e->context_width()}, torch::kDouble);
    torch::Tensor preds = torch::randn({3, 3, 2}, torch::kDouble);
    std::vector<torch::Tensor> wrt = {ctx, preds};
    for (auto& p : e->gate_parameters()) wrt.push_back(p);
    EXPECT_TRUE(gradcheck(
        [&] {
          auto [y, w] = e->mix(ctx, preds);
          return y.pow(2).sum() + e->regularization(w);
        },
        wrt))
        << mode;
  }
}

TEST(DynamicEnsembleTest, GateLearnsFromPrecomputedPredictionsWithMembersFrozen) {
  // Two regimes told apart by context channel 1: member 0 is right when it is positive, member 1
  // otherwise. The gated mode must learn it from (context, predictions) alone.
  seed_everything(4);
  auto e = std::dynamic_pointer_cast<DynamicEnsembleImpl>(make_forecaster(
      "ensemble", {8, 2, 2, {{"members", {"linear", "repeat_last"}}, {"gate_dropout", 0.0}}}));
  e->freeze_members();
  std::vector<torch::Tensor> member_before;
  for (auto& p : e->members()[0]->parameters()) member_before.push_back(p.clone());
  const int64_t n = 128;
  torch::Tensor x = make_input(n, 8, 2, 5);
  torch::Tensor regime = (x.select(1, 7).select(1, 1) > x.select(1, 7).select(1, 1).median()).to(torch::kFloat);  // [n]
  torch::Tensor truth = torch::randn({n, 2});
  torch::Tensor noise = torch::randn({n, 2});
  torch::Tensor p0 = truth + (1 - regime).unsqueeze(1) * noise, p1 = truth + regime.unsqueeze(1) * noise;
  torch::Tensor preds = torch::stack({p0, p1}, 1);  // [n, 2, 2]
  torch::Tensor ctx = e->context_features(x, {});
  torch::optim::Adam opt(e->gate_parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int i = 0; i < 300; ++i) {
    opt.zero_grad();
    auto [y, w] = e->mix(ctx, preds);
    torch::Tensor loss = torch::mse_loss(y, truth);
    loss.backward();
    opt.step();
    if (i == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.3 * first) << first << " -> " << last;
  auto params = e->members()[0]->parameters();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], member_before[i]));
}

TEST(DynamicEnsembleTest, ContractWithSmallMembers) {
  ModelSpec spec{10, 2, 2, small_options()};
  expect_deterministic("ensemble", spec);
  expect_overfits("ensemble", spec);
  expect_devices_match_cpu("ensemble", spec);
}

TEST(DynamicEnsembleTest, SaveLoadIdenticalWithTrainedGate) {
  seed_everything(5);
  auto e = make_ensemble(10, 2, 2);
  perturb_gate(*e);
  e->eval();
  torch::Tensor x = make_input(3, 10, 2);
  ForecastOutput before = e->forward(x);
  TempDir dir;
  save_bundle(dir.path() + "/b", *e, {});
  LoadedBundle loaded = load_bundle(dir.path() + "/b");
  EXPECT_EQ(loaded.manifest.members, (std::vector<std::string>{"lstm", "spike", "linear", "repeat_last"}));
  ForecastOutput after = loaded.model->forward(x);
  EXPECT_TRUE(torch::equal(before.value, after.value));
  EXPECT_TRUE(torch::equal(before.weights, after.weights));
}

TEST(DynamicEnsembleTest, BuiltFromGivenMembers) {
  std::vector<Forecaster> members = {make_forecaster("linear", {8, 2, 2, {}}),
                                     make_forecaster("repeat_last", {8, 2, 2, {}})};
  DynamicEnsembleOptions o;
  o.input_length = 8;
  o.horizon = 2;
  o.channels = 2;
  DynamicEnsemble e(o, members);
  EXPECT_EQ(e->options().members.size(), 2u);
  EXPECT_EQ(e->members()[0].get(), members[0].get());
  std::vector<Forecaster> wrong = {make_forecaster("linear", {8, 3, 2, {}})};
  EXPECT_THROW((void)DynamicEnsemble(o, wrong), ConfigError);
}

TEST(DynamicEnsembleTest, LargeBatchesInChunksAndMembersInTurnGiveTheSameForecast) {
  // Inference over more windows than max_forward_batch runs in chunks (CUDA's 2^31-element limit),
  // and GPU inference runs members on side streams or in turn: every way must give one answer, on
  // every test device (the CPU first: the oracle).
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    seed_everything(12);
    auto e = make_ensemble(10, 2, 3);
    perturb_gate(*e);
    e->to(device);
    e->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = make_input(7, 10, 3, 5).to(device);
    const ForecastOutput whole = e->forward(x);
    e->set_max_forward_batch(3);
    const ForecastOutput chunked = e->forward(x);
    e->set_max_forward_batch(16384);
    e->set_side_streams(false);
    const ForecastOutput in_turn = e->forward(x);
    e->set_side_streams(true);
    for (const ForecastOutput* o : {&chunked, &in_turn}) {
      ASSERT_EQ(o->value.sizes(), whole.value.sizes());
      EXPECT_LT((o->value - whole.value).abs().max().item<double>(), 1e-5);
      ASSERT_TRUE(o->spike_logit.defined());
      EXPECT_LT((o->spike_logit - whole.spike_logit).abs().max().item<double>(), 1e-5);
      EXPECT_LT((o->weights - whole.weights).abs().max().item<double>(), 1e-5);
    }
  }
}

TEST(DynamicEnsembleTest, BadConfigurationsAreConfigErrors) {
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"mode", "vote"}}}), ConfigError);
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"members", nlohmann::json::array()}}}), ConfigError);
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"members", {"lstm", "prophet"}}}}), ConfigError);
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"members", {"ensemble"}}}}), ConfigError);
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"temperature", 0}}}), ConfigError);
  EXPECT_THROW(make_forecaster("ensemble", {8, 1, 2, {{"members", {{{"name", "lstm"}, {"options", {{"heads", 2}}}}}}}}),
               ConfigError);
}

}  // namespace
}  // namespace spikecast::models::test
