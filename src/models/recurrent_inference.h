// Runs the members' LSTM and GRU layers. In inference at small batch (autograd off, module in eval
// mode, batch <= kCellKernelMaxBatch) it uses fused kernels (docs/performance.md): on the CPU
// (float32) the step kernels of recurrent_cells.h, which answer one window in a fraction of
// LibTorch's time; on a CUDA card with thread-block clusters (sm_90, in a build with
// SPIKECAST_WITH_CUDA_KERNELS) the kernel of recurrent_cuda.h, which runs a whole layer, or a whole
// stack of layers as a wavefront, in one launch, in float32 also under autocast, and lets the
// ensemble's members run at the same time. Under CUDA autocast at batch >= kTiledKernelMinBatch
// (compute capability 8.0+, widths 32, 64, 128) each layer runs the tensor-core kernel of
// recurrent_tiled_cuda.h, in float16 as cuDNN does under autocast. On the CPU in float32, training and
// batches above the cell kernels' run the sequence path of recurrent_sequence.h; on CUDA, training
// under autocast at batch >= 64 runs the training kernels of recurrent_sequence_cuda.h. In every other
// case (float32 training and large batches on CUDA, older cards) it calls the module's own forward.
// The paths compute the same function; tests/models/recurrent_inference_test.cc holds them to
// 1e-5 of each other (the CUDA kernel against the CPU module to 1e-4; the tensor-core kernel to
// twice cuDNN's own error under the same autocast).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace spikecast::models {

// Largest batch the cell kernels take; above it LibTorch's (cuDNN's) batched products win.
constexpr int64_t kCellKernelMaxBatch = 8;
// Smallest batch the CUDA tensor-core kernel (recurrent_tiled_cuda.h) takes, under bf16 autocast.
constexpr int64_t kTiledKernelMinBatch = 64;

// x [B, T, I] (batch_first modules) -> every step's output [B, T, directions * H].
torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x);
torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x);

// run_recurrent()'s output per direction, [B, T, H] each (forward, then backward): views of it, or,
// where the path computes the directions apart (CUDA training), the directions themselves, without
// the concatenation (for a model that reads a few steps of each direction).
std::vector<torch::Tensor> run_recurrent_directions(torch::nn::LSTM& layer, const torch::Tensor& x);

// tensor/context.h's runtime_summary() and the CPU cell kernel variant in use, as `spikecast
// --version` and the bench's JSON print them ("..., CPU cell kernels avx512").
std::string runtime_summary_with_kernels();

// Whether this build has the CUDA layer kernel and `device` (a CUDA card) can run it.
bool cuda_cell_kernels_available(const torch::Device& device);

// Whether run_recurrent() would take one of spikecast's paths (CPU cells, CPU sequence or CUDA) for
// this module and input rather than the module's own forward.
bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x);

// One layer of a member's stack: a unidirectional LSTM or GRU module (torch::nn::LSTMImpl or
// GRUImpl) and, with `residual`, its input added to its output (through `projection` when defined).
struct StackedLayer {
  torch::nn::Module* layer = nullptr;
  bool residual = false;
  torch::nn::Linear projection{nullptr};
};

// A member's stack of recurrent layers on x [B, T, I]: y_i = layer_i(in_i) (+ in_i or projection(in_i)),
// in_0 = x, in_{i+1} = dropout(y_i); returns y_last [B, T, H_last]. In inference at small batch on a
// card that runs the CUDA kernel, the whole stack is one launch (a wavefront over the layers);
// otherwise each layer goes through run_recurrent(). With `last_step`, only y_last's last step
// [B, 1, H_last], and the last layer's residual is added at that step only: a member whose head reads
// the last step needs no more (the residual GRU's projection and add over every step took 600 of its
// 2,303 us at batch 8192, H200).
torch::Tensor run_recurrent_stack(const std::vector<StackedLayer>& layers, torch::nn::Dropout& dropout,
                                  const torch::Tensor& x, bool last_step = false);

// Whether run_recurrent_stack() would run these layers on x as one CUDA kernel launch (up to
// cuda_cells::kMaxLayers layers a launch).
bool runs_as_one_kernel(const std::vector<StackedLayer>& layers, const torch::nn::Dropout& dropout,
                        const torch::Tensor& x);

}  // namespace spikecast::models
