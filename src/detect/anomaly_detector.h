// `spikecast detect`: a causal, label-free anomaly score in [0, 1] for every row of a multivariate
// time series. Per column, robust sub-detectors (level against short and long median windows, rate
// of change, level shift, volatility change, seasonal residual when a period is found, a new high
// or low) each give a z-score against the rows before; each z becomes a tail probability under that detector's own
// history (detect/tail_calibrator.h); the row's surprise is the smallest p-value over detectors and
// columns with a Bonferroni correction, in decades S = -log10 p, combined per column by Fisher's
// method with the p-value of a context novelty (detect/context_novelty.h: is this level new after
// the levels before it?). Repeated alarms right after one are
// damped, and anomaly_score = 1 - 10^(-S / score_decades). The score of row t uses rows 0..t only;
// the first rows (the probationary period) are learned from and scored 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/table.h"
#include "detect/detector_options.h"

namespace spikecast {

namespace detect {
class ColumnDetector;
}

// NAB's probationary period for a file of `rows` rows: min(floor(fraction * rows), max_rows)
// (max_rows 0 = no cap).
int64_t probation_rows(int64_t rows, const DetectorOptions& options);

// One series, one row at a time.
class AnomalyDetector {
 public:
  // columns >= 1; probation: rows scored 0 at the start; step_ms: sampling interval (0 = unknown).
  AnomalyDetector(int64_t columns, int64_t probation, int64_t step_ms = 0, DetectorOptions options = {});
  ~AnomalyDetector();
  AnomalyDetector(AnomalyDetector&&) noexcept;
  AnomalyDetector& operator=(AnomalyDetector&&) noexcept;

  // values: [columns], NaN = missing. Returns the row's anomaly score in [0, 1] (0 for a row with
  // every value missing and for probationary rows).
  double update(const double* values);
  double update(const std::vector<double>& values);

  // The stream's length when known in advance (as NAB gives it; 0 = unknown): the long-file
  // reduction (DetectorOptions::length_rows) then uses it from the first row. Call before update().
  void set_expected_rows(int64_t rows) { expected_rows_ = std::max<int64_t>(rows, 0); }
  double last_surprise() const { return last_surprise_; }  // decades, before suppression
  int64_t rows() const { return rows_; }
  std::vector<int64_t> periods() const;  // [columns] detected period in rows, 0 = none

 private:
  DetectorOptions options_;
  int64_t columns_;
  int64_t probation_;
  int64_t suppress_rows_;
  std::vector<std::unique_ptr<detect::ColumnDetector>> detectors_;
  int64_t rows_ = 0;
  int64_t expected_rows_ = 0;
  double last_surprise_ = 0.0;
  double peak_ = 0.0;        // surprise of the last alarm
  int64_t peak_row_ = -1;    // its row, -1 = none
  int64_t renewed_row_ = -1; // the last row that started or renewed the suppression
};

struct DetectionResult {
  std::vector<float> scores;    // [rows] anomaly score in [0, 1]
  std::vector<float> surprise;  // [rows] decades before suppression (diagnostics)
  std::vector<int64_t> probation;             // [series] probationary rows of each series
  std::vector<std::vector<int64_t>> periods;  // [series][channels] detected periods, 0 = none
};

// Scores every row of `table`, each series on its own, from the given channels (indices; empty:
// every channel). Throws ConfigError for bad options, Error for a channel index out of range.
DetectionResult detect_anomalies(const Table& table, const std::vector<int64_t>& channels = {},
                                 const DetectorOptions& options = {});

// One series of `rows` values of `columns` columns, row-major; step_ms 0 = unknown.
DetectionResult detect_anomalies(const std::vector<double>& values, int64_t rows, int64_t columns,
                                 int64_t step_ms = 0, const DetectorOptions& options = {});

}  // namespace spikecast
