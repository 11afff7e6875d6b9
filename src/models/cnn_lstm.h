// "cnn_lstm": the users' multi-scale CNN-LSTM. Conv1d with `filters` output channels at each kernel
// size (3, 5, 7; "same" padding), concatenated and ReLU'd, then LSTM 128 -> 64 and the dense head,
// inside the forecast frame.
//   x [B, L, C] -> conv [B, 3*64, L] -> LSTM [B, L, 64] -> value [B, H]
#pragma once

#include "models/dense_head.h"
#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct CnnLstmOptions {
  int64_t input_length = 100;             // L
  int64_t horizon = 1;                    // H
  int64_t channels = 13;                  // C
  std::vector<int64_t> kernels = {3, 5, 7};  // odd kernel sizes, one Conv1d each
  int64_t filters = 64;                   // output channels per kernel size
  std::vector<int64_t> hidden = {128, 64};  // LSTM widths
  std::vector<int64_t> head = {128, 64};  // dense head hidden widths
  double dropout = 0.1;                   // after the convolutions, between LSTMs, in the head
  FrameOptions frame;                     // window normalisation + linear skip

  static CnnLstmOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

class CnnLstmImpl : public ForecasterImpl {
 public:
  explicit CnnLstmImpl(const CnnLstmOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "cnn_lstm"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  CnnLstmOptions options_;
  ForecastFrame frame_{nullptr};
  std::vector<torch::nn::Conv1d> convs_;
  std::vector<torch::nn::LSTM> layers_;
  torch::nn::Dropout dropout_{nullptr};
  DenseHead head_{nullptr};
};
TORCH_MODULE(CnnLstm);

}  // namespace spikecast::models
