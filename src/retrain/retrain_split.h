// How a retrain cuts the store's rows, and which training windows a warm start uses.
//   test  the newest `holdout_rows` rows: the held-out slice both champion and challenger are
//         scored on (the `evaluate` protocol: every stride-1 window whose targets lie there)
//   val   the `val_rows` rows before it: early stopping (warm start), the gate (full retrain)
//   train everything before
// A warm start trains on the "fresh" training windows (targets after the rows the champion was
// trained through) plus a seeded uniform sample of the older ones (replay), so that it learns
// the new rows without forgetting the rest.
#pragma once

#include <cstdint>
#include <vector>

#include "core/timestamp.h"
#include "data/split.h"
#include "data/table.h"

namespace spikecast::retrain {

// Single-series tables. DataError naming table.source when the table is too short for
// holdout + val + one training window.
Split holdout_split(const Table& table, int64_t holdout_rows, int64_t val_rows, int64_t min_train_rows);

struct WarmWindows {
  std::vector<int64_t> fresh;   // training windows with a target row after trained_through
  std::vector<int64_t> replay;  // the sample of older training windows
  std::vector<int64_t> all() const;  // both, ascending
};

WarmWindows warm_windows(const Table& table, const std::vector<int64_t>& train_windows, int64_t input_length,
                         int64_t horizon, TimestampMs trained_through, int64_t replay_windows, uint64_t seed);

// The first row whose time is after `t` (table.rows() when none).
int64_t first_row_after(const Table& table, TimestampMs t);

}  // namespace spikecast::retrain
