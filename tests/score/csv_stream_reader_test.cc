#include "score/csv_stream_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/csv_reader.h"

namespace spikecast::score {
namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("spikecast-csvs-" + std::to_string(::getpid()) + "-" + name)).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Records and their lines, read by the in-memory reader (the reference).
std::vector<std::pair<int64_t, std::vector<std::string>>> reference(const std::string& text) {
  CsvReader r(text, "ref");
  std::vector<std::pair<int64_t, std::vector<std::string>>> out;
  std::vector<std::string_view> f;
  while (r.next(f)) out.emplace_back(r.line(), std::vector<std::string>(f.begin(), f.end()));
  return out;
}

TEST(CsvStreamReader, ReadsWhatTheInMemoryReaderReadsWhateverTheBufferSize) {
  const std::string text =
      "\xEF\xBB\xBFtime,\"a,b\",c\r\n"
      "1,\"x\"\"y\",3\r\n"
      "\r\n\n"
      "2,\"multi\nline\",\r"
      "3,,\"\"\n"
      "4,plain text,\"q\"\r\n"
      ",,\n"
      "5,last,no newline";
  const auto want = reference(text);
  const std::string path = temp_file("ok.csv", text);
  for (size_t buffer : {64, 65, 70, 100, 4096}) {
    CsvStreamReader reader(path, buffer);
    std::vector<std::string_view> f;
    size_t i = 0;
    while (reader.next(f)) {
      ASSERT_LT(i, want.size());
      EXPECT_EQ(reader.line(), want[i].first) << "record " << i << " buffer " << buffer;
      EXPECT_EQ(std::vector<std::string>(f.begin(), f.end()), want[i].second) << "record " << i << " buffer " << buffer;
      ++i;
    }
    EXPECT_EQ(i, want.size());
    EXPECT_EQ(reader.offset(), text.size());
  }
  std::filesystem::remove(path);
}

TEST(CsvStreamReader, LongRecordsGrowTheBufferAndCrLfSplitsAcrossReads) {
  std::string text;
  for (int r = 0; r < 50; ++r) text += std::string(static_cast<size_t>(r * 7 % 150), 'x') + ",\"" + std::string(90, 'q') + "\"\r\n";
  const auto want = reference(text);
  const std::string path = temp_file("long.csv", text);
  CsvStreamReader reader(path, 64);
  std::vector<std::string_view> f;
  size_t i = 0;
  while (reader.next(f)) {
    ASSERT_LT(i, want.size());
    EXPECT_EQ(std::vector<std::string>(f.begin(), f.end()), want[i].second);
    EXPECT_EQ(reader.line(), want[i].first);
    ++i;
  }
  EXPECT_EQ(i, want.size());
  std::filesystem::remove(path);
}

TEST(CsvStreamReader, ErrorsNameTheFileAndLine) {
  const std::string path = temp_file("bad.csv", "a,b\n1,\"open\n2,3\n");
  CsvStreamReader reader(path, 64);
  std::vector<std::string_view> f;
  ASSERT_TRUE(reader.next(f));
  try {
    reader.next(f);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.row(), 2);
    EXPECT_NE(std::string(e.what()).find("unterminated"), std::string::npos);
  }
  const std::string path2 = temp_file("bad2.csv", "a,b\n\"x\"y,1\n");
  CsvStreamReader r2(path2, 64);
  ASSERT_TRUE(r2.next(f));
  EXPECT_THROW(r2.next(f), DataError);
  EXPECT_THROW(CsvStreamReader("/nonexistent/file.csv"), DataError);
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

}  // namespace
}  // namespace spikecast::score
