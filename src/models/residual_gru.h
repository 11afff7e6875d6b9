// "gru": the users' residual GRU (128 -> 128 -> 64). Every layer after the first adds its input back
// (h_i = GRU_i(h_{i-1}) + P_i(h_{i-1}), P_i the identity where widths match, else a Linear
// projection), then the dense head 128 -> 64 -> H, inside the forecast frame.
//   x [B, L, C] -> value [B, H]
#pragma once

#include "models/dense_head.h"
#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct ResidualGruOptions {
  int64_t input_length = 100;                    // L
  int64_t horizon = 1;                           // H
  int64_t channels = 13;                         // C
  std::vector<int64_t> hidden = {128, 128, 64};  // GRU widths, bottom to top
  std::vector<int64_t> head = {128, 64};         // dense head hidden widths
  double dropout = 0.1;                          // between GRU layers and in the head
  FrameOptions frame;                            // window normalisation + linear skip

  static ResidualGruOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

class ResidualGruImpl : public ForecasterImpl {
 public:
  explicit ResidualGruImpl(const ResidualGruOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "gru"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  ResidualGruOptions options_;
  ForecastFrame frame_{nullptr};
  std::vector<torch::nn::GRU> layers_;
  std::vector<torch::nn::Linear> projections_;  // [i] projects layer i's input; undefined = identity
  torch::nn::Dropout dropout_{nullptr};
  DenseHead head_{nullptr};
};
TORCH_MODULE(ResidualGru);

}  // namespace spikecast::models
