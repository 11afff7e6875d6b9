// LayerNorm(x + residual) on a CUDA card for 16-bit activations, by the kernels of layer_norm_cuda.h,
// differentiable w.r.t. x, residual and the norm's weight and bias (one autograd function). Callers
// go through sequence_ops.h's residual_layer_norm(), which falls back to LibTorch elsewhere.
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// Whether cuda_residual_norm takes these: a build with the CUDA kernels, x and residual CUDA tensors
// of one 16-bit type (float16 or bfloat16) and one shape whose last dimension is the norm's only
// normalised dimension, of a width the kernels take (64, 128, 256, 512), and a norm with float32
// weight and bias on x's card.
bool cuda_residual_norm_takes(const torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual);

// norm(x + residual) in x's type (statistics in float32). Throws ModelError when
// cuda_residual_norm_takes() is false.
torch::Tensor cuda_residual_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual);

}  // namespace spikecast::models
