// Multi-head self-attention on a CUDA card for 16-bit activations, by the kernels of
// attention_cuda.h, differentiable w.r.t. the input projection's output (one autograd function;
// dropout on the attention weights drawn from LibTorch's CUDA generator, CUDA-graph safe). The spike
// member's attention goes through it where it applies and falls back to LibTorch's
// scaled_dot_product_attention elsewhere (models/spike_detector.cc).
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// Whether cuda_self_attention takes qkv: a build with the CUDA kernels, a CUDA tensor of one 16-bit
// type (float16 or bfloat16) shaped [batch, length, 3 * heads * 32] (q, k, v side by side, heads 32
// wide) with a length of at most 128 steps. SPIKECAST_CUDA_ATTENTION=0 (read once; a diagnostic
// switch for measuring against LibTorch's kernels) makes it false everywhere.
bool cuda_self_attention_takes(const torch::Tensor& qkv, int64_t heads);

// softmax(q k^T / sqrt(32)) v per head, with dropout p on the weights, as [batch, length, heads * 32]
// in qkv's type. Throws ModelError when cuda_self_attention_takes() is false.
torch::Tensor cuda_self_attention(const torch::Tensor& qkv, int64_t heads, double dropout_p);

}  // namespace spikecast::models
