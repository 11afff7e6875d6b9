#include "data/csv_reader.h"

#include <gtest/gtest.h>

#include "data_test_util.h"

namespace spikecast {
namespace {

using Records = std::vector<std::vector<std::string>>;

TEST(CsvReader, RecordParserStopsAtALimitAndConsumesTheLineEnd) {
  // The streaming reader passes the record's line end as the limit and the buffer's end as size.
  std::string buf = "a,\"b\nc\",d\r\nnext";
  const size_t limit = buf.find('\r');
  size_t pos = 0;
  int64_t line = 1;
  std::vector<std::string_view> fields;
  parse_csv_record(buf.data(), limit, buf.size(), pos, line, 1, "x.csv", fields);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], "a");
  EXPECT_EQ(fields[1], "b\nc");
  EXPECT_EQ(fields[2], "d");
  EXPECT_EQ(pos, buf.find("next"));  // past the CRLF, counted once
  EXPECT_EQ(line, 3);                 // the quoted newline and the line end
  // A record that ends the buffer without a line end leaves pos at the end.
  std::string last = "x,y";
  pos = 0;
  line = 7;
  fields.clear();
  parse_csv_record(last.data(), last.size(), last.size(), pos, line, 7, "x.csv", fields);
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_EQ(pos, last.size());
  EXPECT_EQ(line, 7);
  EXPECT_EQ(trim_cell(" \t v \t"), "v");
  EXPECT_EQ(join_names({"a", "b"}), "a, b");
}

TEST(CsvReader, PlainRecords) {
  EXPECT_EQ(read_csv_records("a,b,c\n1,2,3\n4,5,6\n", "x.csv"),
            (Records{{"a", "b", "c"}, {"1", "2", "3"}, {"4", "5", "6"}}));
}

TEST(CsvReader, QuotedFieldsWithCommasEscapesAndNewlines) {
  const Records r = read_csv_records("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"multi\nline\",\"\"\n", "q.csv");
  EXPECT_EQ(r, (Records{{"a", "b"}, {"x,y", "say \"hi\""}, {"multi\nline", ""}}));
}

TEST(CsvReader, LineNumbersCountNewlinesInsideQuotesAndBlankLines) {
  CsvReader reader("h1,h2\n\n\"a\nb\nc\",1\n\r\n2,3\n", "l.csv");
  std::vector<std::string_view> f;
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 1);
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 3);  // line 2 is blank
  EXPECT_EQ(f[0], "a\nb\nc");
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(reader.line(), 7);  // the quoted field spans lines 3-5, line 6 is a blank CRLF line
  EXPECT_EQ(f[0], "2");
  EXPECT_FALSE(reader.next(f));
}

TEST(CsvReader, CrlfAndLoneCrLineEnds) {
  EXPECT_EQ(read_csv_records("a,b\r\n1,2\r\n3,4\r\n", "crlf.csv"),
            (Records{{"a", "b"}, {"1", "2"}, {"3", "4"}}));
  EXPECT_EQ(read_csv_records("a,b\r1,2\r", "cr.csv"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(read_csv_records("a,\"b\"\r\n\"1\"\r\n", "q.csv"), (Records{{"a", "b"}, {"1"}}));
}

TEST(CsvReader, Utf8BomIsSkipped) {
  EXPECT_EQ(read_csv_records("\xEF\xBB\xBFtime,v\n1,2\n", "bom.csv"), (Records{{"time", "v"}, {"1", "2"}}));
  // A BOM-only file has no records.
  EXPECT_TRUE(read_csv_records("\xEF\xBB\xBF", "bom.csv").empty());
}

TEST(CsvReader, MissingFinalNewline) {
  EXPECT_EQ(read_csv_records("a,b\n1,2", "n.csv"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(read_csv_records("a,b\n1,\"2\"", "n.csv"), (Records{{"a", "b"}, {"1", "2"}}));
}

TEST(CsvReader, EmptyFieldsAndTrailingComma) {
  EXPECT_EQ(read_csv_records("a,b,c\n,,\n1,2,\n", "e.csv"),
            (Records{{"a", "b", "c"}, {"", "", ""}, {"1", "2", ""}}));
  EXPECT_EQ(read_csv_records("a,b\n1,", "e.csv"), (Records{{"a", "b"}, {"1", ""}}));
}

TEST(CsvReader, BlankLinesSkippedEverywhere) {
  EXPECT_EQ(read_csv_records("\n\r\na,b\n\n\n1,2\n\n", "b.csv"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_TRUE(read_csv_records("", "empty.csv").empty());
  EXPECT_TRUE(read_csv_records("\n\n", "empty.csv").empty());
}

TEST(CsvReader, UnterminatedQuoteIsAnErrorAtItsRecordLine) {
  testing::expect_data_error([] { read_csv_records("a,b\n1,2\n3,\"open\n4,5\n", "u.csv"); }, "u.csv", 3, "",
                             "unterminated quoted field 2");
}

TEST(CsvReader, TextAfterClosingQuoteIsAnError) {
  testing::expect_data_error([] { read_csv_records("a,b\n\"x\"y,2\n", "t.csv"); }, "t.csv", 2, "",
                             "after the closing quote of field 1: 'y,2");
}

TEST(CsvReader, FileReadAndMissingFile) {
  testing::TempDir dir;
  const std::string path = dir.write("f.csv", "a\n1\n");
  CsvReader reader = CsvReader::from_file(path);
  std::vector<std::string_view> f;
  ASSERT_TRUE(reader.next(f));
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(f[0], "1");
  const std::string missing = dir.file("nope.csv");
  testing::expect_data_error([&] { CsvReader::from_file(missing); }, missing, 0, "", "cannot open");
  testing::expect_data_error([&] { CsvReader::from_file(dir.file("")); }, "", 0, "", "not a regular file");
}

TEST(CsvReader, ViewsStayValidAfterLaterRecords) {
  CsvReader reader("\"a\"\"b\",c\n\"d\"\"\"\"e\",f\n", "v.csv");
  std::vector<std::string_view> first, second;
  ASSERT_TRUE(reader.next(first));
  ASSERT_TRUE(reader.next(second));
  EXPECT_EQ(first[0], "a\"b");
  EXPECT_EQ(second[0], "d\"\"e");
}

TEST(CsvReader, QuoteCellTruncatesAndHidesControlCharacters) {
  EXPECT_EQ(quote_cell("abc"), "'abc'");
  EXPECT_EQ(quote_cell(std::string("a\nb\0c", 5)), "'a?b?c'");
  EXPECT_EQ(quote_cell(std::string(50, 'x')), "'" + std::string(40, 'x') + "...'");
}

}  // namespace
}  // namespace spikecast
