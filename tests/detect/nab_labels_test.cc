// NAB label files: parsing, matching file names, timestamps to rows, starts of flagged runs.
#include "detect/nab_labels.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spikecast {
namespace {

TEST(NabLabels, ParsesTimestampsAndWindows) {
  const auto labels = parse_nab_labels_json(
      R"({"realTweets/a.csv": ["2015-03-02 10:00:00", "2015-03-03 00:00:00"],
          "b.csv": [["2015-01-01 00:00:00", "2015-01-01 02:00:00"]], "c.csv": []})",
      "labels.json");
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels.at("realTweets/a.csv").labels.size(), 2u);
  EXPECT_EQ(*parse_timestamp("2015-03-02 10:00:00"), labels.at("realTweets/a.csv").labels[0]);
  ASSERT_EQ(labels.at("b.csv").windows.size(), 1u);
  EXPECT_TRUE(labels.at("c.csv").labels.empty());
}

TEST(NabLabels, RejectsMalformedInput) {
  EXPECT_THROW(parse_nab_labels_json("[1, 2]", "x.json"), DataError);
  EXPECT_THROW(parse_nab_labels_json("{\"a.csv\": [\"not a time\"]}", "x.json"), DataError);
  EXPECT_THROW(parse_nab_labels_json("{\"a.csv\": [[\"2015-01-01\"]]}", "x.json"), DataError);
  EXPECT_THROW(parse_nab_labels_json("{", "x.json"), DataError);
}

TEST(NabLabels, FindsEntriesByPathSuffixOrBasename) {
  const auto labels = parse_nab_labels_json(R"({"realTweets/a.csv": [], "other/b.csv": []})", "l.json");
  EXPECT_NE(find_nab_labels(labels, "realTweets/a.csv"), nullptr);
  EXPECT_NE(find_nab_labels(labels, "/data/nab/realTweets/a.csv"), nullptr);
  EXPECT_NE(find_nab_labels(labels, "b.csv"), nullptr);
  EXPECT_EQ(find_nab_labels(labels, "c.csv"), nullptr);
}

TEST(NabLabels, TimestampsMapToTheFirstRowAtOrAfter) {
  const std::vector<TimestampMs> time = {0, 300000, 600000, 900000};
  EXPECT_EQ(rows_of_timestamps(time, {0, 300000, 450000}, "f"), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_THROW(rows_of_timestamps(time, {900001}, "f"), DataError);
  EXPECT_EQ(last_row_at_or_before(time, 450000), 1);
  EXPECT_EQ(last_row_at_or_before(time, 900000), 3);
  EXPECT_EQ(last_row_at_or_before(time, -1), -1);
}

TEST(NabLabels, AStreamWhoseClockRepeatsOrStepsBackMapsInFileOrder) {
  // Rows in file order: an hour repeated, then the clock steps back by 30 minutes.
  const std::vector<TimestampMs> time = {0, 3600000, 3600000, 7200000, 5400000, 10800000};
  EXPECT_EQ(rows_of_timestamps(time, {3600000, 5400000, 9000000}, "f"), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(last_row_at_or_before(time, 7200000), 4);  // the stepped-back row comes later in the file
  EXPECT_THROW(rows_of_timestamps(time, {10800001}, "f"), DataError);
}

TEST(NabLabels, AnomalyStartsAreTheFirstRowOfEachRun) {
  EXPECT_EQ(anomaly_starts({0, 1, 1, 0, 0, 1, 0, 1}), (std::vector<int64_t>{1, 5, 7}));
  EXPECT_EQ(anomaly_starts({1, 1}), (std::vector<int64_t>{0}));
  EXPECT_TRUE(anomaly_starts({0, 0}).empty());
}

}  // namespace
}  // namespace spikecast
