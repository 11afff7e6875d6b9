// spikecast's attention kernels (models/self_attention_cuda.h) against softmax(q k^T / sqrt(32)) v
// computed in float64 on the CPU (the oracle), forward and gradients, in bfloat16 and float16, and
// their dropout: the weights it keeps, how it scales them, and that backward uses the forward's mask.
// The kernels run only on a CUDA card; on the CPU the tests check that nothing takes the call.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "model_test_util.h"
#include "models/self_attention_cuda.h"
#include "models/spike_detector.h"
#include "tensor/compat.h"
#include "tensor/graphed_call.h"
#include "tensor/side_streams.h"

#ifdef SPIKECAST_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#endif

namespace spikecast::models::test {
namespace {

constexpr int64_t kW = 32;  // head width

bool have_kernels() {
  return torch::cuda::is_available() &&
         cuda_self_attention_takes(torch::zeros({1, 4, 3 * kW}, torch::TensorOptions(torch::kCUDA).dtype(torch::kBFloat16)), 1);
}

// softmax(q k^T / sqrt(32)) v per head in float64 on the CPU, with the weights multiplied by `keep`
// ([B, heads, L, L], or undefined for none) after the softmax; qkv [B, L, 3 heads 32].
torch::Tensor reference(const torch::Tensor& qkv, int64_t heads, const torch::Tensor& keep = {}) {
  const int64_t b = qkv.size(0), l = qkv.size(1);
  const torch::Tensor parts = qkv.view({b, l, 3, heads, kW});
  const torch::Tensor q = parts.select(2, 0).transpose(1, 2), k = parts.select(2, 1).transpose(1, 2),
                      v = parts.select(2, 2).transpose(1, 2);  // [B, heads, L, 32]
  torch::Tensor w = torch::softmax(torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(kW)), -1);
  if (keep.defined()) w = w * keep;
  return torch::matmul(w, v).transpose(1, 2).reshape({b, l, heads * kW});
}

// The largest difference relative to the oracle's largest magnitude, or to 1 where that is smaller:
// the inputs are of order 1, and some results are 0 (q's and k's gradients over a one-step window,
// where the kernels leave float16 rounding).
double relative_error(const torch::Tensor& ours, const torch::Tensor& oracle) {
  const torch::Tensor o = ours.to(torch::kCPU, torch::kDouble);
  return (o - oracle).abs().max().item<double>() / std::max(oracle.abs().max().item<double>(), 1.0);
}

TEST(CudaSelfAttention, TakesOnlyCudaSixteenBitWindowsOfAtMost128Steps) {
  const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
  EXPECT_FALSE(cuda_self_attention_takes(torch::zeros({2, 10, 3 * kW}, bf16), 1));  // a CPU tensor
  EXPECT_THROW(cuda_self_attention(torch::zeros({2, 10, 3 * kW}, bf16), 1, 0.0), ModelError);
  if (!have_kernels()) GTEST_SKIP() << "no CUDA card (or a build without the CUDA kernels)";
  const auto cuda = bf16.device(torch::kCUDA);
  EXPECT_TRUE(cuda_self_attention_takes(torch::zeros({2, 128, 4 * 3 * kW}, cuda), 4));
  EXPECT_FALSE(cuda_self_attention_takes(torch::zeros({2, 129, 3 * kW}, cuda), 1));           // too long
  EXPECT_FALSE(cuda_self_attention_takes(torch::zeros({2, 10, 3 * 16}, cuda), 1));            // heads 16 wide
  EXPECT_FALSE(cuda_self_attention_takes(torch::zeros({2, 10, 3 * kW}, cuda.dtype(torch::kFloat)), 1));
}

TEST(CudaSelfAttention, ForwardAndGradientsEqualTheFloat64Oracle) {
  if (!have_kernels()) GTEST_SKIP() << "no CUDA card (or a build without the CUDA kernels)";
  for (const torch::ScalarType type : {torch::kBFloat16, torch::kHalf}) {
    for (const int64_t length : {1, 7, 16, 33, 100, 128}) {
      for (const int64_t heads : {1, 4}) {
        SCOPED_TRACE(std::string(type == torch::kHalf ? "fp16" : "bf16") + " length " + std::to_string(length) +
                     " heads " + std::to_string(heads));
        torch::manual_seed(11);
        // Rounded to the 16-bit type first, so the oracle sees the kernel's inputs.
        const torch::Tensor qkv16 = (torch::randn({3, length, 3 * heads * kW}) * 1.5).to(type);
        const torch::Tensor dout16 = torch::randn({3, length, heads * kW}).to(type);
        torch::Tensor qkv = qkv16.to(torch::kCUDA).requires_grad_();
        const torch::Tensor out = cuda_self_attention(qkv, heads, 0.0);
        ASSERT_EQ(out.scalar_type(), type);
        out.backward(dout16.to(torch::kCUDA));

        torch::Tensor oracle_in = qkv16.to(torch::kDouble).requires_grad_();
        const torch::Tensor oracle = reference(oracle_in, heads);
        oracle.backward(dout16.to(torch::kDouble));
        // 16-bit inputs and outputs, weights rounded to 16 bits for the products: bf16 has 8 bits.
        const double bound = type == torch::kHalf ? 4e-3 : 2.5e-2;
        EXPECT_LT(relative_error(out, oracle), bound);
        const torch::Tensor g = qkv.grad().view({3, length, 3, heads * kW}), og = oracle_in.grad().view({3, length, 3, heads * kW});
        for (int part = 0; part < 3; ++part)
          EXPECT_LT(relative_error(g.select(2, part), og.select(2, part)), 2 * bound) << "gradient of " << "qkv"[part];
      }
    }
  }
}

// The dropout tests' input, on the CPU in float16: 64 windows of 32 steps and 2 heads at p = 0.3, q and
// k random, v one-hot (v_j = e_j), so that the output's row i is row i of the weights as the kernel
// used them, dropout included; and an output gradient.
struct DropoutCase {
  int64_t heads = 2;
  double p = 0.3;
  torch::Tensor qkv16;   // [64, 32, 3 heads 32]
  torch::Tensor dout16;  // [64, 32, heads 32]
};

DropoutCase dropout_case(uint64_t seed) {
  DropoutCase c;
  const int64_t b = 64, l = kW;
  torch::manual_seed(seed);
  torch::Tensor qkv = torch::randn({b, l, 3, c.heads, kW});
  qkv.select(2, 2).copy_(torch::eye(kW).view({1, l, 1, kW}).expand({b, l, c.heads, kW}));
  c.qkv16 = qkv.view({b, l, 3 * c.heads * kW}).to(torch::kHalf);
  c.dout16 = torch::randn({b, l, c.heads * kW}).to(torch::kHalf);
  return c;
}

// Recovers the mask from `out` (the kernels' output for c.qkv16 at c.p), which must drop about p of
// the weights and scale the others by the inverse of the kept fraction, and checks that `grad`
// (qkv's gradient for the output gradient c.dout16) is the oracle's under that mask.
void expect_one_dropout_draw(const DropoutCase& c, const torch::Tensor& out, const torch::Tensor& grad) {
  const torch::Tensor &qkv16 = c.qkv16, &dout16 = c.dout16;
  const int64_t b = qkv16.size(0), l = qkv16.size(1), heads = c.heads;
  const double p = c.p;
  // [B, L, heads, 32] -> the weights [B, heads, L(query), L(key)] as used
  const torch::Tensor used = out.detach().to(torch::kCPU, torch::kDouble).view({b, l, heads, kW}).permute({0, 2, 1, 3});
  const torch::Tensor plain = reference(qkv16.to(torch::kDouble), heads).view({b, l, heads, kW}).permute({0, 2, 1, 3});
  const torch::Tensor kept = used.abs() > 0;
  const torch::Tensor clear = plain > 1e-3;  // weights float16 holds to a few parts in 10^4
  const double dropped = 1.0 - kept.masked_select(clear).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, p, 0.01);  // within a point: 64 windows of 2 heads hold 131,072 weights
  const double scale = 65536.0 / (65536.0 - std::round(p * 65536.0));
  const torch::Tensor ratio = used.masked_select(kept & clear) / plain.masked_select(kept & clear);
  EXPECT_NEAR(ratio.mean().item<double>(), scale, 0.01 * scale);
  EXPECT_LT((ratio - scale).abs().max().item<double>(), 0.02 * scale);

  // The oracle with the recovered mask: the same output and gradients.
  torch::Tensor oracle_in = qkv16.to(torch::kDouble).requires_grad_();
  const torch::Tensor oracle = reference(oracle_in, heads, kept.to(torch::kDouble) * scale);
  oracle.backward(dout16.to(torch::kDouble));
  EXPECT_LT(relative_error(out, oracle), 4e-3);
  EXPECT_LT(relative_error(grad, oracle_in.grad()), 8e-3);
}

TEST(CudaSelfAttention, DropoutDropsAboutPAndBackwardUsesTheForwardsMask) {
  if (!have_kernels()) GTEST_SKIP() << "no CUDA card (or a build without the CUDA kernels)";
  const DropoutCase c = dropout_case(12);
  const torch::Tensor &qkv16 = c.qkv16;
  const int64_t heads = c.heads;
  const double p = c.p;

  torch::Tensor x = qkv16.to(torch::kCUDA).requires_grad_();
  const torch::Tensor out = cuda_self_attention(x, heads, p);
  out.backward(c.dout16.to(torch::kCUDA));
  expect_one_dropout_draw(c, out, x.grad());

  // Each call draws a new mask; the generator's seed makes it reproducible.
  torch::manual_seed(5);
  const torch::Tensor first = cuda_self_attention(qkv16.to(torch::kCUDA), heads, p);
  const torch::Tensor second = cuda_self_attention(qkv16.to(torch::kCUDA), heads, p);
  torch::manual_seed(5);
  const torch::Tensor again = cuda_self_attention(qkv16.to(torch::kCUDA), heads, p);
  EXPECT_GT((first - second).abs().max().item<double>(), 0.0);
  EXPECT_EQ((first - again).abs().max().item<double>(), 0.0);
}

#ifdef SPIKECAST_WITH_CUDA
// Captured in a CUDA graph, as the spike member's training step is (train/captured_step.cc), the
// forward and backward draw a new mask on every replay (the generator's seed and offset are read on
// the device, and each replay advances the offset) and each replay's backward applies the mask of its
// own forward.
TEST(CudaSelfAttention, ACapturedStepDrawsANewMaskEveryReplayAndItsBackwardUsesIt) {
  if (!have_kernels()) GTEST_SKIP() << "no CUDA card (or a build without the CUDA kernels)";
  const DropoutCase c = dropout_case(14);
  const torch::Tensor x = c.qkv16.to(torch::kCUDA).requires_grad_();
  const torch::Tensor dout = c.dout16.to(torch::kCUDA);
  torch::Tensor out, grad;
  const auto step = [&] {
    out = cuda_self_attention(x, c.heads, c.p);
    grad = torch::autograd::grad({out}, {x}, {dout})[0];
  };
  // One eager step first, on the stream the capture uses, as the trainer takes it: x's gradient
  // node remembers the stream of its first backward, and one on the default stream would make the
  // captured backward wait on the default stream, which a capture cannot do.
  run_on_work_stream(x.device(), step);
  at::cuda::CUDAGraph graph;
  capture_on_work_stream(x.device(), graph, step);
  std::vector<torch::Tensor> outs;
  for (int replay = 0; replay < 3; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    graph.replay();
    compat::synchronize(x.device());
    expect_one_dropout_draw(c, out, grad);
    outs.push_back(out.to(torch::kCPU, torch::kDouble));
  }
  EXPECT_GT((outs[0] - outs[1]).abs().max().item<double>(), 0.0);
  EXPECT_GT((outs[1] - outs[2]).abs().max().item<double>(), 0.0);
}
#endif

// The spike member's attention at its default width (128, 4 heads of 32) under CUDA autocast goes
// through the kernels and equals the module's own forward in float32.
TEST(CudaSelfAttention, TheSpikeMembersAttentionUsesItAndEqualsTheModule) {
  if (!have_kernels()) GTEST_SKIP() << "no CUDA card (or a build without the CUDA kernels)";
  torch::manual_seed(13);
  torch::nn::MultiheadAttention attention(torch::nn::MultiheadAttentionOptions(128, 4));
  attention->to(torch::kCUDA);
  attention->eval();
  const torch::Tensor s = torch::randn({5, 100, 128}).to(torch::kCUDA);
  const torch::Tensor t = s.transpose(0, 1);
  const torch::Tensor by_module = std::get<0>(attention->forward(t, t, t)).transpose(0, 1);
  torch::Tensor ours;
  {
    compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
    ours = fused_self_attention(attention, s);
  }
  ASSERT_EQ(ours.scalar_type(), torch::kBFloat16);
  EXPECT_LT(relative_error(ours, by_module.to(torch::kCPU, torch::kDouble)), 3e-2);
}

}  // namespace
}  // namespace spikecast::models::test
