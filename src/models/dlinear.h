// "linear": DLinear-style linear forecaster. The input is split by a moving average (replicate
// padding) into trend + seasonal parts and each part goes through one Linear map to the horizon:
//   target only:   x[:, :, 0] [B, L]            -> Linear(L -> H) per part -> value [B, H]
//   all_channels:  x [B, L, C] -> [B, C*L]       -> Linear(C*L -> H) per part -> value [B, H]
// The frame's window_norm defaults to "none" (plain DLinear); "last" gives NLinear-style centring.
#pragma once

#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct DLinearOptions {
  int64_t input_length = 100;  // L
  int64_t horizon = 1;         // H
  int64_t channels = 13;       // C
  int64_t kernel = 25;         // moving-average kernel of the trend
  bool all_channels = false;   // read every channel (true) or only the target (false)
  FrameOptions frame = plain_frame();  // no normalisation, no extra skip by default

  static FrameOptions plain_frame();
  static DLinearOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

class DLinearImpl : public ForecasterImpl {
 public:
  explicit DLinearImpl(const DLinearOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "linear"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

  // Moving average over time with replicate padding: [N, K, L] -> [N, K, L].
  static torch::Tensor moving_average(const torch::Tensor& x, int64_t kernel);

 private:
  DLinearOptions options_;
  ForecastFrame frame_{nullptr};
  torch::nn::Linear trend_{nullptr};
  torch::nn::Linear seasonal_{nullptr};
};
TORCH_MODULE(DLinear);

}  // namespace spikecast::models
