// The one place where LibTorch 1.13 (Debian, CPU build) and LibTorch 2.x (GPU build) differ.
// Everything else in spikecast calls these helpers instead of the version-specific API.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#ifndef TORCH_VERSION_MAJOR
#include <torch/version.h>
#endif

// The CUDA caching allocator's statistics need the CUDA runtime headers, present only in a CUDA
// build (PyTorch's LibTorch + the CUDA toolkit); Debian's CPU-only LibTorch ships the c10/cuda
// headers but not cuda_runtime_api.h. Without them the statistics report "unavailable".
#if defined(__has_include)
#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define SPIKECAST_CUDA_ALLOCATOR_STATS 1
#endif
#endif
#ifndef SPIKECAST_CUDA_ALLOCATOR_STATS
#define SPIKECAST_CUDA_ALLOCATOR_STATS 0
#endif

namespace spikecast::compat {

constexpr int kTorchMajor = TORCH_VERSION_MAJOR;
constexpr int kTorchMinor = TORCH_VERSION_MINOR;

inline std::string torch_version() { return TORCH_VERSION; }

// Autocast: 2.x takes the device type; 1.13 has separate CPU/GPU switches and dtypes.
inline void set_autocast(torch::DeviceType device, bool enabled, torch::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 4
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == torch::kCUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
  if (!enabled) at::autocast::clear_cache();
}

// Whether autocast is on for CUDA.
inline bool cuda_autocast_enabled() {
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 4
  return at::autocast::is_autocast_enabled(torch::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

// The type CUDA autocast computes its lower-precision ops in (bf16 or fp16).
inline torch::ScalarType cuda_autocast_dtype() {
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 4
  return at::autocast::get_autocast_dtype(torch::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

// A Conv1d's padding when it is an explicit size (the same on both sides), else -1 ("valid" or
// "same" by name). The options' variant is c10::variant in 1.13 and std::variant in 2.x.
inline int64_t conv1d_padding(const torch::nn::detail::ConvNdOptions<1>& o) {
#if TORCH_VERSION_MAJOR >= 2
  const auto* size = std::get_if<torch::ExpandingArray<1>>(&o.padding());
#else
  const auto* size = c10::get_if<torch::ExpandingArray<1>>(&o.padding());
#endif
  return size == nullptr ? -1 : (**size)[0];
}

// Turns CUDA autocast off for this thread within a scope (the dispatch-key guard autocast's own
// kernels use; the same in both versions), for ops that must run in their inputs' precision.
class CudaAutocastSuspended {
 public:
  CudaAutocastSuspended() = default;
  CudaAutocastSuspended(const CudaAutocastSuspended&) = delete;
  CudaAutocastSuspended& operator=(const CudaAutocastSuspended&) = delete;

 private:
  c10::impl::ExcludeDispatchKeyGuard guard_{c10::DispatchKey::AutocastCUDA};
};

// Scaled dot-product attention softmax(q k^T / sqrt(dh)) v over [B, heads, L, dh], with dropout on
// the weights: 2.x's public op (fused flash / memory-efficient kernels on CUDA), 1.13's private one.
inline torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                  const torch::Tensor& v, double dropout_p) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, {}, dropout_p, /*is_causal=*/false);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v, {}, dropout_p, /*need_attn_weights=*/false,
                                                       /*is_causal=*/false));
#endif
}

// Which kernels scaled_dot_product_attention may choose among on CUDA (LibTorch 2.4+; each allowed
// by default, and LibTorch takes the first that fits the inputs in its own order of preference).
// For benchmarks that compare them; LibTorch 1.13 chooses for itself and this does nothing there.
inline void allow_sdp_kernels(bool flash, bool efficient, bool cudnn, bool math) {
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 4
  at::globalContext().setSDPUseFlash(flash);
  at::globalContext().setSDPUseMemEfficient(efficient);
  at::globalContext().setSDPUseCuDNN(cudnn);
  at::globalContext().setSDPUseMath(math);
#else
  (void)flash, (void)efficient, (void)cudnn, (void)math;
#endif
}

// RAII scope for autocast on one device type.
class AutocastScope {
 public:
  AutocastScope(torch::DeviceType device, torch::ScalarType dtype, bool enabled)
      : device_(device), enabled_(enabled) {
    if (enabled_) set_autocast(device_, true, dtype);
  }
  ~AutocastScope() {
    if (enabled_) set_autocast(device_, false, torch::kFloat);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  torch::DeviceType device_;
  bool enabled_;
};

// Waits for every queued kernel on `device` (no-op on the CPU): timings must include the work.
inline void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

// The key of parameter p in torch::optim::Optimizer::state(): a string of its TensorImpl's address
// in LibTorch 1.13, the address itself in later versions; chosen from the map's key type.
template <typename StateMap>
typename StateMap::key_type optimizer_state_key(const StateMap&, const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// AdamW on many tensors in one multi-tensor kernel (LibTorch 2.2+ on CUDA: `_fused_adamw_` with the
// learning rate as a float32 device scalar, so a captured CUDA graph reads each replay's value, and
// a per-tensor float32 step count on the device). Each gradient is divided by `grad_scale` (a
// float32 device scalar) first, and written back divided, when it is given. LibTorch 1.13 has no
// fused AdamW: kFusedAdamW is false there and the call throws (callers check the constant first).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
constexpr bool kFusedAdamW = true;
#else
constexpr bool kFusedAdamW = false;
#endif

inline void fused_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                        const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                        const std::vector<torch::Tensor>& steps, const torch::Tensor& lr, double beta1, double beta2,
                        double weight_decay, double eps, const torch::Tensor& grad_scale) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  const c10::optional<torch::Tensor> scale = grad_scale.defined() ? c10::optional<torch::Tensor>(grad_scale) : c10::nullopt;
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, lr, beta1, beta2, weight_decay, eps,
                    /*amsgrad=*/false, /*maximize=*/false, scale, /*found_inf=*/c10::nullopt);
#else
  (void)params, (void)grads, (void)exp_avgs, (void)exp_avg_sqs, (void)steps, (void)lr, (void)beta1, (void)beta2;
  (void)weight_decay, (void)eps, (void)grad_scale;
  throw std::logic_error("fused AdamW needs LibTorch 2.2 or later");
#endif
}

// Whether this build can read the CUDA caching allocator's byte counters.
constexpr bool kCudaAllocatorStats = SPIKECAST_CUDA_ALLOCATOR_STATS != 0;

// Bytes held by live tensors on CUDA device `index`, now and at the peak since the last reset
// (what PyTorch's torch.cuda.memory_allocated / max_memory_allocated report); -1 without stats.
struct CudaAllocated {
  int64_t current = -1;
  int64_t peak = -1;
  int64_t reserved_peak = -1;  // bytes the allocator held from the driver at its peak (live + cached)
};

inline CudaAllocated cuda_allocated(int index) {
  CudaAllocated out;
#if SPIKECAST_CUDA_ALLOCATOR_STATS
  // StatType moved from c10::cuda::CUDACachingAllocator to c10::CachingDeviceAllocator in 2.x;
  // its AGGREGATE (all pools) is index 0 in both.
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  const auto& bytes = stats.allocated_bytes[0];
  out.current = bytes.current;
  out.peak = bytes.peak;
  out.reserved_peak = stats.reserved_bytes[0].peak;
#else
  (void)index;
#endif
  return out;
}

// Starts a new peak window for cuda_allocated(index).peak.
inline void cuda_reset_peak(int index) {
#if SPIKECAST_CUDA_ALLOCATOR_STATS
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

// The sizes (bytes, rounded as the allocator rounds them) of the blocks live tensors hold on CUDA
// device `index` now, from the allocator's snapshot: a vector of segments in 1.13, a SnapshotInfo
// with one in 2.x. Empty without allocator statistics.
inline std::vector<int64_t> cuda_live_block_sizes(int index) {
  std::vector<int64_t> out;
#if SPIKECAST_CUDA_ALLOCATOR_STATS
#if TORCH_VERSION_MAJOR >= 2
  const auto segments = c10::cuda::CUDACachingAllocator::snapshot().segments;
#else
  const auto segments = c10::cuda::CUDACachingAllocator::snapshot();
#endif
  for (const auto& segment : segments) {
    if (static_cast<int>(segment.device) != index) continue;
    for (const auto& block : segment.blocks)
      if (block.allocated) out.push_back(static_cast<int64_t>(block.size));
  }
#else
  (void)index;
#endif
  return out;
}

// Hands a CUDA graph's private memory pool back to the caching allocator (the pool of a capture that
// failed, which the graph itself never releases): releasePool in 2.x, notifyCaptureDestroy in 1.13.
template <typename PoolId>
inline void cuda_release_graph_pool(int index, PoolId pool) {
#if SPIKECAST_CUDA_ALLOCATOR_STATS
#if TORCH_VERSION_MAJOR >= 2
  c10::cuda::CUDACachingAllocator::releasePool(static_cast<c10::DeviceIndex>(index), pool);
#else
  c10::cuda::CUDACachingAllocator::notifyCaptureDestroy(index, pool);
#endif
#else
  (void)index;
  (void)pool;
#endif
}

}  // namespace spikecast::compat
