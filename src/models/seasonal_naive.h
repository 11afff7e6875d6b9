// "seasonal_naive": repeats the last observed season, no parameters.
//   value[b, h] = x[b, L-1 + h - period*k, 0] with k = ceil(h / period), h = 1..H
//   x [B, L, C] -> value [B, H]
#pragma once

#include "models/forecaster.h"

namespace spikecast::models {

struct SeasonalNaiveOptions {
  int64_t input_length = 100;  // L (>= period)
  int64_t horizon = 1;         // H
  int64_t channels = 13;       // C
  int64_t period = 24;         // season length in steps (24 for hourly data with a daily cycle)

  static SeasonalNaiveOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const { return {{"period", period}}; }
  void validate() const;
};

class SeasonalNaiveImpl : public ForecasterImpl {
 public:
  explicit SeasonalNaiveImpl(const SeasonalNaiveOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "seasonal_naive"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  SeasonalNaiveOptions options_;
  std::vector<int64_t> index_;  // [H] input step each horizon step copies
  torch::Tensor index_tensor_;  // index_ on the device of the last input
};
TORCH_MODULE(SeasonalNaive);

}  // namespace spikecast::models
