#include "data/inspect.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data_test_util.h"

namespace spikecast {
namespace {

const char* kCsv =
    "id,date,load,temp,flag,note\n"
    "1,2024-01-01 00:00:00,10,1.5,0,a\n"
    "2,2024-01-01 01:00:00,12,NA,1,b\n"
    "3,2024-01-01 02:00:00,14,2.5,0,c\n"
    "4,2024-01-01 05:00:00,16,3.5,1,d\n"
    "5,2024-01-01 06:00:00,18,4.5,0,e\n";

TEST(Inspect, DetectsTypesRolesAndTheTimeColumn) {
  const Inspection ins = inspect_csv_text(kCsv, "x.csv");
  EXPECT_EQ(ins.rows, 5);
  EXPECT_EQ(ins.time_column, "date");  // 'id' holds integers, not date-like timestamps
  EXPECT_EQ(ins.target_column, "temp");  // last numeric, non-binary column
  ASSERT_EQ(ins.columns.size(), 6u);
  const std::vector<std::string> types = {"integer", "timestamp", "integer", "numeric", "binary", "text"};
  const std::vector<std::string> roles = {"feature", "time", "feature", "target", "feature", "ignored"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(ins.columns[i].type, types[i]) << ins.columns[i].name;
    EXPECT_EQ(ins.columns[i].role, roles[i]) << ins.columns[i].name;
  }
  EXPECT_EQ(ins.step_ms, 3600000);
  EXPECT_EQ(format_timestamp(ins.time_begin), "2024-01-01 00:00:00");
  EXPECT_EQ(format_timestamp(ins.time_end), "2024-01-01 06:00:00");
}

TEST(Inspect, StatsAndMissingCounts) {
  InspectOptions o;
  o.target_column = "load";
  const Inspection ins = inspect_csv_text(kCsv, "x.csv", o);
  const ColumnInfo& load = ins.columns[2];
  EXPECT_EQ(load.role, "target");
  EXPECT_EQ(load.stats.count, 5);
  EXPECT_DOUBLE_EQ(load.stats.mean, 14);
  EXPECT_DOUBLE_EQ(load.stats.std, std::sqrt(8.0));
  EXPECT_DOUBLE_EQ(load.stats.min, 10);
  EXPECT_DOUBLE_EQ(load.stats.max, 18);
  EXPECT_DOUBLE_EQ(load.stats.p50, 14);
  EXPECT_DOUBLE_EQ(load.stats.p25, 12);
  EXPECT_DOUBLE_EQ(load.stats.p05, 10.4);
  const ColumnInfo& temp = ins.columns[3];
  EXPECT_EQ(temp.missing, 1);
  EXPECT_EQ(temp.stats.count, 4);  // raw values: the missing cell is not filled into the stats
  EXPECT_DOUBLE_EQ(temp.stats.mean, 3.0);
}

TEST(Inspect, ProblemsListGapsFillsAndUnusedColumns) {
  const Inspection ins = inspect_csv_text(kCsv, "x.csv");
  std::string all;
  for (const auto& p : ins.problems) all += p + "\n";
  EXPECT_NE(all.find("x.csv:5: time gap: 2024-01-01 02:00:00 -> 2024-01-01 05:00:00"), std::string::npos) << all;
  EXPECT_NE(all.find("column 'temp': 1 missing cells; forward-fill (max 3 steps) fills 1, leaves 0"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("column 'note' (text) is not used"), std::string::npos) << all;
}

TEST(Inspect, ConstantColumnsAreWarningsNotErrors) {
  const Inspection ins = inspect_csv_text("t,y,c\n2024-01-01,1,7\n2024-01-02,2,7\n", "c.csv");
  ASSERT_FALSE(ins.problems.empty());
  EXPECT_NE(ins.problems[0].find("column 'c': constant over all 2 rows"), std::string::npos);
}

TEST(Inspect, TextAndJsonOutput) {
  const Inspection ins = inspect_csv_text(kCsv, "x.csv");
  const std::string text = format_inspection(ins);
  EXPECT_NE(text.find("rows     5"), std::string::npos) << text;
  EXPECT_NE(text.find("2024-01-01 00:00:00 .. 2024-01-01 06:00:00 (column 'date', step 1h)"), std::string::npos) << text;
  // Columns are aligned: every table line has the header's 'type' column at the same offset.
  const size_t table_at = text.find("column  ");
  ASSERT_NE(table_at, std::string::npos) << text;
  const auto j = nlohmann::json::parse(inspection_json(ins));
  EXPECT_EQ(j["rows"], 5);
  EXPECT_EQ(j["time"]["column"], "date");
  EXPECT_EQ(j["time"]["step"], "1h");
  EXPECT_EQ(j["columns"].size(), 6u);
  EXPECT_EQ(j["columns"][3]["missing"], 1);
  EXPECT_DOUBLE_EQ(j["columns"][3]["stats"]["mean"].get<double>(), 3.0);
  EXPECT_TRUE(j["problems"].is_array());
}

TEST(Inspect, JsonSurvivesInvalidUtf8Names) {
  // Found by the fuzzer: a header name with a stray 0x8C byte made json::dump throw.
  const Inspection ins = inspect_csv_text("id\x8c\x8c,date,v\n1,2024-01-01,1.5\n2,2024-01-02,2.5\n", "u.csv");
  const auto j = nlohmann::json::parse(inspection_json(ins));
  EXPECT_EQ(j["columns"].size(), 3u);
}

TEST(Inspect, OptionsAndErrors) {
  InspectOptions o;
  o.time_column = "nope";
  testing::expect_data_error([&] { inspect_csv_text(kCsv, "x.csv", o); }, "x.csv", 1, "nope",
                             "the header has: id, date, load, temp, flag, note");
  testing::expect_data_error([] { inspect_csv_text("a,b\nx,y\n", "n.csv"); }, "n.csv", 1, "",
                             "no column holds timestamps");
  testing::expect_data_error([] { inspect_csv_text("", "e.csv"); }, "e.csv", 0, "", "empty file");
  // Integer epoch seconds work when named.
  o.time_column = "t";
  const Inspection ins = inspect_csv_text("t,y\n100,1\n160,2\n220,4\n", "s.csv", o);
  EXPECT_EQ(ins.step_ms, 60000);
  // Errors deeper than the type sample come from the loader with their line.
  std::string big = "t,y\n";
  for (int i = 0; i < 3000; ++i) big += std::to_string(i) + ",1." + std::to_string(i) + "\n";
  big += "3000,oops\n";
  testing::expect_data_error([&] { inspect_csv_text(big, "b.csv", o); }, "b.csv", 3002, "y", "not a number: 'oops'");
}

TEST(Inspect, PanelData) {
  InspectOptions o;
  o.series_column = "s";
  const Inspection ins =
      inspect_csv_text("t,s,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-01,b,3\n2024-01-02,b,5\n", "p.csv", o);
  EXPECT_EQ(ins.series, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ins.columns[1].role, "series");
  // Detected by name when not given.
  const Inspection auto_ins =
      inspect_csv_text("t,series,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-01,b,3\n2024-01-02,b,5\n", "p.csv");
  EXPECT_EQ(auto_ins.series.size(), 2u);
  EXPECT_EQ(auto_ins.columns[1].role, "series");
}

TEST(Inspect, RealEttFileWhenPresent) {
  const std::string path = "/work/shared/data/ett/ETTh1.csv";
  if (!std::ifstream(path)) GTEST_SKIP() << path << " not present";
  const Inspection ins = inspect_csv(path);
  EXPECT_EQ(ins.rows, 17420);
  EXPECT_EQ(ins.time_column, "date");
  EXPECT_EQ(ins.target_column, "OT");
  EXPECT_EQ(ins.step_ms, 3600000);
  EXPECT_EQ(format_timestamp(ins.time_begin), "2016-07-01 00:00:00");
  EXPECT_EQ(format_timestamp(ins.time_end), "2018-06-26 19:00:00");
  EXPECT_EQ(ins.columns.size(), 8u);
}

}  // namespace
}  // namespace spikecast
