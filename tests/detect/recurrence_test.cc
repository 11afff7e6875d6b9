// RecurrenceSearch: the nearest earlier subsequence, against a brute-force oracle; repeats, new
// levels, missing rows and the tolerance.
#include "detect/recurrence.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "data/generator.h"

namespace spikecast::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Brute force: RMS distance from rows [t-m+1, t] to the nearest finite subsequence ending at most
// at t-m, within `history` candidates.
double oracle(const std::vector<double>& v, size_t t, size_t m, size_t history) {
  double best = std::numeric_limits<double>::infinity();
  for (size_t e = t + 1 - m; e >= m && e + history >= t + 1 - m; --e) {  // candidate rows [e-m, e)
    double d = 0.0;
    for (size_t j = 0; j < m; ++j) {
      const double a = v[t + 1 - m + j] - v[e - m + j];
      d += a * a;
    }
    if (std::isfinite(d)) best = std::min(best, d);
    if (e == m) break;
  }
  return std::isfinite(best) ? std::sqrt(best / static_cast<double>(m)) : kNaN;
}

TEST(RecurrenceSearch, MatchesBruteForce) {
  Rng rng(3);
  std::vector<double> v(600);
  double x = 0.0;
  for (auto& y : v) y = (x += rng.normal());
  v[300] = kNaN;
  const size_t m = 6, history = 100;
  RecurrenceSearch search(static_cast<int64_t>(m), static_cast<int64_t>(history), 0.0);
  int compared = 0;
  for (size_t t = 0; t < v.size(); ++t) {
    const double got = search.update(v[t]);
    if (t + 1 < 2 * m) {
      EXPECT_TRUE(std::isnan(got)) << t;
      continue;
    }
    const double want = oracle(v, t, m, history);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << t;
    } else {
      EXPECT_NEAR(got, want, 1e-9) << t;
      ++compared;
    }
  }
  EXPECT_GT(compared, 500);
}

TEST(RecurrenceSearch, ARepeatedShapeIsAtZeroAndANewLevelIsFar) {
  RecurrenceSearch search(4, 1000, 0.0);
  std::vector<double> shape = {0, 1, 3, 2, 0, 0, 5, 1};
  double last = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    for (double s : shape) last = search.update(s);
  }
  EXPECT_EQ(last, 0.0);
  for (int i = 0; i < 3; ++i) search.update(0.0);
  // A level never seen: [0, 0, 0, 40]'s nearest earlier subsequence is the shape's [2, 0, 0, 5].
  EXPECT_NEAR(search.update(40.0), std::sqrt((2.0 * 2.0 + 35.0 * 35.0) / 4.0), 1e-12);
}

TEST(RecurrenceSearch, MissingRowsAreNeverCompared) {
  RecurrenceSearch search(3, 100, 0.0);
  for (int i = 0; i < 20; ++i) search.update(1.0);
  EXPECT_TRUE(std::isnan(search.update(kNaN)));
  EXPECT_TRUE(std::isnan(search.update(1.0)));  // the NaN is in the current subsequence
  EXPECT_TRUE(std::isnan(search.update(1.0)));
  EXPECT_EQ(search.update(1.0), 0.0);
}

TEST(RecurrenceSearch, ToleranceCountsANearRepeatOfALargeExcursionAsARepeat) {
  auto last_after = [](double tolerance) {  // the distance at the second of two spikes on zeros
    RecurrenceSearch search(4, 1000, tolerance);
    double at = 0.0;
    for (int i = 0; i <= 40; ++i) at = search.update(i == 20 ? 10.0 : (i == 40 ? 10.5 : 0.0));
    return at;
  };
  EXPECT_NEAR(last_after(0.0), 0.5 / 2.0, 1e-12);  // RMS over 4 rows of a 0.5 difference
  EXPECT_EQ(last_after(0.1), 0.0);                   // 0.5 < 0.1 x 10.5
}

}  // namespace
}  // namespace spikecast::detect
