// The surprise of one column's newest value, in decades (-log10 of a calibrated tail probability),
// from several robust sub-detectors that each see only the rows before it. Scale-free: multiplying
// the column by a constant leaves every z, and so every surprise, unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "detect/context_novelty.h"
#include "detect/detector_options.h"
#include "detect/recurrence.h"
#include "detect/robust_window.h"
#include "detect/tail_calibrator.h"

namespace spikecast::detect {

enum SubDetector : int { kLevelShort, kLevelLong, kChange, kShift, kVolatility, kSeasonal, kRange, kContext, kNumSubDetectors };
const char* sub_detector_name(int d);

// Fisher's combination of two independent p-values given in decades (s = -log10 p): with
// q = p1 p2, the combined p = q (1 - ln q), returned in decades (0 when both are 0).
double fisher_combined_decades(double s1, double s2);

class ColumnDetector {
 public:
  // step_ms: the sampling interval (0 if unknown), used for daily/weekly period candidates.
  // probation: rows learned in full (the end of probation), also where the period is first searched.
  ColumnDetector(const DetectorOptions& options, int64_t step_ms, int64_t probation);

  // Surprise of x (decades >= 0) given the rows before it: the statistical sub-detectors' best
  // (Bonferroni), combined with the context novelty's by Fisher's method (or, without
  // context_fusion, the context as one more sub-detector), capped by the recurrence gate; then
  // learns x. A NaN row returns 0 and is not learned. `per_detector`, when given, receives each sub-detector's surprise.
  double update(double x, std::array<double, kNumSubDetectors>* per_detector = nullptr);

  int64_t period() const { return period_; }

 private:
  void search_period();
  double scale_floor() const;
  // The seasonal phase gate's distance (session 14): NaN without a period or with a missing row.
  double phase_recurrence(double x);
  // The weight a calibrator learns a value of this surprise with: 1, or extreme_weight beyond the
  // learning cap (except during probation with learn_probation_in_full).
  double learn_weight(double surprise, int64_t row) const;

  DetectorOptions options_;
  int64_t step_ms_;
  int64_t next_search_row_;
  int64_t probation_;
  int64_t rows_ = 0;       // rows seen, NaN included
  int64_t period_ = 0;     // 0 = none found
  double period_ratio_ = 1.0;  // the period's ratio in search_period (lower: clearer)
  int searches_left_ = 3;
  RingBuffer values_;      // finite values
  RingBuffer diffs_;       // lag-1 differences of finite values
  RingBuffer residuals_;   // seasonal residuals
  RingBuffer rows_ring_;   // every row (NaN included), for lags of the period
  std::vector<double> search_history_;  // rows up to the last period search
  std::array<TailCalibrator, kNumSubDetectors> calibrators_;
  std::deque<std::pair<int64_t, double>> range_max_, range_min_;  // monotonic queues over range_history values
  ContextNovelty context_;
  CausalTrend context_trend_;
  ContextNovelty context_raw_;  // context_detrend_split: the orders read from the raw value
  RecurrenceSearch recurrence_;
  TailCalibrator recurrence_calibrator_;
  TailCalibrator phase_calibrator_;
  double abs_diff_sum_ = 0.0, abs_level_sum_ = 0.0;
  int64_t diff_count_ = 0, level_count_ = 0;
  std::vector<double> scratch_;
  std::vector<double> phase_scratch_;
};

}  // namespace spikecast::detect
