#include "detect/tail_calibrator.h"

#include <algorithm>
#include <cmath>

namespace spikecast::detect {

TailCalibrator::TailCalibrator(TailCalibratorOptions options)
    : options_(options), counts_(kBins, 0.0), sums_(kBins, 0.0) {}

int TailCalibrator::bin_of(double z) const {
  const double l = std::log1p(std::max(z, 0.0));
  const int b = static_cast<int>(l / kMaxLog * kBins);
  return std::clamp(b, 0, kBins - 1);
}

double TailCalibrator::bin_lower(int b) const {
  return std::expm1(static_cast<double>(b) * kMaxLog / kBins);
}

void TailCalibrator::add(double z, double weight) {
  if (!std::isfinite(z)) z = std::expm1(kMaxLog);
  z = std::max(z, 0.0);
  const int b = bin_of(z);
  counts_[b] += weight;
  sums_[b] += weight * z;
  total_ += weight;
  ++count_;
  dirty_ = true;
}

void TailCalibrator::refit() const {
  // u: the lower edge of the highest bin at which the mass above reaches q * n. Bin 0 (z ~ 0) is
  // never the tail: when most values are exactly 0 (a discrete z), the tail is the non-zero values.
  const double target = options_.tail_fraction * total_;
  double mass = 0.0, sum = 0.0;
  int b = kBins - 1;
  for (; b > 1; --b) {
    mass += counts_[b];
    sum += sums_[b];
    if (mass >= target) break;
  }
  if (b == 1) {
    mass += counts_[1];
    sum += sums_[1];
  }
  u_bin_ = b;
  u_ = bin_lower(b);
  tail_mass_ = mass;
  // The exponential's scale from the MEDIAN excess over u (median = e ln 2): a few anomalies in the
  // tail (they are learned during probation) cannot stretch it as they would stretch the mean.
  // Floored so that a tail of (nearly) equal values keeps a finite, if steep, extrapolation.
  double median_z = u_;
  double cum = 0.0;
  for (int k = u_bin_; k < kBins; ++k) {
    if (counts_[k] <= 0.0) continue;
    if (cum + counts_[k] >= 0.5 * mass) {
      const double f = (0.5 * mass - cum) / counts_[k];
      median_z = std::max(u_, std::expm1((static_cast<double>(k) + f) * kMaxLog / kBins));
      break;
    }
    cum += counts_[k];
  }
  const double min_excess = 0.05 + 0.1 * u_;
  const double fit = options_.median_excess ? (median_z - u_) / std::log(2.0) : (mass > 0.0 ? sum / mass - u_ : 0.0);
  excess_ = mass > 0.0 ? std::max(fit, min_excess) : min_excess;
  dirty_ = false;
}

double TailCalibrator::p_value(double z) const {
  if (count_ < options_.min_count || !(total_ > 0.0)) return 1.0;
  if (!std::isfinite(z)) return options_.min_p;
  if (dirty_) refit();
  z = std::max(z, 0.0);
  const int b = bin_of(z);
  // Empirical: mass of the bins above b, plus the share of bin b above z (linear in log1p z).
  // Summed from whichever end is nearer (most z sit in the low bins).
  double above = 0.0;
  if (b < kBins / 2) {
    double below = 0.0;
    for (int k = 0; k <= b; ++k) below += counts_[k];
    above = std::max(0.0, total_ - below);
  } else {
    for (int k = b + 1; k < kBins; ++k) above += counts_[k];
  }
  const double lo = static_cast<double>(b) * kMaxLog / kBins;
  const double frac = 1.0 - (std::log1p(z) - lo) / (kMaxLog / kBins);
  above += counts_[b] * std::clamp(frac, 0.0, 1.0);
  double p = above / total_;
  if (b >= u_bin_) {
    // At least half an observation of tail mass: values beyond all seen so far stay possible.
    p = std::max(p, std::max(tail_mass_, 0.5) / total_ * std::exp(-(z - u_) / excess_));
  }
  return std::clamp(p, options_.min_p, 1.0);
}

}  // namespace spikecast::detect
