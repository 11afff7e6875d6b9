// Every hyper-parameter of the anomaly detector (detect/anomaly_detector.h), with its default.
// One default configuration for every file: no per-file tuning.
#pragma once

#include <cstdint>

namespace spikecast {

// The score at or above which `spikecast detect` calls a row a detection unless told otherwise:
// between the best NAB thresholds on the development half of the real NAB corpus (0.417) and on the
// synthetic corpus of seed 7 (0.427), next to the best one for those two and seed 7's files four
// times longer together (0.425 in session 11; 0.415, and 0.42 on its plateau, with session 12's
// whole-file length rule); docs/detection.md.
inline constexpr double kDefaultDetectionThreshold = 0.42;

struct DetectorOptions {
  // Probationary period: rows [0, min(fraction * rows, probation_max_rows)) are learned from and
  // scored 0 (NAB's rule: min(0.15 n, 0.15 * 5000)).
  double probation_fraction = 0.15;
  int64_t probation_max_rows = 750;  // 0 = no cap

  // Sub-detectors, each a robust z-score of the newest row against the rows before it.
  bool use_level = true;        // |x - median| / sigma over short_window and long_window rows
  int64_t short_window = 32;
  int64_t long_window = 256;
  bool use_change = true;       // rate of change: lag-1 difference against recent differences
  int64_t change_window = 64;
  bool use_shift = true;        // level shift: median of the last shift_recent rows vs the window before
  int64_t shift_recent = 5;
  int64_t shift_window = 128;
  bool use_volatility = true;   // |log| ratio of recent to past mean absolute difference
  int64_t volatility_recent = 16;
  int64_t volatility_window = 256;
  double volatility_floor = 0.1;   // floor of both mean |differences|, as a share of the long-run one
  bool use_seasonal = true;     // residual against the same phase of earlier periods, if a period is found
  int64_t max_period = 2016;    // longest period searched (a week of 5-minute rows)
  double season_ratio = 0.7;    // period P accepted when mean|x_t - x_{t-P}| < ratio * mean|x_t - x_{t-P/2}|
  int64_t residual_window = 256;
  bool use_range = true;        // new high or low: distance outside [min, max] of the last range_history values
  int64_t range_history = 4032;
  // Context novelty (detect/context_novelty.h), in the spirit of NAB's CAD OSE: the value's level
  // (context_levels bins over the probationary period's range, values beyond it levels of their
  // own) given the 0..context_order levels before it, as -ln of its smoothed share after each
  // context seen (the largest over the orders). With context_fusion its calibrated p-value is
  // combined with the other sub-detectors' by Fisher's method (else it is one more sub-detector).
  bool use_context = true;
  int64_t context_levels = 8;   // CAD OSE's 3 bits
  int64_t context_order = 3;   // session 11: 2 - 4 tie on NAB's development files (6 before)
  bool context_fusion = true;
  // Bound of the context memory (contexts plus (context, level) counts): beyond it every count is
  // halved and the zeros dropped, down to half of it (a few MB; NAB's most varied file needs 13k).
  int64_t context_max_entries = 1 << 17;
  // Order 0 (the level's overall rarity) counts when the series jumps into a level, not at every row
  // it stays there nor when it extends the learned range by one level (session 11: a drifting
  // series was counted again and again, and twice with `range`).
  bool context_rarity_on_entry = true;
  // Session 13: the context novelty (with context_detrend_split, part of it) reads the value less a
  // causal slow trend: context_detrend 0 = none (the raw value), 1 = an exponentially weighted level
  // over context_detrend_rows, 2 = the median of the last context_detrend_rows values, 3 = the mean
  // of their central half. context_detrend_split 0: every order reads the detrended value; 1: order 0
  // the raw value, the contexts the detrended one; 2 (default): order 0 (the level's overall rarity)
  // the detrended value, the contexts of 1..context_order levels the raw one, so a trend's drift
  // beyond the learned levels is not rare at order 0 while a learned sequence's new transition
  // still is. Default: 2, 1000 rows, split 2 (trend false positives on seed 7: 22 -> 18).
  int64_t context_detrend = 2;
  int64_t context_detrend_rows = 1000;
  int64_t context_detrend_split = 2;

  // Recurrence gate (detect/recurrence.h): a row is only as surprising as its newest
  // recurrence_length rows are new. The distance to the nearest of the last recurrence_history
  // earlier subsequences, less recurrence_tolerance times the subsequence's own deviation, is
  // calibrated like a sub-detector into S_rec, and the column's surprise is capped at
  // S_rec + recurrence_margin: a shape seen before (a daily spike, a regular burst) stops alarming
  // however large it is, while a new shape or level keeps the sub-detectors' surprise.
  bool use_recurrence = true;
  int64_t recurrence_length = 6;
  int64_t recurrence_history = 4032;  // two weeks of 5-minute rows
  double recurrence_tolerance = 0.1;
  double recurrence_margin = 1.0;
  // Phase gate (session 14): on a clear period (its ratio in the period search below
  // seasonal_phase_ratio) the seasonal sub-detector's surprise is not capped by the recurrence gate
  // but by how new the newest recurrence_length rows are at their phase: the distance to the
  // nearest subsequence ending at the same phase 1..3 periods back, give or take
  // seasonal_phase_jitter of a period (at least a row), calibrated like the gate's, plus
  // recurrence_margin. A daily jump that fails to come (its values usual, but not at that time of
  // day) alarms, while a daily spike a few rows early or late stays a repeat.
  bool seasonal_phase_gate = true;
  double seasonal_phase_ratio = 0.5;
  double seasonal_phase_jitter = 0.02;
  // Flat side of the volatility sub-detector (session 15): when the recent mean |difference| is
  // below the earlier one (a stretch gone flat: a stuck sensor, a missing daily swing), the
  // volatility surprise (Bonferroni over the active sub-detectors) less volatility_flat_discount
  // decades may stand above the recurrence gate's cap, which cannot see a stretch that is too
  // smooth (it lies within the noise of the noisy stretches at its level, then matches its own
  // start). The discount keeps the mild quiet spells of real series below the threshold (0 - 0.5
  // decades added 1 - 4 false-positive rows on NAB's AWS files; session 14b).
  bool volatility_flat_above_gate = true;
  double volatility_flat_discount = 0.75;

  // Calibration of each sub-detector's z into a tail probability (detect/tail_calibrator.h).
  double tail_fraction = 0.05;
  bool median_excess = true;    // tail scale from the tail's median excess (robust) or its mean
  int64_t min_history = 48;     // values a sub-detector needs before it may contribute
  double learn_cap_decades = 6.0;  // z values more surprising than this are learned with extreme_weight
  double extreme_weight = 0.1;     // so a change that recurs (a square wave's edges) becomes normal
                                   // after about 10 repeats (0 made 908 false-positive rows on NAB)
  bool learn_probation_in_full = false;  // during probation every z is learned with weight 1
  double scale_floor = 0.25;    // smallest robust sigma, as a share of the long-run mean |x_t - x_{t-1}|

  // Suppression of repeated alarms: after a row whose surprise reached alarm_decades, later rows
  // within suppress_rows that do not exceed that peak by suppress_margin decades are damped by
  // suppress_factor. suppress_rows 0 = automatic (a third of the probationary period, >= 16).
  // alarm_decades 2.5 (session 14; was 3): just above the surprise at the CLI's threshold (2.37
  // decades at 0.42), so a row that counts as a detection also starts the suppression.
  int64_t suppress_rows = 48;
  double alarm_decades = 2.5;
  double suppress_margin = 1.0;
  double suppress_factor = 0.3;
  // Session 16: while suppressing, a damped row of at least suppress_extend_decades renews the
  // suppression for suppress_rows more rows (its peak and margin unchanged), so a disturbance that
  // outlasts suppress_rows alarms once, not again every 48 rows (NAB charges those later alarms as
  // false positives). 2.0 lies below alarm_decades; 0 = off (session 15's fixed 48 rows).
  double suppress_extend_decades = 2.0;

  // Long files: a file of n > length_rows rows has every row's surprise reduced by
  // log10(n / length_rows), so that at one threshold a file's expected false alarms do not grow with
  // its length (NAB charges every false-positive row while a file holds a few anomalies whatever its
  // length; session 11: files four times longer wanted 0.49 where NAB-length ones wanted 0.42).
  // 5000 = NAB's probation cap over its fraction (750 / 0.15), the length beyond which NAB's rules
  // stop scaling with the file; 0 = off. With length_whole_file the length is the file's, known in
  // advance as for the probationary period (detect_anomalies; AnomalyDetector::set_expected_rows),
  // so every row of a file is reduced alike and the ranking of its rows is unchanged (session 12);
  // otherwise, or when the length is unknown (a stream), the rows seen so far (session 11: a late
  // anomaly was reduced more than an early false alarm, which cost long files at their own best
  // threshold).
  int64_t length_rows = 5000;
  bool length_whole_file = true;

  // anomaly_score = 1 - 10^(-S / score_decades) for a surprise of S decades (p = 10^-S).
  double score_decades = 10.0;

  // Throws ConfigError naming the field and its allowed range.
  void validate() const;
};

}  // namespace spikecast
