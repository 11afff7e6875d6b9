// Helpers for the data tests: a temporary directory and a DataError matcher.
#pragma once

#include <gtest/gtest.h>
#include "core/file_system.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace spikecast::testing {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = base / ("spikecast_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    remove_tree(path_);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to name and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = file(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

// Runs f, expecting a DataError with the given row and column whose message contains `needle`
// (and, when file is non-empty, names the file).
template <typename F>
void expect_data_error(F f, const std::string& file, int64_t row, const std::string& column,
                       const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no DataError (expected '" << needle << "')";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.row(), row) << what;
    EXPECT_EQ(e.column(), column) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << "message: " << what << "\nexpected: " << needle;
    if (!file.empty()) {
      EXPECT_EQ(e.file(), file) << what;
      EXPECT_EQ(what.rfind(file, 0), 0u) << what;
      if (row > 0) EXPECT_NE(what.find(file + ":" + std::to_string(row) + ":"), std::string::npos) << what;
      if (!column.empty()) EXPECT_NE(what.find("column '" + column + "'"), std::string::npos) << what;
    }
  }
}

}  // namespace spikecast::testing
