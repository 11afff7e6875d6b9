#include "store/data_screen.h"

#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"

namespace spikecast::store {
namespace {

// The file line of a row, for messages (0 for generated rows).
int64_t line_of(const Table& table, int64_t row) {
  return row < static_cast<int64_t>(table.source_line.size()) ? table.source_line[row] : 0;
}

std::string span_text(const Table& table, RowRange rows) {
  return fmt::format("{} new rows (lines {}-{})", rows.size(), line_of(table, rows.begin),
                     line_of(table, rows.end - 1));
}

}  // namespace

void ScreenOptions::validate() const {
  if (!(max_scale_jump >= 0) || (max_scale_jump > 0 && max_scale_jump <= 1))
    throw ConfigError("max_scale_jump", fmt::format("must be 0 (off) or > 1, got {}", max_scale_jump));
  if (max_discrete_levels < 1)
    throw ConfigError("max_discrete_levels", fmt::format("must be >= 1, got {}", max_discrete_levels));
}

std::vector<ChannelProfile> profile_channels(const Table& table, RowRange rows, int64_t distinct_cap) {
  const int64_t C = table.num_channels();
  std::vector<ChannelProfile> out(C);
  for (int64_t c = 0; c < C; ++c) {
    ChannelProfile& p = out[c];
    p.name = table.channels[c];
    double sum = 0, sum_sq = 0;
    std::unordered_set<float> seen;
    for (int64_t r = rows.begin; r < rows.end; ++r) {
      const float v = table.at(r, c);
      if (std::isnan(v)) continue;
      ++p.count;
      sum += v;
      sum_sq += static_cast<double>(v) * v;
      if (static_cast<int64_t>(seen.size()) <= distinct_cap) seen.insert(v);
    }
    p.distinct = static_cast<int64_t>(seen.size());
    if (p.count > 0) {
      p.mean = sum / static_cast<double>(p.count);
      p.stddev = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(p.count) - p.mean * p.mean));
    }
  }
  return out;
}

void screen_new_rows(const Table& table, RowRange fresh, const std::vector<ChannelProfile>& history,
                     const ScreenOptions& options) {
  if (fresh.empty()) return;
  const int64_t C = table.num_channels();
  if (!history.empty() && static_cast<int64_t>(history.size()) != C)
    throw Error(fmt::format("screen_new_rows: {} history profiles for {} channels", history.size(), C));
  const std::vector<ChannelProfile> now = profile_channels(table, fresh, options.max_discrete_levels);
  const std::string& file = table.source;
  for (int64_t c = 0; c < C; ++c) {
    const std::string& column = table.channels[c];
    const ChannelProfile& p = now[c];
    if (p.count == 0)
      throw DataError(file, line_of(table, fresh.begin), column,
                      "has no value in any of the " + span_text(table, fresh) + "; refused");
    if (history.empty()) continue;
    const ChannelProfile& h = history[c];
    if (p.distinct == 1 && fresh.size() > 1 && h.distinct > options.max_discrete_levels) {
      float value = 0;
      for (int64_t r = fresh.begin; r < fresh.end; ++r)
        if (!std::isnan(table.at(r, c))) { value = table.at(r, c); break; }
      throw DataError(file, line_of(table, fresh.begin), column,
                      fmt::format("is stuck at {} over all {}, while the history takes more than {} distinct "
                                  "values (a stuck sensor?); refused",
                                  value, span_text(table, fresh), options.max_discrete_levels));
    }
    if (options.max_scale_jump <= 0 || !(h.stddev > 0)) continue;
    const double factor = options.max_scale_jump;
    const double spread = p.stddev / h.stddev;
    const double shift = std::abs(p.mean - h.mean) / h.stddev;
    if (spread <= factor && shift <= factor) continue;
    // Point at the row farthest from the history's level.
    int64_t worst = fresh.begin;
    double worst_dev = -1;
    for (int64_t r = fresh.begin; r < fresh.end; ++r) {
      const float v = table.at(r, c);
      if (!std::isnan(v) && std::abs(v - h.mean) > worst_dev) worst_dev = std::abs(v - h.mean), worst = r;
    }
    throw DataError(file, line_of(table, worst), column,
                    fmt::format("scale jump over the {}: mean {:.6g} and std {:.6g} against the history's mean "
                                "{:.6g} and std {:.6g} (shift {:.3g} stds, spread x{:.3g}), beyond the factor {} "
                                "(max_scale_jump); refused",
                                span_text(table, fresh), p.mean, p.stddev, h.mean, h.stddev, shift, spread,
                                factor));
  }
}

}  // namespace spikecast::store
