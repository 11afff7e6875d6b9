#include "train/combination_choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"

namespace spikecast::train {
namespace {

TEST(DieboldMariano, MatchesTheFormulaWorkedByHand) {
  // d = 1, 1, 3, 3, h = 2: mean 2; autocovariances g0 = 1, g1 = 0.25: V = 1.5; mean / sqrt(V / 4) =
  // 3.27, times Harvey-Leybourne-Newbold's sqrt((4 + 1 - 4 + 2 * 1 / 4) / 4) = sqrt(1.5 / 4): 2.
  EXPECT_NEAR(diebold_mariano({1, 1, 3, 3}, 2), 2.0, 1e-12);
  // d = 1, -1, 2, 0, h = 2: g0 = 1.25, g1 = -0.9375, V = -0.625 is not a variance: h = 1, V = 1.25;
  // 0.5 / sqrt(1.25 / 4) times sqrt((4 + 1 - 2) / 4).
  EXPECT_NEAR(diebold_mariano({1, -1, 2, 0}, 2), 0.5 / std::sqrt(1.25 / 4) * std::sqrt(0.75), 1e-12);
  EXPECT_NEAR(diebold_mariano({1, -1, 2, 0}, 1), diebold_mariano({1, -1, 2, 0}, 2), 1e-12);
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

TEST(ConfidenceSet, KeepsTheMembersTheWindowsCannotTellFromTheBest) {
  // Member 1 is 1% better than member 0 on average, far inside the windows' noise (a DM statistic
  // near 0.7); member 2 is 20% worse on every window; member 3 is member 1
  // plus 0.001 and a small pattern (a statistic near 0.4).
  const std::vector<double> base = noisy(1.0, 0.2, 1), jitter = noisy(0.0, 0.3, 2);
  std::vector<double> better = base, bad = base, close = base;
  for (size_t i = 0; i < base.size(); ++i) {
    better[i] = base[i] * 0.99 + (i % 2 ? 1 : -1) * jitter[i];
    bad[i] = base[i] * 1.2 + 0.05;
    close[i] = better[i] + 0.001 + 0.05 * (static_cast<double>(i % 4) - 1.5);
  }
  const ConfidenceSet set = confidence_set({base, better, bad, close}, 1);
  EXPECT_EQ(set.best, 1u);
  EXPECT_EQ(set.members, (std::vector<size_t>{0, 1, 3}));
  ASSERT_EQ(set.dm_vs_best.size(), 4u);
  EXPECT_EQ(set.dm_vs_best[1], 0.0);
  EXPECT_LT(set.dm_vs_best[0], kSignificantDM);
  EXPECT_GE(set.dm_vs_best[2], kSignificantDM);
}

TEST(ConfidenceSet, IsTheBestAloneWhenEveryOtherMemberIsClearlyWorse) {
  const std::vector<double> best = noisy(1.0, 0.3, 4);
  std::vector<double> worse = best, worst = best;
  for (size_t i = 0; i < best.size(); ++i) {
    worse[i] += 0.2;
    worst[i] = 2 * best[i] + 0.5;
  }
  const ConfidenceSet set = confidence_set({worst, worse, best}, 3);
  EXPECT_EQ(set.best, 2u);
  EXPECT_EQ(set.members, (std::vector<size_t>{2}));
}

TEST(ConfidenceSet, LongerOverlapsWidenTheSet) {
  // A member slightly worse on average, with a difference that persists over many windows (an AR(1)
  // with coefficient 0.95, as overlapping targets make it): as 1-step forecasts the windows look like
  // evidence against it; as 20-step forecasts (19 autocovariances) they do not.
  const std::vector<double> best = noisy(1.0, 0.05, 5, 400), shock = noisy(0.0, 0.02, 6, 400);
  std::vector<double> other = best;
  double ar = 0;
  for (size_t i = 0; i < other.size(); ++i) {
    ar = 0.95 * ar + shock[i];
    other[i] += 0.012 + ar;
  }
  const double one = confidence_set({best, other}, 1).dm_vs_best[1], twenty = confidence_set({best, other}, 20).dm_vs_best[1];
  EXPECT_GT(one, kSignificantDM);
  EXPECT_LT(twenty, kSignificantDM);
  EXPECT_EQ(confidence_set({best, other}, 1).members, (std::vector<size_t>{0}));
  EXPECT_EQ(confidence_set({best, other}, 20).members, (std::vector<size_t>{0, 1}));
}

TEST(ConfidenceSet, RejectsMembersOverDifferentWindows) {
  EXPECT_THROW(confidence_set({{1, 2, 3}, {1, 2}}, 1), Error);
  EXPECT_THROW(confidence_set({}, 1), Error);
}

}  // namespace
}  // namespace spikecast::train
