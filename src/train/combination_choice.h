// How the ensemble's combination is chosen on validation windows (train/ensemble_trainer.h): short,
// autocorrelated stretches that cannot rank close candidates reliably. One level of evidence, a
// Diebold-Mariano test on per-window losses (Diebold & Mariano 1995: consecutive windows share up to
// H - 1 targets, so the long-run variance sums H - 1 autocovariances; with Harvey, Leybourne &
// Newbold's 1997 small-sample correction, as R's forecast::dm.test computes it), decides twice: which members
// are clearly worse than the best (left out of the average), and whether learned weights beat
// that average (taken only then: out of sample, equal weights rarely lose to weights that looked
// better on a short holdout, the "forecast combination puzzle", Smith & Wallis 2009).
// Plain C++ on per-window losses (no LibTorch): the rules are unit-tested on constructed losses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spikecast::train {

// |DM| above this is significant (two-sided, about 5% under the normal approximation).
constexpr double kSignificantDM = 2.0;

// Diebold-Mariano statistic of the loss differences d of two h-step forecasts (negative: the first
// has the lower loss): mean(d) / sqrt(V / n) with V = g_0 + 2 (g_1 + ... + g_{h-1}) (g_k: d's lag-k
// autocovariance; h clamped to 1..n-1; where V is not positive, h = 1), times Harvey, Leybourne &
// Newbold's factor sqrt((n + 1 - 2h + h (h - 1) / n) / n). 0 when n < 3 or the factor is not
// positive; -1e9 (+1e9) when every difference is the same negative (positive) number.
double diebold_mariano(const std::vector<double>& differences, int64_t horizon);

// The members a test cannot tell from the best one: the member with the lowest mean loss, and every
// member whose Diebold-Mariano statistic against it (its losses minus the best's) is below
// kSignificantDM. Their equal-weight average is the ensemble's default combination: averaging the
// members of a model confidence set beats both selecting the best and averaging every member when
// some members are clearly worse (Samuels & Sekkel 2017; Hansen, Lunde & Nason 2011 for the sets).
struct ConfidenceSet {
  std::vector<size_t> members;  // indices into the members, in input order
  size_t best = 0;              // the member with the lowest mean loss
  std::vector<double> dm_vs_best;  // each member's statistic against the best (0 for it)
};

// member_losses[m][w]: member m's loss on window w (every member over the same windows; throws
// otherwise or when there is no member).
ConfidenceSet confidence_set(const std::vector<std::vector<double>>& member_losses, int64_t horizon);

}  // namespace spikecast::train
