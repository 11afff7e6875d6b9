#include "detect/detector_options.h"

#include <string>

#include "core/error.h"

namespace spikecast {
namespace {

void check(bool ok, const char* field, const std::string& range, double got) {
  if (!ok) {
    throw ConfigError(std::string("detect.") + field,
                      std::string("detect.") + field + " must be " + range + ", got " + std::to_string(got));
  }
}

}  // namespace

void DetectorOptions::validate() const {
  check(probation_fraction >= 0.0 && probation_fraction < 1.0, "probation_fraction", "in [0, 1)", probation_fraction);
  check(probation_max_rows >= 0, "probation_max_rows", ">= 0", static_cast<double>(probation_max_rows));
  check(short_window >= 4 && short_window <= 100000, "short_window", "in [4, 100000]", static_cast<double>(short_window));
  check(long_window >= 4 && long_window <= 100000, "long_window", "in [4, 100000]", static_cast<double>(long_window));
  check(change_window >= 4 && change_window <= 100000, "change_window", "in [4, 100000]", static_cast<double>(change_window));
  check(shift_recent >= 1 && shift_recent <= 1000, "shift_recent", "in [1, 1000]", static_cast<double>(shift_recent));
  check(shift_window >= 4 && shift_window <= 100000, "shift_window", "in [4, 100000]", static_cast<double>(shift_window));
  check(volatility_recent >= 2 && volatility_recent <= 1000, "volatility_recent", "in [2, 1000]",
        static_cast<double>(volatility_recent));
  check(volatility_window >= 4 && volatility_window <= 100000, "volatility_window", "in [4, 100000]",
        static_cast<double>(volatility_window));
  check(volatility_floor > 0.0 && volatility_floor <= 1.0, "volatility_floor", "in (0, 1]", volatility_floor);
  check(max_period >= 4 && max_period <= 100000, "max_period", "in [4, 100000]", static_cast<double>(max_period));
  check(season_ratio > 0.0 && season_ratio <= 1.0, "season_ratio", "in (0, 1]", season_ratio);
  check(residual_window >= 4 && residual_window <= 100000, "residual_window", "in [4, 100000]",
        static_cast<double>(residual_window));
  check(range_history >= 1 && range_history <= 10000000, "range_history", "in [1, 10000000]",
        static_cast<double>(range_history));
  check(context_levels >= 2 && context_levels <= 1000, "context_levels", "in [2, 1000]", static_cast<double>(context_levels));
  check(context_order >= 0 && context_order <= 64, "context_order", "in [0, 64]", static_cast<double>(context_order));
  check(context_detrend >= 0 && context_detrend <= 3, "context_detrend", "0, 1, 2 or 3", static_cast<double>(context_detrend));
  check(context_detrend_rows >= 1 && context_detrend_rows <= 1000000, "context_detrend_rows", "in [1, 1000000]",
        static_cast<double>(context_detrend_rows));
  check(context_detrend_split >= 0 && context_detrend_split <= 2, "context_detrend_split", "0, 1 or 2",
        static_cast<double>(context_detrend_split));
  check(length_rows >= 0, "length_rows", ">= 0 (0 = off)", static_cast<double>(length_rows));
  check(context_max_entries >= 1024, "context_max_entries", ">= 1024", static_cast<double>(context_max_entries));
  check(recurrence_length >= 2 && recurrence_length <= 256, "recurrence_length", "in [2, 256]",
        static_cast<double>(recurrence_length));
  check(recurrence_history >= 1 && recurrence_history <= 100000, "recurrence_history", "in [1, 100000]",
        static_cast<double>(recurrence_history));
  check(recurrence_tolerance >= 0.0 && recurrence_tolerance < 1.0, "recurrence_tolerance", "in [0, 1)",
        recurrence_tolerance);
  check(seasonal_phase_ratio > 0.0 && seasonal_phase_ratio <= 1.0, "seasonal_phase_ratio", "in (0, 1]",
        seasonal_phase_ratio);
  check(seasonal_phase_jitter >= 0.0 && seasonal_phase_jitter <= 0.5, "seasonal_phase_jitter", "in [0, 0.5]",
        seasonal_phase_jitter);
  check(recurrence_margin >= 0.0, "recurrence_margin", ">= 0", recurrence_margin);
  check(volatility_flat_discount >= 0.0, "volatility_flat_discount", ">= 0", volatility_flat_discount);
  check(tail_fraction > 0.0 && tail_fraction < 0.5, "tail_fraction", "in (0, 0.5)", tail_fraction);
  check(min_history >= 8, "min_history", ">= 8", static_cast<double>(min_history));
  check(learn_cap_decades > 0.0, "learn_cap_decades", "> 0", learn_cap_decades);
  check(extreme_weight >= 0.0 && extreme_weight <= 1.0, "extreme_weight", "in [0, 1]", extreme_weight);
  check(scale_floor >= 0.0, "scale_floor", ">= 0", scale_floor);
  check(suppress_rows >= 0, "suppress_rows", ">= 0", static_cast<double>(suppress_rows));
  check(alarm_decades >= 0.0, "alarm_decades", ">= 0", alarm_decades);
  check(suppress_margin >= 0.0, "suppress_margin", ">= 0", suppress_margin);
  check(suppress_extend_decades >= 0.0, "suppress_extend_decades", ">= 0", suppress_extend_decades);
  check(suppress_factor >= 0.0 && suppress_factor <= 1.0, "suppress_factor", "in [0, 1]", suppress_factor);
  check(score_decades > 0.0, "score_decades", "> 0", score_decades);
  if (!use_level && !use_change && !use_shift && !use_volatility && !use_seasonal && !use_range && !use_context) {
    throw ConfigError("detect.use_level", "detect: at least one sub-detector must be enabled");
  }
}

}  // namespace spikecast
