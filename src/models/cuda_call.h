// What the LibTorch side of spikecast's CUDA kernels shares (recurrent_inference.cc,
// recurrent_sequence_cuda.cc, residual_norm_cuda.cc): a 16-bit tensor's elements as the plain-CUDA
// kernels take them, a tensor aligned for them, a tensor's rows zero-padded to a width, the current
// stream of a tensor's card, a kernel call whose std::runtime_error becomes a ModelError, and the
// diagnostic switches that turn a kernel off. Internal to src/models; included only in builds with the
// CUDA kernels (SPIKECAST_WITH_CUDA_KERNELS).
#pragma once

#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace spikecast::models::cuda_call {

// A float16 or bfloat16 tensor's elements as their 16-bit patterns.
inline const uint16_t* bits(const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr()); }
inline uint16_t* bits(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// t, or a contiguous copy when its data does not begin on a 16-byte boundary (a view with an odd
// offset into its storage): the kernels read and write 16 or 4 bytes at a time.
inline torch::Tensor aligned(const torch::Tensor& t) {
  return reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0 ? t : t.clone(at::MemoryFormat::Contiguous);
}

// t with its last dimension padded with zeros to `width` (t itself when it is that wide already).
inline torch::Tensor zero_padded(const torch::Tensor& t, int64_t width) {
  return t.size(-1) >= width ? t : torch::constant_pad_nd(t, {0, width - t.size(-1)});
}

// The current CUDA stream of t's card, as the kernels' void* (a cudaStream_t).
inline void* stream_of(const torch::Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index()).stream();
}

// Whether a kernel's diagnostic switch (an environment variable, for measuring against LibTorch's
// path) leaves it on: anything but "0", or unset. Callers read it once and keep the answer.
inline bool switched_on(const char* variable) {
  const char* v = std::getenv(variable);
  return v == nullptr || std::string(v) != "0";
}

// call(); a kernel's std::runtime_error (a bad shape, a failed launch) becomes a ModelError.
template <typename Call>
void checked(Call&& call) {
  try {
    call();
  } catch (const std::runtime_error& e) {
    throw ModelError(e.what());
  }
}

}  // namespace spikecast::models::cuda_call
