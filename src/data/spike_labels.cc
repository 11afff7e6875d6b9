#include "data/spike_labels.h"

#include <algorithm>
#include <cmath>

namespace spikecast {
namespace {

// Median of buf (reordered).
double median_of(std::vector<float>& buf) {
  const size_t n = buf.size();
  const size_t mid = n / 2;
  std::nth_element(buf.begin(), buf.begin() + mid, buf.end());
  const double hi = buf[mid];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(buf.begin(), buf.begin() + mid);
  return 0.5 * (lo + hi);
}

}  // namespace

std::vector<uint8_t> label_spikes(const float* values, int64_t n, int64_t stride, const SpikeConfig& config) {
  config.validate();
  const int64_t W = config.look_back;
  std::vector<uint8_t> labels(n, 0);
  std::vector<float> window, dev;
  window.reserve(W);
  dev.reserve(W);
  for (int64_t t = W; t < n; ++t) {
    const float x = values[t * stride];
    if (std::isnan(x)) continue;
    window.clear();
    for (int64_t i = t - W; i < t; ++i) {
      const float v = values[i * stride];
      if (!std::isnan(v)) window.push_back(v);
    }
    if (static_cast<int64_t>(window.size()) < W) continue;
    const double med = median_of(window);
    dev.clear();
    double abs_sum = 0;
    for (float v : window) {
      const double d = std::fabs(v - med);
      dev.push_back(static_cast<float>(d));
      abs_sum += d;
    }
    double scale = 1.4826 * median_of(dev);
    if (scale <= 0) scale = 1.2533 * abs_sum / static_cast<double>(window.size());
    const double deviation = std::fabs(x - med);
    labels[t] = scale > 0 ? deviation > config.threshold * scale : deviation > 0;
  }
  return labels;
}

std::vector<uint8_t> label_spikes(const Table& table, const SpikeConfig& config, int64_t channel) {
  std::vector<uint8_t> labels(table.rows(), 0);
  if (channel < 0 || channel >= table.num_channels()) return labels;
  const int64_t C = table.num_channels();
  for (const SeriesRange& s : table.series) {
    const auto part = label_spikes(table.values.data() + s.begin * C + channel, s.size(), C, config);
    std::copy(part.begin(), part.end(), labels.begin() + s.begin);
  }
  return labels;
}

double LabelAgreement::precision() const {
  const int64_t p = true_positives + false_positives;
  return p ? static_cast<double>(true_positives) / p : 1.0;
}

double LabelAgreement::recall() const {
  const int64_t p = true_positives + false_negatives;
  return p ? static_cast<double>(true_positives) / p : 1.0;
}

LabelAgreement compare_labels(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& truth) {
  LabelAgreement a;
  const size_t n = std::min(predicted.size(), truth.size());
  for (size_t i = 0; i < n; ++i) {
    if (predicted[i] && truth[i]) ++a.true_positives;
    else if (predicted[i]) ++a.false_positives;
    else if (truth[i]) ++a.false_negatives;
  }
  return a;
}

}  // namespace spikecast
