// How the ensemble's combination is chosen on the validation holdout (train/ensemble_trainer.h):
// a short, autocorrelated stretch of windows that cannot rank close candidates reliably. One rule,
// one level of evidence: a candidate that departs from the most diversified choice (fewer members
// averaged, or learned weights) must be significantly better on the holdout, by a Diebold-Mariano
// test on the per-window losses (Diebold & Mariano 1995, with a Newey-West long-run variance,
// since consecutive windows share up to H - 1 targets). Otherwise the wider average is kept: out
// of sample, equal weights over more forecasters rarely lose to a selection or to learned weights
// that looked better on a short holdout (the "forecast combination puzzle", Smith & Wallis 2009).
// Plain C++ on per-window losses (no LibTorch): the rule is unit-tested on constructed losses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spikecast::train {

// |DM| above this is significant (two-sided, about 5% under the normal approximation).
constexpr double kSignificantDM = 2.0;

// Diebold-Mariano statistic of loss differences d (negative: the first forecast has the lower
// loss), with a Newey-West (Bartlett) long-run variance over `lags` autocovariances (at least 1,
// at most n - 1). 0 when n < 3; -1e9 (+1e9) when every difference is the same negative (positive)
// number.
double diebold_mariano(const std::vector<double>& differences, int64_t lags);

// One fixed average: `width` members weighted equally, and its loss on each holdout window.
struct FixedAverage {
  std::string label;
  int64_t width = 0;
  std::vector<double> losses;
};

// The choice among fixed averages, and the evidence for it.
struct AverageChoice {
  size_t chosen = 0;                  // index into the candidates
  size_t lowest = 0;                  // the candidate with the lowest mean loss
  std::vector<double> dm_vs_lowest;   // each candidate's DM statistic against `lowest` (0 for it)
};

// The widest candidate whose losses are not significantly worse than those of the candidate with
// the lowest mean loss (DM statistic of its losses minus the lowest's below kSignificantDM); among
// equally wide ones, the lower mean loss. Candidates need equally many losses; throws otherwise.
AverageChoice choose_widest_indistinguishable(const std::vector<FixedAverage>& candidates, int64_t lags);

}  // namespace spikecast::train
