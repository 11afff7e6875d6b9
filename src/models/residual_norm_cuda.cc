#include "models/residual_norm_cuda.h"

#include "core/error.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>

#include "models/cuda_call.h"
#include "models/layer_norm_cuda.h"
#include "tensor/compat.h"
#endif

namespace spikecast::models {

#ifdef SPIKECAST_WITH_CUDA_KERNELS
namespace {

using cuda_call::aligned;
using cuda_call::bits;
using cuda_call::stream_of;
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

cuda_norm::Type type_of(const Tensor& t) {
  return t.scalar_type() == torch::kHalf ? cuda_norm::Type::kHalf : cuda_norm::Type::kBFloat16;
}

// Inputs x, residual [..., d] (contiguous), weight and bias [d] float32. With `keep` (autograd records
// the call; inside forward it is off), kept for backward: the sum x + residual in x's type, each row's
// mean and 1 / std, the weight.
struct ResidualNorm : torch::autograd::Function<ResidualNorm> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& residual, const Tensor& weight,
                        const Tensor& bias, double eps, bool keep) {
    const compat::CudaAutocastSuspended no_autocast;
    const c10::cuda::CUDAGuard device_guard(x.device());
    const int64_t width = x.size(-1), rows = x.numel() / width;
    Tensor y = torch::empty_like(x, at::MemoryFormat::Contiguous);
    Tensor sum, mean, rstd;
    cuda_norm::Forward f;
    f.type = type_of(x);
    f.rows = rows;
    f.width = static_cast<int>(width);
    f.eps = static_cast<float>(eps);
    f.a = bits(x);
    f.b = bits(residual);
    f.weight = weight.data_ptr<float>();
    f.bias = bias.data_ptr<float>();
    f.y = bits(y);
    if (keep) {
      sum = torch::empty_like(x, at::MemoryFormat::Contiguous);
      mean = torch::empty({rows}, x.options().dtype(torch::kFloat32));
      rstd = torch::empty({rows}, x.options().dtype(torch::kFloat32));
      f.sum = bits(sum);
      f.mean = mean.data_ptr<float>();
      f.rstd = rstd.data_ptr<float>();
    }
    cuda_call::checked([&] { cuda_norm::run_forward(f, stream_of(x)); });
    if (keep) ctx->save_for_backward({sum, mean, rstd, weight});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const Tensor &sum = saved[0], &mean = saved[1], &rstd = saved[2], &weight = saved[3];
    const c10::cuda::CUDAGuard device_guard(sum.device());
    const Tensor dy = aligned(grad[0].to(sum.scalar_type()).contiguous());
    const int64_t width = sum.size(-1), rows = sum.numel() / width;
    Tensor dx = torch::empty_like(sum);
    Tensor partial = torch::empty({cuda_norm::backward_blocks(rows), 2 * width}, mean.options());
    cuda_norm::Backward b;
    b.type = type_of(sum);
    b.rows = rows;
    b.width = static_cast<int>(width);
    b.dy = bits(dy);
    b.sum = bits(sum);
    b.mean = mean.data_ptr<float>();
    b.rstd = rstd.data_ptr<float>();
    b.weight = weight.data_ptr<float>();
    b.dx = bits(dx);
    b.partial = partial.data_ptr<float>();
    cuda_call::checked([&] { cuda_norm::run_backward(b, stream_of(sum)); });
    const Tensor sums = partial.sum(0);
    // x, residual, weight, bias, eps, keep
    return {dx, dx, sums.narrow(0, 0, width), sums.narrow(0, width, width), Tensor(), Tensor()};
  }
};

}  // namespace

bool cuda_residual_norm_takes(const torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual) {
  const auto& o = norm->options;
  const bool half = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
  if (!x.defined() || !residual.defined() || !x.is_cuda() || !half || residual.scalar_type() != x.scalar_type() ||
      residual.sizes() != x.sizes() || residual.device() != x.device() || x.dim() < 1 || x.numel() == 0 ||
      o.normalized_shape().size() != 1 || o.normalized_shape()[0] != x.size(-1) ||
      !cuda_norm::width_supported(static_cast<int>(x.size(-1))) || !norm->weight.defined() || !norm->bias.defined())
    return false;
  for (const Tensor& p : {norm->weight, norm->bias})
    if (p.scalar_type() != torch::kFloat32 || p.device() != x.device()) return false;
  return true;
}

torch::Tensor cuda_residual_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x, const torch::Tensor& residual) {
  if (!cuda_residual_norm_takes(norm, x, residual))
    throw ModelError("cuda_residual_norm: needs CUDA inputs of one 16-bit type and shape, normalised over a last "
                     "dimension of 64, 128, 256 or 512, and float32 weight and bias on their card");
  const bool keep = torch::GradMode::is_enabled() && (x.requires_grad() || residual.requires_grad() ||
                                                      norm->weight.requires_grad() || norm->bias.requires_grad());
  return ResidualNorm::apply(aligned(x.contiguous()), aligned(residual.contiguous()), norm->weight, norm->bias,
                             norm->options.eps(), keep);
}

#else

bool cuda_residual_norm_takes(const torch::nn::LayerNorm&, const torch::Tensor&, const torch::Tensor&) {
  return false;
}

torch::Tensor cuda_residual_norm(torch::nn::LayerNorm&, const torch::Tensor&, const torch::Tensor&) {
  throw ModelError("cuda_residual_norm: this build has no CUDA kernels");
}

#endif

}  // namespace spikecast::models
