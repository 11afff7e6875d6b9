// Chronological train/validation/test splits, per series: by fractions of each series' rows, or
// the ETT convention (12/4/4 months of hourly rows).
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "data/table.h"

namespace spikecast {

// Rows [begin, end) of a Table.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

struct SeriesSplit {
  RowRange train, val, test;  // consecutive, in time order, inside the series' range
};

struct Split {
  std::vector<SeriesSplit> series;  // [table.series.size()]
  int64_t train_rows() const;
  int64_t val_rows() const;
  int64_t test_rows() const;
};

// Fractions: per series of n rows, train = floor(n * train), test = floor(n * test), val = the
// rest (the convention of the long-horizon forecasting benchmarks for custom data sets); with
// val = 0 the test split takes the rest.
// ETT: train = the first 12 * 30 * 24 rows, val = the next 4 * 30 * 24, test = the next
// 4 * 30 * 24; rows after are unused. For data sampled faster than hourly (ETTm: 15 min) the counts
// scale by rows per hour. A series too short for the ETT split is a DataError.
Split split_table(const Table& table, const SplitConfig& config);

// Row counts of the ETT split for a table's step: {train, val, test}.
struct EttRows {
  int64_t train, val, test;
};
EttRows ett_rows(int64_t step_ms);

}  // namespace spikecast
