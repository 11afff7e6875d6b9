// Distribution drift of new rows against a reference, per channel: the population stability
// index PSI = sum over bins (p_new - p_ref) * ln(p_new / p_ref), with bins at the reference's
// quantiles (ties merged, so a flag column gets one bin per value). Empty bins count as 1e-4 so
// the logarithm stays finite. Usual reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/split.h"
#include "data/table.h"

namespace spikecast::store {

struct ChannelDrift {
  std::string channel;
  double psi = 0;
  std::string level;  // "stable", "moderate" or "significant"
  double reference_mean = 0, reference_std = 0;
  double new_mean = 0, new_std = 0;
  int64_t reference_count = 0, new_count = 0;  // finite cells compared
};

// PSI of `fresh` against `reference` (NaN ignored; 0 when either side is empty). bins >= 2.
double population_stability_index(std::vector<float> reference, const std::vector<float>& fresh, int bins);

// "stable", "moderate" or "significant".
const char* drift_level(double psi);

// Per channel of `table`: rows `fresh` against rows `reference`. The reference is subsampled
// evenly to at most 200,000 rows (quantiles need no more).
std::vector<ChannelDrift> channel_drift(const Table& table, RowRange reference, RowRange fresh, int bins = 10);

}  // namespace spikecast::store
