// Forecasting windows as start rows into one contiguous Table: inputs are rows [s, s + L), targets
// rows [s + L, s + L + H). Only index vectors are built; the values stay in the Table.
//
// Protocol: a window belongs to the split that holds ALL its target rows; its inputs may reach
// back into the previous split (so the first val/test window starts L rows before the split), but
// never before its series' first row. Windows never cross a series boundary and never touch a NaN
// (an unfilled gap) in inputs or targets. Training windows step by `stride`, on a grid starting at
// the first possible start; val/test windows step by 1 and none is dropped, so a gap-free test
// split of n rows yields n - H + 1 windows (when the series has L rows before it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/split.h"
#include "data/table.h"

namespace spikecast {

struct Windows {
  int64_t input_length = 0;  // L
  int64_t horizon = 0;       // H
  std::vector<int64_t> train, val, test;  // start rows, ascending
};

Windows make_windows(const Table& table, const Split& split, const WindowConfig& config);

// Starts s (stepping by `stride` from the first candidate) with s >= series.begin and targets
// [s + L, s + L + H) inside `targets`, skipping windows whose rows [s, s + L + H) contain a row
// with a NaN. `bad_prefix[r]` = number of rows < r holding a NaN (see nan_row_prefix()).
void append_windows(const std::vector<int64_t>& bad_prefix, RowRange series, RowRange targets,
                    int64_t input_length, int64_t horizon, int64_t stride, std::vector<int64_t>& out);

// A few lines: rows per split and windows per split, for CLI summaries.
std::string format_split_summary(const Split& split, const Windows& windows);

// [rows + 1] prefix counts of rows holding at least one NaN.
std::vector<int64_t> nan_row_prefix(const Table& table);

}  // namespace spikecast
