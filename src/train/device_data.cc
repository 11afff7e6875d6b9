#include "train/device_data.h"

#include <cmath>

#include "core/error.h"

namespace spikecast::train {
namespace {

// Prefix sums of per-row flags, or an undefined tensor when no row is flagged (the windows' counts are
// then all 0, and the device keeps 4 bytes a row less).
torch::Tensor prefix_sum(const std::vector<uint8_t>& flags, int64_t rows) {
  bool any = false;
  for (uint8_t f : flags) any = any || f != 0;
  if (!any) return {};
  auto out = torch::zeros({rows + 1}, torch::kFloat64);
  auto* p = out.data_ptr<double>();
  for (int64_t r = 0; r < rows; ++r) p[r + 1] = p[r] + (flags[r] ? 1.0 : 0.0);
  return out.to(torch::kFloat32);
}

// One bit per row (row r in bit r % 8 of byte r / 8), or an undefined tensor when no row is flagged:
// 781,262 rows take 95 KiB instead of the 3 MiB of float32 prefix sums (a window's spike flag is
// whether any of its H target rows is labelled, read as H bits).
torch::Tensor pack_bits(const std::vector<uint8_t>& flags) {
  bool any = false;
  for (uint8_t f : flags) any = any || f != 0;
  if (!any) return {};
  const int64_t rows = static_cast<int64_t>(flags.size());
  auto out = torch::zeros({(rows + 7) / 8}, torch::kUInt8);
  auto* p = out.data_ptr<uint8_t>();
  for (int64_t r = 0; r < rows; ++r)
    if (flags[static_cast<size_t>(r)]) p[r / 8] = static_cast<uint8_t>(p[r / 8] | (1u << (r % 8)));
  return out;
}

}  // namespace

DeviceData::DeviceData(const Table& table, const std::vector<double>& mean, const std::vector<double>& std,
                       const std::vector<uint8_t>& spike_labels, int64_t input_length, int64_t horizon,
                       torch::Device device)
    : input_length_(input_length), horizon_(horizon) {
  const int64_t rows = table.rows(), channels = table.num_channels();
  if (static_cast<int64_t>(mean.size()) != channels || static_cast<int64_t>(std.size()) != channels)
    throw Error("scaler has " + std::to_string(mean.size()) + " channels, table has " +
                std::to_string(channels));
  if (!spike_labels.empty() && static_cast<int64_t>(spike_labels.size()) != rows)
    throw Error("spike labels cover " + std::to_string(spike_labels.size()) + " rows, table has " +
                std::to_string(rows));
  auto host = torch::empty({rows, channels}, torch::kFloat32);
  float* dst = host.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < channels; ++c) {
      const float v = table.values[r * channels + c];
      dst[r * channels + c] = std::isnan(v) ? 0.0f : static_cast<float>((v - mean[c]) / std[c]);
    }
  }
  values_ = host.to(device);
  spike_bits_ = pack_bits(spike_labels);
  filled_cum_ = prefix_sum(table.filled, rows);
  if (spike_bits_.defined()) spike_bits_ = spike_bits_.to(device);
  if (filled_cum_.defined()) filled_cum_ = filled_cum_.to(device);
  if (!spike_labels.empty() && rows > 0) {
    int64_t n = 0;
    for (uint8_t v : spike_labels) n += v != 0;
    spike_rate_ = static_cast<double>(n) / static_cast<double>(rows);
  }
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  input_steps_ = torch::arange(input_length, opts);
  target_steps_ = torch::arange(input_length, input_length + horizon, opts);
}

int64_t DeviceData::resident_bytes() const {
  int64_t n = values_.nbytes() + input_steps_.nbytes() + target_steps_.nbytes();
  if (spike_bits_.defined()) n += spike_bits_.nbytes();
  if (filled_cum_.defined()) n += filled_cum_.nbytes();
  return static_cast<int64_t>(n);
}

torch::Tensor DeviceData::index(const std::vector<int64_t>& starts) const {
  return torch::tensor(starts, torch::kInt64).to(values_.device());
}

WindowBatch DeviceData::gather(const torch::Tensor& starts_any) const {
  const torch::Tensor starts = starts_any.to(values_.device(), torch::kInt64);
  const int64_t b = starts.size(0), channels = values_.size(1);
  WindowBatch batch;
  const torch::Tensor in_rows = starts.unsqueeze(1) + input_steps_;   // [B, L]
  const torch::Tensor out_rows = starts.unsqueeze(1) + target_steps_; // [B, H]
  batch.x = values_.index_select(0, in_rows.reshape({-1})).view({b, input_length_, channels});
  batch.y = values_.select(1, 0).index_select(0, out_rows.reshape({-1})).view({b, horizon_});
  const auto zeros = [&] { return torch::zeros({b}, values_.options()); };
  batch.filled_fraction =
      filled_cum_.defined()
          ? (filled_cum_.index_select(0, starts + input_length_) - filled_cum_.index_select(0, starts)) /
                static_cast<double>(input_length_)
          : zeros();
  if (spike_bits_.defined()) {
    // Bit (row % 8) of byte (row / 8) for each target row: [B, H] -> any over H.
    const torch::Tensor flat = out_rows.reshape({-1});
    const torch::Tensor bytes = spike_bits_.index_select(0, torch::bitwise_right_shift(flat, 3)).to(torch::kInt64);
    const torch::Tensor bits = torch::bitwise_and(torch::bitwise_right_shift(bytes, torch::bitwise_and(flat, 7)), 1);
    batch.spike = bits.view({b, horizon_}).amax(1).to(torch::kFloat32);
  } else {
    batch.spike = zeros();
  }
  return batch;
}

}  // namespace spikecast::train
