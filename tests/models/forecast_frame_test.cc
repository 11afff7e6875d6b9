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

}  // namespace
}  // namespace spikecast::models::test
