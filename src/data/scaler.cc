#include "data/scaler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace spikecast {

StandardScaler::StandardScaler(std::vector<std::string> channels, std::vector<double> mean,
                               std::vector<double> stddev)
    : channels_(std::move(channels)), mean_(std::move(mean)), std_(std::move(stddev)) {
  if (mean_.size() != std_.size() || (!channels_.empty() && channels_.size() != mean_.size()))
    throw Error("StandardScaler: channels, mean and std differ in size");
  for (size_t c = 0; c < std_.size(); ++c)
    if (!(std_[c] > 0) || !std::isfinite(std_[c]) || !std::isfinite(mean_[c]))
      throw Error("StandardScaler: channel " + std::to_string(c) + " has mean " +
                  std::to_string(mean_[c]) + ", std " + std::to_string(std_[c]));
}

void StandardScaler::fit(const Table& table, const std::vector<RowRange>& rows) {
  const int64_t C = table.num_channels();
  std::vector<double> sum(C, 0.0), count(C, 0.0);
  const float* v = table.values.data();
  for (const RowRange& rr : rows)
    for (int64_t r = rr.begin; r < rr.end; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const float x = v[r * C + c];
        if (!std::isnan(x)) {
          sum[c] += x;
          count[c] += 1;
        }
      }
  // Two passes (mean, then squared deviations) for accuracy on large offsets.
  mean_.assign(C, 0.0);
  for (int64_t c = 0; c < C; ++c) mean_[c] = count[c] > 0 ? sum[c] / count[c] : 0.0;
  std::vector<double> sq(C, 0.0);
  for (const RowRange& rr : rows)
    for (int64_t r = rr.begin; r < rr.end; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const float x = v[r * C + c];
        if (!std::isnan(x)) {
          const double d = x - mean_[c];
          sq[c] += d * d;
        }
      }
  std_.assign(C, 1.0);
  warnings_.clear();
  channels_ = table.channels;
  for (int64_t c = 0; c < C; ++c) {
    const double s = count[c] > 0 ? std::sqrt(sq[c] / count[c]) : 0.0;
    // Relative guard: float32 data cannot resolve spreads far below its magnitude.
    if (!(s > 1e-7 * std::max(1.0, std::fabs(mean_[c])))) {
      warnings_.push_back("channel '" + channels_[c] + "' is constant over the " +
                          std::to_string(static_cast<int64_t>(count[c])) +
                          " training values; its std is set to 1");
    } else {
      std_[c] = s;
    }
  }
}

void StandardScaler::fit_train(const Table& table, const Split& split) {
  std::vector<RowRange> rows;
  for (const SeriesSplit& s : split.series) rows.push_back(s.train);
  fit(table, rows);
}

void StandardScaler::check_channels(int64_t channels, const char* what) const {
  if (!fitted()) throw Error(std::string("StandardScaler::") + what + ": not fitted");
  if (channels != num_channels())
    throw Error(std::string("StandardScaler::") + what + ": data has " + std::to_string(channels) +
                " channels, the scaler " + std::to_string(num_channels()));
}

void StandardScaler::transform(float* values, int64_t rows) const {
  const int64_t C = num_channels();
  if (!fitted()) throw Error("StandardScaler::transform: not fitted");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      float& x = values[r * C + c];
      x = static_cast<float>((x - mean_[c]) / std_[c]);
    }
}

void StandardScaler::inverse_transform(float* values, int64_t rows) const {
  const int64_t C = num_channels();
  if (!fitted()) throw Error("StandardScaler::inverse_transform: not fitted");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      float& x = values[r * C + c];
      x = static_cast<float>(x * std_[c] + mean_[c]);
    }
}

void StandardScaler::transform(Table& table) const {
  check_channels(table.num_channels(), "transform");
  transform(table.values.data(), table.rows());
}

void StandardScaler::inverse_transform(Table& table) const {
  check_channels(table.num_channels(), "inverse_transform");
  inverse_transform(table.values.data(), table.rows());
}

void StandardScaler::inverse_target(float* values, int64_t n) const {
  if (!fitted()) throw Error("StandardScaler::inverse_target: not fitted");
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(values[i] * std_[0] + mean_[0]);
}

float StandardScaler::inverse_target(float value) const {
  inverse_target(&value, 1);
  return value;
}

float StandardScaler::transform_target(float value) const {
  if (!fitted()) throw Error("StandardScaler::transform_target: not fitted");
  return static_cast<float>((value - mean_[0]) / std_[0]);
}

}  // namespace spikecast
