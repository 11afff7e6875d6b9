// Operations over batch-first sequences x [B, L, d], shaped for speed on CUDA and exact everywhere:
// every result is what the LibTorch module computes (tested on every device), laid out [B, L, d]
// contiguous so the next matrix product needs no copy. Measured on an H200 under bf16 autocast
// (docs/performance.md, session 7): LibTorch 2.11's linear on a 3-D input runs the product and the
// bias add as two kernels (1,589 us against 268 us for [8192 x 100, 128] x [128, 384] as one 2-D
// product with the bias fused), and a Conv1d over [B, C, L] needs a transposed copy of its output.
#pragma once

#include <torch/torch.h>

namespace spikecast::models {

// y = x W^T + b over the last dimension of x [..., in] as one 2-D matrix product with the bias fused;
// returns [..., out] contiguous. Equals torch::nn::functional::linear(x, weight, bias).
torch::Tensor rows_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// relu(rows_linear(x, weight, bias)). In inference on a card with a bias: one matrix product with the
// bias and the ReLU in its epilogue (at::_addmm_activation, cuBLASLt), in autocast's type under
// autocast; a separate ReLU over the cnn_lstm member's [8192, 100, 192] product took 154 us (H200).
torch::Tensor rows_linear_relu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// The module's Conv1d ("same" zero padding k / 2, odd k, stride 1, no dilation or groups) over
// x [B, L, C], batch first: one matrix product of each step's k taps with the weight viewed as
// [d, C * k]; returns [B, L, d] contiguous. Equals conv->forward(x.transpose(1, 2)).transpose(1, 2).
torch::Tensor same_conv(torch::nn::Conv1d& conv, const torch::Tensor& x, bool relu = false);

// Several such convolutions of one input (kernel sizes may differ), their outputs concatenated in
// order: [B, L, d_1 + d_2 + ...], as one product of the widest kernel's taps with the weights placed
// at their centre taps (zeros around the narrower ones). Equals torch::cat of each same_conv on dim 2.
// Under CUDA autocast x is cast to autocast's type before its taps are copied out (the product casts
// them to it anyway; the copy then moves half the bytes). With `compute` (a floating type) the
// product runs in that type instead, autocast aside, and returns it: the cnn_lstm member's inference
// asks for float16, the type the recurrent layers' CUDA kernels read.
// With `relu`, relu(product), through rows_linear_relu.
torch::Tensor same_convs(std::vector<torch::nn::Conv1d>& convs, const torch::Tensor& x,
                         c10::optional<torch::ScalarType> compute = c10::nullopt, bool relu = false);

// The module's LayerNorm over x. Under CUDA autocast, where LibTorch computes layer norm in float32
// and returns float32, a reduced-precision x (bf16 / fp16) is normalised in its own type (float32
// accumulation inside the kernel) with the weights cast to it: half the bytes written and read by
// the next layer, which casts to that type anyway (1,498 against 876 us for [819200, 128] on an H200).
torch::Tensor layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x);

// norm(x + residual). On CUDA for float16 / bfloat16 inputs of a width the kernels take, one kernel
// each way (residual_norm_cuda.h: the add and the normalisation fused, float32 statistics, output in
// the inputs' type); elsewhere layer_norm(norm, x + residual).
torch::Tensor residual_layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual);

// dropout(relu(x)) as the module pair computes it (the same random mask from the same generator
// state, the same gradient), keeping for backward only the output, which the next layer keeps anyway:
// where the output is > 0 the element passed both, so the gradient is grad / (1 - p) there and 0
// elsewhere. The pair keeps the ReLU's output and the dropout's mask as well (2.9 MiB for the
// cnn_lstm member's [32, 100, 192] at batch 32). With `training` false or p = 0: relu(x).
torch::Tensor relu_dropout(const torch::Tensor& x, double p, bool training);

}  // namespace spikecast::models
