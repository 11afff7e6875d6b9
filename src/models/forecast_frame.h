// The frame every deep member sits in (docs/ACCURACY.md: without it members are 1.7-3.3x worse):
//  1. per-window normalisation of every input channel (RevIN-style): subtract the window's last
//     value or mean, divide by the window's std; undone on the target's forecast;
//  2. a linear skip path: forecast = Linear(L -> H)(normalised target window) + network correction.
// The skip starts at zero, so an untrained member with centring "last" forecasts repeat-last.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>

namespace spikecast::models {

class OptionReader;

struct FrameOptions {
  std::string window_norm = "last";  // centring of each channel: "last" value, window "mean", "none"
  bool scale = true;                 // also divide by the window's std (unless window_norm is "none")
  double eps = 1e-5;                 // added to the window variance before the square root
  bool linear_skip = true;           // add Linear(L -> H) over the normalised target window

  void read(OptionReader& r);
  void write(nlohmann::json& j) const;
  void validate(const std::string& prefix) const;
};

// A normalised window and what it takes to undo the normalisation.
struct NormalizedWindow {
  torch::Tensor x;       // [B, L, C] normalised inputs
  torch::Tensor center;  // [B, 1, C] subtracted per channel
  torch::Tensor scale;   // [B, 1, C] divided by per channel
};

class ForecastFrameImpl : public torch::nn::Module {
 public:
  ForecastFrameImpl(const FrameOptions& options, int64_t input_length, int64_t horizon);

  // x [B, L, C] -> normalised window.
  NormalizedWindow normalize(const torch::Tensor& x) const;
  // correction [B, H] in normalised target units -> forecast [B, H] of the scaled target:
  // center_0 + scale_0 * (correction + skip(x_norm[:, :, 0])).
  torch::Tensor finish(const torch::Tensor& correction, const NormalizedWindow& w);

  const FrameOptions& options() const { return options_; }

 private:
  FrameOptions options_;
  torch::nn::Linear skip_{nullptr};  // Linear(L -> H), zero-initialised; absent without linear_skip
};
TORCH_MODULE(ForecastFrame);

}  // namespace spikecast::models
