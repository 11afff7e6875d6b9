// The forecast frame's per-window normalisation (models/forecast_frame.h) as one CUDA kernel for
// float32 windows: each channel of each window centred (its last value or its mean) and divided by
// sqrt(population variance + eps). One thread block a window: the window is read once into shared
// memory, each channel's statistics are taken there (mean, then the variance about it), and the
// normalised window is written once. LibTorch's ops (a variance reduction, an add, a square root, a
// subtraction and a division) took 124 us of a member's forward at batch 8192 (13 channels, 100
// steps) on an H200, the same in every member. Plain CUDA (no LibTorch); forecast_frame.cc prepares
// the tensors.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_window_norm {

// Whether one window of length x channels float32 values fits the kernel's shared memory (48 KiB).
bool supported(int64_t length, int64_t channels);

struct Forward {
  int64_t windows = 0;
  int length = 0;
  int channels = 0;
  bool center_last = true;  // the window's last value; false: its mean
  bool scale = true;        // divide by sqrt(variance + eps); false: by 1
  float eps = 1e-5f;
  const float* x = nullptr;  // [windows, length, channels]
  float* y = nullptr;        // [windows, length, channels]: (x - center) / scale
  float* center = nullptr;   // [windows, channels]
  float* scale_out = nullptr;  // [windows, channels]
};

// Launch on `stream` (a cudaStream_t), asynchronously; std::runtime_error on a bad argument or a
// failed launch.
void run(const Forward& f, void* stream);

}  // namespace spikecast::models::cuda_window_norm
