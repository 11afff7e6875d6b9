#include "data/windows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/generator.h"

namespace spikecast {
namespace {

// A table of `sizes` series, 2 channels, with NaN cells at random (probability nan_rate).
Table random_table(const std::vector<int64_t>& sizes, double nan_rate, uint64_t seed) {
  Rng rng(seed);
  Table t;
  t.channels = {"y", "x"};
  int64_t row = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    t.series.push_back({"s" + std::to_string(s), row, row + sizes[s]});
    for (int64_t i = 0; i < sizes[s]; ++i, ++row) {
      t.time.push_back(i);
      for (int c = 0; c < 2; ++c) t.values.push_back(rng.uniform() < nan_rate ? NAN : static_cast<float>(rng.normal()));
    }
  }
  return t;
}

// The definition, written the slow way: every start of every series, checked cell by cell.
Windows brute_force(const Table& t, const Split& split, const WindowConfig& w) {
  Windows out;
  const int64_t L = w.input_length, H = w.horizon, C = t.num_channels();
  for (size_t i = 0; i < t.series.size(); ++i) {
    const SeriesRange& sr = t.series[i];
    const SeriesSplit& ss = split.series[i];
    for (int64_t s = sr.begin; s + L + H <= sr.end; ++s) {
      bool clean = true;
      for (int64_t r = s; r < s + L + H; ++r)
        for (int64_t c = 0; c < C; ++c) clean = clean && !std::isnan(t.values[r * C + c]);
      if (!clean) continue;
      const auto inside = [&](const RowRange& rr) { return s + L >= rr.begin && s + L + H <= rr.end; };
      if (inside(ss.train) && (s - sr.begin) % w.stride == 0) out.train.push_back(s);
      if (inside(ss.val)) out.val.push_back(s);
      if (inside(ss.test)) out.test.push_back(s);
    }
  }
  return out;
}

TEST(Windows, MatchesBruteForceOnRandomPanels) {
  std::mt19937_64 gen(7);  // only picks the cases; the data come from our own Rng
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> sizes;
    const int n_series = 1 + static_cast<int>(gen() % 4);
    for (int s = 0; s < n_series; ++s) sizes.push_back(static_cast<int64_t>(gen() % 150));
    const double nan_rate = (gen() % 3) * 0.01;
    const Table t = random_table(sizes, nan_rate, trial);
    WindowConfig w;
    w.input_length = 1 + static_cast<int64_t>(gen() % 20);
    w.horizon = 1 + static_cast<int64_t>(gen() % 10);
    w.stride = 1 + static_cast<int64_t>(gen() % 5);
    SplitConfig sc;
    sc.train = 0.6;
    sc.val = 0.2;
    sc.test = 0.2;
    const Split split = split_table(t, sc);
    const Windows got = make_windows(t, split, w);
    const Windows want = brute_force(t, split, w);
    EXPECT_EQ(got.train, want.train) << "trial " << trial;
    EXPECT_EQ(got.val, want.val) << "trial " << trial;
    EXPECT_EQ(got.test, want.test) << "trial " << trial;
  }
}

TEST(Windows, GapFreeCountsFollowTheProtocol) {
  const Table t = random_table({1000}, 0.0, 1);
  const Split split = split_table(t, SplitConfig{});  // 700 / 100 / 200
  WindowConfig w;
  w.input_length = 96;
  w.horizon = 24;
  w.stride = 1;
  const Windows win = make_windows(t, split, w);
  EXPECT_EQ(win.test.size(), 200u - 24 + 1);
  EXPECT_EQ(win.val.size(), 100u - 24 + 1);
  EXPECT_EQ(win.train.size(), 700u - 96 - 24 + 1);
  // The first test window's inputs reach back into validation; its targets start the test split.
  EXPECT_EQ(win.test.front(), 800 - 96);
  EXPECT_EQ(win.test.back(), 1000 - 96 - 24);
  EXPECT_EQ(win.val.front(), 700 - 96);
  EXPECT_EQ(win.train.front(), 0);
  w.stride = 10;
  const Windows strided = make_windows(t, split, w);
  EXPECT_EQ(strided.train.size(), (700u - 96 - 24) / 10 + 1);
  EXPECT_EQ(strided.test.size(), 200u - 24 + 1);  // val/test ignore the stride
}

TEST(Windows, NeverCrossSeriesOrTouchNaN) {
  Table t = random_table({50, 50}, 0.0, 3);
  t.values[60 * 2 + 1] = NAN;  // row 60, channel x, in series 2
  WindowConfig w;
  w.input_length = 5;
  w.horizon = 2;
  SplitConfig sc;
  sc.train = 0.8;
  sc.val = 0.0;
  sc.test = 0.2;
  const Windows win = make_windows(t, split_table(t, sc), w);
  for (const auto* v : {&win.train, &win.val, &win.test})
    for (int64_t s : *v) {
      const int64_t e = s + 7;
      EXPECT_TRUE(e <= 50 || s >= 50) << s;  // inside one series
      EXPECT_FALSE(s <= 60 && 60 < e) << s;  // row 60 untouched
    }
  // Series 2's test split (rows 90..99) loses nothing; its training split loses the 7 windows
  // touching row 60.
  EXPECT_EQ(win.test.size(), 2u * (10 - 2 + 1));
  EXPECT_EQ(win.train.size(), 2u * (40 - 7 + 1) - 7);
}

TEST(Windows, SeriesShorterThanAWindowGiveNone) {
  const Table t = random_table({5}, 0.0, 4);
  WindowConfig w;
  w.input_length = 5;
  w.horizon = 1;
  const Windows win = make_windows(t, split_table(t, SplitConfig{}), w);
  EXPECT_TRUE(win.train.empty() && win.val.empty() && win.test.empty());
}

TEST(Windows, LargeTableUsesIndexVectorsOnly) {
  GeneratorConfig g;
  g.rows = 100000;
  const GeneratedData d = generate(g);
  WindowConfig w;
  w.input_length = 96;
  w.horizon = 24;
  const Windows win = make_windows(d.table, split_table(d.table, SplitConfig{}), w);
  const size_t n = win.train.size() + win.val.size() + win.test.size();
  EXPECT_GT(n, 99000u);
  EXPECT_LE(n, 100000u);
  static_assert(sizeof(win.train[0]) == 8, "windows are int64 start rows");
}

}  // namespace
}  // namespace spikecast
