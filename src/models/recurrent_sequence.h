// LSTM and GRU layers on the CPU in float32 for training and for inference at batches above the cell
// kernels' (recurrent_inference.h picks the path). Each direction of a layer is one autograd
// function: the input projections of every step are one matrix product, each step one product with
// W_hh plus one fused pass of gate arithmetic (recurrent_sequence_cells.h), and backward runs the
// steps in reverse with the same fused pass, then computes the weight gradients and the input's
// gradient as single products over all steps. LibTorch's CPU layer runs about ten operators per
// step, each an autograd node, and accumulates the weight gradients step by step.
// The results equal the module's forward and backward to float32 rounding (tests/models/
// recurrent_sequence_test.cc); what is kept for backward is the gates, the cell states and the outputs.
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// The module's forward output y [B, T, directions * H] for x [B, T, I] (a batch_first LSTM or GRU
// module, without projections, any number of layers and directions; dropout between its own layers
// as the module applies it), differentiable w.r.t. x and the module's parameters when autograd is on.
// x must be a float32 CPU tensor.
torch::Tensor cpu_sequence_forward(torch::nn::Module& layer, const torch::Tensor& x);

// Whether cpu_sequence_forward takes this module and input.
bool cpu_sequence_takes(const torch::nn::Module& layer, const torch::Tensor& x);

}  // namespace spikecast::models
