// The forecast frame: per-window normalisation (undone on the output) and the linear skip path.
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "models/forecast_frame.h"

namespace spikecast::models::test {
namespace {

TEST(ForecastFrameTest, NormalisesEveryChannel) {
  for (const std::string center : {"last", "mean"}) {
    FrameOptions o;
    o.window_norm = center;
    ForecastFrame frame(o, 20, 3);
    torch::Tensor x = make_input(4, 20, 5) * 3 + 7;
    NormalizedWindow w = frame->normalize(x);
    EXPECT_EQ(w.x.sizes(), x.sizes());
    torch::Tensor spread = w.x.var(1, false).sqrt();
    EXPECT_TRUE(torch::allclose(spread, torch::ones_like(spread), 1e-3, 1e-3)) << center;
    if (center == "last") EXPECT_LT(w.x.select(1, 19).abs().max().item<double>(), 1e-5);
    else EXPECT_LT(w.x.mean(1).abs().max().item<double>(), 1e-5);
    EXPECT_TRUE(torch::allclose(w.x * w.scale + w.center, x, 1e-4, 1e-4));
  }
}

TEST(ForecastFrameTest, UntrainedFrameWithLastCentringIsRepeatLast) {
  ForecastFrame frame(FrameOptions{}, 10, 4);
  torch::Tensor x = make_input(3, 10, 2);
  NormalizedWindow w = frame->normalize(x);
  torch::Tensor y = frame->finish(torch::zeros({3, 4}), w);
  torch::Tensor last = x.select(1, 9).select(1, 0).unsqueeze(1).expand({3, 4});
  EXPECT_TRUE(torch::allclose(y, last, 1e-5, 1e-6));
}

TEST(ForecastFrameTest, FlatWindowStaysFinite) {
  ForecastFrame frame(FrameOptions{}, 6, 2);
  torch::Tensor x = torch::full({2, 6, 3}, 4.0f);
  NormalizedWindow w = frame->normalize(x);
  EXPECT_TRUE(torch::isfinite(w.x).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(frame->finish(torch::ones({2, 2}), w)).all().item<bool>());
}

TEST(ForecastFrameTest, Float64GradientCheck) {
  for (const std::string center : {"last", "mean", "none"}) {
    FrameOptions o;
    o.window_norm = center;
    ForecastFrame frame(o, 6, 2);
    frame->to(torch::kDouble);
    {
      torch::NoGradGuard g;
      for (auto& p : frame->parameters()) p.uniform_(-0.5, 0.5);
    }
    torch::Tensor x = make_input(2, 6, 3, 4, torch::kDouble);
    torch::Tensor correction = torch::randn({2, 2}, torch::kDouble);
    std::vector<torch::Tensor> wrt = {x, correction};
    for (auto& p : frame->parameters()) wrt.push_back(p);
    EXPECT_TRUE(gradcheck(
        [&] {
          NormalizedWindow w = frame->normalize(x);
          return (frame->finish(correction, w).pow(2) + w.x.sin().sum()).sum();
        },
        wrt))
        << center;
  }
}

// On a card, float32 windows that need no gradient are normalised by one kernel
// (window_norm_cuda.h); the CPU's LibTorch ops are the oracle, for both centrings, with and without
// the scale, a flat channel among them, and the users' window (100 x 13) beside odd shapes. A window
// that requires a gradient takes LibTorch's ops on the card and gets one.
TEST(ForecastFrameTest, CudaNormalisationEqualsTheCpus) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::vector<std::vector<int64_t>> shapes = {{300, 100, 13}, {5, 1, 1}, {7, 33, 70}, {2, 200, 3}};
  for (const auto& shape : shapes) {
    for (const std::string center : {"last", "mean"}) {
      for (const bool scale : {true, false}) {
        SCOPED_TRACE(center + (scale ? " scaled " : " unscaled ") + std::to_string(shape[0]) + "x" +
                     std::to_string(shape[1]) + "x" + std::to_string(shape[2]));
        FrameOptions o;
        o.window_norm = center;
        o.scale = scale;
        ForecastFrame frame(o, shape[1], 2);
        torch::Tensor x = make_input(shape[0], shape[1], shape[2], 21) * 3 + 5;
        x.select(2, 0).select(0, 0).fill_(2.5);  // one flat channel
        const NormalizedWindow cpu = frame->normalize(x);
        frame->to(torch::kCUDA);
        const NormalizedWindow gpu = frame->normalize(x.to(torch::kCUDA));
        for (const auto& [ours, oracle] : {std::pair{gpu.x, cpu.x}, std::pair{gpu.center, cpu.center},
                                           std::pair{gpu.scale, cpu.scale}}) {
          ASSERT_EQ(ours.sizes(), oracle.sizes());
          const double bound = 2e-5 * std::max(1.0, oracle.abs().max().item<double>());
          EXPECT_LT((ours.cpu() - oracle).abs().max().item<double>(), bound);
        }
      }
    }
  }
  ForecastFrame frame(FrameOptions{}, 20, 1);
  frame->to(torch::kCUDA);
  torch::Tensor x = make_input(4, 20, 3).to(torch::kCUDA).requires_grad_();
  frame->normalize(x).x.pow(2).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace spikecast::models::test
