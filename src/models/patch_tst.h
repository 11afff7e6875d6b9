// "patchtst": PatchTST (Nie et al., 2023), channel-independent. Each channel's normalised window
// (RevIN: window mean and std, the forecast frame with window_norm "mean") is padded at the end by
// `stride` copies of its last value, cut into patches of `patch_len` every `stride` steps, embedded
// (Linear(patch_len -> d_model) + learned positions), run through a shared Transformer encoder and
// flattened into Linear(n_patches * d_model -> H). The forecast is the target channel's, or with
// channel_mix a learned mix over all channels' forecasts that starts as the target's alone.
//   x [B, L, C] -> series [B*C', L] -> patches [B*C', N, P] -> encoder [B*C', N, d] -> value [B, H]
//   (C' = 1 without channel_mix, else C; N = (L - P) / S + 2)
#pragma once

#include "models/forecast_frame.h"
#include "models/forecaster.h"

namespace spikecast::models {

struct PatchTstOptions {
  int64_t input_length = 100;  // L (>= patch_len)
  int64_t horizon = 1;         // H
  int64_t channels = 13;       // C
  int64_t patch_len = 16;      // P: steps per patch
  int64_t stride = 8;          // S: steps between patch starts
  int64_t d_model = 128;       // encoder width
  int64_t heads = 16;          // attention heads; must divide d_model
  int64_t d_ff = 256;          // encoder feed-forward width
  int64_t layers = 3;          // encoder layers
  double dropout = 0.2;        // encoder and embedding dropout
  double head_dropout = 0.0;   // before the flatten head
  bool channel_mix = false;    // false: encode the target channel only; true: mix all channels
  FrameOptions frame = revin_frame();  // RevIN (window mean/std) + linear skip

  static FrameOptions revin_frame();
  static PatchTstOptions from_spec(const ModelSpec& spec);
  nlohmann::json to_json() const;
  void validate() const;
  int64_t num_patches() const { return (input_length - patch_len) / stride + 2; }
};

class PatchTstImpl : public ForecasterImpl {
 public:
  explicit PatchTstImpl(const PatchTstOptions& options);
  ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) override;
  std::string type_name() const override { return "patchtst"; }
  nlohmann::json options_json() const override { return options_.to_json(); }

 private:
  PatchTstOptions options_;
  ForecastFrame frame_{nullptr};
  torch::nn::Linear embed_{nullptr};
  torch::Tensor position_;  // [N, d_model]
  torch::nn::Dropout dropout_{nullptr};
  std::vector<torch::nn::TransformerEncoderLayer> encoder_;
  torch::nn::Dropout head_dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Linear mix_{nullptr};  // Linear(C -> 1, no bias) over channels; channel_mix only
};
TORCH_MODULE(PatchTst);

}  // namespace spikecast::models
