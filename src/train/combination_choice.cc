#include "train/combination_choice.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace spikecast::train {

double diebold_mariano(const std::vector<double>& d, int64_t lags) {
  const int64_t n = static_cast<int64_t>(d.size());
  if (n < 3) return 0;
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  const int64_t q = std::min<int64_t>(std::max<int64_t>(lags, 1), n - 1);
  double var = 0;
  for (int64_t k = 0; k <= q; ++k) {
    double g = 0;
    for (int64_t i = k; i < n; ++i) g += (d[i] - mean) * (d[i - k] - mean);
    g /= static_cast<double>(n);
    var += (k == 0 ? 1.0 : 2.0 * (1.0 - static_cast<double>(k) / static_cast<double>(q + 1))) * g;
  }
  if (!(var > 0)) return mean < 0 ? -1e9 : (mean > 0 ? 1e9 : 0.0);  // no variance: the sign decides
  return mean / std::sqrt(var / static_cast<double>(n));
}

namespace {

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

AverageChoice choose_widest_indistinguishable(const std::vector<FixedAverage>& candidates, int64_t lags) {
  if (candidates.empty()) throw Error("no fixed average to choose from");
  const size_t n = candidates.front().losses.size();
  for (const FixedAverage& c : candidates)
    if (c.losses.size() != n)
      throw Error("fixed average '" + c.label + "' has " + std::to_string(c.losses.size()) +
                  " holdout losses, expected " + std::to_string(n));
  AverageChoice choice;
  std::vector<double> means;
  for (const FixedAverage& c : candidates) means.push_back(mean_of(c.losses));
  choice.lowest = static_cast<size_t>(std::min_element(means.begin(), means.end()) - means.begin());
  const std::vector<double>& best = candidates[choice.lowest].losses;
  choice.chosen = choice.lowest;
  for (size_t i = 0; i < candidates.size(); ++i) {
    std::vector<double> d(n);
    for (size_t w = 0; w < n; ++w) d[w] = candidates[i].losses[w] - best[w];
    const double dm = i == choice.lowest ? 0.0 : diebold_mariano(d, lags);
    choice.dm_vs_lowest.push_back(dm);
    if (dm >= kSignificantDM) continue;  // significantly worse than the lowest
    const FixedAverage& current = candidates[choice.chosen];
    if (candidates[i].width > current.width || (candidates[i].width == current.width && means[i] < means[choice.chosen]))
      choice.chosen = i;
  }
  return choice;
}

}  // namespace spikecast::train
