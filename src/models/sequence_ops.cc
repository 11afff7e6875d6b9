#include "models/sequence_ops.h"

#include <algorithm>

#include "core/error.h"
#include "models/residual_norm_cuda.h"
#include "tensor/compat.h"

namespace spikecast::models {

namespace {

// y = x W^T + b over rows x [N, in], for training. Its backward sums the bias gradient over the rows
// as a matrix-vector product with ones: LibTorch's (a sum over dim 0) ran a reduction kernel at a
// fraction of memory bandwidth, 208 us for [409600, 128] in bf16 on an H200, three times in the spike
// member's training step at batch 4096.
struct RowsLinear : public torch::autograd::Function<RowsLinear> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return torch::addmm(bias, x, weight.t());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &weight = saved[1], &dy = grad[0];
    torch::autograd::variable_list out(3);
    if (ctx->needs_input_grad(0)) out[0] = torch::mm(dy, weight);
    if (ctx->needs_input_grad(1)) out[1] = torch::mm(dy.t(), x);
    if (ctx->needs_input_grad(2)) out[2] = torch::mv(dy.t(), torch::ones({dy.size(0)}, dy.options()));
    return out;
  }
};

// Whether autograd records a product of x, weight and bias.
bool recorded(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return torch::GradMode::is_enabled() &&
         (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
}

}  // namespace

torch::Tensor rows_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in = x.size(-1);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  const torch::Tensor rows = x.reshape({-1, in});
  if (!recorded(x, weight, bias) || !bias.defined() || rows.size(0) == 0)
    return torch::nn::functional::linear(rows, weight, bias).view(shape);
  // Autocast's casts, made here where autograd records them (inside the function it records nothing).
  const bool autocast = rows.is_cuda() && compat::cuda_autocast_enabled();
  const torch::ScalarType type = autocast ? compat::cuda_autocast_dtype() : rows.scalar_type();
  const compat::CudaAutocastSuspended no_autocast;
  return RowsLinear::apply(rows.to(type), weight.to(type), bias.to(type)).view(shape);
}

torch::Tensor rows_linear_relu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (recorded(x, weight, bias) || !x.is_cuda() || !bias.defined() || x.numel() == 0)
    return torch::relu(rows_linear(x, weight, bias));
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  const torch::ScalarType type = compat::cuda_autocast_enabled() ? compat::cuda_autocast_dtype() : x.scalar_type();
  const compat::CudaAutocastSuspended no_autocast;
  return at::_addmm_activation(bias.to(type), x.reshape({-1, x.size(-1)}).to(type), weight.to(type).t())
      .view(shape);
}

namespace {

void check_same(const torch::nn::Conv1d& conv) {
  const auto& o = conv->options;
  const int64_t kernel = conv->weight.size(2);
  if (kernel % 2 == 0 || compat::conv1d_padding(o) != kernel / 2 || (*o.stride())[0] != 1 ||
      (*o.dilation())[0] != 1 || o.groups() != 1 || torch::enumtype::get_enum_name(o.padding_mode()) != "kZeros")
    throw ModelError("same_conv: needs an odd kernel, padding kernel / 2 with zeros, stride 1, no dilation or groups");
}

}  // namespace

torch::Tensor same_conv(torch::nn::Conv1d& conv, const torch::Tensor& x, bool relu) {
  std::vector<torch::nn::Conv1d> one{conv};
  return same_convs(one, x, c10::nullopt, relu);
}

torch::Tensor same_convs(std::vector<torch::nn::Conv1d>& convs, const torch::Tensor& input,
                         c10::optional<torch::ScalarType> compute, bool relu) {
  if (convs.empty()) throw ModelError("same_convs: no convolution");
  int64_t kernel = 0;
  for (const auto& conv : convs) {
    check_same(conv);
    kernel = std::max(kernel, conv->weight.size(2));
  }
  const bool autocast = input.is_cuda() && compat::cuda_autocast_enabled();
  const torch::Tensor x = compute ? input.to(*compute) : autocast ? input.to(compat::cuda_autocast_dtype()) : input;
  const int64_t batch = x.size(0), len = x.size(1), channels = x.size(2);
  // Weights [d_i, C, k_i] centred in kernel taps: [sum d_i, C, kernel]; biases concatenated (zeros
  // for a convolution without one, none if no convolution has one).
  std::vector<torch::Tensor> weights, biases;
  bool any_bias = false;
  for (const auto& conv : convs) {
    const int64_t side = (kernel - conv->weight.size(2)) / 2;
    weights.push_back(side == 0 ? conv->weight : torch::constant_pad_nd(conv->weight, {side, side}));
    any_bias = any_bias || conv->bias.defined();
    biases.push_back(conv->bias.defined() ? conv->bias : torch::zeros({conv->weight.size(0)}, conv->weight.options()));
  }
  torch::Tensor weight = weights.size() == 1 ? weights[0] : torch::cat(weights, 0);
  const torch::Tensor bias = !any_bias ? torch::Tensor() : biases.size() == 1 ? biases[0] : torch::cat(biases);
  // On CUDA the channels are padded with zeros to a multiple of 8, so that a row of taps (C x k
  // elements) begins on a 16-byte boundary: cuBLAS runs its unaligned kernels otherwise (the spike
  // member's 13 channels x 3 taps, [409600, 39] x [39, 128]: 153 us in bf16 on an H200).
  const int64_t padded = x.is_cuda() ? (channels + 7) / 8 * 8 : channels;
  if (padded != channels) weight = torch::constant_pad_nd(weight, {0, 0, 0, padded - channels});
  // [B, L + k - 1, C] zero-padded in time, then each step's k taps per channel: [B, L, C, k], the
  // order of the weight's [d, C, k].
  const torch::Tensor taps =
      torch::constant_pad_nd(x, {0, padded - channels, kernel / 2, kernel / 2}).unfold(1, kernel, 1);
  weight = weight.reshape({weight.size(0), padded * kernel});
  const auto product = relu ? rows_linear_relu : rows_linear;
  if (!compute) return product(taps.reshape({batch, len, padded * kernel}), weight, bias);
  const compat::CudaAutocastSuspended no_autocast;
  return product(taps.reshape({batch, len, padded * kernel}), weight.to(*compute),
                 bias.defined() ? bias.to(*compute) : bias);
}

torch::Tensor layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  if (!x.is_cuda() || !reduced || !compat::cuda_autocast_enabled()) return norm->forward(x);
  const auto& o = norm->options;
  const compat::CudaAutocastSuspended no_autocast;
  const torch::Tensor weight = norm->weight.defined() ? norm->weight.to(x.scalar_type()) : torch::Tensor();
  const torch::Tensor bias = norm->bias.defined() ? norm->bias.to(x.scalar_type()) : torch::Tensor();
  return torch::layer_norm(x, o.normalized_shape(), weight, bias, o.eps());
}

torch::Tensor residual_layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual) {
  if (cuda_residual_norm_takes(norm, x, residual)) return cuda_residual_norm(norm, x, residual);
  return layer_norm(norm, x + residual);
}

namespace {

struct ReluDropout : public torch::autograd::Function<ReluDropout> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double p) {
    // Autograd records nothing in here: the ReLU's output and the mask are freed on return.
    torch::Tensor out = torch::dropout(torch::relu(x), p, /*train=*/true);
    ctx->save_for_backward({out});
    ctx->saved_data["scale"] = 1.0 / (1.0 - p);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const torch::Tensor out = ctx->get_saved_variables()[0];
    const double scale = ctx->saved_data["scale"].toDouble();
    // threshold_backward(g, out, 0): g where out > 0, else 0 (the ReLU's own backward, on the output).
    return {torch::threshold_backward(grad[0], out, 0) * scale, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor relu_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return torch::relu(x);
  return ReluDropout::apply(x, p);
}

}  // namespace spikecast::models
