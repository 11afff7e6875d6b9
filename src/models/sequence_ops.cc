#include "models/sequence_ops.h"

#include "core/error.h"
#include "tensor/compat.h"

namespace spikecast::models {

torch::Tensor rows_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t in = x.size(-1);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return torch::nn::functional::linear(x.reshape({-1, in}), weight, bias).view(shape);
}

torch::Tensor same_conv(torch::nn::Conv1d& conv, const torch::Tensor& x) {
  const auto& o = conv->options;
  const int64_t kernel = conv->weight.size(2);
  if (kernel % 2 == 0 || compat::conv1d_padding(o) != kernel / 2 || (*o.stride())[0] != 1 ||
      (*o.dilation())[0] != 1 || o.groups() != 1 || torch::enumtype::get_enum_name(o.padding_mode()) != "kZeros")
    throw ModelError("same_conv: needs an odd kernel, padding kernel / 2 with zeros, stride 1, no dilation or groups");
  const int64_t batch = x.size(0), len = x.size(1), channels = x.size(2), out = conv->weight.size(0);
  // [B, L + k - 1, C] zero-padded in time, then each step's k taps per channel: [B, L, C, k], the
  // order of the weight's [d, C, k].
  const torch::Tensor taps = torch::constant_pad_nd(x, {0, 0, kernel / 2, kernel / 2}).unfold(1, kernel, 1);
  return rows_linear(taps.reshape({batch, len, channels * kernel}), conv->weight.view({out, channels * kernel}),
                     conv->bias);
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

}  // namespace spikecast::models
