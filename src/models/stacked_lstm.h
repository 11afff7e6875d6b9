// "lstm": the users' stacked LSTM (128 -> 128 -> 64), dense head 128 -> 64 -> H, inside the
// forecast frame (per-window normalisation + linear skip).
//   x [B, L, C] -> value [B, H]
#pragma once

#include "models/dense_head.h"
#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct StackedLstmOptions {
  int64_t input_length = 100;             // L
  int64_t horizon = 1;                    // H
  int64_t channels = 13;                  // C
  std::vector<int64_t> hidden = {128, 128, 64};  // LSTM widths, bottom to top
  std::vector<int64_t> head = {128, 64};  // dense head hidden widths
  double dropout = 0.1;                   // between LSTM layers and in the head
  FrameOptions frame;                     // window normalisation + linear skip

  static StackedLstmOptions from_spec(const ModelSpec& spec);  // reads and validates
  nlohmann::json to_json() const;
  void validate() const;
};

class StackedLstmImpl : public ForecasterImpl {
 public:
  explicit StackedLstmImpl(const StackedLstmOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "lstm"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  StackedLstmOptions options_;
  ForecastFrame frame_{nullptr};
  std::vector<torch::nn::LSTM> layers_;
  torch::nn::Dropout dropout_{nullptr};
  DenseHead head_{nullptr};
};
TORCH_MODULE(StackedLstm);

}  // namespace spikecast::models
