// `spikecast data inspect FILE`: what a CSV holds, without a config. Detects column types, picks
// the time column (the first whose values are date-like timestamps, or the one given), makes every
// numeric column a channel (target: the last non-binary numeric column unless given), then loads
// through load_csv_text (so every hard error is the loader's) and summarises.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/csv_loader.h"

namespace spikecast {

struct InspectOptions {
  std::string time_column;    // empty: auto-detect
  std::string target_column;  // empty: the last numeric, non-binary column
  std::string series_column;  // panel id; empty: a text column named series, series_id,
                              // unique_id, item_id, id or group, if any
  int64_t max_fill_steps = 3; // to report how many missing cells forward-fill would bridge
  int64_t sample_rows = 2000; // rows used to detect column types
};

struct ColumnStats {
  int64_t count = 0;  // non-missing cells
  double mean = 0, std = 0, min = 0, max = 0;
  double p05 = 0, p25 = 0, p50 = 0, p75 = 0, p95 = 0;  // linear-interpolated quantiles
};

struct ColumnInfo {
  std::string name;
  std::string type;  // timestamp | numeric | integer | binary | text | empty
  std::string role;  // time | series | target | feature | ignored
  int64_t missing = 0;  // missing cells (channels only)
  bool has_stats = false;
  ColumnStats stats;
};

struct Inspection {
  std::string file;
  int64_t rows = 0;
  std::vector<std::string> series;  // series names ("" for single-series data)
  std::string time_column, target_column;
  TimestampMs time_begin = 0, time_end = 0;
  int64_t step_ms = 0;
  std::vector<ColumnInfo> columns;  // in file order
  std::vector<std::string> problems;  // warnings that do not stop loading
};

Inspection inspect_csv(const std::string& path, const InspectOptions& options = {});
Inspection inspect_csv_text(std::string text, const std::string& name, const InspectOptions& options = {});

// Statistics of the non-NaN values (empty input: count 0).
ColumnStats column_stats(std::vector<double> values);

// Aligned text summary.
std::string format_inspection(const Inspection& inspection);
// JSON text (nlohmann::json dumped with `indent`).
std::string inspection_json(const Inspection& inspection, int indent = 2);

}  // namespace spikecast
