#include "data/csv_writer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "core/error.h"

namespace spikecast {
namespace {

// Appends rows [begin, end) to out.
void append_rows(const Table& table, const CsvWriteOptions& options, bool with_series,
                 const std::vector<int64_t>& series_of_row, int64_t begin, int64_t end, std::string& out) {
  const int64_t C = table.num_channels();
  auto it = std::back_inserter(out);
  const auto cell = [&](float v) {
    out += ',';
    if (!std::isnan(v)) fmt::format_to(it, "{}", v);
  };
  for (int64_t r = begin; r < end; ++r) {
    out += format_timestamp(table.time[r]);
    if (with_series) {
      out += ',';
      out += table.series[series_of_row[r]].name;
    }
    for (int64_t c = 1; c < C; ++c) cell(table.values[r * C + c]);
    if (C > 0) cell(table.values[r * C]);
    if (options.labels) {
      out += ',';
      out += (*options.labels)[r] ? '1' : '0';
    }
    out += '\n';
  }
}

std::string header_line(const Table& table, const CsvWriteOptions& options, bool with_series) {
  std::string out = options.time_column;
  if (with_series) out += "," + options.series_column;
  for (int64_t c = 1; c < table.num_channels(); ++c) out += "," + table.channels[c];
  if (table.num_channels() > 0) out += "," + table.channels[0];
  if (options.labels) out += ",is_spike";
  return out + "\n";
}

std::vector<int64_t> series_index(const Table& table) {
  std::vector<int64_t> idx(table.rows(), 0);
  for (size_t s = 0; s < table.series.size(); ++s)
    for (int64_t r = table.series[s].begin; r < table.series[s].end; ++r) idx[r] = static_cast<int64_t>(s);
  return idx;
}

}  // namespace

std::string to_csv(const Table& table, const CsvWriteOptions& options) {
  const bool with_series = table.series.size() > 1;
  std::string out = header_line(table, options, with_series);
  append_rows(table, options, with_series, series_index(table), 0, table.rows(), out);
  return out;
}

void write_csv(const Table& table, const std::string& path, const CsvWriteOptions& options) {
  if (options.labels && static_cast<int64_t>(options.labels->size()) != table.rows())
    throw Error("write_csv: labels have " + std::to_string(options.labels->size()) + " rows, the table " +
                std::to_string(table.rows()));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw DataError(path, 0, "", std::string("cannot write: ") + std::strerror(errno));
  const bool with_series = table.series.size() > 1;
  const std::vector<int64_t> series_of_row = series_index(table);
  std::string buf = header_line(table, options, with_series);
  bool ok = true;
  constexpr int64_t kChunk = 4096;  // rows per write
  for (int64_t r = 0; r < table.rows() && ok; r += kChunk) {
    append_rows(table, options, with_series, series_of_row, r, std::min(table.rows(), r + kChunk), buf);
    ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
    buf.clear();
  }
  if (!buf.empty() && ok) ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) throw DataError(path, 0, "", "write failed");
}

}  // namespace spikecast
