#include "detect/recurrence.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "detect/robust_window.h"

namespace spikecast::detect {

double tolerant_rms_distance(double squared, const double* cur, size_t m, double tolerance, std::vector<double>& scratch) {
  double dist = std::sqrt(squared);
  if (tolerance > 0.0) {
    scratch.assign(cur, cur + m);
    const double med = median_of(scratch);
    double dev = 0.0;
    for (size_t j = 0; j < m; ++j) dev += (cur[j] - med) * (cur[j] - med);
    dist = std::max(0.0, dist - tolerance * std::sqrt(dev));
  }
  return dist / std::sqrt(static_cast<double>(m));
}

RecurrenceSearch::RecurrenceSearch(int64_t length, int64_t history, double tolerance)
    : length_(static_cast<size_t>(length)), history_(static_cast<size_t>(history)), tolerance_(tolerance) {
  rows_.reserve(2 * (history_ + 2 * length_));
}

double RecurrenceSearch::update(double x) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const size_t m = length_;
  const size_t keep = history_ + 2 * m;  // every subsequence the search can reach
  rows_.push_back(x);
  if (rows_.size() >= 2 * keep) rows_.erase(rows_.begin(), rows_.end() - static_cast<std::ptrdiff_t>(keep));
  const size_t n = rows_.size();
  if (n < 2 * m) return kNaN;
  const double* cur = rows_.data() + (n - m);
  for (size_t j = 0; j < m; ++j) {
    if (!std::isfinite(cur[j])) return kNaN;
  }
  // Candidates end at e (rows [e - m, e)), newest first, none overlapping the current one.
  const size_t last_end = n - m;
  const size_t first_end = last_end >= m + history_ ? last_end - history_ : m;
  double best = std::numeric_limits<double>::infinity();
  for (size_t e = last_end + 1; e-- > first_end;) {
    const double* p = rows_.data() + (e - m);
    double d = 0.0;
    for (size_t j = 0; j < m && d < best; ++j) {
      const double v = cur[j] - p[j];
      d += v * v;
    }
    if (d < best) best = d;  // false for NaN (a missing row in the candidate)
  }
  if (!std::isfinite(best)) return kNaN;
  return tolerant_rms_distance(best, cur, m, tolerance_, scratch_);
}

}  // namespace spikecast::detect
