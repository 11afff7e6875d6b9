#include "data/windows.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace spikecast {

std::vector<int64_t> nan_row_prefix(const Table& table) {
  const int64_t rows = table.rows(), C = table.num_channels();
  std::vector<int64_t> prefix(rows + 1, 0);
  const float* v = table.values.data();
  for (int64_t r = 0; r < rows; ++r) {
    bool bad = false;
    for (int64_t c = 0; c < C; ++c) bad |= std::isnan(v[r * C + c]);
    prefix[r + 1] = prefix[r] + (bad ? 1 : 0);
  }
  return prefix;
}

void append_windows(const std::vector<int64_t>& bad_prefix, RowRange series, RowRange targets,
                    int64_t input_length, int64_t horizon, int64_t stride, std::vector<int64_t>& out) {
  const int64_t first = std::max(series.begin, targets.begin - input_length);
  const int64_t last = std::min(targets.end, series.end) - input_length - horizon;  // inclusive
  for (int64_t s = first; s <= last; s += stride) {
    const int64_t e = s + input_length + horizon;
    if (bad_prefix[e] == bad_prefix[s]) out.push_back(s);
  }
}

std::string format_split_summary(const Split& split, const Windows& windows) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "split    train %lld rows, val %lld rows, test %lld rows (%zu series)\n"
                "windows  L = %lld, H = %lld: train %zu, val %zu, test %zu\n",
                static_cast<long long>(split.train_rows()), static_cast<long long>(split.val_rows()),
                static_cast<long long>(split.test_rows()), split.series.size(),
                static_cast<long long>(windows.input_length), static_cast<long long>(windows.horizon),
                windows.train.size(), windows.val.size(), windows.test.size());
  return buf;
}

Windows make_windows(const Table& table, const Split& split, const WindowConfig& config) {
  config.validate();
  Windows w;
  w.input_length = config.input_length;
  w.horizon = config.horizon;
  const std::vector<int64_t> bad = nan_row_prefix(table);
  const int64_t L = config.input_length, H = config.horizon;
  for (size_t i = 0; i < split.series.size() && i < table.series.size(); ++i) {
    const RowRange range{table.series[i].begin, table.series[i].end};
    const SeriesSplit& ss = split.series[i];
    append_windows(bad, range, ss.train, L, H, config.stride, w.train);
    append_windows(bad, range, ss.val, L, H, 1, w.val);
    append_windows(bad, range, ss.test, L, H, 1, w.test);
  }
  return w;
}

}  // namespace spikecast
