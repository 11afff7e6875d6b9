// The batch-first sequence operations (models/sequence_ops.h) against the LibTorch modules they
// replace, on every test device; under CUDA autocast against the CPU in float32.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/residual_norm_cuda.h"
#include "models/sequence_ops.h"
#include "tensor/compat.h"

namespace spikecast::models::test {
namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kFloat) - b.to(torch::kCPU, torch::kFloat)).abs().max().item<double>();
}

TEST(SequenceOpsTest, RowsLinearEqualsTheFunctional) {
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(6);
    torch::nn::Linear linear(5, 7);
    linear->to(device);
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{4, 5}, {3, 6, 5}, {2, 3, 4, 5}}) {
      const torch::Tensor x = torch::randn(shape).to(device);
      const torch::Tensor ours = rows_linear(x, linear->weight, linear->bias);
      const torch::Tensor by_module = linear->forward(x);
      ASSERT_EQ(ours.sizes(), by_module.sizes());
      EXPECT_LT(max_diff(ours, by_module), 1e-5);
    }
    // The transposed (non-contiguous) input of the attention's output projection.
    const torch::Tensor t = torch::randn({6, 3, 5}).to(device).transpose(0, 1);
    EXPECT_LT(max_diff(rows_linear(t, linear->weight, linear->bias), linear->forward(t)), 1e-5);
  }
}

// relu(linear): in inference on a card one product with the ReLU in its epilogue, in float32 and under
// bf16 autocast (against the CPU's float32); with autograd recording, the plain pair's gradient.
TEST(SequenceOpsTest, RowsLinearReluEqualsTheFunctionalsReluOnEveryDevice) {
  torch::manual_seed(16);
  torch::nn::Linear linear(24, 40);
  const torch::Tensor x = torch::randn({3, 50, 24});
  const torch::Tensor oracle = torch::relu(linear->forward(x)).detach();
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    linear->to(device);
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor ours = rows_linear_relu(x.to(device), linear->weight, linear->bias);
      ASSERT_EQ(ours.sizes(), oracle.sizes());
      EXPECT_LT(max_diff(ours, oracle), 1e-5);
      EXPECT_EQ((ours < 0).sum().item<int64_t>(), 0);
      if (device.is_cuda()) {
        compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
        const torch::Tensor low = rows_linear_relu(x.to(device), linear->weight, linear->bias);
        EXPECT_EQ(low.scalar_type(), torch::kBFloat16);
        EXPECT_LT(max_diff(low, oracle), 5e-2);
      }
    }
    const torch::Tensor xg = x.to(device).requires_grad_();
    const torch::Tensor fused = rows_linear_relu(xg, linear->weight, linear->bias);
    const torch::Tensor ours = torch::autograd::grad({fused.sum()}, {xg})[0];
    const torch::Tensor plain = torch::autograd::grad({torch::relu(linear->forward(xg)).sum()}, {xg})[0];
    EXPECT_LT(max_diff(ours, plain), 1e-5);
    linear->to(torch::kCPU);
  }
}

// In training rows_linear is its own autograd function (the bias gradient as a product with ones):
// the gradients of x, the weight and the bias are the functional's on every device, and under CUDA
// autocast it computes in the autocast type, as the functional does there, close to the CPU's float32.
TEST(SequenceOpsTest, RowsLinearGradientsEqualTheFunctionals) {
  torch::manual_seed(9);
  const torch::Tensor x0 = torch::randn({3, 40, 24}), w0 = torch::randn({16, 24}) * 0.2, b0 = torch::randn({16});
  const torch::Tensor g0 = torch::randn({3, 40, 16});
  const auto grads = [&](const torch::Device& device, bool ours, bool autocast) {
    // detach(): a leaf of its own even where to() returns x0 itself (the CPU).
    torch::Tensor x = x0.to(device).detach().requires_grad_(), w = w0.to(device).detach().requires_grad_(),
                  b = b0.to(device).detach().requires_grad_();
    const compat::AutocastScope scope(torch::kCUDA, torch::kBFloat16, autocast);
    const torch::Tensor y = ours ? rows_linear(x, w, b) : torch::nn::functional::linear(x, w, b);
    if (autocast) EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    (y.to(torch::kFloat32) * g0.to(device)).sum().backward();
    return std::vector<torch::Tensor>{y.to(torch::kCPU, torch::kFloat).clone(), x.grad().cpu().clone(),
                                      w.grad().cpu().clone(), b.grad().cpu().clone()};
  };
  const std::vector<torch::Tensor> oracle = grads(torch::kCPU, false, false);
  EXPECT_GT(oracle[3].abs().sum().item<double>(), 0.0);
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    const std::vector<torch::Tensor> ours = grads(device, true, false);
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_LT(max_diff(ours[i], oracle[i]), 1e-4) << i;
    if (!device.is_cuda()) continue;
    const std::vector<torch::Tensor> reduced = grads(device, true, true);
    for (size_t i = 0; i < reduced.size(); ++i) {
      const double relative = ((reduced[i] - oracle[i]).norm() / oracle[i].norm()).item<double>();
      EXPECT_LT(relative, 2e-2) << i;
    }
  }
}

TEST(SequenceOpsTest, SameConvEqualsTheModulesForward) {
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    for (int64_t kernel : {1, 3, 5, 7}) {
      torch::manual_seed(5);
      torch::nn::Conv1d conv(torch::nn::Conv1dOptions(4, 6, kernel).padding(kernel / 2).bias(kernel != 5));
      conv->to(device);
      const torch::Tensor x = torch::randn({3, 9, 4}).to(device);  // [B, L, C]
      const torch::Tensor by_module = conv->forward(x.transpose(1, 2)).transpose(1, 2);
      const torch::Tensor ours = same_conv(conv, x);
      ASSERT_EQ(ours.sizes(), by_module.sizes()) << kernel;
      EXPECT_TRUE(ours.is_contiguous());
      EXPECT_LT(max_diff(ours, by_module), 1e-5) << kernel;
      // The weight's gradient too (on CUDA the channels are padded to 8 inside: 4 here).
      const torch::Tensor g = torch::randn(ours.sizes()).to(device);
      const torch::Tensor by_module_grad = torch::autograd::grad({(by_module * g).sum()}, {conv->weight})[0];
      const torch::Tensor ours_grad = torch::autograd::grad({(ours * g).sum()}, {conv->weight})[0];
      EXPECT_LT(max_diff(ours_grad, by_module_grad), 1e-4) << kernel;
    }
  }
}

TEST(SequenceOpsTest, SameConvsEqualTheModulesConcatenated) {
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(8);
    std::vector<torch::nn::Conv1d> convs;
    for (int64_t kernel : {3, 7, 1, 5}) {  // widths in any order, one without bias
      convs.emplace_back(torch::nn::Conv1dOptions(4, 3 + kernel, kernel).padding(kernel / 2).bias(kernel != 1));
      convs.back()->to(device);
    }
    const torch::Tensor x = torch::randn({2, 11, 4}).to(device);
    std::vector<torch::Tensor> parts;
    for (auto& conv : convs) parts.push_back(conv->forward(x.transpose(1, 2)).transpose(1, 2));
    const torch::Tensor ours = same_convs(convs, x);
    const torch::Tensor by_modules = torch::cat(parts, 2);
    ASSERT_EQ(ours.sizes(), by_modules.sizes());
    EXPECT_LT(max_diff(ours, by_modules), 1e-5);
    // Gradients reach each module's own weights, zero padding included nowhere else.
    ours.sum().backward();
    for (auto& conv : convs) {
      ASSERT_TRUE(conv->weight.grad().defined());
      EXPECT_EQ(conv->weight.grad().sizes(), conv->weight.sizes());
    }
  }
}

TEST(SequenceOpsTest, SameConvRefusesOtherConvolutions) {
  torch::nn::Conv1d even(torch::nn::Conv1dOptions(2, 3, 4).padding(2));
  torch::nn::Conv1d strided(torch::nn::Conv1dOptions(2, 3, 3).padding(1).stride(2));
  torch::nn::Conv1d unpadded(torch::nn::Conv1dOptions(2, 3, 3));
  const torch::Tensor x = torch::randn({1, 8, 2});
  EXPECT_THROW(same_conv(even, x), ModelError);
  EXPECT_THROW(same_conv(strided, x), ModelError);
  EXPECT_THROW(same_conv(unpadded, x), ModelError);
}

TEST(SequenceOpsTest, LayerNormEqualsTheModuleAndKeepsAutocastsPrecision) {
  torch::manual_seed(7);
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({16}));
  torch::NoGradGuard no_grad;
  norm->weight.uniform_(0.5, 1.5);
  norm->bias.uniform_(-0.5, 0.5);
  const torch::Tensor x = torch::randn({4, 10, 16}) * 3 + 1;
  const torch::Tensor expected = norm->forward(x);
  EXPECT_LT(max_diff(layer_norm(norm, x), expected), 1e-6);  // the CPU: the module itself
  for (const torch::Device& device : test_devices()) {
    if (!device.is_cuda()) continue;
    torch::nn::LayerNorm on_device(norm->options);
    on_device->weight.copy_(norm->weight);
    on_device->bias.copy_(norm->bias);
    on_device->to(device);
    const compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
    const torch::Tensor xb = x.to(device).to(torch::kBFloat16);  // as an autocast op hands it on
    const torch::Tensor y = layer_norm(on_device, xb);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(compat::cuda_autocast_enabled());  // restored after the call
    // bf16 rounding of input, weights and output: a few 1e-2 on values of order 1.
    EXPECT_LT(max_diff(y, expected), 5e-2);
  }
}

// residual_layer_norm is norm(x + residual): the module itself on the CPU; on CUDA for bf16 / fp16 one
// fused kernel each way, whose output and gradients (x, residual, weight, bias) follow the CPU's
// float32 to 16-bit precision, for rows fewer than a block's and more than a backward launch's.
TEST(SequenceOpsTest, ResidualLayerNormEqualsTheModule) {
  for (const int64_t width : {128, 64}) {
    SCOPED_TRACE(width);
    torch::manual_seed(13);
    torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({width}));
    {
      torch::NoGradGuard no_grad;
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.uniform_(-0.5, 0.5);
    }
    const std::vector<int64_t> shape = width == 128 ? std::vector<int64_t>{3, 7, width} : std::vector<int64_t>{90, 101, width};
    const torch::Tensor x0 = torch::randn(shape) * 2 + 0.5, r0 = torch::randn(shape), g0 = torch::randn(shape);
    const auto pass = [&](torch::nn::LayerNorm& n, const torch::Device& device, torch::ScalarType type, bool ours) {
      n->zero_grad();
      torch::Tensor x = x0.to(device, type).detach().requires_grad_(), r = r0.to(device, type).detach().requires_grad_();
      const torch::Tensor y = ours ? residual_layer_norm(n, x, r) : n->forward(x + r);
      EXPECT_EQ(y.scalar_type(), type);
      (y.to(torch::kFloat32) * g0.to(device)).sum().backward();
      // Copies: on the CPU grad() and cpu() alias the tensors the next pass zeroes (LibTorch 1.13).
      return std::vector<torch::Tensor>{y.to(torch::kCPU, torch::kFloat).clone(),
                                        x.grad().to(torch::kCPU, torch::kFloat).clone(),
                                        r.grad().to(torch::kCPU, torch::kFloat).clone(), n->weight.grad().cpu().clone(),
                                        n->bias.grad().cpu().clone()};
    };
    const std::vector<torch::Tensor> oracle = pass(norm, torch::kCPU, torch::kFloat32, false);
    const std::vector<torch::Tensor> cpu = pass(norm, torch::kCPU, torch::kFloat32, true);
    for (size_t i = 0; i < cpu.size(); ++i) EXPECT_EQ(max_diff(cpu[i], oracle[i]), 0.0) << i;
    EXPECT_FALSE(cuda_residual_norm_takes(norm, x0, r0)) << "a CPU input";
    for (const torch::Device& device : test_devices()) {
      if (!device.is_cuda()) continue;
      torch::nn::LayerNorm on_device(norm->options);
      {
        torch::NoGradGuard no_grad;
        on_device->weight.copy_(norm->weight);
        on_device->bias.copy_(norm->bias);
      }
      on_device->to(device);
      EXPECT_FALSE(cuda_residual_norm_takes(on_device, x0.to(device), r0.to(device))) << "float32: LibTorch's";
      for (const torch::ScalarType type : {torch::kBFloat16, torch::kHalf}) {
        SCOPED_TRACE(c10::toString(type));
        ASSERT_TRUE(cuda_residual_norm_takes(on_device, x0.to(device, type), r0.to(device, type)));
        const std::vector<torch::Tensor> ours = pass(on_device, device, type, true);
        EXPECT_LT(max_diff(ours[0], oracle[0]), type == torch::kHalf ? 1e-2 : 5e-2);
        for (size_t i = 1; i < ours.size(); ++i) {
          const double relative = ((ours[i] - oracle[i]).norm() / oracle[i].norm()).item<double>();
          EXPECT_LT(relative, 2e-2) << i;
        }
      }
    }
  }
}

// relu_dropout keeps only its output for backward; what it computes and the gradient it gives must be
// the module pair's: the same mask from the same generator state, the same gradient (to rounding of
// the 1 / (1 - p) factor), on every device; relu alone in evaluation or at p = 0.
TEST(SequenceOpsTest, ReluDropoutEqualsTheModulePair) {
  for (const torch::Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    const torch::Tensor x0 = torch::randn({4, 30, 24}).to(device);
    const torch::Tensor g = torch::randn({4, 30, 24}).to(device);
    torch::Tensor x1 = x0.clone().requires_grad_(), x2 = x0.clone().requires_grad_();
    torch::manual_seed(11);
    if (device.is_cuda()) torch::cuda::manual_seed_all(11);
    const torch::Tensor ours = relu_dropout(x1, 0.3, true);
    torch::manual_seed(11);
    if (device.is_cuda()) torch::cuda::manual_seed_all(11);
    const torch::Tensor pair = torch::dropout(torch::relu(x2), 0.3, true);
    EXPECT_EQ(max_diff(ours, pair), 0.0);
    const double dropped = (ours == 0).to(torch::kFloat).mean().item<double>();
    EXPECT_GT(dropped, 0.5);  // about half the inputs are negative, 30% of the rest dropped
    (ours * g).sum().backward();
    (pair * g).sum().backward();
    EXPECT_LT(max_diff(x1.grad(), x2.grad()), 1e-6);
    EXPECT_GT(x1.grad().abs().sum().item<double>(), 0.0);
    // Only the output is kept for backward: the result is what the module pair computes from it.
    torch::Tensor x3 = x0.clone().requires_grad_();
    EXPECT_EQ(max_diff(relu_dropout(x3, 0.3, false), torch::relu(x0)), 0.0);
    EXPECT_EQ(max_diff(relu_dropout(x3, 0.0, true), torch::relu(x0)), 0.0);
    relu_dropout(x3, 0.0, true).sum().backward();
    EXPECT_EQ(max_diff(x3.grad(), (x0 > 0).to(torch::kFloat)), 0.0);
  }
}

}  // namespace
}  // namespace spikecast::models::test
