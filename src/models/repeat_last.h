// "repeat_last": the persistence baseline, no parameters. value[b, h] = x[b, L-1, 0] for every h.
//   x [B, L, C] -> value [B, H]
#pragma once

#include "models/forecaster.h"

namespace spikecast::models {

struct RepeatLastOptions {
  int64_t input_length = 100;  // L
  int64_t horizon = 1;         // H
  int64_t channels = 13;       // C

  static RepeatLastOptions from_spec(const ModelSpec& spec);
};

class RepeatLastImpl : public ForecasterImpl {
 public:
  explicit RepeatLastImpl(const RepeatLastOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "repeat_last"; }
  nlohmann::json options_json() const override { return nlohmann::json::object(); }
};
TORCH_MODULE(RepeatLast);

}  // namespace spikecast::models
