// Runs the members' LSTM and GRU layers. In inference on the CPU at small batch (autograd off,
// module in eval mode, float32, batch <= kCellKernelMaxBatch) it uses the fused step kernels of
// recurrent_cells.h, which answer one window in a fraction of LibTorch's time (docs/performance.md);
// in every other case (training, CUDA, large batches) it calls the module's own forward.
// Both paths compute the same function; tests/models/recurrent_inference_test.cc holds them to
// 1e-5 of each other.
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// Largest batch the CPU cell kernels take; above it LibTorch's batched matrix products win.
constexpr int64_t kCellKernelMaxBatch = 8;

// x [B, T, I] (batch_first modules) -> every step's output [B, T, directions * H].
torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x);
torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x);

// Whether run_recurrent() would take the cell-kernel path for this module and input.
bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x);

}  // namespace spikecast::models
