#include "detect/column_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spikecast::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kDayMs = 86400000;

TailCalibratorOptions calibrator_options(const DetectorOptions& o) {
  TailCalibratorOptions c;
  c.tail_fraction = o.tail_fraction;
  c.min_count = o.min_history;
  c.median_excess = o.median_excess;
  return c;
}

// Mean |h[t] - h[t - lag]| over the finite pairs; NaN when there are fewer than 8.
double mean_abs_lag_diff(const std::vector<double>& h, int64_t lag) {
  double sum = 0.0;
  int64_t n = 0;
  for (size_t t = static_cast<size_t>(lag); t < h.size(); ++t) {
    const double d = h[t] - h[t - static_cast<size_t>(lag)];
    if (std::isfinite(d)) {
      sum += std::fabs(d);
      ++n;
    }
  }
  return n >= 8 ? sum / static_cast<double>(n) : kNaN;
}

}  // namespace

double fisher_combined_decades(double s1, double s2) {
  // -log10 of q (1 - ln q) with -log10 q = s1 + s2: the chi-square survival of -2 ln q at 4
  // degrees of freedom.
  const double s = std::max(0.0, s1) + std::max(0.0, s2);
  return std::max(0.0, s - std::log10(1.0 + s * std::log(10.0)));
}

const char* sub_detector_name(int d) {
  static const char* const kNames[] = {"level_short", "level_long", "change", "shift", "volatility", "seasonal", "range", "context"};
  return d >= 0 && d < kNumSubDetectors ? kNames[d] : "?";
}

ColumnDetector::ColumnDetector(const DetectorOptions& options, int64_t step_ms, int64_t probation)
    : options_(options),
      step_ms_(step_ms),
      next_search_row_(std::max<int64_t>(probation, 16)),
      probation_(probation),
      values_(static_cast<size_t>(std::max({options.long_window, options.short_window,
                                            options.shift_window + options.shift_recent}) + 1)),
      diffs_(static_cast<size_t>(std::max(options.change_window,
                                          options.volatility_window + options.volatility_recent) + 1)),
      residuals_(static_cast<size_t>(options.residual_window + 1)),
      rows_ring_(static_cast<size_t>(3 * options.max_period + 1)),
      calibrators_{TailCalibrator(calibrator_options(options)), TailCalibrator(calibrator_options(options)),
                   TailCalibrator(calibrator_options(options)), TailCalibrator(calibrator_options(options)),
                   TailCalibrator(calibrator_options(options)), TailCalibrator(calibrator_options(options)),
                   TailCalibrator(calibrator_options(options)), TailCalibrator(calibrator_options(options))},
      // context_ reads the detrended value (session 13); with context_detrend_split it scores only its
      // share of the orders and context_raw_ the rest from the raw value. With split 2 context_ scores
      // order 0 only, which needs the previous level (order 1) and nothing longer.
      context_(options.context_levels,
               options.context_detrend != 0 && options.context_detrend_split == 2
                   ? std::min<int64_t>(options.context_order, 1) : options.context_order,
               probation, options.context_max_entries, options.context_rarity_on_entry,
               options.context_detrend == 0 || options.context_detrend_split == 0
                   ? 0 : static_cast<int>(3 - options.context_detrend_split)),
      context_trend_(options.context_detrend, options.context_detrend_rows),
      context_raw_(options.context_levels, options.context_order, probation, options.context_max_entries,
                   options.context_rarity_on_entry, static_cast<int>(options.context_detrend_split)),
      recurrence_(options.recurrence_length, options.recurrence_history, options.recurrence_tolerance),
      recurrence_calibrator_(calibrator_options(options)),
      phase_calibrator_(calibrator_options(options)) {}

double ColumnDetector::learn_weight(double surprise, int64_t row) const {
  const bool ordinary = surprise < options_.learn_cap_decades || (options_.learn_probation_in_full && row < probation_);
  return ordinary ? 1.0 : options_.extreme_weight;
}

double ColumnDetector::scale_floor() const {
  // A share of the long-run mean absolute step, else a tiny share of the typical magnitude: the
  // scale of a flat window, so leaving a flat stretch is judged against the series' usual steps.
  const double d = diff_count_ > 0 ? abs_diff_sum_ / static_cast<double>(diff_count_) : 0.0;
  const double l = level_count_ > 0 ? abs_level_sum_ / static_cast<double>(level_count_) : 0.0;
  return std::max({options_.scale_floor * d, 1e-9 * l, 1e-300});
}

void ColumnDetector::search_period() {
  // P minimising mean|x_t - x_{t-P}| / mean|x_t - x_{t-P/2}|: small for a repeating shape, about 1
  // for noise, about sqrt(2) for a random walk. Daily and weekly periods are tried first.
  const auto len = static_cast<int64_t>(search_history_.size());
  const int64_t max_p = std::min(options_.max_period, (len - 8) / 2);
  double best_ratio = options_.season_ratio;
  int64_t best = 0;
  auto consider = [&](int64_t p) {
    if (p < 4 || p > max_p) return;
    const double a = mean_abs_lag_diff(search_history_, p);
    const double b = mean_abs_lag_diff(search_history_, p / 2);
    if (!(a >= 0.0) || !(b > 0.0)) return;
    const double r = a / b;
    if (r < best_ratio - 1e-12) {
      best_ratio = r;
      best = p;
    }
  };
  if (step_ms_ > 0 && kDayMs % step_ms_ == 0) {
    consider(kDayMs / step_ms_);
    consider(7 * kDayMs / step_ms_);
  }
  // A coarse scan of the other lags (every lag up to 64, then every 2nd, 4th, ...) refines nothing
  // found by the calendar but catches non-calendar cycles.
  for (int64_t p = 4; p <= max_p; p += std::max<int64_t>(1, p / 64)) consider(p);
  if (best > 0) {
    period_ = best;
    period_ratio_ = best_ratio;
  }
}

double ColumnDetector::phase_recurrence(double x) {
  // Distance from the newest recurrence_length rows (x last) to the nearest subsequence ending at
  // the same phase 1..3 periods back, give or take seasonal_phase_jitter of a period, in the
  // recurrence gate's units (less its tolerance times the subsequence's own deviation).
  const auto m = static_cast<size_t>(options_.recurrence_length);
  if (rows_ring_.size() < m) return kNaN;
  std::vector<double>& cur = phase_scratch_;
  cur.assign(m, x);  // cur[m - 1] = x, cur[m - 1 - i] = the row i rows before x
  for (size_t i = 1; i < m; ++i) {
    cur[m - 1 - i] = rows_ring_.back(i - 1);
    if (!std::isfinite(cur[m - 1 - i])) return kNaN;
  }
  const int64_t jitter = std::max<int64_t>(
      1, std::llround(options_.seasonal_phase_jitter * static_cast<double>(period_)));
  double best = std::numeric_limits<double>::infinity();
  for (int64_t k = 1; k <= 3; ++k) {
    for (int64_t j = -jitter; j <= jitter; ++j) {
      const int64_t shift = k * period_ + j;  // the candidate ends `shift` rows before x
      if (shift < static_cast<int64_t>(m) || static_cast<size_t>(shift) + m - 2 >= rows_ring_.size()) continue;
      double d = 0.0;
      for (size_t i = 0; i < m && d < best; ++i) {
        const double v = cur[m - 1 - i] - rows_ring_.back(static_cast<size_t>(shift) + i - 1);
        d += v * v;
      }
      if (d < best) best = d;  // false for NaN (a missing row in the candidate)
    }
  }
  if (!std::isfinite(best)) return kNaN;
  return tolerant_rms_distance(best, cur.data(), m, options_.recurrence_tolerance, scratch_);
}

double ColumnDetector::update(double x, std::array<double, kNumSubDetectors>* per_detector) {
  std::array<double, kNumSubDetectors> z;
  z.fill(kNaN);
  const int64_t row = rows_++;
  if (period_ == 0 && options_.use_seasonal && searches_left_ > 0) {
    search_history_.push_back(x);
    if (row + 1 == next_search_row_) {
      search_period();
      next_search_row_ *= 2;  // searched again at 2x and 4x the first row, while nothing is found
      if (period_ != 0 || --searches_left_ == 0) {
        search_history_.clear();
        search_history_.shrink_to_fit();
      }
    }
  }

  double surprise = 0.0;
  // Every row (NaN included, so no subsequence spans a gap) goes through the recurrence search.
  const double recurrence = options_.use_recurrence ? recurrence_.update(x) : kNaN;
  // So does the context memory (a NaN restarts its contexts).
  double context = options_.use_context ? context_.update(context_trend_.detrend(x)) : kNaN;
  if (options_.use_context && options_.context_detrend != 0 && options_.context_detrend_split != 0) {
    const double raw = context_raw_.update(x);
    if (std::isfinite(raw)) context = std::isfinite(context) ? std::max(context, raw) : raw;
  }
  if (std::isfinite(x)) {
    const double floor = scale_floor();
    const size_t nv = values_.size();
    // Level: the newest value against the median of the short and the long window.
    if (options_.use_level) {
      const int64_t windows[2] = {options_.short_window, options_.long_window};
      for (int k = 0; k < 2; ++k) {
        if (nv >= static_cast<size_t>(std::min<int64_t>(windows[k], 8))) {
          scratch_.clear();
          values_.copy_recent(static_cast<size_t>(windows[k]), 0, scratch_);
          const RobustStats s = robust_stats(scratch_);
          z[k == 0 ? kLevelShort : kLevelLong] = std::fabs(x - s.median) / robust_sigma(s, floor);
        }
      }
    }
    // Change: the newest lag-1 difference against the recent ones.
    const double d = nv > 0 ? x - values_.back(0) : kNaN;
    if (options_.use_change && nv > 0 && diffs_.size() >= 8) {
      scratch_.clear();
      diffs_.copy_recent(static_cast<size_t>(options_.change_window), 0, scratch_);
      const RobustStats s = robust_stats(scratch_);
      z[kChange] = std::fabs(d - s.median) / robust_sigma(s, floor);
    }
    // Shift: median of the newest shift_recent values (x included) against the window before them.
    const auto rec = static_cast<size_t>(options_.shift_recent);
    if (options_.use_shift && nv >= rec - 1 + 8) {
      scratch_.clear();
      scratch_.push_back(x);
      values_.copy_recent(rec - 1, 0, scratch_);
      const double recent = median_of(scratch_);
      scratch_.clear();
      values_.copy_recent(static_cast<size_t>(options_.shift_window), rec - 1, scratch_);
      const RobustStats s = robust_stats(scratch_);
      z[kShift] = std::fabs(recent - s.median) / (robust_sigma(s, floor) * 1.2533 / std::sqrt(static_cast<double>(rec)));
    }
    // Volatility: |log| ratio of the recent mean absolute difference to the one before.
    const auto vrec = static_cast<size_t>(options_.volatility_recent);
    bool went_flat = false;
    if (options_.use_volatility && nv > 0 && diffs_.size() >= vrec - 1 + 16) {
      double recent = std::fabs(d);
      for (size_t k = 0; k + 1 < vrec; ++k) recent += std::fabs(diffs_.back(k));
      recent /= static_cast<double>(vrec);
      double past = 0.0;
      const size_t np = std::min(static_cast<size_t>(options_.volatility_window), diffs_.size() - (vrec - 1));
      for (size_t k = vrec - 1; k < vrec - 1 + np; ++k) past += std::fabs(diffs_.back(k));
      past /= static_cast<double>(np);
      // A tiny floor here: a stretch gone flat is exactly what this detector is for.
      const double tiny = std::max(options_.volatility_floor * abs_diff_sum_ / static_cast<double>(std::max<int64_t>(diff_count_, 1)), 1e-300);
      z[kVolatility] = std::fabs(std::log((recent + tiny) / (past + tiny)));
      went_flat = recent < past;
    }
    // Seasonal: residual against the median of the same phase 1..3 periods back.
    double phase_distance = kNaN;
    if (options_.use_seasonal && period_ > 0) {
      double lags[3];
      int nl = 0;
      for (int64_t j = 1; j <= 3; ++j) {
        const int64_t k = j * period_ - 1;  // rows_ring_ holds the rows before this one
        if (static_cast<size_t>(k) < rows_ring_.size() && std::isfinite(rows_ring_.back(static_cast<size_t>(k)))) {
          lags[nl++] = rows_ring_.back(static_cast<size_t>(k));
        }
      }
      if (nl > 0) {
        // Median of 1..3 values.
        const double ref = nl == 1 ? lags[0]
                           : nl == 2 ? 0.5 * (lags[0] + lags[1])
                                     : std::max(std::min(lags[0], lags[1]), std::min(std::max(lags[0], lags[1]), lags[2]));
        const double r = x - ref;
        if (residuals_.size() >= 8) {
          scratch_.clear();
          residuals_.copy_recent(static_cast<size_t>(options_.residual_window), 0, scratch_);
          const RobustStats s = robust_stats(scratch_);
          z[kSeasonal] = std::fabs(r - s.median) / robust_sigma(s, floor);
        }
        residuals_.push(r);
      }
      if (options_.seasonal_phase_gate && period_ratio_ < options_.seasonal_phase_ratio) {
        phase_distance = phase_recurrence(x);
      }
    }

    // Range: how far x lies outside the range of the last range_history values (a new high or
    // low; 0 inside it), in units of the scale floor.
    if (options_.use_range && !range_max_.empty()) {
      z[kRange] = std::max({0.0, x - range_max_.front().second, range_min_.front().second - x}) / floor;
    }

    z[kContext] = context;

    // Calibrate: each detector's p-value under its own past, Bonferroni over the active ones. With
    // context_fusion the context novelty stays out of that minimum: it is other evidence (which
    // level follows which, not how far a value lies from recent ones), combined below.
    double best = 0.0, context_surprise = 0.0, seasonal_surprise = 0.0, volatility_surprise = 0.0;
    int active = 0;
    bool context_active = false;
    for (int k = 0; k < kNumSubDetectors; ++k) {
      double s = 0.0;
      if (std::isfinite(z[k])) {
        TailCalibrator& cal = calibrators_[static_cast<size_t>(k)];
        if (cal.count() >= options_.min_history) {
          s = -std::log10(cal.p_value(z[k]));
          if (k == kContext && options_.context_fusion) {
            context_active = true;
            context_surprise = s;
          } else {
            ++active;
          }
        }
        // Extreme values are learned with a small weight: a long anomaly would otherwise teach the
        // calibrator that its kind is normal, and the next one of that kind would pass unnoticed;
        // a small weight still lets a recurring pattern become normal after many repeats. The
        // probationary period is normal by definition and learned in full.
        cal.add(z[k], learn_weight(s, row));
      }
      if (k == kSeasonal) seasonal_surprise = s;
      if (k == kVolatility) volatility_surprise = s;
      if (per_detector) (*per_detector)[static_cast<size_t>(k)] = s;
      if (k != kContext || !options_.context_fusion) best = std::max(best, s);
    }
    if (active > 0) surprise = std::max(0.0, best - std::log10(static_cast<double>(active)));
    // A value far from the recent ones that also breaks the learned sequence of levels is
    // stronger evidence than either alone: Fisher's method on the two p-values.
    if (context_active) surprise = fisher_combined_decades(surprise, context_surprise);

    // Recurrence gate: the surprise of a row is capped by how new its latest stretch is. The
    // distance is taken in units of the scale floor (the series' usual step) and calibrated like
    // a sub-detector's z.
    if (std::isfinite(recurrence)) {
      const double zr = recurrence / floor;
      double s_rec = 0.0;
      if (recurrence_calibrator_.count() >= options_.min_history) {
        s_rec = -std::log10(recurrence_calibrator_.p_value(zr));
        surprise = std::min(surprise, s_rec + options_.recurrence_margin);
      }
      recurrence_calibrator_.add(zr, learn_weight(s_rec, row));
    }
    // Flat side of the volatility sub-detector (session 15): a stretch gone flat lies within the
    // noise of the noisy stretches at its level, so the gate's distance cannot see it; its
    // volatility surprise, less a discount, may stand above the gate's cap.
    if (options_.volatility_flat_above_gate && went_flat && active > 0) {
      surprise = std::max(surprise, volatility_surprise - std::log10(static_cast<double>(active)) -
                                        options_.volatility_flat_discount);
    }
    // Phase gate (session 14): on a clear period the seasonal sub-detector asks "is this value
    // usual at this time of the period?", which the recurrence gate cannot answer (a stretch at the
    // daily low is no new shape at noon). Its surprise may stand above the gate's cap, capped
    // instead by how new the newest stretch is at this phase (the nearest subsequence ending at the
    // same phase 1..3 periods back, calibrated like the gate's distance), once that distance has
    // been learned over a whole period.
    if (std::isfinite(phase_distance) && active > 0) {
      const double zp = phase_distance / floor;
      double s_phase = 0.0;
      const bool learned = phase_calibrator_.count() >= std::max<int64_t>(options_.min_history, period_);
      if (learned) {
        s_phase = -std::log10(phase_calibrator_.p_value(zp));
        const double s_season = seasonal_surprise - std::log10(static_cast<double>(active));
        surprise = std::max(surprise, std::min(s_season, s_phase + options_.recurrence_margin));
      }
      phase_calibrator_.add(zp, learn_weight(s_phase, row));
    }

    if (nv > 0) {
      diffs_.push(d);
      abs_diff_sum_ += std::fabs(d);
      ++diff_count_;
    }
    values_.push(x);
    if (options_.use_range) {
      // Monotonic queues of (finite-value index, value): their fronts are the window's max and min.
      const int64_t i = level_count_;
      while (!range_max_.empty() && range_max_.back().second <= x) range_max_.pop_back();
      while (!range_min_.empty() && range_min_.back().second >= x) range_min_.pop_back();
      range_max_.emplace_back(i, x);
      range_min_.emplace_back(i, x);
      if (range_max_.front().first <= i - options_.range_history) range_max_.pop_front();
      if (range_min_.front().first <= i - options_.range_history) range_min_.pop_front();
    }
    abs_level_sum_ += std::fabs(x);
    ++level_count_;
  } else if (per_detector) {
    per_detector->fill(0.0);
  }
  rows_ring_.push(x);
  return surprise;
}

}  // namespace spikecast::detect
