#include "data/inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/csv_reader.h"

namespace spikecast {
namespace {

bool date_like(std::string_view s) {
  return s.find('-') != std::string_view::npos || s.find('/') != std::string_view::npos ||
         s.find(':') != std::string_view::npos;
}

struct TypeCounts {
  int64_t present = 0, numeric = 0, integer = 0, binary = 0, timestamp = 0;
};

std::string detect_type(const TypeCounts& t) {
  if (t.present == 0) return "empty";
  if (t.timestamp == t.present) return "timestamp";
  if (t.numeric == t.present) {
    if (t.binary == t.present) return "binary";
    return t.integer == t.present ? "integer" : "numeric";
  }
  return "text";
}

bool is_numeric_type(const std::string& type) {
  return type == "numeric" || type == "integer" || type == "binary";
}

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

ColumnStats column_stats(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  ColumnStats st;
  st.count = static_cast<int64_t>(values.size());
  if (values.empty()) return st;
  double sum = 0;
  for (double v : values) sum += v;
  st.mean = sum / static_cast<double>(values.size());
  double sq = 0;
  for (double v : values) sq += (v - st.mean) * (v - st.mean);
  st.std = std::sqrt(sq / static_cast<double>(values.size()));
  std::sort(values.begin(), values.end());
  st.min = values.front();
  st.max = values.back();
  st.p05 = quantile(values, 0.05);
  st.p25 = quantile(values, 0.25);
  st.p50 = quantile(values, 0.50);
  st.p75 = quantile(values, 0.75);
  st.p95 = quantile(values, 0.95);
  return st;
}

Inspection inspect_csv(const std::string& path, const InspectOptions& options) {
  return inspect_csv_text(read_text_file(path), path, options);
}

Inspection inspect_csv_text(std::string text, const std::string& name, const InspectOptions& options) {
  // Pass 1: column types from a sample of rows (the reader unescapes in place, so it gets a copy
  // of the sample only).
  std::vector<std::string> header;
  std::vector<TypeCounts> counts;
  {
    CsvReader reader(text.substr(0, std::min<size_t>(text.size(), 4u << 20)), name);
    std::vector<std::string_view> fields;
    if (!reader.next(fields)) throw DataError(name, 0, "", "empty file (no header row)");
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string h(fields[i]);
      while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.pop_back();
      while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.erase(h.begin());
      header.push_back(h.empty() ? "column_" + std::to_string(i + 1) : h);
    }
    counts.resize(header.size());
    int64_t seen = 0;
    try {
      while (seen < options.sample_rows && reader.next(fields)) {
        ++seen;
        if (fields.size() != header.size()) continue;  // the loader reports it with its line
        for (size_t i = 0; i < fields.size(); ++i) {
          if (is_missing_cell(fields[i])) continue;
          TypeCounts& t = counts[i];
          ++t.present;
          float x;
          if (parse_number_cell(fields[i], x)) {
            ++t.numeric;
            if (x == std::floor(x)) ++t.integer;
            if (x == 0.0f || x == 1.0f) ++t.binary;
          }
          if (date_like(fields[i]) && parse_timestamp(fields[i])) ++t.timestamp;
        }
      }
    } catch (const DataError&) {
      // A quoting error in the sample (or a sample cut inside a quote): the loader below reports
      // real errors with the right line.
    }
  }
  Inspection ins;
  ins.file = name;
  for (size_t i = 0; i < header.size(); ++i) {
    ColumnInfo info;
    info.name = header[i];
    info.type = detect_type(counts[i]);
    info.role = "ignored";
    ins.columns.push_back(info);
  }
  const auto index_of = [&](const std::string& col, const char* flag) {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == col) return i;
    std::string names;
    for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
    throw DataError(name, 1, col, std::string("unknown column (") + flag + "); the header has: " + names);
  };

  size_t time_col = header.size();
  if (!options.time_column.empty()) {
    time_col = index_of(options.time_column, "--time-column");
  } else {
    for (size_t i = 0; i < header.size() && time_col == header.size(); ++i)
      if (ins.columns[i].type == "timestamp") time_col = i;
    if (time_col == header.size())
      throw DataError(name, 1, "",
                      "no column holds timestamps (such as 2024-01-31 12:00:00); name it with "
                      "--time-column");
  }
  ins.columns[time_col].role = "time";
  size_t series_col = header.size();
  if (!options.series_column.empty()) {
    series_col = index_of(options.series_column, "--series-column");
  } else {
    // A text column with a conventional panel-id name is the series column.
    static const char* const kSeriesNames[] = {"series", "series_id", "unique_id", "item_id", "id", "group"};
    for (size_t i = 0; i < header.size() && series_col == header.size(); ++i)
      for (const char* n : kSeriesNames)
        if (header[i] == n && ins.columns[i].type == "text" && i != time_col) series_col = i;
  }
  if (series_col < header.size()) ins.columns[series_col].role = "series";
  size_t target_col = header.size();
  if (!options.target_column.empty()) {
    target_col = index_of(options.target_column, "--target");
  } else {
    for (size_t i = header.size(); i-- > 0 && target_col == header.size();)
      if (i != time_col && i != series_col && is_numeric_type(ins.columns[i].type) &&
          ins.columns[i].type != "binary")
        target_col = i;
    for (size_t i = header.size(); i-- > 0 && target_col == header.size();)
      if (i != time_col && i != series_col && is_numeric_type(ins.columns[i].type)) target_col = i;
    if (target_col == header.size())
      throw DataError(name, 1, "", "no numeric column to forecast; name the target with --target");
  }
  if (target_col == time_col || target_col == series_col)
    throw DataError(name, 1, header[target_col], "the target cannot be the time or series column");

  DataConfig config;
  config.time_column = header[time_col];
  config.target_column = header[target_col];
  if (series_col < header.size()) config.series_column = header[series_col];
  for (size_t i = 0; i < header.size(); ++i)
    if (i != time_col && i != series_col && i != target_col && is_numeric_type(ins.columns[i].type))
      config.feature_columns.push_back(header[i]);
  if (config.feature_columns.empty()) config.feature_columns.push_back(config.target_column);
  config.missing_policy = MissingPolicy::kFill;
  config.max_fill_steps = 0;  // statistics of the raw values; fill is counted below

  LoadOptions load_options;
  load_options.constant_columns = ConstantPolicy::kWarn;
  LoadReport report;
  Table table = load_csv_text(std::move(text), name, config, load_options, &report);

  ins.rows = table.rows();
  for (const auto& s : table.series) ins.series.push_back(s.name);
  ins.time_column = config.time_column;
  ins.target_column = config.target_column;
  ins.time_begin = report.time_begin;
  ins.time_end = report.time_end;
  ins.step_ms = report.step_ms;
  const int64_t C = table.num_channels();
  std::vector<double> column(table.rows());
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t r = 0; r < table.rows(); ++r) column[r] = table.values[r * C + c];
    ColumnInfo& info = ins.columns[index_of(table.channels[c], "channel")];
    info.role = c == 0 ? "target" : "feature";
    info.missing = report.missing_cells[c];
    info.has_stats = true;
    info.stats = column_stats(column);
  }
  // Warnings from loading, except its fill lines (nothing was filled at max_fill_steps = 0).
  for (const std::string& w : report.warnings)
    if (w.find("missing cells") == std::string::npos) ins.problems.push_back(w);
  LoadReport fill;
  forward_fill(table, options.max_fill_steps, &fill);
  for (int64_t c = 0; c < C; ++c) {
    if (!report.missing_cells[c]) continue;
    ins.problems.push_back("column '" + table.channels[c] + "': " + std::to_string(report.missing_cells[c]) +
                           " missing cells; forward-fill (max " + std::to_string(options.max_fill_steps) +
                           " steps) fills " + std::to_string(fill.filled_cells[c]) + ", leaves " +
                           std::to_string(fill.nan_cells[c]));
  }
  for (const ColumnInfo& col : ins.columns)
    if (col.role == "ignored")
      ins.problems.push_back("column '" + col.name + "' (" + col.type + ") is not used");
  return ins;
}

std::string format_inspection(const Inspection& ins) {
  std::string out;
  out += "file     " + ins.file + "\n";
  out += "rows     " + std::to_string(ins.rows) + "\n";
  out += "series   " + std::to_string(ins.series.size());
  if (ins.series.size() > 1) {
    out += " (";
    for (size_t i = 0; i < ins.series.size() && i < 5; ++i) out += (i ? ", " : "") + ins.series[i];
    out += ins.series.size() > 5 ? ", ...)" : ")";
  }
  out += "\n";
  out += "time     " + format_timestamp(ins.time_begin) + " .. " + format_timestamp(ins.time_end) +
         " (column '" + ins.time_column + "', step " + format_duration(ins.step_ms) + ")\n";
  out += "target   " + ins.target_column + "\n\n";

  std::vector<std::vector<std::string>> cells = {
      {"column", "type", "role", "missing", "mean", "std", "min", "p05", "p25", "p50", "p75", "p95", "max"}};
  for (const ColumnInfo& c : ins.columns) {
    std::vector<std::string> row = {c.name, c.type, c.role};
    if (c.has_stats) {
      const ColumnStats& s = c.stats;
      row.push_back(std::to_string(c.missing));
      for (double v : {s.mean, s.std, s.min, s.p05, s.p25, s.p50, s.p75, s.p95, s.max})
        row.push_back(s.count ? fmt_num(v) : "-");
    }
    cells.push_back(row);
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool right = i >= 3;  // numbers right-aligned
      const std::string pad(width[i] - row[i].size(), ' ');
      line += (i ? "  " : "") + (right ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : ""));
    }
    out += line + "\n";
  }
  out += "\nproblems";
  if (ins.problems.empty()) out += "  none\n";
  else {
    out += " (" + std::to_string(ins.problems.size()) + ")\n";
    for (const auto& p : ins.problems) out += "  - " + p + "\n";
  }
  return out;
}

std::string inspection_json(const Inspection& ins, int indent) {
  nlohmann::ordered_json j;
  j["file"] = ins.file;
  j["rows"] = ins.rows;
  j["series"] = ins.series;
  j["time"] = {{"column", ins.time_column},
               {"begin", format_timestamp(ins.time_begin)},
               {"end", format_timestamp(ins.time_end)},
               {"step_ms", ins.step_ms},
               {"step", format_duration(ins.step_ms)}};
  j["target"] = ins.target_column;
  nlohmann::ordered_json cols = nlohmann::ordered_json::array();
  for (const ColumnInfo& c : ins.columns) {
    nlohmann::ordered_json col = {{"name", c.name}, {"type", c.type}, {"role", c.role}};
    if (c.has_stats) {
      const ColumnStats& s = c.stats;
      col["missing"] = c.missing;
      col["stats"] = {{"count", s.count}, {"mean", s.mean}, {"std", s.std}, {"min", s.min},
                      {"p05", s.p05},     {"p25", s.p25},   {"p50", s.p50}, {"p75", s.p75},
                      {"p95", s.p95},     {"max", s.max}};
    }
    cols.push_back(col);
  }
  j["columns"] = cols;
  j["problems"] = ins.problems;
  // Column names and series ids come from the file and may be invalid UTF-8: replace, never throw.
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace spikecast
