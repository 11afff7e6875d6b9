// Point-forecast accuracy: MSE and MAE per horizon step and overall, on the normalised scale the
// models train on and in the target's original units, plus skill against a reference forecast.
#pragma once

#include <cstdint>
#include <vector>

namespace spikecast {

struct ForecastMetrics {
  int64_t windows = 0;  // forecast windows scored
  int64_t horizon = 0;  // H, steps per window

  // Over every window and step. "_original" values are in the target's units (x * std + mean).
  double mse = 0.0;
  double mae = 0.0;
  double mse_original = 0.0;
  double mae_original = 0.0;

  // [H]: element h averages step h+1 of every window.
  std::vector<double> mse_per_step;
  std::vector<double> mae_per_step;
  std::vector<double> mse_original_per_step;
  std::vector<double> mae_original_per_step;
};

// predictions, actuals: row-major [windows, horizon] on the normalised scale. target_mean and
// target_std are the target scaler's parameters. Sums are accumulated in float64.
// Throws spikecast::Error when the sizes disagree, horizon < 1, target_std is not finite and > 0,
// or a value is not finite (the message names the window and step).
ForecastMetrics compute_forecast_metrics(const std::vector<float>& predictions,
                                         const std::vector<float>& actuals, int64_t windows,
                                         int64_t horizon, double target_mean, double target_std);

// Skill score 1 - mse / mse_reference (1 is perfect, 0 is as good as the reference, < 0 worse).
// NaN when mse_reference is 0 (the reference is perfect, so skill is undefined).
double skill_score(double mse, double mse_reference);

// Overall skill on the normalised scale; identical in original units since both MSEs scale by std^2.
double skill_score(const ForecastMetrics& model, const ForecastMetrics& reference);

// [H] skill per horizon step. Throws spikecast::Error when the horizons differ.
std::vector<double> skill_per_step(const ForecastMetrics& model, const ForecastMetrics& reference);

}  // namespace spikecast
