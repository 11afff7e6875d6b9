// ContextNovelty: a learned repeating sequence of levels is predicted and a new context after it is
// not; levels beyond the learned range are new; a gap restarts the context; causal and scale-free.
// Also Fisher's combination (detect/column_detector.h) that fuses it with the other sub-detectors.
#include "detect/context_novelty.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "data/generator.h"
#include "detect/column_detector.h"

namespace spikecast::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A sawtooth through 8 levels of [0, 8): 0.5, 1.5, ..., 7.5, 0.5, ...
std::vector<double> sawtooth(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 8) + 0.5;
  return v;
}

std::vector<double> run(ContextNovelty& c, const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(c.update(x));
  return out;
}

TEST(ContextNovelty, NothingBeforeTheBinsAreSetThenLevelsOfTheLearnedRange) {
  ContextNovelty c(8, 3, 64);
  const auto v = sawtooth(200);
  const auto s = run(c, v);
  for (size_t i = 0; i < 64; ++i) EXPECT_TRUE(std::isnan(s[i])) << i;
  for (size_t i = 64; i < s.size(); ++i) EXPECT_TRUE(std::isfinite(s[i])) << i;
  ASSERT_TRUE(c.ready());
  for (int k = 0; k < 8; ++k) EXPECT_EQ(c.level_of(k + 0.5), k);
  EXPECT_EQ(c.level_of(7.5), 7);   // the top of the range is inside the last level
  EXPECT_GE(c.level_of(9.0), 8);   // beyond it: levels of their own
  EXPECT_LT(c.level_of(-1.0), 0);
}

TEST(ContextNovelty, ARepeatedPatternIsPredictedAndANewContextIsNot) {
  ContextNovelty c(8, 3, 64);
  auto v = sawtooth(799);
  const auto s = run(c, v);
  // Each level is 1/8 of the rows (order 0: -ln of about 1/8) and every longer context has always
  // been followed by the same level: no more surprise than that.
  for (size_t i = 200; i < s.size(); ++i) EXPECT_LT(s[i], std::log(8.0) + 0.05) << i;
  // Now the sawtooth runs backwards for a step: 5.5 after 6.5, where 7.5 has always followed.
  // Each level is still common, but the context "6.5" has been followed by 7.5 about 100 times.
  EXPECT_EQ(v[798], 6.5);
  const double back = c.update(5.5);
  EXPECT_GT(back, std::log(90.0));
  // A level never seen is as surprising as any context can make it.
  const double fresh = c.update(20.0);
  EXPECT_GT(fresh, std::log(800.0));
}

TEST(ContextNovelty, ARepeatedNewContextBecomesPredicted) {
  // A break that recurs (every 5th cycle skips a level, after the learning period) is learned like
  // any other context.
  std::vector<double> v;
  for (int cycle = 0; cycle < 200; ++cycle) {
    for (int k = 0; k < 8; ++k) {
      if (cycle >= 10 && cycle % 5 == 4 && k == 3) continue;
      v.push_back(k + 0.5);
    }
  }
  ContextNovelty c(8, 6, 64);
  const auto s = run(c, v);
  double first = 0.0, last = 0.0;
  int breaks = 0;
  for (size_t i = 64; i < v.size(); ++i) {
    if (v[i] == 4.5 && v[i - 1] == 2.5) {  // the skipped level
      if (++breaks == 1) first = s[i];
      last = s[i];
    }
  }
  ASSERT_GT(breaks, 30);
  EXPECT_GT(first, 2.0);
  EXPECT_LT(last, first - 1.0);
}

TEST(ContextNovelty, AGapRestartsTheContext) {
  ContextNovelty c(8, 3, 64);
  run(c, sawtooth(400));
  EXPECT_TRUE(std::isnan(c.update(kNaN)));
  // After the gap the context is empty: only the level's frequency speaks (about 1/8), not the
  // "7.5 after 6.5" the context before the gap would have expected.
  EXPECT_LT(c.update(2.5), std::log(8.0) + 0.05);
}

TEST(ContextNovelty, IsCausalAndScaleFree) {
  Rng rng(5);
  std::vector<double> v(1500);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i) / 20.0) + 0.2 * rng.normal();
  ContextNovelty full(8, 6, 200);
  const auto a = run(full, v);
  // Rows after 900 replaced: rows up to 900 score the same.
  std::vector<double> other = v;
  for (size_t i = 901; i < other.size(); ++i) other[i] = 1e3 * rng.normal();
  ContextNovelty part(8, 6, 200);
  const auto b = run(part, other);
  for (size_t i = 0; i <= 900; ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << i;
    }
  }
  // Multiplying the series by 1000 (and shifting it) leaves the levels, so the surprise, unchanged.
  std::vector<double> scaled = v;
  for (double& x : scaled) x = 1000.0 * x + 5.0;
  ContextNovelty big(8, 6, 200);
  const auto c = run(big, scaled);
  for (size_t i = 200; i < v.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-12) << i;
}

TEST(ContextNovelty, AFlatLearningPeriodMakesAnyDepartureNew) {
  ContextNovelty c(8, 3, 64);
  run(c, std::vector<double>(300, 5.0));
  EXPECT_EQ(c.update(5.0), 0.0);  // the only level, always followed by itself
  EXPECT_GT(c.update(5.01), std::log(300.0));
}

TEST(ContextNovelty, TheMemoryStaysWithinItsBoundOnNoise) {
  // Uniform noise over 8 levels with contexts of up to 6: every row brings new contexts (8^6 of
  // them), so an unbounded memory grows with the stream.
  Rng rng(11);
  std::vector<double> v(60000);
  for (double& x : v) x = rng.uniform() * 8.0;
  ContextNovelty unbounded(8, 6, 64, int64_t{1} << 40);
  run(unbounded, v);
  EXPECT_GT(unbounded.entries(), 100000);
  ContextNovelty bounded(8, 6, 64, 8192);
  int64_t largest = 0, smallest_after_full = 1 << 30;
  bool filled = false;
  for (double x : v) {
    const double s = bounded.update(x);
    if (std::isfinite(s)) EXPECT_GE(s, 0.0);
    largest = std::max(largest, bounded.entries());
    if (bounded.entries() > 6000) filled = true;
    if (filled) smallest_after_full = std::min(smallest_after_full, bounded.entries());
  }
  EXPECT_LE(largest, 8192);
  EXPECT_TRUE(filled);
  EXPECT_LE(smallest_after_full, 4096);  // pruned down to half of the bound
  EXPECT_LE(bounded.contexts(), bounded.entries());
}

TEST(ContextNovelty, PruningKeepsAnEstablishedPattern) {
  // A sawtooth learned for 3,000 rows, then a burst of noise that overfills a small memory, then the
  // sawtooth again: the halved counts keep its transitions predicted, and a break stays surprising.
  ContextNovelty c(8, 3, 64, 1024);
  run(c, sawtooth(3000));
  Rng rng(3);
  int64_t largest = 0;
  for (int i = 0; i < 1500; ++i) {
    c.update(rng.uniform() * 8.0);
    largest = std::max(largest, c.entries());
  }
  EXPECT_LE(largest, 1024);
  EXPECT_GT(largest, 900);  // the bound was reached, so counts were halved
  const auto s = run(c, sawtooth(200));
  // Order 0 says about ln 8 (each level an eighth of the rows); the contexts add nothing.
  const double pattern = *std::max_element(s.begin() + 50, s.end());
  EXPECT_LT(pattern, std::log(8.0) + 0.3);
  ASSERT_EQ(sawtooth(200).back(), 7.5);
  const double skip = c.update(2.5);  // 2.5 after ...5.5, 6.5, 7.5, where 0.5 always followed
  EXPECT_GT(skip, pattern + 1.0);
}

TEST(ContextNovelty, ARareLevelIsSurprisingWhenEnteredNotWhileTheSeriesStaysInIt) {
  // After a sawtooth through the 8 learned levels, the series moves to a level never seen and stays.
  for (bool on_entry : {true, false}) {
    ContextNovelty c(8, 3, 64, 1 << 17, on_entry);
    run(c, sawtooth(400));
    const double enter = c.update(20.0);
    const double stay = c.update(20.0);
    EXPECT_GT(enter, std::log(400.0)) << on_entry;
    if (on_entry) {
      // Only the contexts speak, and none ending in the new level has been seen before.
      EXPECT_EQ(stay, 0.0);
    } else {
      EXPECT_GT(stay, std::log(200.0));  // the level is still rare overall (1 row of about 400)
    }
  }
}

TEST(ContextNovelty, ExtendingTheLearnedRangeByOneLevelIsJudgedByTheContextsOnly) {
  for (bool on_entry : {true, false}) {
    ContextNovelty c(8, 3, 64, 1 << 17, on_entry);
    run(c, sawtooth(400));  // ends on 7.5, the top level (7)
    ASSERT_EQ(c.level_of(7.9), 8);
    // One level above the learned range, from the top level: a drift. The context "7.5" has been
    // followed by 0.5 about 50 times (-ln(0.5 / 50.5)); the level itself was never seen in 400 rows.
    const double extend = c.update(7.9);
    if (on_entry) {
      EXPECT_NEAR(extend, std::log(101.0), 0.2);
    } else {
      EXPECT_GT(extend, std::log(700.0));
    }
  }
  // A jump several levels beyond the range keeps the level's rarity.
  ContextNovelty c(8, 3, 64);
  run(c, sawtooth(400));
  ASSERT_GE(c.level_of(12.5), 10);
  EXPECT_GT(c.update(12.5), std::log(700.0));
}

TEST(FisherCombinedDecades, MatchesTheChiSquareSurvivalAtFourDegreesOfFreedom) {
  // p1 = p2 = 0.01: q = 1e-4, combined p = q (1 - ln q) = 1e-4 x 10.21.
  EXPECT_NEAR(fisher_combined_decades(2.0, 2.0), -std::log10(1e-4 * (1.0 - std::log(1e-4))), 1e-12);
  EXPECT_EQ(fisher_combined_decades(0.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(fisher_combined_decades(3.0, 1.0), fisher_combined_decades(1.0, 3.0));
  // Two moderate surprises together beat either alone; one strong surprise alone is discounted.
  EXPECT_GT(fisher_combined_decades(2.0, 2.0), 2.5);
  EXPECT_LT(fisher_combined_decades(6.0, 0.0), 6.0);
  EXPECT_GT(fisher_combined_decades(6.0, 0.5), fisher_combined_decades(6.0, 0.0));
}

}  // namespace
}  // namespace spikecast::detect
