#include "detect/robust_window.h"

#include <algorithm>
#include <cmath>

namespace spikecast::detect {

RingBuffer::RingBuffer(size_t capacity) : data_(std::max<size_t>(capacity, 1), 0.0) {}

void RingBuffer::push(double v) {
  data_[head_] = v;
  head_ = (head_ + 1) % data_.size();
  if (size_ < data_.size()) ++size_;
}

void RingBuffer::copy_recent(size_t n, size_t skip, std::vector<double>& out) const {
  if (skip >= size_) return;
  n = std::min(n, size_ - skip);
  for (size_t k = skip; k < skip + n; ++k) out.push_back(back(k));
}

double median_of(std::vector<double>& v) {
  if (v.empty()) return 0.0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lo + hi);
}

RobustStats robust_stats(std::vector<double>& v) {
  RobustStats s;
  s.n = v.size();
  if (v.empty()) return s;
  s.median = median_of(v);
  double sum = 0.0;
  for (double& x : v) {
    x = std::fabs(x - s.median);
    sum += x;
  }
  s.mean_abs = sum / static_cast<double>(v.size());
  s.mad = median_of(v);
  return s;
}

double robust_sigma(const RobustStats& s, double floor) {
  double sigma = 1.4826 * s.mad;
  if (!(sigma > 0.0)) sigma = 1.2533 * s.mean_abs;
  return std::max(sigma, floor);
}

}  // namespace spikecast::detect
