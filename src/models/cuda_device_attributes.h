// Host-side facts about a CUDA device that the recurrent kernels check before a launch, queried once
// per device. Plain CUDA runtime (no LibTorch); included by the .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <mutex>

namespace spikecast::models::cuda_device {

// compute(device) once per device and T, thread-safe (computed outside the lock, so that it may
// take other locks); the same reference afterwards.
template <typename T, typename Compute>
const T& once_per_device(int device, Compute compute) {
  static std::mutex mutex;
  static std::map<int, T> known;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(device);
    if (it != known.end()) return it->second;
  }
  T value = compute(device);
  std::lock_guard<std::mutex> lock(mutex);
  return known.emplace(device, value).first->second;
}

struct Attributes {
  int major = 0;       // compute capability; 0 when the query fails
  int smem_optin = 0;  // bytes of shared memory a block may opt in to
};

inline const Attributes& attributes(int device) {
  return once_per_device<Attributes>(device, [](int d) {
    Attributes a;
    if (cudaDeviceGetAttribute(&a.major, cudaDevAttrComputeCapabilityMajor, d) != cudaSuccess) a.major = 0;
    if (cudaDeviceGetAttribute(&a.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, d) != cudaSuccess)
      a.smem_optin = 0;
    return a;
  });
}

}  // namespace spikecast::models::cuda_device
