// The whole scaled series resident on the training device, with windows gathered by index inside
// the step: one [rows, C] tensor (781,163 x 13 float32 = 41 MB), never a copy per window.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "data/table.h"

namespace spikecast::train {

// One mini-batch of windows.
struct WindowBatch {
  torch::Tensor x;                // [B, L, C] scaled inputs
  torch::Tensor y;                // [B, H] scaled target
  torch::Tensor filled_fraction;  // [B] share of the input rows that were gap-filled
  torch::Tensor spike;            // [B] 1 when a spike label falls in the target rows, else 0
};

class DeviceData {
 public:
  // `mean`/`std` per channel (the scaler fitted on the train split); `spike_labels` per row
  // (empty: no labels). NaN cells (unfilled gaps; no window touches them) become 0.
  DeviceData(const Table& table, const std::vector<double>& mean, const std::vector<double>& std,
             const std::vector<uint8_t>& spike_labels, int64_t input_length, int64_t horizon,
             torch::Device device);

  // starts: int64 [B] start rows (on any device).
  WindowBatch gather(const torch::Tensor& starts) const;

  // Window start rows as a tensor on this device.
  torch::Tensor index(const std::vector<int64_t>& starts) const;

  int64_t input_length() const { return input_length_; }
  int64_t horizon() const { return horizon_; }
  int64_t channels() const { return values_.size(1); }
  // The scaled series [rows, C] float32 on the device, as windows are gathered from it.
  const torch::Tensor& values() const { return values_; }
  torch::Device device() const { return values_.device(); }
  // Fraction of rows labelled as spikes (for the BCE positive weight); 0 without labels.
  double spike_rate() const { return spike_rate_; }
  // Bytes this object keeps on the device (the series, the spike bits, the filled rows' prefix sums).
  int64_t resident_bytes() const;

 private:
  torch::Tensor values_;       // [rows, C] float32
  torch::Tensor spike_bits_;   // [ceil(rows / 8)] uint8, row r's label in bit r % 8 of byte r / 8; undefined: none
  torch::Tensor filled_cum_;   // [rows + 1] float32 prefix sums of filled flags; undefined: none
  torch::Tensor input_steps_;  // [L] 0..L-1
  torch::Tensor target_steps_; // [H] L..L+H-1
  int64_t input_length_, horizon_;
  double spike_rate_ = 0;
};

}  // namespace spikecast::train
