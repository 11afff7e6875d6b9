// Reading a CSV for detection as a stream (detect/stream_csv.h): file order kept, gaps left NaN,
// constant columns allowed, bad rows named by file, line and column.
#include "detect/stream_csv.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/timestamp.h"
#include "data/data_test_util.h"

namespace spikecast {
namespace {

using testing::TempDir;
using testing::expect_data_error;

TEST(StreamCsv, ANabFileKeepsEveryRowInFileOrderAndLeavesGapsMissing) {
  TempDir dir;
  // A repeated hour (a clock change), a step back, a missing value, an extra column ignored.
  const std::string path = dir.write("nab.csv",
                                     "timestamp,value,other\n"
                                     "2015-01-01 00:00:00,1.5,9\n"
                                     "2015-01-01 01:00:00,2.5,9\n"
                                     "2015-01-01 01:00:00,3.5,9\n"
                                     "2015-01-01 00:30:00,,9\n"
                                     "2015-01-01 02:00:00,4.5,9\n");
  const Table t = load_nab_file(path);
  ASSERT_EQ(t.rows(), 5);
  ASSERT_EQ(t.channels, (std::vector<std::string>{"value"}));
  EXPECT_EQ(t.time[2], t.time[1]);
  EXPECT_EQ(t.time[3], *parse_timestamp("2015-01-01 00:30:00"));
  EXPECT_FLOAT_EQ(t.at(0, 0), 1.5f);
  EXPECT_FLOAT_EQ(t.at(2, 0), 3.5f);
  EXPECT_TRUE(std::isnan(t.at(3, 0)));  // not forward-filled
  EXPECT_FLOAT_EQ(t.at(4, 0), 4.5f);
}

TEST(StreamCsv, ColumnsComeInTheOrderAskedAndAConstantColumnIsAllowed) {
  TempDir dir;
  const std::string path = dir.write("m.csv", "b,when,a\n7,2015-01-01 00:00:00,1\n7,2015-01-01 00:05:00,2\n");
  const Table t = load_stream_csv(path, "when", {"a", "b"});
  ASSERT_EQ(t.channels, (std::vector<std::string>{"a", "b"}));
  EXPECT_FLOAT_EQ(t.at(1, 0), 2.0f);
  EXPECT_FLOAT_EQ(t.at(1, 1), 7.0f);
}

TEST(StreamCsv, ABadRowIsNamedByFileLineAndColumn) {
  TempDir dir;
  const std::string bad_value = dir.write("v.csv",
                                          "timestamp,value\n"
                                          "2015-01-01 00:00:00,1\n"
                                          "2015-01-01 00:05:00,abc\n");
  expect_data_error([&] { load_nab_file(bad_value); }, bad_value, 3, "value", "not a number");
  const std::string bad_time = dir.write("t.csv",
                                         "timestamp,value\n"
                                         "2015-01-01 00:00:00,1\n"
                                         "yesterday,2\n");
  expect_data_error([&] { load_nab_file(bad_time); }, bad_time, 3, "timestamp", "yesterday");
  const std::string no_value = dir.write("n.csv", "timestamp,v\n2015-01-01 00:00:00,1\n");
  expect_data_error([&] { load_nab_file(no_value); }, no_value, 1, "value", "");
}

}  // namespace
}  // namespace spikecast
