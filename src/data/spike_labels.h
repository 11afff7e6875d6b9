// Spike labels from data: row t of a series is a spike when its value deviates from a robust
// baseline of the W rows before it (causal: rows t-W .. t-1 of the same series, NaN skipped) by
// more than k scaled MADs:
//   |x_t - median| > k * 1.4826 * MAD,  MAD = median(|x_i - median|).
// When the MAD is 0 the scale falls back to 1.2533 * mean absolute deviation; when that is 0 too
// (a flat look-back) any change is a spike. Rows with fewer than W non-NaN look-back values, and
// NaN rows, are labelled 0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "data/table.h"

namespace spikecast {

// [table.rows()] 0/1 labels of `channel` (default: the target).
std::vector<uint8_t> label_spikes(const Table& table, const SpikeConfig& config, int64_t channel = 0);

// One series: values[i * stride] for i in [0, n).
std::vector<uint8_t> label_spikes(const float* values, int64_t n, int64_t stride, const SpikeConfig& config);

// Agreement of `predicted` with `truth` (both 0/1) over their common length.
struct LabelAgreement {
  int64_t true_positives = 0, false_positives = 0, false_negatives = 0;
  double precision() const;
  double recall() const;
};
LabelAgreement compare_labels(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& truth);

}  // namespace spikecast
