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

ConfidenceSet confidence_set(const std::vector<std::vector<double>>& member_losses, int64_t lags) {
  if (member_losses.empty()) throw Error("no member to choose from");
  const size_t n = member_losses.front().size();
  for (size_t m = 0; m < member_losses.size(); ++m)
    if (member_losses[m].size() != n)
      throw Error("member " + std::to_string(m) + " has " + std::to_string(member_losses[m].size()) +
                  " validation losses, expected " + std::to_string(n));
  std::vector<double> means;
  for (const std::vector<double>& l : member_losses)
    means.push_back(n == 0 ? 0.0 : std::accumulate(l.begin(), l.end(), 0.0) / static_cast<double>(n));
  ConfidenceSet set;
  set.best = static_cast<size_t>(std::min_element(means.begin(), means.end()) - means.begin());
  const std::vector<double>& best = member_losses[set.best];
  for (size_t m = 0; m < member_losses.size(); ++m) {
    std::vector<double> d(n);
    for (size_t w = 0; w < n; ++w) d[w] = member_losses[m][w] - best[w];
    const double dm = m == set.best ? 0.0 : diebold_mariano(d, lags);
    set.dm_vs_best.push_back(dm);
    if (dm < kSignificantDM) set.members.push_back(m);
  }
  return set;
}

}  // namespace spikecast::train
