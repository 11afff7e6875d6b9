#include "models/window_norm_cuda.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace spikecast::models::cuda_window_norm {
namespace {

constexpr int kThreads = 128;
constexpr int64_t kMaxValues = 48 * 1024 / 4 - 2 * 64;  // the window and two rows of statistics

__global__ void __launch_bounds__(kThreads) normalize_windows(Forward f) {
  extern __shared__ float window[];  // [length * channels], then center [channels], scale [channels]
  const int channels = f.channels, n = f.length * channels;
  float* center = window + n;
  float* scale = center + channels;
  const int64_t w = blockIdx.x;
  const float* x = f.x + w * n;
  for (int i = threadIdx.x; i < n; i += kThreads) window[i] = x[i];
  __syncthreads();
  for (int c = threadIdx.x; c < channels; c += kThreads) {
    float sum = 0.f;
    for (int t = 0; t < f.length; ++t) sum += window[t * channels + c];
    const float mean = sum / static_cast<float>(f.length);
    float squares = 0.f;
    for (int t = 0; t < f.length; ++t) {
      const float d = window[t * channels + c] - mean;
      squares += d * d;
    }
    const float cen = f.center_last ? window[(f.length - 1) * channels + c] : mean;
    const float sc = f.scale ? sqrtf(squares / static_cast<float>(f.length) + f.eps) : 1.f;
    center[c] = cen;
    scale[c] = sc;
    f.center[w * channels + c] = cen;
    f.scale_out[w * channels + c] = sc;
  }
  __syncthreads();
  float* y = f.y + w * n;
  for (int i = threadIdx.x; i < n; i += kThreads) {
    const int c = i % channels;
    y[i] = (window[i] - center[c]) / scale[c];
  }
}

}  // namespace

bool supported(int64_t length, int64_t channels) {
  return length >= 1 && channels >= 1 && channels <= 64 && length * channels <= kMaxValues;
}

void run(const Forward& f, void* stream) {
  if (f.windows < 0 || !supported(f.length, f.channels) || !f.x || !f.y || !f.center || !f.scale_out)
    throw std::runtime_error("window norm kernel: bad arguments (length " + std::to_string(f.length) + ", channels " +
                             std::to_string(f.channels) + ")");
  if (f.windows == 0) return;
  const size_t shared = static_cast<size_t>(f.length * f.channels + 2 * f.channels) * sizeof(float);
  normalize_windows<<<static_cast<unsigned>(f.windows), kThreads, shared, static_cast<cudaStream_t>(stream)>>>(f);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string("window norm kernel: ") + cudaGetErrorString(e));
}

}  // namespace spikecast::models::cuda_window_norm
