// Dynamic loss scaling for fp16 autocast (cards without bf16, such as the users' V100): scale the
// loss up before backward, unscale the gradients, skip the step and halve the scale on overflow,
// double it after a run of good steps. A no-op when disabled (fp32, bf16).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace spikecast::train {

class LossScaler {
 public:
  explicit LossScaler(bool enabled, double initial_scale = 65536.0, int64_t growth_interval = 2000);

  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides gradients by the scale; false when any gradient is inf/NaN (the step must be skipped).
  // Synchronises with the device only when enabled.
  bool unscale_and_check(const std::vector<torch::Tensor>& params) const;
  void update(bool finite);

  bool enabled() const { return enabled_; }
  double current_scale() const { return scale_; }

 private:
  bool enabled_;
  double scale_;
  int64_t growth_interval_;
  int64_t good_steps_ = 0;
};

}  // namespace spikecast::train
