// The CPU cell kernels and the CUDA layer kernel against LibTorch's own LSTM/GRU on the CPU (the
// oracle), layer by layer and through whole members at small batches, where the serving path uses them.
#include "models/recurrent_inference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "models/recurrent_cells.h"
#include "model_test_util.h"
#include "tensor/compat.h"

namespace spikecast::models {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(RecurrentCells, NonlinearitiesMatchTheExactFunctions) {
  double worst_sigmoid = 0.0, worst_tanh = 0.0;
  for (double x = -120.0; x <= 120.0; x += 1.0 / 512.0) {
    const float xf = static_cast<float>(x);
    worst_sigmoid = std::max(worst_sigmoid, std::abs(cells::sigmoid(xf) - 1.0 / (1.0 + std::exp(-x))));
    worst_tanh = std::max(worst_tanh, std::abs(cells::tanh(xf) - std::tanh(x)));
  }
  EXPECT_LT(worst_sigmoid, 3e-7);
  EXPECT_LT(worst_tanh, 6e-7);
  EXPECT_EQ(cells::sigmoid(1e30f), 1.0f);
  EXPECT_LT(cells::sigmoid(-1e30f), 1e-30f);
  EXPECT_EQ(cells::tanh(-1e30f), -1.0f);
}

struct LayerCase {
  bool gru;
  int64_t input, hidden, layers;
  bool bidirectional;
  int64_t batch;
};

std::string name_of(const LayerCase& c) {
  return std::string(c.gru ? "gru" : "lstm") + "_" + std::to_string(c.input) + "x" + std::to_string(c.hidden) +
         "_layers" + std::to_string(c.layers) + (c.bidirectional ? "_bidirectional" : "") + "_batch" +
         std::to_string(c.batch);
}
void PrintTo(const LayerCase& c, std::ostream* os) { *os << name_of(c); }  // test names without raw bytes

class RecurrentLayer : public ::testing::TestWithParam<LayerCase> {};
class TiledLayer : public ::testing::TestWithParam<LayerCase> {};

// Calls check(module) with a fresh batch_first LSTM or GRU module of the case's shape.
template <typename F>
void with_module(const LayerCase& c, F&& check) {
  if (c.gru)
    check(torch::nn::GRU(torch::nn::GRUOptions(c.input, c.hidden).num_layers(c.layers).batch_first(true).bidirectional(c.bidirectional)));
  else
    check(torch::nn::LSTM(torch::nn::LSTMOptions(c.input, c.hidden).num_layers(c.layers).batch_first(true).bidirectional(c.bidirectional)));
}

TEST_P(RecurrentLayer, CellKernelsMatchLibTorch) {
  const LayerCase c = GetParam();
  torch::manual_seed(3);
  const torch::Tensor x = test::make_input(c.batch, 100, c.input, 5);
  torch::NoGradGuard no_grad;
  torch::Tensor fast, oracle;
  with_module(c, [&](auto m) {
    m->eval();
    ASSERT_TRUE(uses_cell_kernels(*m, x));
    fast = run_recurrent(m, x);
    oracle = std::get<0>(m->forward(x));
  });
  if (HasFatalFailure()) return;
  ASSERT_EQ(fast.sizes(), oracle.sizes());
  EXPECT_LT(max_abs_diff(fast, oracle), 1e-5);
}

// The CUDA layer kernel (on a card with thread-block clusters; cuDNN elsewhere) against the CPU
// module, in float32 and under bf16 autocast (the kernel computes in float32 either way).
TEST_P(RecurrentLayer, CudaKernelMatchesTheCpuModule) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const LayerCase c = GetParam();
  torch::manual_seed(3);
  const torch::Tensor x = test::make_input(c.batch, 100, c.input, 5);
  const torch::Device cuda(torch::kCUDA, 0);
  const torch::Tensor xc = x.to(cuda);
  torch::NoGradGuard no_grad;
  const auto check = [&](auto m) {
    m->eval();
    const torch::Tensor oracle = std::get<0>(m->forward(x));
    m->to(cuda);
    EXPECT_EQ(uses_cell_kernels(*m, xc), cuda_cell_kernels_available(cuda));
    const torch::Tensor fast = run_recurrent(m, xc).cpu();
    ASSERT_EQ(fast.sizes(), oracle.sizes());
    EXPECT_LT(max_abs_diff(fast, oracle), 1e-4);
    if (uses_cell_kernels(*m, xc)) {
      compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
      const torch::Tensor under_autocast = run_recurrent(m, xc).cpu();
      EXPECT_EQ(under_autocast.scalar_type(), torch::kFloat32);
      EXPECT_LT(max_abs_diff(under_autocast, oracle), 1e-4);
    }
  };
  with_module(c, check);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RecurrentLayer,
                         ::testing::Values(LayerCase{false, 13, 128, 1, false, 1},   // lstm layer 1
                                           LayerCase{false, 128, 64, 2, false, 3},   // two layers
                                           LayerCase{false, 64, 128, 1, true, 2},    // spike BiLSTM
                                           LayerCase{false, 13, 32, 1, false, 8},    // rule member
                                           LayerCase{false, 5, 12, 1, true, 1},      // widths off the 64 block
                                           LayerCase{true, 13, 128, 1, false, 1},    // gru layer 1
                                           LayerCase{true, 128, 64, 2, true, 4},
                                           LayerCase{true, 7, 20, 1, false, 1}),
                         [](const ::testing::TestParamInfo<LayerCase>& info) { return name_of(info.param); });

// A member's stack of layers, with residual connections (input or projection) as the residual GRU has.
struct StackCase {
  bool gru;
  int64_t input;
  std::vector<int64_t> hidden;
  bool residual;  // from the second layer on: the input, or a projection where the widths differ
  int64_t batch;
};

std::string name_of(const StackCase& c) {
  std::string name = std::string(c.gru ? "gru" : "lstm") + "_" + std::to_string(c.input);
  for (int64_t h : c.hidden) name += "x" + std::to_string(h);
  return name + (c.residual ? "_residual" : "") + "_batch" + std::to_string(c.batch);
}
void PrintTo(const StackCase& c, std::ostream* os) { *os << name_of(c); }

class RecurrentStack : public ::testing::TestWithParam<StackCase> {
 protected:
  void SetUp() override {
    const StackCase c = GetParam();
    torch::manual_seed(5);
    int64_t d = c.input;
    for (size_t i = 0; i < c.hidden.size(); ++i) {
      if (c.gru)
        holders_.push_back(std::make_shared<torch::nn::GRUImpl>(torch::nn::GRUOptions(d, c.hidden[i]).batch_first(true)));
      else
        holders_.push_back(std::make_shared<torch::nn::LSTMImpl>(torch::nn::LSTMOptions(d, c.hidden[i]).batch_first(true)));
      StackedLayer layer{holders_.back().get(), c.residual && i > 0};
      if (layer.residual && d != c.hidden[i]) {
        layer.projection = torch::nn::Linear(d, c.hidden[i]);
        holders_.push_back(layer.projection.ptr());
      }
      stack_.push_back(layer);
      d = c.hidden[i];
    }
    for (auto& m : holders_) m->eval();
    dropout_->eval();
  }

  // The same stack written out layer by layer with each module's own forward.
  torch::Tensor by_hand(const torch::Tensor& x) {
    torch::Tensor h = x;
    for (const StackedLayer& l : stack_) {
      torch::Tensor y = GetParam().gru ? std::get<0>(dynamic_cast<torch::nn::GRUImpl&>(*l.layer).forward(h))
                                       : std::get<0>(dynamic_cast<torch::nn::LSTMImpl&>(*l.layer).forward(h));
      torch::nn::Linear projection = l.projection;
      if (l.residual) y = y + (projection ? projection->forward(h) : h);
      h = y;
    }
    return h;
  }

  std::vector<std::shared_ptr<torch::nn::Module>> holders_;
  std::vector<StackedLayer> stack_;
  torch::nn::Dropout dropout_{0.2};
};

TEST_P(RecurrentStack, MatchesTheLayersOneByOne) {
  const torch::Tensor x = test::make_input(GetParam().batch, 100, GetParam().input, 7);
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(runs_as_one_kernel(stack_, dropout_, x)) << "the CPU has no CUDA kernel";
  EXPECT_LT(max_abs_diff(run_recurrent_stack(stack_, dropout_, x), by_hand(x)), 1e-5);
}

// Only the last step, as the members' heads read it: the same values as the whole stack's last step,
// the last layer's residual (and projection) included.
TEST_P(RecurrentStack, TheLastStepAloneIsTheWholeStacksLastStep) {
  const torch::Tensor x = test::make_input(GetParam().batch, 100, GetParam().input, 8);
  torch::NoGradGuard no_grad;
  const torch::Tensor whole = by_hand(x);
  const torch::Tensor last = run_recurrent_stack(stack_, dropout_, x, /*last_step=*/true);
  ASSERT_EQ(last.sizes(), torch::IntArrayRef({whole.size(0), 1, whole.size(2)}));
  EXPECT_LT(max_abs_diff(last, whole.narrow(1, 99, 1)), 1e-5);
  if (!torch::cuda::is_available()) return;
  for (auto& m : holders_) m->to(torch::kCUDA);
  const torch::Tensor on_card = run_recurrent_stack(stack_, dropout_, x.to(torch::kCUDA), true).cpu();
  EXPECT_LT(max_abs_diff(on_card, whole.narrow(1, 99, 1)), 1e-4);
  compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
  // At the tiled kernels' batch.
  const torch::Tensor x16 = test::make_input(4096, 100, GetParam().input, 9).to(torch::kCUDA);
  const torch::Tensor full = run_recurrent_stack(stack_, dropout_, x16).to(torch::kFloat);
  const torch::Tensor tail = run_recurrent_stack(stack_, dropout_, x16, true).to(torch::kFloat);
  EXPECT_LT(max_abs_diff(tail.cpu(), full.narrow(1, 99, 1).cpu()), 1e-2);
}

// The wavefront kernel (one launch for up to four layers) against the CPU modules, in float32 and
// under bf16 autocast.
TEST_P(RecurrentStack, CudaKernelMatchesTheCpuModules) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor x = test::make_input(GetParam().batch, 100, GetParam().input, 7);
  torch::NoGradGuard no_grad;
  const torch::Tensor oracle = by_hand(x);
  const torch::Device cuda(torch::kCUDA, 0);
  for (auto& m : holders_) m->to(cuda);
  const torch::Tensor xc = x.to(cuda);
  EXPECT_EQ(runs_as_one_kernel(stack_, dropout_, xc), cuda_cell_kernels_available(cuda));
  const torch::Tensor fast = run_recurrent_stack(stack_, dropout_, xc).cpu();
  ASSERT_EQ(fast.sizes(), oracle.sizes());
  EXPECT_LT(max_abs_diff(fast, oracle), 1e-4);
  compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
  if (runs_as_one_kernel(stack_, dropout_, xc)) {
    const torch::Tensor under_autocast = run_recurrent_stack(stack_, dropout_, xc).cpu();
    EXPECT_EQ(under_autocast.scalar_type(), torch::kFloat32);
    EXPECT_LT(max_abs_diff(under_autocast, oracle), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Stacks, RecurrentStack,
                         ::testing::Values(StackCase{false, 13, {128, 128, 64}, false, 1},  // lstm member
                                           StackCase{false, 13, {128, 128, 64}, false, 8},
                                           StackCase{true, 13, {128, 128, 64}, true, 1},    // gru member
                                           StackCase{true, 13, {128, 128, 64}, true, 5},
                                           StackCase{false, 192, {128, 64}, false, 2},     // cnn_lstm member
                                           StackCase{true, 7, {20, 20, 12}, true, 1},       // widths off the 64 block
                                           StackCase{false, 8, {16, 16, 16, 16, 16}, false, 3}),  // two launches
                         [](const ::testing::TestParamInfo<StackCase>& info) { return name_of(info.param); });

// The tensor-core kernel for large batches under bf16 autocast, against the CPU module in float32
// (the oracle), held to the error cuDNN's own path makes on the same layer under the same autocast
// (float16: cuDNN's recurrent layers compute in float16 under autocast even when its dtype is bf16):
// both round h and the products' inputs to 16 bits, so neither can match float32 to 1e-4. Batches that are not a multiple of
// the kernel's 32-window tile check the last tile's unused rows.
TEST_P(TiledLayer, CudaKernelUnderBf16AutocastIsAsCloseAsCudnn) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const LayerCase c = GetParam();
  torch::manual_seed(4);
  const torch::Tensor x = test::make_input(c.batch, 100, c.input, 6);
  const torch::Device cuda(torch::kCUDA, 0);
  const torch::Tensor xc = x.to(cuda);
  torch::NoGradGuard no_grad;
  const auto check = [&](auto m) {
    m->eval();
    const torch::Tensor oracle = std::get<0>(m->forward(x));
    m->to(cuda);
    EXPECT_FALSE(uses_cell_kernels(*m, xc)) << "float32 at this batch is cuDNN's";
    compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
    EXPECT_EQ(torch::matmul(xc[0], xc[0].t()).scalar_type(), torch::kBFloat16) << "autocast's dtype";
    EXPECT_EQ(uses_cell_kernels(*m, xc), cuda_cell_kernels_available(cuda));
    const torch::Tensor cudnn = std::get<0>(m->forward(xc));
    const torch::Tensor fast = run_recurrent(m, xc);
    ASSERT_EQ(fast.sizes(), oracle.sizes());
    EXPECT_EQ(fast.scalar_type(), cudnn.scalar_type());
    const torch::Tensor fast_err = (fast.cpu().to(torch::kFloat32) - oracle).abs();
    const torch::Tensor cudnn_err = (cudnn.cpu().to(torch::kFloat32) - oracle).abs();
    EXPECT_LT(fast_err.max().item<double>(), 2 * cudnn_err.max().item<double>() + 2e-3);
    EXPECT_LT(fast_err.mean().item<double>(), 2 * cudnn_err.mean().item<double>() + 2e-4);
    EXPECT_LT(fast_err.max().item<double>(), 0.1);
  };
  with_module(c, check);
}

INSTANTIATE_TEST_SUITE_P(Shapes, TiledLayer,
                         ::testing::Values(LayerCase{false, 13, 128, 1, false, 70},   // lstm layer 1
                                           LayerCase{false, 128, 64, 2, false, 64},   // two layers, H = 64
                                           LayerCase{false, 64, 128, 1, true, 65},    // spike BiLSTM
                                           LayerCase{false, 13, 32, 1, false, 100},   // rule member
                                           LayerCase{true, 13, 128, 1, false, 96},    // gru layer 1
                                           LayerCase{true, 128, 64, 2, true, 77},
                                           LayerCase{true, 7, 32, 1, false, 64}),
                         [](const ::testing::TestParamInfo<LayerCase>& info) { return name_of(info.param); });

// On the CPU in float32 every batch_first layer without projections takes one of spikecast's paths:
// the cell kernels in inference at small batch, the sequence path (recurrent_sequence.h) in training
// and at larger batches. Other dtypes and sequence-first modules take LibTorch's.
TEST(RecurrentInference, TakesLibTorchsPathWhenTheKernelsDoNotApply) {
  torch::nn::LSTM m(torch::nn::LSTMOptions(4, 8).batch_first(true));
  const torch::Tensor x = torch::randn({2, 10, 4});
  EXPECT_TRUE(uses_cell_kernels(*m, x)) << "training mode: the sequence path";
  m->eval();
  EXPECT_TRUE(uses_cell_kernels(*m, x)) << "autograd on: the sequence path";
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(uses_cell_kernels(*m, x));
  EXPECT_TRUE(uses_cell_kernels(*m, torch::randn({kCellKernelMaxBatch + 1, 10, 4})));
  EXPECT_FALSE(uses_cell_kernels(*m, x.to(torch::kFloat64)));
  torch::nn::LSTM seq_first(torch::nn::LSTMOptions(4, 8));
  seq_first->eval();
  EXPECT_FALSE(uses_cell_kernels(*seq_first, x));
}

// run_recurrent_directions() is run_recurrent() split by direction, on every path it can take: the
// CPU sequence path in training, the cell kernels in inference, and on CUDA under autocast the
// training kernels (directions computed apart) with a batch they take. The gradient reaches both
// directions' weights through a model that reads one step of each, as the spike member does.
TEST(RecurrentInference, DirectionsAreTheForwardSplitOnEveryPath) {
  for (const torch::Device& device : test::test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(17);
    torch::nn::LSTM m(torch::nn::LSTMOptions(6, 32).batch_first(true).bidirectional(true));
    m->to(device);
    const torch::Tensor x = test::make_input(device.is_cuda() ? 64 : 3, 12, 6, 4).to(device);
    const compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, device.is_cuda());
    for (const bool training : {true, false}) {
      m->train(training);
      const std::vector<torch::Tensor> y = run_recurrent_directions(m, x);
      ASSERT_EQ(y.size(), 2u);
      EXPECT_EQ(y[0].sizes(), (std::vector<int64_t>{x.size(0), 12, 32}));
      EXPECT_EQ(max_abs_diff(torch::cat(y, 2).to(torch::kFloat32), run_recurrent(m, x).to(torch::kFloat32)), 0.0)
          << (training ? "training" : "inference");
    }
    m->train();
    m->zero_grad();
    const std::vector<torch::Tensor> y = run_recurrent_directions(m, x);
    torch::cat({y[0].select(1, 11), y[1].select(1, 0)}, 1).to(torch::kFloat32).pow(2).sum().backward();
    for (const auto& p : m->named_parameters())
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  torch::nn::LSTM one_way(torch::nn::LSTMOptions(6, 8).batch_first(true));
  EXPECT_EQ(run_recurrent_directions(one_way, torch::randn({2, 5, 6})).size(), 1u);
}

// Every recurrent member on every device: a batch of one (cell kernels) equals that window's row of
// a batch too large for them (the sequence path on the CPU), and on CUDA equals the CPU's forecast.
TEST(RecurrentInference, MembersGiveTheSameForecastOnBothPaths) {
  for (const torch::Device& device : test::test_devices()) {
    // cuDNN's TF32 convolutions (PyTorch's default) would differ from the CPU by ~1e-3.
    const bool tf32 = at::globalContext().allowTF32CuDNN();
    at::globalContext().setAllowTF32CuDNN(false);
    for (const char* name : {"lstm", "gru", "cnn_lstm", "spike", "rule"}) {
      SCOPED_TRACE(std::string(name) + " on " + device.str());
      torch::manual_seed(11);
      Forecaster model = make_forecaster(name, ModelSpec{100, 4, 13, nlohmann::json::object()});
      model->eval();
      torch::NoGradGuard no_grad;
      const torch::Tensor x = test::make_input(kCellKernelMaxBatch + 2, 100, 13, 9);
      const ForecastOutput on_cpu = model->forward(x.slice(0, 0, 1));
      model->to(device);
      const torch::Tensor xd = x.to(device);
      const ForecastOutput batched = model->forward(xd);
      for (int64_t b : {int64_t{0}, kCellKernelMaxBatch + 1}) {
        const ForecastOutput one = model->forward(xd.slice(0, b, b + 1));
        EXPECT_LT(max_abs_diff(one.value.cpu(), batched.value.slice(0, b, b + 1).cpu()), 2e-5);
        if (one.spike_logit.defined())
          EXPECT_LT(max_abs_diff(one.spike_logit.cpu(), batched.spike_logit.slice(0, b, b + 1).cpu()), 2e-5);
        if (b == 0) EXPECT_LT(max_abs_diff(one.value.cpu(), on_cpu.value), 1e-4);
      }
    }
    at::globalContext().setAllowTF32CuDNN(tf32);
  }
}

// Every recurrent member at a batch the tensor-core kernel takes, under bf16 autocast on CUDA, against
// the same member in float32 on the CPU (16-bit products over 100 steps: 0.05 on normalised values).
TEST(RecurrentInference, MembersUnderAutocastAtLargeBatchFollowTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (const char* name : {"lstm", "gru", "cnn_lstm", "spike", "rule"}) {
    SCOPED_TRACE(name);
    torch::manual_seed(12);
    Forecaster model = make_forecaster(name, ModelSpec{100, 4, 13, nlohmann::json::object()});
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = test::make_input(kTiledKernelMinBatch + 6, 100, 13, 10);
    const ForecastOutput on_cpu = model->forward(x);
    model->to(cuda);
    compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
    const ForecastOutput on_cuda = model->forward(x.to(cuda));
    EXPECT_LT(max_abs_diff(on_cuda.value.to(torch::kFloat32).cpu(), on_cpu.value), 0.05);
  }
}

}  // namespace
}  // namespace spikecast::models
