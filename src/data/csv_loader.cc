#include "data/csv_loader.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fast_float/fast_float.h>

#include "core/error.h"
#include "data/csv_reader.h"

namespace spikecast {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string format_value(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

std::string series_label(const std::string& name) {
  return name.empty() ? std::string() : " in series '" + name + "'";
}

// Header names: trimmed, empty ones named column_<i>, duplicates rejected.
std::vector<std::string> read_header(CsvReader& reader, std::vector<std::string_view>& fields) {
  if (!reader.next(fields)) throw DataError(reader.name(), 0, "", "empty file (no header row)");
  std::vector<std::string> header;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string name(trim_cell(fields[i]));
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    for (size_t j = 0; j < header.size(); ++j)
      if (header[j] == name)
        throw DataError(reader.name(), reader.line(), name,
                        "duplicate column name in the header (columns " + std::to_string(j + 1) +
                            " and " + std::to_string(i + 1) + ")");
    header.push_back(std::move(name));
  }
  return header;
}

size_t find_column(const std::vector<std::string>& header, const std::string& name,
                   const char* key, const std::string& file, int64_t header_line) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  throw DataError(file, header_line, name,
                  std::string("unknown column in ") + key + "; the header has: " + join_names(header));
}

}  // namespace

bool is_missing_cell(std::string_view cell) {
  const std::string_view s = trim_cell(cell);
  if (s.empty()) return true;
  switch (s.size()) {
    case 2: return s == "NA";
    case 3: return s == "N/A" || s == "NaN" || s == "nan" || s == "NAN";
    case 4: return s == "null" || s == "NULL" || s == "None" || s == "Null";
    default: return false;
  }
}

bool parse_number_cell(std::string_view cell, float& out) {
  std::string_view s = trim_cell(cell);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double d = 0;
  const auto r = fast_float::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(FLT_MAX)) return false;
  out = static_cast<float>(d);
  return true;
}

void forward_fill(Table& table, int64_t max_steps, LoadReport* report) {
  const int64_t C = table.num_channels();
  if (table.filled.size() != table.time.size()) table.filled.assign(table.time.size(), 0);
  if (report && static_cast<int64_t>(report->filled_cells.size()) != C) {
    report->filled_cells.assign(C, 0);
    report->nan_cells.assign(C, 0);
  }
  float* v = table.values.data();
  for (const SeriesRange& s : table.series) {
    for (int64_t c = 0; c < C; ++c) {
      bool have_prev = false;
      float prev = 0;
      int64_t run_begin = -1;  // first row of the current NaN run
      const auto close_run = [&](int64_t run_end) {
        const int64_t len = run_end - run_begin;
        if (have_prev && len <= max_steps) {
          for (int64_t r = run_begin; r < run_end; ++r) {
            v[r * C + c] = prev;
            table.filled[r] = 1;
          }
          if (report) report->filled_cells[c] += len;
        } else if (report) {
          report->nan_cells[c] += len;
          ++report->nan_gaps;
        }
        run_begin = -1;
      };
      for (int64_t r = s.begin; r < s.end; ++r) {
        const float x = v[r * C + c];
        if (std::isnan(x)) {
          if (run_begin < 0) run_begin = r;
        } else {
          if (run_begin >= 0) close_run(r);
          have_prev = true;
          prev = x;
        }
      }
      if (run_begin >= 0) close_run(s.end);
    }
  }
}

namespace {

Table load_from_reader(CsvReader& reader, const DataConfig& config, const LoadOptions& options,
                       LoadReport* report) {
  const std::string file = reader.name();
  std::vector<std::string_view> fields;
  fields.reserve(64);
  const std::vector<std::string> header = read_header(reader, fields);
  const int64_t header_line = reader.line();
  const size_t ncols = header.size();

  // Column selection: channel 0 is the target, then the features in config order (or file order).
  if (!config.series_column.empty() &&
      (config.series_column == config.time_column || config.series_column == config.target_column))
    throw ConfigError("data.series_column", "must differ from the time and target columns");
  if (config.time_column == config.target_column)
    throw ConfigError("data.target_column", "must differ from the time column");
  const size_t time_col = find_column(header, config.time_column, "data.time_column", file, header_line);
  const size_t target_col =
      find_column(header, config.target_column, "data.target_column", file, header_line);
  const bool has_series = !config.series_column.empty();
  const size_t series_col =
      has_series ? find_column(header, config.series_column, "data.series_column", file, header_line)
                 : 0;
  std::vector<size_t> channel_cols = {target_col};
  if (config.feature_columns.empty()) {
    for (size_t i = 0; i < ncols; ++i)
      if (i != time_col && i != target_col && !(has_series && i == series_col)) channel_cols.push_back(i);
  } else {
    for (const std::string& f : config.feature_columns) {
      const size_t i = find_column(header, f, "data.feature_columns", file, header_line);
      if (i == target_col) continue;  // the target is channel 0 already
      if (has_series && i == series_col)
        throw DataError(file, header_line, f, "the series column cannot be a feature");
      channel_cols.push_back(i);
    }
  }
  const size_t C = channel_cols.size();

  Table table;
  table.source = file;
  for (size_t c : channel_cols) table.channels.push_back(header[c]);
  std::vector<int64_t> missing(C, 0);
  std::vector<int32_t> series_of_row;
  std::vector<std::string> series_names;
  std::unordered_map<std::string, int32_t> series_ids;
  std::string last_series;
  int32_t last_series_id = -1;
  const bool reject_missing = config.missing_policy == MissingPolicy::kReject;

  // Reserve from a guess of the row count (bytes / bytes of the first record).
  while (reader.next(fields)) {
    const int64_t line = reader.line();
    if (fields.size() != ncols)
      throw DataError(file, line, "",
                      "expected " + std::to_string(ncols) + " fields (as in the header), got " +
                          std::to_string(fields.size()));
    if (table.time.empty()) {
      const size_t record_bytes = static_cast<size_t>(fields.back().data() - fields.front().data()) + 2;
      const size_t guess = reader.size_bytes() / std::max<size_t>(16, record_bytes);
      table.time.reserve(guess + 16);
      table.source_line.reserve(guess + 16);
      table.values.reserve((guess + 16) * C);
    }
    const auto t = parse_timestamp(fields[time_col]);
    if (!t)
      throw DataError(file, line, header[time_col],
                      "cannot parse timestamp " + quote_cell(fields[time_col]));
    table.time.push_back(*t);
    table.source_line.push_back(line);
    if (has_series) {
      const std::string_view sv = trim_cell(fields[series_col]);
      if (last_series_id < 0 || sv != last_series) {
        last_series.assign(sv.data(), sv.size());
        auto [it, inserted] = series_ids.emplace(last_series, static_cast<int32_t>(series_names.size()));
        if (inserted) series_names.push_back(last_series);
        last_series_id = it->second;
      }
      series_of_row.push_back(last_series_id);
    }
    for (size_t c = 0; c < C; ++c) {
      const std::string_view cell = fields[channel_cols[c]];
      float x;
      if (parse_number_cell(cell, x)) {
        table.values.push_back(x);
      } else if (is_missing_cell(cell)) {
        if (reject_missing)
          throw DataError(file, line, header[channel_cols[c]],
                          "missing value " + quote_cell(cell) + " (data.missing_policy = reject)");
        ++missing[c];
        table.values.push_back(kNaN);
      } else {
        throw DataError(file, line, header[channel_cols[c]], "not a number: " + quote_cell(cell));
      }
    }
  }
  const int64_t rows = table.rows();
  if (rows == 0) throw DataError(file, header_line, "", "no data rows after the header");

  // Group rows by series (order of first appearance), keeping file order inside each series.
  if (has_series) {
    const size_t S = series_names.size();
    std::vector<int64_t> count(S + 1, 0);
    for (int32_t id : series_of_row) ++count[id + 1];
    for (size_t s = 0; s < S; ++s) count[s + 1] += count[s];
    for (size_t s = 0; s < S; ++s) table.series.push_back({series_names[s], count[s], count[s + 1]});
    bool grouped = true;
    for (int64_t r = 1; r < rows && grouped; ++r) grouped = series_of_row[r] >= series_of_row[r - 1];
    if (!grouped) {
      std::vector<int64_t> pos(count.begin(), count.end() - 1);
      std::vector<TimestampMs> time(rows);
      std::vector<int64_t> lines(rows);
      std::vector<float> values(table.values.size());
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t to = pos[series_of_row[r]]++;
        time[to] = table.time[r];
        lines[to] = table.source_line[r];
        std::copy_n(table.values.begin() + r * C, C, values.begin() + to * C);
      }
      table.time.swap(time);
      table.source_line.swap(lines);
      table.values.swap(values);
    }
  } else {
    table.series.push_back({"", 0, rows});
  }
  table.filled.assign(rows, 0);

  // Timestamps strictly increasing within each series (or, in file order, repeats and steps back
  // counted and left out of the step); the most common step.
  std::unordered_map<int64_t, int64_t> step_count;
  int64_t run_step = 0, run_len = 0, repeated = 0, backwards = 0;
  for (const SeriesRange& s : table.series) {
    for (int64_t r = s.begin + 1; r < s.end; ++r) {
      const int64_t d = table.time[r] - table.time[r - 1];
      if (d <= 0) {
        if (options.time_order == TimeOrder::kFileOrder) {
          ++(d == 0 ? repeated : backwards);
          continue;
        }
        const std::string prev_line = std::to_string(table.source_line[r - 1]);
        const std::string msg =
            d == 0 ? "duplicate timestamp '" + format_timestamp(table.time[r]) + "' (also on line " +
                         prev_line + ")"
                   : "timestamps out of order: '" + format_timestamp(table.time[r]) +
                         "' comes after '" + format_timestamp(table.time[r - 1]) + "' on line " +
                         prev_line;
        throw DataError(file, table.source_line[r], header[time_col], msg + series_label(s.name));
      }
      if (d == run_step) {
        ++run_len;
      } else {
        if (run_len) step_count[run_step] += run_len;
        run_step = d;
        run_len = 1;
      }
    }
  }
  if (run_len) step_count[run_step] += run_len;
  int64_t step = 0, best = 0;
  for (const auto& [d, n] : step_count)
    if (n > best || (n == best && d < step)) step = d, best = n;
  table.step_ms = step;

  LoadReport local;
  LoadReport& rep = report ? *report : local;
  rep = LoadReport{};
  rep.file = file;
  rep.rows = rows;
  rep.series = static_cast<int64_t>(table.series.size());
  rep.step_ms = step;
  rep.channels = table.channels;
  rep.missing_cells = missing;
  rep.time_begin = table.time[0];
  rep.time_end = table.time[0];
  for (const SeriesRange& s : table.series) {
    rep.time_begin = std::min(rep.time_begin, table.time[s.begin]);
    rep.time_end = std::max(rep.time_end, table.time[s.end - 1]);
  }
  int64_t irregular = 0;
  if (step > 0) {
    for (const SeriesRange& s : table.series)
      for (int64_t r = s.begin + 1; r < s.end; ++r) {
        const int64_t d = table.time[r] - table.time[r - 1];
        if (d > step)
          rep.time_gaps.push_back({s.name, table.source_line[r], table.time[r - 1], table.time[r], d / step - 1});
        if (d % step != 0) ++irregular;
      }
  }
  for (const TimeGap& g : rep.time_gaps) {
    if (rep.warnings.size() >= 20) {
      rep.warnings.push_back("... " + std::to_string(rep.time_gaps.size()) + " time gaps in all");
      break;
    }
    rep.warnings.push_back(file + ":" + std::to_string(g.line) + ": time gap" + series_label(g.series) +
                           ": " + format_timestamp(g.from) + " -> " + format_timestamp(g.to) + " (" +
                           format_duration(g.to - g.from) + ", step " + format_duration(step) + ")");
  }
  if (irregular)
    rep.warnings.push_back(std::to_string(irregular) + " steps are not a multiple of the usual step " +
                           format_duration(step));
  if (repeated || backwards)
    rep.warnings.push_back(file + ": " + std::to_string(repeated) + " rows repeat the timestamp of the row before them and " +
                           std::to_string(backwards) + " step back in time (kept as rows of their own, in file order)");

  // Constant channels: over the whole file, then within each series of panel data.
  const float* v = table.values.data();
  const auto constant_problem = [&](int64_t line, size_t c, const std::string& msg) {
    if (options.constant_columns == ConstantPolicy::kReject)
      throw DataError(file, line, table.channels[c], msg);
    rep.warnings.push_back(file + ": column '" + table.channels[c] + "': " + msg);
  };
  for (size_t c = 0; c < C; ++c) {
    float lo = INFINITY, hi = -INFINITY;
    std::vector<std::pair<float, float>> per_series;
    for (const SeriesRange& s : table.series) {
      float slo = INFINITY, shi = -INFINITY;
      for (int64_t r = s.begin; r < s.end; ++r) {
        const float x = v[r * C + c];
        if (x < slo) slo = x;  // NaN compares false
        if (x > shi) shi = x;
      }
      per_series.emplace_back(slo, shi);
      lo = std::min(lo, slo);
      hi = std::max(hi, shi);
    }
    if (lo > hi) {
      constant_problem(table.source_line[0], c, "has no values (every cell is missing)");
    } else if (lo == hi) {
      constant_problem(table.source_line[0], c,
                       "constant over all " + std::to_string(rows) + " rows (every value is " +
                           format_value(lo) + ")");
    } else if (table.series.size() > 1) {
      for (size_t s = 0; s < table.series.size(); ++s) {
        const auto [slo, shi] = per_series[s];
        if (slo == shi && table.series[s].size() > 1)
          constant_problem(table.source_line[table.series[s].begin], c,
                           "constant within series '" + table.series[s].name + "' (all " +
                               std::to_string(table.series[s].size()) + " values are " +
                               format_value(slo) + ")");
      }
    }
  }

  forward_fill(table, config.missing_policy == MissingPolicy::kFill ? config.max_fill_steps : 0, &rep);
  for (size_t c = 0; c < C; ++c) {
    if (rep.filled_cells[c])
      rep.warnings.push_back(file + ": column '" + table.channels[c] + "': " +
                             std::to_string(rep.filled_cells[c]) + " missing cells forward-filled");
    if (rep.nan_cells[c])
      rep.warnings.push_back(file + ": column '" + table.channels[c] + "': " +
                             std::to_string(rep.nan_cells[c]) +
                             " missing cells left empty (gap longer than data.max_fill_steps = " +
                             std::to_string(config.max_fill_steps) +
                             " or at the start); windows touching them are dropped");
  }

  if (options.min_series_rows > 0) {
    int64_t longest = 0;
    std::string longest_name;
    for (const SeriesRange& s : table.series)
      if (s.size() > longest) longest = s.size(), longest_name = s.name;
    if (longest < options.min_series_rows)
      throw DataError(file, 0, "",
                      "too few rows for one window: needs input_length + horizon = " +
                          std::to_string(options.min_series_rows) + " rows in some series, the longest" +
                          (has_series ? " series ('" + longest_name + "')" : std::string()) + " has " +
                          std::to_string(longest));
  }
  return table;
}

}  // namespace

Table load_csv_text(std::string text, const std::string& name, const DataConfig& config,
                    const LoadOptions& options, LoadReport* report) {
  CsvReader reader(std::move(text), name);
  return load_from_reader(reader, config, options, report);
}

Table load_csv(const DataConfig& config, const LoadOptions& options, LoadReport* report) {
  if (config.path.empty()) throw ConfigError("data.path", "no data file given (--data)");
  CsvReader reader = CsvReader::from_file(config.path);
  return load_from_reader(reader, config, options, report);
}

Table load_csv(const DataConfig& config, LoadReport* report) { return load_csv(config, LoadOptions{}, report); }

Table load_csv(const DataConfig& config, const WindowConfig& window, LoadReport* report) {
  LoadOptions options;
  options.min_series_rows = window.input_length + window.horizon;
  return load_csv(config, options, report);
}

}  // namespace spikecast
