#include "retrain/retrain_split.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "data/generator.h"

namespace spikecast::retrain {

Split holdout_split(const Table& table, int64_t holdout_rows, int64_t val_rows, int64_t min_train_rows) {
  if (table.series.size() != 1) throw DataError(table.source, 0, "", "retrain handles single-series data only");
  if (holdout_rows < 1 || val_rows < 1)
    throw ConfigError("retrain.holdout_rows", fmt::format("holdout and validation rows must be >= 1, got {} and {}",
                                                          holdout_rows, val_rows));
  const SeriesRange& s = table.series.front();
  if (s.size() < holdout_rows + val_rows + min_train_rows)
    throw DataError(table.source, 0, "",
                    fmt::format("{} rows are too few for a held-out slice of {}, a validation slice of {} and {} "
                                "training rows",
                                s.size(), holdout_rows, val_rows, min_train_rows));
  SeriesSplit ss;
  ss.test = {s.end - holdout_rows, s.end};
  ss.val = {ss.test.begin - val_rows, ss.test.begin};
  ss.train = {s.begin, ss.val.begin};
  Split split;
  split.series.push_back(ss);
  return split;
}

std::vector<int64_t> WarmWindows::all() const {
  std::vector<int64_t> out = fresh;
  out.insert(out.end(), replay.begin(), replay.end());
  std::sort(out.begin(), out.end());
  return out;
}

int64_t first_row_after(const Table& table, TimestampMs t) {
  return std::upper_bound(table.time.begin(), table.time.end(), t) - table.time.begin();
}

WarmWindows warm_windows(const Table& table, const std::vector<int64_t>& train_windows, int64_t input_length,
                         int64_t horizon, TimestampMs trained_through, int64_t replay_windows, uint64_t seed) {
  WarmWindows w;
  std::vector<int64_t> older;
  for (int64_t s : train_windows)
    (table.time[s + input_length + horizon - 1] > trained_through ? w.fresh : older).push_back(s);
  // A partial Fisher-Yates shuffle: the first k of `older` become a uniform sample.
  const int64_t k = std::min<int64_t>(std::max<int64_t>(replay_windows, 0), static_cast<int64_t>(older.size()));
  Rng rng(seed);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.uniform() * static_cast<double>(older.size() - i));
    std::swap(older[i], older[std::min<int64_t>(j, older.size() - 1)]);
  }
  w.replay.assign(older.begin(), older.begin() + k);
  std::sort(w.replay.begin(), w.replay.end());
  return w;
}

}  // namespace spikecast::retrain
