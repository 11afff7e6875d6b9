// "spike": the users' spike detector. Conv1d (C -> d_model, kernel 3) + ReLU, 4-head self-attention
// with a residual connection and LayerNorm, a BiLSTM (128 per direction), then two heads on the
// BiLSTM's summary of the window (forward direction's last step, backward direction's first step):
// the value forecast and one spike logit per window, inside the forecast frame.
//   x [B, L, C] -> conv [B, L, d] -> attn+norm [B, L, d] -> BiLSTM [B, L, 2*128]
//     -> value [B, H], spike_logit [B]
#pragma once

#include <limits>

#include "models/dense_head.h"
#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct SpikeDetectorOptions {
  int64_t input_length = 100;             // L
  int64_t horizon = 1;                    // H
  int64_t channels = 13;                  // C
  int64_t d_model = 128;                  // conv output channels = attention width
  int64_t kernel = 3;                     // conv kernel size (odd, "same" padding)
  int64_t heads = 4;                      // attention heads; must divide d_model
  int64_t lstm_hidden = 128;              // BiLSTM width per direction
  std::vector<int64_t> head = {128, 64};  // value head hidden widths
  std::vector<int64_t> spike_head = {64}; // spike head hidden widths
  double dropout = 0.1;                   // attention, after the BiLSTM, in the heads
  FrameOptions frame;                     // window normalisation + linear skip

  static SpikeDetectorOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
};

class SpikeDetectorImpl : public ForecasterImpl {
 public:
  explicit SpikeDetectorImpl(const SpikeDetectorOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "spike"; }
  nlohmann::json options_json() const override { return options_.to_json(); }
  bool has_spike_head() const override { return true; }

 private:
  SpikeDetectorOptions options_;
  ForecastFrame frame_{nullptr};
  torch::nn::Conv1d conv_{nullptr};
  torch::nn::MultiheadAttention attention_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::LSTM bilstm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  DenseHead value_head_{nullptr};
  DenseHead spike_head_{nullptr};
};
TORCH_MODULE(SpikeDetector);

// Self-attention over s [B, L, d] (batch first) with the module's parameters; returns [B, L, d]. On
// CUDA it is fused_self_attention (LibTorch's C++ MultiheadAttention::forward materialises the
// [B * heads, L, L] scores with separate matrix products and a softmax, which made the spike member
// 60% of the ensemble's time at batch 8192); on the CPU the module's own (sequence-first) forward.
// Where scores are materialised, past 2^31 - 1 elements CUDA's softmax and reductions index out of
// range, so larger batches go through in chunks of whole windows (rows are independent). The result
// equals one call's.
torch::Tensor self_attention(torch::nn::MultiheadAttention& attention, const torch::Tensor& s,
                             int64_t max_score_elements = std::numeric_limits<int32_t>::max());

// The module's input and output projections around one fused scaled-dot-product attention call
// (compat::scaled_dot_product_attention) over s [B, L, d], with the module's dropout in training;
// equals the module's forward over s.transpose(0, 1) (tested on every device).
torch::Tensor fused_self_attention(torch::nn::MultiheadAttention& attention, const torch::Tensor& s);

}  // namespace spikecast::models
