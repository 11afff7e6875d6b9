// Turns a detector's raw surprise z >= 0 into a tail probability p = P(Z >= z) under the
// distribution of that detector's own past values, so that every detector, column and file speaks
// the same unit (-log10 p, "decades of surprise") and one threshold fits a whole corpus.
//
// The body of the distribution is an online histogram on log(1 + z); beyond its (1 - q) quantile u
// the tail is extrapolated as exponential with mean excess e over u (from the tail's median) (the peaks-over-threshold
// idea of extreme value theory, Siffer et al., KDD 2017):  p(z) = q * exp(-(z - u) / e), but never
// below the empirical share of past values >= z, so a degenerate fit (a discrete z, a tail of equal
// values) cannot make an often-seen value look rare. Exponential is conservative for Gaussian-like
// tails and adapts to heavy tails through e.
#pragma once

#include <cstdint>
#include <vector>

namespace spikecast::detect {

struct TailCalibratorOptions {
  double tail_fraction = 0.02;  // q: share of past values treated as the tail
  int64_t min_count = 48;       // fewer past values: p = 1 (no opinion)
  double min_p = 1e-12;         // floor of p (12 decades)
  bool median_excess = true;    // the exponential's scale from the tail's median (else its mean)
};

class TailCalibrator {
 public:
  explicit TailCalibrator(TailCalibratorOptions options = {});
  // P(Z >= z) under the values added so far (1 when there are fewer than min_count).
  double p_value(double z) const;
  // Learns z with a weight (1 = an ordinary observation).
  void add(double z, double weight = 1.0);
  int64_t count() const { return count_; }
  double mass() const { return total_; }

 private:
  static constexpr int kBins = 480;
  static constexpr double kMaxLog = 24.0;  // log(1 + z) range of the histogram
  int bin_of(double z) const;
  double bin_lower(int b) const;  // z at the lower edge of bin b

  TailCalibratorOptions options_;
  std::vector<double> counts_;  // [kBins]
  std::vector<double> sums_;    // [kBins] sum of z per bin (for the mean excess)
  int64_t count_ = 0;
  double total_ = 0.0;  // sum of weights
  // Cached tail fit, recomputed lazily after add().
  mutable bool dirty_ = true;
  mutable double u_ = 0.0, excess_ = 0.0, tail_mass_ = 0.0;
  mutable int u_bin_ = 0;
  void refit() const;
};

}  // namespace spikecast::detect
