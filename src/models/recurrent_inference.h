// Runs the members' LSTM and GRU layers. In inference at small batch (autograd off, module in eval
// mode, batch <= kCellKernelMaxBatch) it uses fused kernels (docs/performance.md): on the CPU
// (float32) the step kernels of recurrent_cells.h, which answer one window in a fraction of
// LibTorch's time; on a CUDA card with thread-block clusters (sm_90, in a build with
// SPIKECAST_WITH_CUDA_KERNELS) the whole-layer kernel of recurrent_cuda.h, in float32 also under
// autocast, which lets the ensemble's members run at the same time. In every other case
// (training, large batches, older cards) it calls the module's own forward.
// The paths compute the same function; tests/models/recurrent_inference_test.cc holds them to
// 1e-5 of each other (the CUDA kernel against the CPU module to 1e-4).
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// Largest batch the cell kernels take; above it LibTorch's (cuDNN's) batched products win.
constexpr int64_t kCellKernelMaxBatch = 8;

// x [B, T, I] (batch_first modules) -> every step's output [B, T, directions * H].
torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x);
torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x);

// Whether this build has the CUDA layer kernel and `device` (a CUDA card) can run it.
bool cuda_cell_kernels_available(const torch::Device& device);

// Whether run_recurrent() would take a cell-kernel path (CPU or CUDA) for this module and input.
bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x);

}  // namespace spikecast::models
