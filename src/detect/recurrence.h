// Has the newest stretch of a series been seen before? The distance from the subsequence of the
// last `length` rows to its nearest neighbour among the earlier subsequences (those that do not
// overlap it, at most `history` of them): small when the same shape at the same level recurred (a
// daily spike, a regular ramp), large for a shape or level never seen. The distance is reduced by
// `tolerance` times the subsequence's own deviation from its median, so a repeat of a large
// excursion that differs from the earlier one by a few percent of its size still counts as a
// repeat. Exact search (early-abandoned squared distances), O(length x history) per row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace spikecast::detect {

// The root-mean-square distance per row of the subsequence cur[0 .. m) whose squared distance to
// its nearest neighbour is `squared`, reduced by `tolerance` times cur's deviation from its median
// (the tolerance described above); `scratch` is working space.
double tolerant_rms_distance(double squared, const double* cur, size_t m, double tolerance, std::vector<double>& scratch);

class RecurrenceSearch {
 public:
  RecurrenceSearch(int64_t length, int64_t history, double tolerance);

  // Appends x (NaN = a missing row: no subsequence containing it is compared) and returns the
  // root-mean-square distance per row to the nearest earlier subsequence, NaN while there is none.
  double update(double x);

 private:
  size_t length_;
  size_t history_;
  double tolerance_;
  std::vector<double> rows_;     // the newest rows, compacted from the front now and then
  std::vector<double> scratch_;  // [length] for the median
};

}  // namespace spikecast::detect
