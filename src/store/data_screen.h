// The refusal rules for new rows, applied before they enter the store (ingest) and again before
// a model trains on them (retrain): a column with no value, a column stuck at one value while its
// history takes many, and a scale jump (the new rows' spread or level far outside the history's).
// Duplicate and out-of-order timestamps are the loader's (data/csv_loader.h) to refuse.
// A refusal is a DataError naming the file, the line and the column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/split.h"
#include "data/table.h"

namespace spikecast::store {

struct ScreenOptions {
  // Refuse a channel whose new standard deviation exceeds factor x the history's, or whose new
  // mean lies more than factor x the history's standard deviation from the history's mean
  // (a unit change, a sensor swapped for another). 0 turns the check off.
  double max_scale_jump = 10;
  // A channel taking at most this many distinct values in the history (a flag, a calendar
  // indicator) may hold one value over the new rows; a continuous one may not.
  int64_t max_discrete_levels = 10;

  void validate() const;  // ConfigError naming the field
};

// Summary statistics of one channel over some rows (NaN cells ignored, float64 accumulation).
struct ChannelProfile {
  std::string name;
  int64_t count = 0;     // finite cells
  double mean = 0;
  double stddev = 0;     // population standard deviation
  int64_t distinct = 0;  // distinct finite values, counted up to distinct_cap + 1
};

// One profile per channel of `table` over `rows`.
std::vector<ChannelProfile> profile_channels(const Table& table, RowRange rows, int64_t distinct_cap);

// Checks rows `fresh` of `table` against the `history` profiles (same channels, same order).
// With `history` empty (the first ingest) only the empty-column rule applies. Throws DataError
// naming table.source, the file line of the offending row and the column.
void screen_new_rows(const Table& table, RowRange fresh, const std::vector<ChannelProfile>& history,
                     const ScreenOptions& options);

}  // namespace spikecast::store
