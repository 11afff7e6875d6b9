#include "model_test_util.h"
#include "core/file_system.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>

#include "core/error.h"

#include "models/model_bundle.h"
#include "models/model_registry.h"
#include "tensor/context.h"

namespace spikecast::models::test {

std::vector<torch::Device> test_devices() {
  std::vector<torch::Device> d = {torch::kCPU};
  if (torch::cuda::is_available()) d.emplace_back(torch::kCUDA, 0);
  return d;
}

torch::Tensor make_input(int64_t batch, int64_t length, int64_t channels, uint64_t seed, torch::Dtype dtype) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor walk = (torch::randn({batch, length, channels}, gen) * 0.3).cumsum(1);
  torch::Tensor t = torch::arange(length, torch::kFloat).view({1, length, 1});
  torch::Tensor phase = torch::rand({batch, 1, channels}, gen) * 6.28;
  return (walk + torch::sin(t * 0.4 + phase)).to(dtype);
}

::testing::AssertionResult gradcheck(const std::function<torch::Tensor()>& f, std::vector<torch::Tensor> wrt,
                                     double eps, double atol, double rtol, int64_t max_elements) {
  for (auto& t : wrt) {
    if (t.scalar_type() != torch::kDouble) return ::testing::AssertionFailure() << "gradcheck needs float64 tensors";
    t.requires_grad_(true);
    if (t.grad().defined()) t.mutable_grad() = torch::Tensor();
  }
  torch::Tensor out = f();
  if (out.numel() != 1) return ::testing::AssertionFailure() << "f() must return a scalar";
  std::vector<torch::Tensor> analytic = torch::autograd::grad({out}, wrt, {}, false, false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < wrt.size(); ++k) {
    torch::Tensor flat = wrt[k].view(-1);
    torch::Tensor grad = analytic[k].defined() ? analytic[k].reshape(-1) : torch::zeros_like(flat);
    const int64_t n = flat.numel(), step = std::max<int64_t>(1, n / max_elements);
    for (int64_t i = 0; i < n; i += step) {
      const double orig = flat[i].item<double>();
      flat[i] = orig + eps;
      const double plus = f().item<double>();
      flat[i] = orig - eps;
      const double minus = f().item<double>();
      flat[i] = orig;
      const double numeric = (plus - minus) / (2 * eps), exact = grad[i].item<double>();
      if (std::abs(numeric - exact) > atol + rtol * std::abs(numeric))
        return ::testing::AssertionFailure() << "tensor " << k << " element " << i << ": autograd " << exact
                                             << ", finite difference " << numeric;
    }
  }
  return ::testing::AssertionSuccess();
}

torch::Tensor output_loss(const ForecastOutput& out) {
  torch::Tensor loss = out.value.pow(2).mean();
  if (out.spike_logit.defined()) loss = loss + out.spike_logit.pow(2).mean();
  return loss;
}

void expect_shapes(const std::string& name, const nlohmann::json& options,
                   const std::vector<std::array<int64_t, 3>>& l_h_c) {
  for (const auto& [l, h, c] : l_h_c) {
    SCOPED_TRACE(name + " L=" + std::to_string(l) + " H=" + std::to_string(h) + " C=" + std::to_string(c));
    Forecaster m = make_forecaster(name, {l, h, c, options});
    m->eval();
    for (int64_t batch : {1, 3}) {
      ForecastOutput out = m->forward(make_input(batch, l, c));
      ASSERT_TRUE(out.value.defined());
      EXPECT_EQ(out.value.sizes(), (std::vector<int64_t>{batch, h}));
      EXPECT_TRUE(torch::isfinite(out.value).all().item<bool>());
      if (out.spike_logit.defined()) {
        EXPECT_EQ(out.spike_logit.sizes(), (std::vector<int64_t>{batch}));
        EXPECT_TRUE(torch::isfinite(out.spike_logit).all().item<bool>());
      }
      if (out.rules_fired.defined()) EXPECT_EQ(out.rules_fired.size(0), batch);
      if (out.weights.defined()) EXPECT_EQ(out.weights.sizes(), (std::vector<int64_t>{batch, out.weights.size(1), h}));
    }
    EXPECT_THROW(m->forward(make_input(2, l + 1, c)), ModelError);
  }
}

void expect_gradients_reach_every_parameter(const std::string& name, const ModelSpec& spec) {
  seed_everything(3);
  Forecaster m = make_forecaster(name, spec);
  m->train();
  torch::Tensor x = make_input(4, spec.input_length, spec.channels, 5);
  output_loss(m->forward(x)).backward();
  for (const auto& p : m->named_parameters()) {
    SCOPED_TRACE(name + " parameter " + p.key());
    ASSERT_TRUE(p.value().grad().defined());
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>());
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0);
  }
}

void expect_deterministic(const std::string& name, const ModelSpec& spec) {
  torch::Tensor x = make_input(3, spec.input_length, spec.channels, 7);
  auto run = [&] {
    seed_everything(11);
    Forecaster m = make_forecaster(name, spec);
    m->eval();
    return m->forward(x).value;
  };
  torch::Tensor a = run(), b = run();
  EXPECT_TRUE(torch::equal(a, b)) << name << " differs between two runs with the same seed";
  seed_everything(12);
  Forecaster other = make_forecaster(name, spec);
  other->eval();
  if (count_parameters(*other) > 0) EXPECT_FALSE(torch::equal(a, other->forward(x).value)) << name;
}

void expect_overfits(const std::string& name, const ModelSpec& spec, int steps, double lr) {
  seed_everything(21);
  Forecaster m = make_forecaster(name, spec);
  m->train();
  torch::Tensor x = make_input(8, spec.input_length, spec.channels, 9);
  torch::Generator gen = at::detail::createCPUGenerator(10);
  torch::Tensor y = torch::randn({8, spec.horizon}, gen);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(lr));
  double first = 0, last = 0;
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    torch::Tensor loss = torch::mse_loss(m->forward(x).value, y);
    loss.backward();
    opt.step();
    if (i == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.1 * first) << name << ": loss " << first << " -> " << last << " in " << steps << " steps";
}

void expect_save_load_identical(const std::string& name, const ModelSpec& spec) {
  seed_everything(31);
  Forecaster m = make_forecaster(name, spec);
  m->eval();
  torch::Tensor x = make_input(3, spec.input_length, spec.channels, 13);
  ForecastOutput before = m->forward(x);
  TempDir dir;
  const std::string path = dir.path() + "/bundle";
  std::vector<std::string> channels;
  for (int64_t c = 0; c < spec.channels; ++c) channels.push_back("c" + std::to_string(c));
  save_bundle(path, *m, {channels, {{"mean", {1.0}}}, {{"note", "test"}}});
  LoadedBundle loaded = load_bundle(path);
  EXPECT_EQ(loaded.manifest.architecture, name);
  EXPECT_EQ(loaded.model->options_json(), m->options_json());
  ForecastOutput after = loaded.model->forward(x);
  EXPECT_TRUE(torch::equal(before.value, after.value)) << name;
  if (before.spike_logit.defined()) EXPECT_TRUE(torch::equal(before.spike_logit, after.spike_logit)) << name;
}

void expect_devices_match_cpu(const std::string& name, const ModelSpec& spec) {
  seed_everything(41);
  Forecaster m = make_forecaster(name, spec);
  m->eval();
  torch::Tensor x = make_input(4, spec.input_length, spec.channels, 17);
  torch::Tensor oracle = m->forward(x).value;
  for (const torch::Device& d : test_devices()) {
    if (d.is_cpu()) continue;
    SCOPED_TRACE(name + " on " + d.str());
    m->to(d);
    torch::Tensor got = m->forward(x.to(d)).value.to(torch::kCPU);
    EXPECT_TRUE(torch::allclose(got, oracle, 1e-3, 1e-4)) << "max diff " << (got - oracle).abs().max().item<double>();
    m->to(torch::kCPU);
  }
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("spikecast-models-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
  remove_tree(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  remove_tree(path_);
}

}  // namespace spikecast::models::test
