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

void TailCalibrator::add(double z) {
  if (!std::isfinite(z)) z = std::expm1(kMaxLog);
  z = std::max(z, 0.0);
  const int b = bin_of(z);
  counts_[b] += 1.0;
  sums_[b] += z;
  ++count_;
  dirty_ = true;
}

void TailCalibrator::refit() const {
  // u: the lower edge of the highest bin at which the mass above reaches q * n.
  const double target = options_.tail_fraction * static_cast<double>(count_);
  double mass = 0.0, sum = 0.0;
  int b = kBins - 1;
  for (; b > 0; --b) {
    mass += counts_[b];
    sum += sums_[b];
    if (mass >= target) break;
  }
  if (b == 0) {
    mass += counts_[0];
    sum += sums_[0];
  }
  u_bin_ = b;
  u_ = bin_lower(b);
  // Mean excess of the tail values over u; a small positive floor keeps a tail of identical
  // values (e.g. all zeros) finite: anything above it is then extremely surprising.
  const double spread = std::max(u_, 1e-3) * 1e-3;
  excess_ = mass > 0.0 ? std::max(sum / mass - u_, spread) : spread;
  dirty_ = false;
}

double TailCalibrator::p_value(double z) const {
  if (count_ < options_.min_count) return 1.0;
  if (!std::isfinite(z)) return options_.min_p;
  if (dirty_) refit();
  const double n = static_cast<double>(count_);
  const int b = bin_of(z);
  double p;
  if (b < u_bin_) {
    // Empirical: mass of the bins above b, plus the share of bin b above z (linear in log1p z).
    double above = 0.0;
    for (int k = b + 1; k < kBins; ++k) above += counts_[k];
    const double lo = static_cast<double>(b) * kMaxLog / kBins;
    const double frac = 1.0 - (std::log1p(std::max(z, 0.0)) - lo) / (kMaxLog / kBins);
    above += counts_[b] * std::clamp(frac, 0.0, 1.0);
    p = above / n;
    // Never below the tail model at u (keeps p monotone across the junction).
    double tail_mass = 0.0;
    for (int k = u_bin_; k < kBins; ++k) tail_mass += counts_[k];
    p = std::max(p, tail_mass / n);
  } else {
    double tail_mass = 0.0;
    for (int k = u_bin_; k < kBins; ++k) tail_mass += counts_[k];
    p = tail_mass / n * std::exp(-(std::max(z, u_) - u_) / excess_);
  }
  return std::clamp(p, options_.min_p, 1.0);
}

}  // namespace spikecast::detect
