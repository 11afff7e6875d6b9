#include "train/combination_choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"

namespace spikecast::train {
namespace {

TEST(DieboldMariano, MatchesTheNeweyWestFormulaWorkedByHand) {
  // d = 1, -1, 2, 0: mean 0.5; autocovariances g0 = 1.25, g1 = -0.9375; one lag, Bartlett weight
  // 2 (1 - 1/2) = 1: long-run variance 0.3125; statistic 0.5 / sqrt(0.3125 / 4).
  EXPECT_NEAR(diebold_mariano({1, -1, 2, 0}, 1), 0.5 / std::sqrt(0.3125 / 4), 1e-12);
  EXPECT_EQ(diebold_mariano({1, 2}, 1), 0.0);                // too few windows to judge
  EXPECT_EQ(diebold_mariano({-0.5, -0.5, -0.5, -0.5}, 2), -1e9);  // always better
  EXPECT_EQ(diebold_mariano({0.5, 0.5, 0.5, 0.5}, 2), 1e9);       // always worse
  EXPECT_EQ(diebold_mariano({0.0, 0.0, 0.0}, 1), 0.0);
}

TEST(DieboldMariano, MoreLagsWidenTheVarianceOfAPersistentDifference) {
  // A difference that stays on one side for runs of 10 windows (overlapping targets do this): more
  // lags count the runs' autocorrelation, so the statistic shrinks.
  std::vector<double> d;
  for (int run = 0; run < 20; ++run)
    for (int i = 0; i < 10; ++i) d.push_back(run % 3 == 0 ? 0.3 : -0.2);
  const double one = diebold_mariano(d, 1), ten = diebold_mariano(d, 10);
  EXPECT_LT(one, 0.0);
  EXPECT_LT(std::abs(ten), std::abs(one));
}

std::vector<double> noisy(double level, double spread, uint32_t seed, size_t n = 400) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = level + spread * z(rng);
  return v;
}

TEST(CombinationChoice, KeepsTheWidestAverageTheHoldoutCannotTellFromTheBest) {
  // The narrow average is 1% lower on average, far inside the windows' noise (a DM statistic
  // near 0.7): the widest stays.
  const std::vector<double> base = noisy(1.0, 0.2, 1);
  std::vector<double> narrow = base, middle = base;
  const std::vector<double> jitter = noisy(0.0, 0.3, 2);
  for (size_t i = 0; i < base.size(); ++i) {
    narrow[i] = base[i] * 0.99 + (i % 2 ? 1 : -1) * jitter[i];
    middle[i] = base[i] * 0.995 - (i % 2 ? 1 : -1) * jitter[i];
  }
  const AverageChoice c = choose_widest_indistinguishable(
      {{"equal", 8, base}, {"top4-mean", 4, middle}, {"top1-mean", 1, narrow}}, 1);
  EXPECT_EQ(c.chosen, 0u);
  ASSERT_EQ(c.dm_vs_lowest.size(), 3u);
  EXPECT_EQ(c.dm_vs_lowest[c.lowest], 0.0);
  EXPECT_LT(c.dm_vs_lowest[0], kSignificantDM);
}

TEST(CombinationChoice, LeavesAWideAverageThatIsSignificantlyWorse) {
  // The plain average carries a bad member: 20% worse on every window. The top-4 average is not
  // distinguishable from the top-1, so it is the choice.
  const std::vector<double> best = noisy(1.0, 0.3, 3);
  std::vector<double> equal = best, top4 = best;
  for (size_t i = 0; i < best.size(); ++i) {
    equal[i] = best[i] * 1.2 + 0.05;
    top4[i] = best[i] + (i % 2 ? 0.01 : -0.01);
  }
  const AverageChoice c =
      choose_widest_indistinguishable({{"equal", 8, equal}, {"top4-mean", 4, top4}, {"top1-mean", 1, best}}, 2);
  EXPECT_GE(c.dm_vs_lowest[0], kSignificantDM);
  EXPECT_EQ(c.chosen, 1u);
}

TEST(CombinationChoice, TakesTheNarrowAverageWhenItIsSignificantlyBetter) {
  const std::vector<double> narrow = noisy(1.0, 0.3, 4);
  std::vector<double> wide = narrow;
  for (double& x : wide) x += 0.2;
  const AverageChoice c = choose_widest_indistinguishable({{"equal", 5, wide}, {"top2-mean", 2, narrow}}, 3);
  EXPECT_EQ(c.lowest, 1u);
  EXPECT_EQ(c.chosen, 1u);
}

TEST(CombinationChoice, RejectsCandidatesOverDifferentWindows) {
  EXPECT_THROW(choose_widest_indistinguishable({{"equal", 3, {1, 2, 3}}, {"top1-mean", 1, {1, 2}}}, 1), Error);
  EXPECT_THROW(choose_widest_indistinguishable({}, 1), Error);
}

}  // namespace
}  // namespace spikecast::train
