#include "data/csv_loader.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data_test_util.h"

namespace spikecast {
namespace {

using testing::expect_data_error;

DataConfig config_for(const std::string& time = "t", const std::string& target = "y") {
  DataConfig c;
  c.time_column = time;
  c.target_column = target;
  return c;
}

Table load(const std::string& text, const DataConfig& c = config_for(), const LoadOptions& o = {},
           LoadReport* report = nullptr) {
  return load_csv_text(text, "in.csv", c, o, report);
}

TEST(CsvLoader, TargetFirstThenFeaturesInFileOrder) {
  const Table t = load("t,a,y,b\n2024-01-01 00:00,1,10,5\n2024-01-01 01:00,2,20,7\n2024-01-01 02:00,4,30,6\n");
  EXPECT_EQ(t.channels, (std::vector<std::string>{"y", "a", "b"}));
  ASSERT_EQ(t.rows(), 3);
  EXPECT_EQ(t.values, (std::vector<float>{10, 1, 5, 20, 2, 7, 30, 4, 6}));
  EXPECT_EQ(t.time[1] - t.time[0], 3600000);
  EXPECT_EQ(t.step_ms, 3600000);
  EXPECT_EQ(t.source_line, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.filled, (std::vector<uint8_t>{0, 0, 0}));
  ASSERT_EQ(t.series.size(), 1u);
  EXPECT_EQ(t.series[0].begin, 0);
  EXPECT_EQ(t.series[0].end, 3);
  EXPECT_EQ(t.source, "in.csv");
}

TEST(CsvLoader, ExplicitFeaturesKeepConfigOrderAndSkipTheTarget) {
  DataConfig c = config_for();
  c.feature_columns = {"b", "y", "a"};
  const Table t = load("t,a,y,b,unused\n1,1,10,5,x\n2,2,20,7,y\n", c);
  EXPECT_EQ(t.channels, (std::vector<std::string>{"y", "b", "a"}));
  EXPECT_EQ(t.values, (std::vector<float>{10, 5, 1, 20, 7, 2}));
}

TEST(CsvLoader, CsvEdgeCasesThroughTheLoader) {
  // BOM, CRLF, quoted numbers, spaces around cells, blank lines, '+' signs, no final newline.
  const Table t = load("\xEF\xBB\xBFt , y ,a\r\n\r\n\"2024-01-01\",\"1.5\", +2 \r\n2024-01-02,-3e2,\"4\"");
  EXPECT_EQ(t.channels, (std::vector<std::string>{"y", "a"}));
  EXPECT_EQ(t.values, (std::vector<float>{1.5f, 2, -300, 4}));
  EXPECT_EQ(t.source_line, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(t.step_ms, 86400000);
}

TEST(CsvLoader, PanelRowsAreGroupedBySeriesInFileOrder) {
  DataConfig c = config_for();
  c.series_column = "id";
  const Table t = load("t,id,y\n1,b,10\n1,a,20\n2,b,11\n2,a,21\n3,b,12\n4,b,13\n", c);
  ASSERT_EQ(t.series.size(), 2u);
  EXPECT_EQ(t.series[0].name, "b");
  EXPECT_EQ(t.series[0].begin, 0);
  EXPECT_EQ(t.series[0].end, 4);
  EXPECT_EQ(t.series[1].name, "a");
  EXPECT_EQ(t.series[1].begin, 4);
  EXPECT_EQ(t.series[1].end, 6);
  EXPECT_EQ(t.values, (std::vector<float>{10, 11, 12, 13, 20, 21}));
  EXPECT_EQ(t.source_line, (std::vector<int64_t>{2, 4, 6, 7, 3, 5}));
  EXPECT_EQ(t.time[4], 1000);
  EXPECT_EQ(t.channels, (std::vector<std::string>{"y"}));  // the series column is no feature
}

TEST(CsvLoader, NonNumericCellNamesRowColumnAndText) {
  expect_data_error([] { load("t,y,a\n1,1,2\n2,2,abc\n3,3,4\n"); }, "in.csv", 3, "a", "not a number: 'abc'");
  expect_data_error([] { load("t,y\n1,1\n2,inf\n3,4\n"); }, "in.csv", 3, "y", "not a number: 'inf'");
  expect_data_error([] { load("t,y\n1,1\n2,1e999\n"); }, "in.csv", 3, "y", "'1e999'");
  expect_data_error([] { load("t,y\n1,1\n2,1.5.2\n"); }, "in.csv", 3, "y", "'1.5.2'");
}

TEST(CsvLoader, WrongColumnCount) {
  expect_data_error([] { load("t,y,a\n1,1,2\n\n2,2\n"); }, "in.csv", 4, "", "expected 3 fields (as in the header), got 2");
  expect_data_error([] { load("t,y\n1,1,5\n"); }, "in.csv", 2, "", "expected 2 fields");
}

TEST(CsvLoader, UnknownColumnsListTheHeader) {
  expect_data_error([] { load("time,y\n1,1\n"); }, "in.csv", 1, "t",
                    "unknown column in data.time_column; the header has: time, y");
  expect_data_error([] { load("t,z\n1,1\n"); }, "in.csv", 1, "y", "data.target_column; the header has: t, z");
  DataConfig c = config_for();
  c.feature_columns = {"nope"};
  expect_data_error([&] { load("t,y,a\n1,1,1\n", c); }, "in.csv", 1, "nope", "data.feature_columns; the header has: t, y, a");
  c = config_for();
  c.series_column = "sid";
  expect_data_error([&] { load("t,y\n1,1\n", c); }, "in.csv", 1, "sid", "data.series_column");
}

TEST(CsvLoader, DuplicateHeaderName) {
  expect_data_error([] { load("t,y,y\n1,1,1\n"); }, "in.csv", 1, "y", "duplicate column name");
}

TEST(CsvLoader, UnparseableTimestamp) {
  expect_data_error([] { load("t,y\n2024-01-01,1\n2024-02-30,2\n"); }, "in.csv", 3, "t",
                    "cannot parse timestamp '2024-02-30'");
  expect_data_error([] { load("t,y\n2024-01-01,1\n,2\n"); }, "in.csv", 3, "t", "cannot parse timestamp ''");
}

TEST(CsvLoader, UnsortedAndDuplicateTimestamps) {
  expect_data_error([] { load("t,y\n2024-01-02,1\n2024-01-01,2\n"); }, "in.csv", 3, "t",
                    "timestamps out of order: '2024-01-01 00:00:00' comes after '2024-01-02 00:00:00' on line 2");
  expect_data_error([] { load("t,y\n1,1\n2,2\n2,3\n"); }, "in.csv", 4, "t",
                    "duplicate timestamp '1970-01-01 00:00:02' (also on line 3)");
  DataConfig c = config_for();
  c.series_column = "s";
  // The same time in two series is fine; a repeat inside one is not, and names the series.
  EXPECT_NO_THROW(load("t,s,y\n1,a,1\n1,b,2\n2,a,3\n2,b,4\n", c));
  expect_data_error([&] { load("t,s,y\n1,a,1\n1,b,2\n2,a,3\n1,b,4\n", c); }, "in.csv", 5, "t",
                    "duplicate timestamp '1970-01-01 00:00:01' (also on line 3) in series 'b'");
}

TEST(CsvLoader, FileOrderKeepsRepeatedAndEarlierTimestamps) {
  LoadOptions file_order;
  file_order.time_order = TimeOrder::kFileOrder;
  LoadReport report;
  // An hour repeated at a clock change, then a step back: every row stays, in file order; the step
  // is learned from the forward steps only.
  const Table t = load("t,y\n2014-03-09 01:00,1\n2014-03-09 02:00,2\n2014-03-09 02:00,3\n2014-03-09 03:00,4\n"
                       "2014-03-09 02:30,5\n2014-03-09 04:00,6\n",
                       config_for(), file_order, &report);
  ASSERT_EQ(t.rows(), 6);
  EXPECT_EQ(t.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(t.step_ms, 3600 * 1000);
  bool warned = false;
  for (const std::string& w : report.warnings)
    warned |= w.find("1 rows repeat the timestamp of the row before them and 1 step back in time") != std::string::npos;
  EXPECT_TRUE(warned);
  // The default still refuses both.
  expect_data_error([] { load("t,y\n2,1\n1,2\n"); }, "in.csv", 3, "t", "timestamps out of order");
}

TEST(CsvLoader, ConstantColumns) {
  expect_data_error([] { load("t,y,a\n1,1,5\n2,2,5\n3,3,5\n"); }, "in.csv", 2, "a",
                    "constant over all 3 rows (every value is 5)");
  DataConfig c = config_for();
  c.series_column = "s";
  expect_data_error([&] { load("t,s,y,a\n1,p,1,5\n2,p,2,5\n1,q,3,6\n2,q,4,7\n", c); }, "in.csv", 2, "a",
                    "constant within series 'p' (all 2 values are 5)");
  LoadOptions warn;
  warn.constant_columns = ConstantPolicy::kWarn;
  LoadReport report;
  EXPECT_NO_THROW(load("t,y,a\n1,1,5\n2,2,5\n3,3,5\n", config_for(), warn, &report));
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_NE(report.warnings[0].find("column 'a': constant over all 3 rows"), std::string::npos);
  // A column with no values at all.
  expect_data_error([] { load("t,y,a\n1,1,\n2,2,NA\n"); }, "in.csv", 2, "a", "has no values");
}

TEST(CsvLoader, TooFewRowsForOneWindow) {
  LoadOptions o;
  o.min_series_rows = 5;
  expect_data_error([&] { load("t,y\n1,1\n2,2\n3,3\n", config_for(), o); }, "in.csv", 0, "",
                    "too few rows for one window: needs input_length + horizon = 5 rows in some series, "
                    "the longest has 3");
  o.min_series_rows = 3;
  EXPECT_NO_THROW(load("t,y\n1,1\n2,2\n3,3\n", config_for(), o));
  testing::TempDir dir;
  DataConfig c = config_for();
  c.path = dir.write("w.csv", "t,y\n1,1\n2,2\n3,3\n");
  WindowConfig w;
  w.input_length = 3;
  w.horizon = 1;
  expect_data_error([&] { load_csv(c, w); }, c.path, 0, "", "needs input_length + horizon = 4");
}

TEST(CsvLoader, EmptyFileAndHeaderOnly) {
  expect_data_error([] { load(""); }, "in.csv", 0, "", "empty file");
  expect_data_error([] { load("\n\r\n"); }, "in.csv", 0, "", "empty file");
  expect_data_error([] { load("t,y\n"); }, "in.csv", 1, "", "no data rows after the header");
  expect_data_error([] { load("\nt,y\n\n"); }, "in.csv", 2, "", "no data rows");
}

TEST(CsvLoader, MissingFileNamesThePath) {
  DataConfig c = config_for();
  c.path = "/nonexistent/dir/x.csv";
  expect_data_error([&] { load_csv(c); }, c.path, 0, "", "cannot open");
}

TEST(CsvLoader, AllMissingSpellingsAreMissing) {
  for (const char* cell : {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", " NA "}) {
    EXPECT_TRUE(is_missing_cell(cell)) << cell;
    DataConfig c = config_for();
    c.max_fill_steps = 0;
    const Table t = load(std::string("t,y\n1,1\n2,") + cell + "\n3,3\n", c);
    EXPECT_TRUE(std::isnan(t.at(1, 0))) << cell;
  }
  EXPECT_FALSE(is_missing_cell("0"));
  EXPECT_FALSE(is_missing_cell("none!"));
}

TEST(CsvLoader, RejectPolicyStopsAtTheFirstMissingCell) {
  DataConfig c = config_for();
  c.missing_policy = MissingPolicy::kReject;
  expect_data_error([&] { load("t,y,a\n1,1,1\n2,2,NA\n3,,3\n", c); }, "in.csv", 3, "a",
                    "missing value 'NA' (data.missing_policy = reject)");
}

TEST(CsvLoader, ForwardFillBridgesShortGapsOnly) {
  DataConfig c = config_for();
  c.max_fill_steps = 2;
  LoadReport report;
  // y: leading gap (1 row), then a 2-row gap (filled), then a 3-row gap (left NaN).
  // a: one 1-row gap at the end (filled from the past).
  const Table t = load(
      "t,y,a\n"
      "1,,1\n2,10,2\n3,,3\n4,NA,4\n5,20,5\n6,,6\n7,,7\n8,,8\n9,30,9\n10,40,\n",
      c, {}, &report);
  const std::vector<float> y = {NAN, 10, 10, 10, 20, NAN, NAN, NAN, 30, 40};
  for (int r = 0; r < 10; ++r) {
    if (std::isnan(y[r])) EXPECT_TRUE(std::isnan(t.at(r, 0))) << r;
    else EXPECT_EQ(t.at(r, 0), y[r]) << r;
  }
  EXPECT_EQ(t.at(9, 1), 9.0f);
  EXPECT_EQ(t.filled, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(report.missing_cells, (std::vector<int64_t>{6, 1}));
  EXPECT_EQ(report.filled_cells, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(report.nan_cells, (std::vector<int64_t>{4, 0}));
  EXPECT_EQ(report.nan_gaps, 2);
}

TEST(CsvLoader, ForwardFillDoesNotCrossSeries) {
  DataConfig c = config_for();
  c.series_column = "s";
  const Table t = load("t,s,y\n1,a,1\n2,a,2\n1,b,\n2,b,5\n3,b,6\n", c);
  EXPECT_TRUE(std::isnan(t.at(2, 0)));  // b's leading gap is not filled from a
  EXPECT_EQ(t.filled[2], 0);
}

TEST(CsvLoader, ReportHasTimeRangeStepAndGaps) {
  LoadReport report;
  load("t,y\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 02:00,3\n2024-01-01 05:00,4\n"
       "2024-01-01 06:00,5\n",
       config_for(), {}, &report);
  EXPECT_EQ(report.rows, 5);
  EXPECT_EQ(report.series, 1);
  EXPECT_EQ(report.step_ms, 3600000);
  EXPECT_EQ(format_timestamp(report.time_begin), "2024-01-01 00:00:00");
  EXPECT_EQ(format_timestamp(report.time_end), "2024-01-01 06:00:00");
  ASSERT_EQ(report.time_gaps.size(), 1u);
  EXPECT_EQ(report.time_gaps[0].line, 5);
  EXPECT_EQ(report.time_gaps[0].missing_steps, 2);
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_NE(report.warnings[0].find("in.csv:5: time gap: 2024-01-01 02:00:00 -> 2024-01-01 05:00:00"),
            std::string::npos)
      << report.warnings[0];
}

TEST(CsvLoader, LoadsFromFile) {
  testing::TempDir dir;
  DataConfig c = config_for();
  c.path = dir.write("ok.csv", "t,y,a\n1,1,3\n2,2,4\n");
  LoadReport report;
  const Table t = load_csv(c, &report);
  EXPECT_EQ(t.source, c.path);
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(report.file, c.path);
}

TEST(CsvLoader, ParseNumberCell) {
  float x = 0;
  EXPECT_TRUE(parse_number_cell(" 3.25 ", x));
  EXPECT_EQ(x, 3.25f);
  EXPECT_TRUE(parse_number_cell("-1e-3", x));
  EXPECT_FLOAT_EQ(x, -1e-3f);
  for (const char* bad : {"", "+", "-", "1,5", "0x10", "nan", "inf", "1e40", "--1", "1 2"})
    EXPECT_FALSE(parse_number_cell(bad, x)) << bad;
}

}  // namespace
}  // namespace spikecast
