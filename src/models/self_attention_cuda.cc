#include "models/self_attention_cuda.h"

#include <algorithm>

#include "core/error.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDAGuard.h>

#include <mutex>

#include "models/attention_cuda.h"
#include "models/cuda_call.h"
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

bool enabled() {
  static const bool on = cuda_call::switched_on("SPIKECAST_CUDA_ATTENTION");
  return on;
}

cuda_attention::Type type_of(const Tensor& t) {
  return t.scalar_type() == torch::kHalf ? cuda_attention::Type::kHalf : cuda_attention::Type::kBFloat16;
}

// The dropout's random state from the card's default generator: one Philox block (four 32-bit
// words) of counter space reserved, which the kernel extends by each weight group's own index.
cuda_attention::Dropout philox_dropout(double p, const torch::Device& device) {
  cuda_attention::Dropout d;
  d.p = static_cast<float>(p);
  auto* gen = at::get_generator_or_default<at::CUDAGeneratorImpl>(
      c10::nullopt, at::cuda::detail::getDefaultCUDAGenerator(device.index()));
  at::PhiloxCudaState state;
  {
    std::lock_guard<std::mutex> lock(gen->mutex_);
    state = gen->philox_cuda_state(4);
  }
  d.captured = state.captured_;
  if (d.captured) {
    d.seed_ptr = state.seed_.ptr;
    d.offset_ptr = state.offset_.ptr;
    d.offset_intragraph = state.offset_intragraph_;
  } else {
    d.seed = state.seed_.val;
    d.offset = state.offset_.val;
  }
  return d;
}

// qkv [B, L, 3 heads 32] -> [B, L, heads 32]. With `keep` (autograd records the call) kept for
// backward: qkv, the output, each query row's log-sum-exp and the dropout's decisions (64 bits a
// thread: 29 MiB for the spike member at batch 4096).
// Dropout p > 0 applies with or without `keep` (a training-mode forward without gradients).
struct SelfAttention : torch::autograd::Function<SelfAttention> {
  static Tensor forward(AutogradContext* ctx, const Tensor& qkv, int64_t heads, double dropout_p, bool keep) {
    const compat::CudaAutocastSuspended no_autocast;
    const c10::cuda::CUDAGuard device_guard(qkv.device());
    const int64_t batch = qkv.size(0), length = qkv.size(1), width = qkv.size(2) / 3;
    Tensor out = torch::empty({batch, length, width}, qkv.options());
    Tensor lse, mask;
    cuda_attention::Forward f;
    f.type = type_of(qkv);
    f.batch = batch;
    f.length = static_cast<int>(length);
    f.heads = static_cast<int>(heads);
    f.qkv = bits(qkv);
    f.out = bits(out);
    if (keep || dropout_p > 0) {  // the training kernel: log-sum-exp for backward, dropout
      lse = torch::empty({batch, heads, length}, qkv.options().dtype(torch::kFloat32));
      f.lse = lse.data_ptr<float>();
      if (dropout_p > 0) {
        mask = torch::empty({cuda_attention::mask_words(batch, static_cast<int>(length), static_cast<int>(heads))},
                            qkv.options().dtype(torch::kInt32));
        f.mask = reinterpret_cast<uint32_t*>(mask.data_ptr<int32_t>());
        f.dropout = philox_dropout(dropout_p, qkv.device());
      }
    }
    cuda_call::checked([&] { cuda_attention::run_forward(f, stream_of(qkv)); });
    if (keep) {
      ctx->save_for_backward({qkv, out, lse, mask});
      ctx->saved_data["heads"] = heads;
      ctx->saved_data["dropout_p"] = dropout_p;
    }
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const Tensor &qkv = saved[0], &out = saved[1], &lse = saved[2], &mask = saved[3];
    const c10::cuda::CUDAGuard device_guard(qkv.device());
    const Tensor dout = aligned(grad[0].to(qkv.scalar_type()).contiguous());
    Tensor dqkv = torch::empty_like(qkv);
    cuda_attention::Backward b;
    b.type = type_of(qkv);
    b.batch = qkv.size(0);
    b.length = static_cast<int>(qkv.size(1));
    b.heads = static_cast<int>(ctx->saved_data["heads"].toInt());
    b.dropout_p = static_cast<float>(ctx->saved_data["dropout_p"].toDouble());
    b.qkv = bits(qkv);
    b.out = bits(out);
    b.dout = bits(dout);
    b.lse = lse.data_ptr<float>();
    b.mask = mask.defined() ? reinterpret_cast<const uint32_t*>(mask.data_ptr<int32_t>()) : nullptr;
    b.dqkv = bits(dqkv);
    cuda_call::checked([&] { cuda_attention::run_backward(b, stream_of(qkv)); });
    return {dqkv, Tensor(), Tensor(), Tensor()};  // qkv, heads, dropout_p, keep
  }
};

}  // namespace

bool cuda_self_attention_takes(const torch::Tensor& qkv, int64_t heads) {
  const bool half = qkv.defined() && (qkv.scalar_type() == torch::kHalf || qkv.scalar_type() == torch::kBFloat16);
  return enabled() && half && qkv.is_cuda() && qkv.dim() == 3 && heads >= 1 && qkv.size(0) >= 1 &&
         qkv.size(2) == 3 * heads * cuda_attention::kHeadWidth &&
         cuda_attention::supported(static_cast<int>(std::min<int64_t>(qkv.size(1), 1 << 20)), cuda_attention::kHeadWidth);
}

torch::Tensor cuda_self_attention(const torch::Tensor& qkv, int64_t heads, double dropout_p) {
  if (!cuda_self_attention_takes(qkv, heads))
    throw ModelError("cuda_self_attention: needs a CUDA [batch, length <= 128, 3 x heads x 32] tensor of one 16-bit type");
  if (!(dropout_p >= 0 && dropout_p < 1)) throw ModelError("cuda_self_attention: dropout must be in [0, 1)");
  const bool keep = torch::GradMode::is_enabled() && qkv.requires_grad();
  return SelfAttention::apply(aligned(qkv.contiguous()), heads, dropout_p, keep);
}

#else

bool cuda_self_attention_takes(const torch::Tensor&, int64_t) { return false; }

torch::Tensor cuda_self_attention(const torch::Tensor&, int64_t, double) {
  throw ModelError("cuda_self_attention: this build has no CUDA kernels");
}

#endif

}  // namespace spikecast::models
