// The Numenta Anomaly Benchmark (NAB) score, as published in Lavin & Ahmad, "Evaluating Real-time
// Anomaly Detection Algorithms - the Numenta Anomaly Benchmark" (IEEE ICMLA 2015, arXiv:1510.03336)
// and implemented in github.com/numenta/NAB (nab/sweeper.py, nab/labeler.py, nab/runner.py,
// config/profiles.json). Rules and every deviation are documented in docs/evaluation.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spikecast {

// Weights of one application profile (NAB's "CostMatrix"). tn_weight is part of the published
// profiles but unused by the score.
struct NabCostMatrix {
  double tp_weight = 1.0;
  double fp_weight = 0.11;
  double fn_weight = 1.0;
  double tn_weight = 1.0;
};

struct NabProfile {
  std::string name;
  NabCostMatrix cost;
};

// NAB's three published profiles, in this order:
//   standard            A_TP=1, A_FP=0.11, A_FN=1, A_TN=1
//   reward_low_FP_rate  A_TP=1, A_FP=0.22, A_FN=1, A_TN=1
//   reward_low_FN_rate  A_TP=1, A_FP=0.11, A_FN=2, A_TN=1
const std::vector<NabProfile>& nab_profiles();

// sigma(y) = 2 / (1 + e^{5y}) - 1, and -1 for y >= 3 (a false positive far after a window).
// y = -1 is a window's left edge (0.98661), y = 0 its right edge (0), y > 0 after it.
double nab_scaled_sigmoid(double y);

// An anomaly window, rows [begin, end] inclusive.
struct NabWindow {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t width() const { return end - begin + 1; }
};

// NAB's windows: length int(window_fraction * rows / label_rows.size()), centred on each label
// (label +- length/2, integer division), clipped to [0, rows-1]. Windows that overlap (share a row) are
// merged (NAB rejects such label files instead). label_rows need not be sorted.
// Throws spikecast::Error when a label row is outside [0, rows).
std::vector<NabWindow> nab_windows(const std::vector<int64_t>& label_rows, int64_t rows,
                                   double window_fraction = 0.10);

// One data file of the corpus.
struct NabFile {
  std::string name;                  // for messages only
  std::vector<float> anomaly_scores; // [rows] detector output in [0, 1]; a row is a detection when
                                     // its score >= threshold. Binary detectors pass 0/1.
  std::vector<int64_t> label_rows;   // labelled anomalies (row indices); windows are built from these
  std::vector<NabWindow> windows;    // explicit windows; when non-empty, label_rows is ignored
};

struct NabOptions {
  double probation_fraction = 0.15;  // rows [0, min(floor(p * rows), p * 5000)) are not scored
  double window_fraction = 0.10;     // share of each file covered by windows, split among its labels
  std::vector<NabProfile> profiles = nab_profiles();
};

// Row-level counts as NAB reports them (scored rows only), plus window-level counts.
struct NabCounts {
  int64_t tp = 0;  // detections inside a window
  int64_t fp = 0;  // detections outside every window
  int64_t fn = 0;  // rows inside a window without a detection
  int64_t tn = 0;  // rows outside every window without a detection
  int64_t windows_detected = 0;
  int64_t windows_missed = 0;
};

struct NabProfileScore {
  std::string profile;
  double threshold = 0.0;     // detection threshold used (the best one after a sweep); 1.1 = none
  double raw_score = 0.0;     // sum over windows and false positives
  double null_score = 0.0;    // raw score of a detector that flags nothing: -A_FN * windows
  double perfect_score = 0.0; // A_TP * windows
  double normalized_score = 0.0;  // 100 * (raw - null) / (perfect - null); 0 when there is no window
  NabCounts counts;
};

struct NabReport {
  int64_t files = 0;
  int64_t windows = 0;  // scored windows (at least one row after the probationary period)
  std::vector<NabProfileScore> profiles;  // one per options.profiles, same order
};

// For each profile, sweeps the threshold over every distinct anomaly score (and 1.1, "flag
// nothing") jointly over the corpus, as NAB's optimizer does, and reports the best.
// Throws spikecast::Error on an empty file, a non-finite score, or a window outside the file.
NabReport score_nab(const std::vector<NabFile>& files, const NabOptions& options = {});

// The score at one fixed threshold (rows with anomaly score >= threshold are detections).
NabProfileScore score_nab_at_threshold(const std::vector<NabFile>& files, const NabProfile& profile,
                                       double threshold, const NabOptions& options = {});

}  // namespace spikecast
