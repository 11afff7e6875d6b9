#include "store/drift.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "store/data_screen.h"

namespace spikecast::store {
namespace {

constexpr double kEmptyBin = 1e-4;
constexpr int64_t kMaxReferenceRows = 200000;

std::vector<float> column(const Table& table, RowRange rows, int64_t channel, int64_t step) {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(rows.size() / step + 1));
  for (int64_t r = rows.begin; r < rows.end; r += step) {
    const float v = table.at(r, channel);
    if (!std::isnan(v)) out.push_back(v);
  }
  return out;
}

}  // namespace

double population_stability_index(std::vector<float> reference, const std::vector<float>& fresh, int bins) {
  if (bins < 2) throw Error("population_stability_index: bins must be >= 2, got " + std::to_string(bins));
  reference.erase(std::remove_if(reference.begin(), reference.end(), [](float v) { return std::isnan(v); }),
                  reference.end());
  int64_t fresh_count = 0;
  for (float v : fresh) fresh_count += std::isnan(v) ? 0 : 1;
  if (reference.empty() || fresh_count == 0) return 0;
  std::sort(reference.begin(), reference.end());
  // Upper edges at the reference's quantiles; equal edges merge (discrete columns).
  std::vector<float> edges;
  for (int b = 1; b < bins; ++b) {
    const float q = reference[static_cast<size_t>(static_cast<double>(b) / bins * (reference.size() - 1))];
    if (edges.empty() || q > edges.back()) edges.push_back(q);
  }
  const auto bin_of = [&](float v) {
    return static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin());
  };
  std::vector<double> p_ref(edges.size() + 1, 0), p_new(edges.size() + 1, 0);
  for (float v : reference) p_ref[bin_of(v)] += 1;
  for (float v : fresh)
    if (!std::isnan(v)) p_new[bin_of(v)] += 1;
  double psi = 0;
  for (size_t b = 0; b < p_ref.size(); ++b) {
    const double r = std::max(p_ref[b] / static_cast<double>(reference.size()), kEmptyBin);
    const double n = std::max(p_new[b] / static_cast<double>(fresh_count), kEmptyBin);
    psi += (n - r) * std::log(n / r);
  }
  return psi;
}

const char* drift_level(double psi) {
  if (psi < 0.1) return "stable";
  if (psi < 0.25) return "moderate";
  return "significant";
}

std::vector<ChannelDrift> channel_drift(const Table& table, RowRange reference, RowRange fresh, int bins) {
  const int64_t step = std::max<int64_t>(1, (reference.size() + kMaxReferenceRows - 1) / kMaxReferenceRows);
  const std::vector<ChannelProfile> ref_profile = profile_channels(table, reference, 0);
  const std::vector<ChannelProfile> new_profile = profile_channels(table, fresh, 0);
  std::vector<ChannelDrift> out;
  for (int64_t c = 0; c < table.num_channels(); ++c) {
    ChannelDrift d;
    d.channel = table.channels[c];
    d.psi = population_stability_index(column(table, reference, c, step), column(table, fresh, c, 1), bins);
    d.level = drift_level(d.psi);
    d.reference_mean = ref_profile[c].mean;
    d.reference_std = ref_profile[c].stddev;
    d.reference_count = ref_profile[c].count;
    d.new_mean = new_profile[c].mean;
    d.new_std = new_profile[c].stddev;
    d.new_count = new_profile[c].count;
    out.push_back(d);
  }
  return out;
}

}  // namespace spikecast::store
