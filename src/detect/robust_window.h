// A fixed-capacity ring buffer of recent values and the robust statistics (median, MAD) the
// detectors take over its most recent entries.
#pragma once

#include <cstddef>
#include <vector>

namespace spikecast::detect {

class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity);
  void push(double v);
  size_t size() const { return size_; }
  size_t capacity() const { return data_.size(); }
  // k = 0 is the newest value; requires k < size().
  double back(size_t k) const { return data_[(head_ + data_.size() - 1 - k) % data_.size()]; }
  // Appends the values back(skip) .. back(skip + n - 1) to out (newest first), n clipped to what
  // is available.
  void copy_recent(size_t n, size_t skip, std::vector<double>& out) const;

 private:
  std::vector<double> data_;
  size_t head_ = 0;  // where the next value goes
  size_t size_ = 0;
};

struct RobustStats {
  double median = 0.0;
  double mad = 0.0;       // median absolute deviation from the median (unscaled)
  double mean_abs = 0.0;  // mean absolute deviation from the median (fallback when mad is 0)
  size_t n = 0;
};

// Median of v (reorders v). 0 for an empty v.
double median_of(std::vector<double>& v);

// Median, MAD and mean absolute deviation of v (reorders v).
RobustStats robust_stats(std::vector<double>& v);

// A robust standard deviation: 1.4826 MAD, else 1.2533 mean absolute deviation, else floor.
double robust_sigma(const RobustStats& s, double floor);

}  // namespace spikecast::detect
