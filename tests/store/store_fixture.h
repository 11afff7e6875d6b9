// Generator rows as CSV text, cut into a history and daily files, for the store tests.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/csv_writer.h"
#include "data/generator.h"

namespace spikecast::store::testing {

// The generator's rows as CSV lines: lines[0] the header, lines[1 + r] row r.
class GeneratedLines {
 public:
  explicit GeneratedLines(int64_t rows, uint64_t seed = 11) {
    GeneratorConfig g;
    g.rows = rows;
    g.seed = seed;
    table_ = generate(g).table;
    split(to_csv(table_));
  }
  // Header + rows [begin, end).
  std::string rows(int64_t begin, int64_t end) const {
    std::string out = lines_[0] + "\n";
    for (int64_t r = begin; r < end; ++r) out += lines_[1 + r] + "\n";
    return out;
  }
  // The same rows after `edit` changed a copy of the table.
  template <typename Edit>
  std::string edited_rows(int64_t begin, int64_t end, Edit edit) const {
    Table t = table_;
    edit(t);
    GeneratedLines copy(t);
    return copy.rows(begin, end);
  }
  const Table& table() const { return table_; }

 private:
  explicit GeneratedLines(const Table& t) : table_(t) { split(to_csv(table_)); }
  void split(const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
  }
  Table table_;
  std::vector<std::string> lines_;
};

}  // namespace spikecast::store::testing
