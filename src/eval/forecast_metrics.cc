#include "eval/forecast_metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace spikecast {

ForecastMetrics compute_forecast_metrics(const std::vector<float>& predictions,
                                         const std::vector<float>& actuals, int64_t windows,
                                         int64_t horizon, double target_mean, double target_std) {
  if (horizon < 1) throw Error("forecast metrics: horizon must be >= 1, got " + std::to_string(horizon));
  if (windows < 0) throw Error("forecast metrics: windows must be >= 0, got " + std::to_string(windows));
  const auto expected = static_cast<size_t>(windows * horizon);
  if (predictions.size() != expected || actuals.size() != expected) {
    throw Error("forecast metrics: expected " + std::to_string(windows) + " x " +
                std::to_string(horizon) + " = " + std::to_string(expected) +
                " values, got " + std::to_string(predictions.size()) + " predictions and " +
                std::to_string(actuals.size()) + " actuals");
  }
  if (!std::isfinite(target_std) || target_std <= 0.0 || !std::isfinite(target_mean)) {
    throw Error("forecast metrics: target scaler must have a finite mean and a finite std > 0, got mean " +
                std::to_string(target_mean) + ", std " + std::to_string(target_std));
  }

  ForecastMetrics m;
  m.windows = windows;
  m.horizon = horizon;
  const auto h_count = static_cast<size_t>(horizon);
  m.mse_per_step.assign(h_count, 0.0);
  m.mae_per_step.assign(h_count, 0.0);
  m.mse_original_per_step.assign(h_count, 0.0);
  m.mae_original_per_step.assign(h_count, 0.0);

  for (int64_t w = 0; w < windows; ++w) {
    for (int64_t h = 0; h < horizon; ++h) {
      const size_t i = static_cast<size_t>(w * horizon + h);
      const double p = predictions[i];
      const double a = actuals[i];
      if (!std::isfinite(p) || !std::isfinite(a)) {
        throw Error("forecast metrics: non-finite " + std::string(std::isfinite(p) ? "actual" : "prediction") +
                    " at window " + std::to_string(w) + ", step " + std::to_string(h));
      }
      const double e = p - a;
      // Denormalise each value rather than scaling the error, as a user comparing in units would.
      const double e_orig = (p * target_std + target_mean) - (a * target_std + target_mean);
      m.mse_per_step[h] += e * e;
      m.mae_per_step[h] += std::fabs(e);
      m.mse_original_per_step[h] += e_orig * e_orig;
      m.mae_original_per_step[h] += std::fabs(e_orig);
    }
  }

  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t h = 0; h < h_count; ++h) {
    m.mse += m.mse_per_step[h];
    m.mae += m.mae_per_step[h];
    m.mse_original += m.mse_original_per_step[h];
    m.mae_original += m.mae_original_per_step[h];
    const double n = static_cast<double>(windows);
    m.mse_per_step[h] = windows ? m.mse_per_step[h] / n : nan;
    m.mae_per_step[h] = windows ? m.mae_per_step[h] / n : nan;
    m.mse_original_per_step[h] = windows ? m.mse_original_per_step[h] / n : nan;
    m.mae_original_per_step[h] = windows ? m.mae_original_per_step[h] / n : nan;
  }
  const double total = static_cast<double>(windows * horizon);
  m.mse = windows ? m.mse / total : nan;
  m.mae = windows ? m.mae / total : nan;
  m.mse_original = windows ? m.mse_original / total : nan;
  m.mae_original = windows ? m.mae_original / total : nan;
  return m;
}

double skill_score(double mse, double mse_reference) {
  if (mse_reference == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - mse / mse_reference;
}

double skill_score(const ForecastMetrics& model, const ForecastMetrics& reference) {
  return skill_score(model.mse, reference.mse);
}

std::vector<double> skill_per_step(const ForecastMetrics& model, const ForecastMetrics& reference) {
  if (model.horizon != reference.horizon) {
    throw Error("skill per step: model horizon " + std::to_string(model.horizon) +
                " differs from reference horizon " + std::to_string(reference.horizon));
  }
  std::vector<double> out(model.mse_per_step.size());
  for (size_t h = 0; h < out.size(); ++h) {
    out[h] = skill_score(model.mse_per_step[h], reference.mse_per_step[h]);
  }
  return out;
}

}  // namespace spikecast
