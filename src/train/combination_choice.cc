#include "train/combination_choice.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace spikecast::train {

namespace {

// d's autocovariance at lag k (divided by n), around `mean`.
double autocovariance(const std::vector<double>& d, double mean, int64_t k) {
  double g = 0;
  for (size_t i = static_cast<size_t>(k); i < d.size(); ++i) g += (d[i] - mean) * (d[i - k] - mean);
  return g / static_cast<double>(d.size());
}

}  // namespace

double diebold_mariano(const std::vector<double>& d, int64_t horizon) {
  const int64_t n = static_cast<int64_t>(d.size());
  if (n < 3) return 0;
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  int64_t h = std::min<int64_t>(std::max<int64_t>(horizon, 1), n - 1);
  // h-step forecasts' loss differences are MA(h - 1): the long-run variance sums the first h - 1
  // autocovariances with equal weights. That sum can come out negative in a short sample; the test
  // then falls back to h = 1, as R's forecast::dm.test does.
  double var = autocovariance(d, mean, 0);
  double lagged = 0;
  for (int64_t k = 1; k < h; ++k) lagged += 2.0 * autocovariance(d, mean, k);
  if (var + lagged > 0) {
    var += lagged;
  } else {
    h = 1;
  }
  if (!(var > 0)) return mean < 0 ? -1e9 : (mean > 0 ? 1e9 : 0.0);  // no variance: the sign decides
  // Harvey, Leybourne & Newbold's small-sample correction.
  const double nd = static_cast<double>(n), hd = static_cast<double>(h);
  const double correction = (nd + 1 - 2 * hd + hd * (hd - 1) / nd) / nd;
  if (!(correction > 0)) return 0;  // the horizon is too long for this many windows to judge
  return mean / std::sqrt(var / nd) * std::sqrt(correction);
}

ConfidenceSet confidence_set(const std::vector<std::vector<double>>& member_losses, int64_t horizon) {
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
    const double dm = m == set.best ? 0.0 : diebold_mariano(d, horizon);
    set.dm_vs_best.push_back(dm);
    if (dm < kSignificantDM) set.members.push_back(m);
  }
  return set;
}

}  // namespace spikecast::train
