// The one place where LibTorch 1.13 (Debian, CPU build) and LibTorch 2.x (GPU build) differ.
// Everything else in spikecast calls these helpers instead of the version-specific API.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <string>

#ifndef TORCH_VERSION_MAJOR
#include <torch/version.h>
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

}  // namespace spikecast::compat
