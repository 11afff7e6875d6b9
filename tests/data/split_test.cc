#include "data/split.h"

#include <gtest/gtest.h>

#include "data_test_util.h"

namespace spikecast {
namespace {

Table table_with_series(const std::vector<int64_t>& sizes, int64_t step_ms = 3600000) {
  Table t;
  t.channels = {"y"};
  t.step_ms = step_ms;
  int64_t row = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    t.series.push_back({"s" + std::to_string(s), row, row + sizes[s]});
    for (int64_t i = 0; i < sizes[s]; ++i, ++row) {
      t.time.push_back(i * step_ms);
      t.values.push_back(static_cast<float>(i));
    }
  }
  return t;
}

TEST(Split, DefaultFractionsPerSeries) {
  const Table t = table_with_series({100, 1000});
  const Split s = split_table(t, SplitConfig{});
  ASSERT_EQ(s.series.size(), 2u);
  EXPECT_EQ(s.series[0].train.begin, 0);
  EXPECT_EQ(s.series[0].train.end, 70);
  EXPECT_EQ(s.series[0].val.end, 80);
  EXPECT_EQ(s.series[0].test.end, 100);
  EXPECT_EQ(s.series[1].train.begin, 100);
  EXPECT_EQ(s.series[1].train.end, 800);
  EXPECT_EQ(s.series[1].val.end, 900);
  EXPECT_EQ(s.series[1].test.end, 1100);
  EXPECT_EQ(s.train_rows(), 770);
  EXPECT_EQ(s.val_rows(), 110);
  EXPECT_EQ(s.test_rows(), 220);
}

TEST(Split, FractionsCoverEverySeriesExactlyInOrder) {
  for (int64_t n : {1, 2, 3, 7, 10, 17, 99, 12345}) {
    for (const auto& [tr, va, te] : std::vector<std::tuple<double, double, double>>{
             {0.7, 0.1, 0.2}, {0.6, 0.2, 0.2}, {0.8, 0.0, 0.2}, {0.5, 0.25, 0.25}}) {
      SplitConfig c;
      c.train = tr;
      c.val = va;
      c.test = te;
      const Table t = table_with_series({n, n + 1});
      const Split s = split_table(t, c);
      for (size_t i = 0; i < s.series.size(); ++i) {
        const SeriesSplit& ss = s.series[i];
        EXPECT_EQ(ss.train.begin, t.series[i].begin);
        EXPECT_EQ(ss.train.end, ss.val.begin);
        EXPECT_EQ(ss.val.end, ss.test.begin);
        EXPECT_EQ(ss.test.end, t.series[i].end);
        const int64_t m = t.series[i].size();
        EXPECT_EQ(ss.train.size(), static_cast<int64_t>(m * tr + 1e-9));
        if (va == 0.0) {
          EXPECT_EQ(ss.val.size(), 0);
          EXPECT_EQ(ss.test.size(), m - ss.train.size());
        } else {
          EXPECT_EQ(ss.test.size(), static_cast<int64_t>(m * te + 1e-9));
        }
      }
    }
  }
}

TEST(Split, EttConventionHourly) {
  const Table t = table_with_series({17420});
  SplitConfig c;
  c.mode = SplitMode::kEtt;
  const Split s = split_table(t, c);
  EXPECT_EQ(s.series[0].train.begin, 0);
  EXPECT_EQ(s.series[0].train.end, 12 * 30 * 24);
  EXPECT_EQ(s.series[0].val.end, 16 * 30 * 24);
  EXPECT_EQ(s.series[0].test.end, 20 * 30 * 24);  // rows after are unused
}

TEST(Split, EttConventionScalesForFifteenMinuteData) {
  const Table t = table_with_series({69680}, 15 * 60 * 1000);
  SplitConfig c;
  c.mode = SplitMode::kEtt;
  const Split s = split_table(t, c);
  EXPECT_EQ(s.series[0].train.end, 12 * 30 * 24 * 4);
  EXPECT_EQ(s.series[0].test.end, 20 * 30 * 24 * 4);
}

TEST(Split, EttTooShortIsADataError) {
  Table t = table_with_series({1000});
  t.source = "short.csv";
  SplitConfig c;
  c.mode = SplitMode::kEtt;
  testing::expect_data_error([&] { split_table(t, c); }, "short.csv", 0, "",
                             "the ETT split needs 14400 rows (12/4/4 months) per series, series 's0' has 1000");
}

}  // namespace
}  // namespace spikecast
