// LSTM and GRU layers for training on a CUDA card under autocast, on the tensor-core kernels of
// recurrent_tiled_cuda.h. Each direction of a layer is one autograd function: forward, the input
// projections of every step as one float16 matrix product and the recurrence as one launch that
// also keeps the gates' activations and states; backward, the recurrence in reverse as one launch
// that writes the gradients w.r.t. every step's gate pre-activations (bfloat16), then the gradients
// of x, W_ih, W_hh and the biases as single matrix products over all steps. cuDNN runs the same layer
// as a sequence of small per-step kernels that leave most of the card idle (docs/performance.md).
// The layer answers in bfloat16 (cuDNN under bf16 autocast does too). The gradients match the
// module's to the precision of half-precision training (tests/models/recurrent_sequence_cuda_test.cc).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace spikecast::models {

// Smallest batch the training kernels take; below it cuDNN's layers are used.
constexpr int64_t kCudaSequenceMinBatch = 64;

// Whether cuda_sequence_forward takes this module and input: a build with the CUDA kernels, a card
// that runs them, a batch_first LSTM or GRU module without projections and with float32 parameters
// on x's card, x [B, T, I] with B >= kCudaSequenceMinBatch, CUDA autocast on, autograd on, and
// SPIKECAST_CUDA_SEQUENCE_KERNELS not "0" (a diagnostic switch for measuring against cuDNN).
bool cuda_sequence_takes(const torch::nn::Module& layer, const torch::Tensor& x);

// Whether this build has the training kernels and `device` (a CUDA card) runs them at every width
// they take (32, 64, 128).
bool cuda_sequence_available(const torch::Device& device);

// The module's forward output y [B, T, directions * H] (bfloat16), differentiable w.r.t. x and the
// module's parameters. Throws ModelError when cuda_sequence_takes() is false.
torch::Tensor cuda_sequence_forward(torch::nn::Module& layer, const torch::Tensor& x);

// The same, the last layer's output per direction [B, T, H] each (forward, then backward), without
// concatenating them: a model that reads a few steps of each direction then back-propagates into
// each direction's own gradient, with no [B, T, 2H] copy either way.
std::vector<torch::Tensor> cuda_sequence_directions(torch::nn::Module& layer, const torch::Tensor& x);

}  // namespace spikecast::models
