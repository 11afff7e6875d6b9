// Loads a CSV file into a Table (data/table.h) following a DataConfig: picks and orders the
// columns (channel 0 = target, then the features), groups rows by series, parses timestamps,
// validates everything (each problem a DataError naming file, line and column) and applies the
// missing-value policy. Problems that do not stop loading are collected in a LoadReport.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "data/table.h"

namespace spikecast {

// A step between consecutive rows of one series larger than the table's usual step.
struct TimeGap {
  std::string series;    // series name ("" for single-series data)
  int64_t line = 0;      // file line of the row after the gap
  TimestampMs from = 0;  // last timestamp before the gap
  TimestampMs to = 0;    // first timestamp after it
  int64_t missing_steps = 0;  // (to - from) / step - 1, rounded down
};

struct LoadReport {
  std::string file;
  int64_t rows = 0;
  int64_t series = 0;
  TimestampMs time_begin = 0;  // earliest and latest timestamp over all series
  TimestampMs time_end = 0;
  int64_t step_ms = 0;  // most common step
  std::vector<std::string> channels;
  std::vector<int64_t> missing_cells;  // [channels] cells missing in the file
  std::vector<int64_t> filled_cells;   // [channels] cells forward-filled
  std::vector<int64_t> nan_cells;      // [channels] cells left NaN (long or leading gaps)
  int64_t nan_gaps = 0;                // runs of NaN cells left, over all channels
  std::vector<TimeGap> time_gaps;
  std::vector<std::string> warnings;   // problems that did not stop loading, one line each
};

// What to do with a channel that holds one value only.
enum class ConstantPolicy { kReject, kWarn };

// Whether timestamps must increase within each series.
enum class TimeOrder {
  kStrict,     // a repeated or earlier timestamp is a data error naming both lines (forecasting: a
               // window's steps must be distinct, ordered times)
  kFileOrder,  // rows stay in file order whatever their timestamps, with a warning counting repeats
               // and steps back (anomaly detection scores a stream row by row; real series repeat an
               // hour at a clock change or step back after a clock reset, e.g. NAB's
               // ec2_disk_write_bytes_1ef3de and machine_temperature_system_failure)
};

struct LoadOptions {
  // At least one series must have this many rows (pass L + H); 0 skips the check.
  int64_t min_series_rows = 0;
  // A channel constant over the whole file, or within one series of panel data.
  ConstantPolicy constant_columns = ConstantPolicy::kReject;
  TimeOrder time_order = TimeOrder::kStrict;
};

// Reads config.path.
Table load_csv(const DataConfig& config, const LoadOptions& options = {}, LoadReport* report = nullptr);
Table load_csv(const DataConfig& config, LoadReport* report);
// L + H rows are needed in some series.
Table load_csv(const DataConfig& config, const WindowConfig& window, LoadReport* report = nullptr);

// Same, from CSV text in memory; `name` stands for the file in messages (config.path is ignored).
Table load_csv_text(std::string text, const std::string& name, const DataConfig& config,
                    const LoadOptions& options = {}, LoadReport* report = nullptr);

// Forward-fills runs of at most max_steps NaN cells per channel and series (not leading runs),
// marking Table::filled. Adds to report's filled_cells / nan_cells / nan_gaps when given.
void forward_fill(Table& table, int64_t max_steps, LoadReport* report = nullptr);

// True for the spellings of a missing cell: empty, NA, N/A, NaN, nan, null, NULL, None (after
// trimming spaces).
bool is_missing_cell(std::string_view cell);

// Parses a numeric cell (surrounding spaces allowed, finite, within float range).
bool parse_number_cell(std::string_view cell, float& out);

}  // namespace spikecast
