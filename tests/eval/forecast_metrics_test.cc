#include "eval/forecast_metrics.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"

namespace spikecast {
namespace {

struct Case {
  int64_t windows, horizon;
  std::vector<float> pred, actual;
};

Case random_case(int64_t windows, int64_t horizon, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Case c{windows, horizon, {}, {}};
  for (int64_t i = 0; i < windows * horizon; ++i) {
    c.actual.push_back(n(rng));
    c.pred.push_back(c.actual.back() + 0.3f * n(rng) + 0.05f * static_cast<float>(i % horizon));
  }
  return c;
}

// Brute force in long double, denormalising every value first.
struct Reference {
  long double mse = 0, mae = 0, mse_o = 0, mae_o = 0;
};
Reference brute_force(const Case& c, double mean, double std_dev, int64_t only_step = -1) {
  Reference r;
  int64_t n = 0;
  for (int64_t w = 0; w < c.windows; ++w) {
    for (int64_t h = 0; h < c.horizon; ++h) {
      if (only_step >= 0 && h != only_step) continue;
      const long double p = c.pred[w * c.horizon + h], a = c.actual[w * c.horizon + h];
      const long double po = p * std_dev + mean, ao = a * std_dev + mean;
      r.mse += (p - a) * (p - a);
      r.mae += std::fabs(p - a);
      r.mse_o += (po - ao) * (po - ao);
      r.mae_o += std::fabs(po - ao);
      ++n;
    }
  }
  r.mse /= n; r.mae /= n; r.mse_o /= n; r.mae_o /= n;
  return r;
}

TEST(ForecastMetrics, MatchesBruteForceOverallAndPerStep) {
  const double mean = 12.5, std_dev = 3.75;
  const Case c = random_case(257, 6, 7);
  const ForecastMetrics m = compute_forecast_metrics(c.pred, c.actual, c.windows, c.horizon, mean, std_dev);
  EXPECT_EQ(m.windows, 257);
  EXPECT_EQ(m.horizon, 6);
  const Reference all = brute_force(c, mean, std_dev);
  EXPECT_NEAR(m.mse, static_cast<double>(all.mse), 1e-12);
  EXPECT_NEAR(m.mae, static_cast<double>(all.mae), 1e-12);
  EXPECT_NEAR(m.mse_original, static_cast<double>(all.mse_o), 1e-10);
  EXPECT_NEAR(m.mae_original, static_cast<double>(all.mae_o), 1e-10);
  ASSERT_EQ(m.mse_per_step.size(), 6u);
  for (int64_t h = 0; h < 6; ++h) {
    const Reference r = brute_force(c, mean, std_dev, h);
    EXPECT_NEAR(m.mse_per_step[h], static_cast<double>(r.mse), 1e-12) << "step " << h;
    EXPECT_NEAR(m.mae_per_step[h], static_cast<double>(r.mae), 1e-12) << "step " << h;
    EXPECT_NEAR(m.mse_original_per_step[h], static_cast<double>(r.mse_o), 1e-10) << "step " << h;
    EXPECT_NEAR(m.mae_original_per_step[h], static_cast<double>(r.mae_o), 1e-10) << "step " << h;
  }
  // Original units scale the error by std: MSE by std^2, MAE by std.
  EXPECT_NEAR(m.mse_original, m.mse * std_dev * std_dev, 1e-9);
  EXPECT_NEAR(m.mae_original, m.mae * std_dev, 1e-9);
}

TEST(ForecastMetrics, PerfectForecastIsZero) {
  const Case c = random_case(10, 3, 1);
  const ForecastMetrics m = compute_forecast_metrics(c.actual, c.actual, 10, 3, -4.0, 0.5);
  EXPECT_EQ(m.mse, 0.0);
  EXPECT_EQ(m.mae_original, 0.0);
}

TEST(ForecastMetrics, SkillAgainstReference) {
  const Case c = random_case(100, 4, 3);
  std::vector<float> zeros(c.actual.size(), 0.0f);  // "predict the mean" on the normalised scale
  const ForecastMetrics model = compute_forecast_metrics(c.pred, c.actual, 100, 4, 0.0, 2.0);
  const ForecastMetrics ref = compute_forecast_metrics(zeros, c.actual, 100, 4, 0.0, 2.0);
  EXPECT_NEAR(skill_score(model, ref), 1.0 - model.mse / ref.mse, 1e-15);
  EXPECT_GT(skill_score(model, ref), 0.0);
  EXPECT_DOUBLE_EQ(skill_score(ref, ref), 0.0);
  const std::vector<double> per_step = skill_per_step(model, ref);
  ASSERT_EQ(per_step.size(), 4u);
  for (size_t h = 0; h < 4; ++h) {
    EXPECT_NEAR(per_step[h], 1.0 - model.mse_per_step[h] / ref.mse_per_step[h], 1e-15);
  }
  EXPECT_TRUE(std::isnan(skill_score(1.0, 0.0)));
  EXPECT_DOUBLE_EQ(skill_score(0.25, 1.0), 0.75);
}

TEST(ForecastMetrics, RejectsBadInput) {
  const Case c = random_case(4, 2, 5);
  EXPECT_THROW(compute_forecast_metrics(c.pred, c.actual, 4, 3, 0, 1), Error);
  EXPECT_THROW(compute_forecast_metrics(c.pred, c.actual, 4, 2, 0, 0.0), Error);
  EXPECT_THROW(compute_forecast_metrics(c.pred, c.actual, 8, 0, 0, 1), Error);
  auto bad = c.pred;
  bad[5] = NAN;
  try {
    compute_forecast_metrics(bad, c.actual, 4, 2, 0, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("window 2, step 1"), std::string::npos) << e.what();
  }
  const ForecastMetrics h2 = compute_forecast_metrics(c.pred, c.actual, 4, 2, 0, 1);
  const ForecastMetrics h1 = compute_forecast_metrics(c.pred, c.actual, 8, 1, 0, 1);
  EXPECT_THROW(skill_per_step(h2, h1), Error);
}

}  // namespace
}  // namespace spikecast
