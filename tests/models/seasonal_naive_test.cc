// seasonal_naive: y[t+h] = y[t+h-period*k], checked against a brute-force loop.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

TEST(SeasonalNaiveTest, MatchesBruteForce) {
  for (int64_t period : {1, 3, 5}) {
    const int64_t len = 10, horizon = 8;
    Forecaster m = make_forecaster("seasonal_naive", {len, horizon, 2, {{"period", period}}});
    torch::Tensor x = make_input(2, len, 2);
    torch::Tensor y = m->forward(x).value;
    for (int64_t h = 1; h <= horizon; ++h) {
      // Step back whole periods until inside the window: t = L-1 + h - period*k <= L-1.
      int64_t t = len - 1 + h;
      while (t > len - 1) t -= period;
      EXPECT_TRUE(torch::equal(y.select(1, h - 1), x.select(1, t).select(1, 0))) << "period " << period << " h " << h;
    }
  }
}

TEST(SeasonalNaiveTest, Contract) {
  expect_shapes("seasonal_naive", {{"period", 4}}, {{4, 1, 1}, {12, 9, 13}});
  expect_save_load_identical("seasonal_naive", {6, 2, 3, {{"period", 3}}});
  expect_devices_match_cpu("seasonal_naive", {6, 2, 3, {{"period", 3}}});
}

TEST(SeasonalNaiveTest, PeriodLongerThanWindowIsConfigError) {
  EXPECT_THROW(make_forecaster("seasonal_naive", {10, 1, 1, {{"period", 11}}}), ConfigError);
  EXPECT_THROW(make_forecaster("seasonal_naive", {10, 1, 1, {{"period", 0}}}), ConfigError);
}

}  // namespace
}  // namespace spikecast::models::test
