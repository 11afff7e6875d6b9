// The tensor-core recurrent layer kernel alone (models/recurrent_tiled_cuda.h), without LibTorch: one
// LSTM direction of 100 steps at several widths and batches, timed with CUDA events over 10 launches
// after 3 warm-up launches (inputs are zeros: the kernel's time does not depend on the values).
// Prints one JSON object per line. Built only with nvcc (SPIKECAST_CUDA_KERNELS).
// Usage: tiled_kernel_bench [hidden batch steps]
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "models/recurrent_tiled_cuda.h"

namespace {

using spikecast::models::cuda_tiled::Cell;
using spikecast::models::cuda_tiled::Direction;
using spikecast::models::cuda_tiled::LayerShape;

void check(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(cudaGetErrorString(e));
}

// A zeroed device buffer of `bytes`, freed at scope exit.
struct Buffer {
  void* p = nullptr;
  explicit Buffer(size_t bytes) {
    check(cudaMalloc(&p, bytes));
    check(cudaMemset(p, 0, bytes));
  }
  ~Buffer() { cudaFree(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

double kernel_us(int hidden, int batch, int steps) {
  const size_t gates = 4u * hidden;
  Buffer xp(static_cast<size_t>(batch) * steps * gates * sizeof(__half)), w(gates * hidden * sizeof(__half)),
      out(static_cast<size_t>(batch) * steps * hidden * sizeof(__half)), bias(gates * sizeof(float));
  Direction d;
  d.xp = static_cast<const uint16_t*>(xp.p);
  d.w_hh = static_cast<const uint16_t*>(w.p);
  d.b_in = static_cast<const float*>(bias.p);
  d.out = static_cast<uint16_t*>(out.p);
  d.out_batch_stride = static_cast<int64_t>(steps) * hidden;
  d.out_step_stride = hidden;
  const LayerShape shape{Cell::kLstm, batch, steps, hidden};
  for (int i = 0; i < 3; ++i) spikecast::models::cuda_tiled::run(shape, &d, 1, nullptr);
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start));
  check(cudaEventCreate(&stop));
  check(cudaEventRecord(start));
  constexpr int kRuns = 10;
  for (int i = 0; i < kRuns; ++i) spikecast::models::cuda_tiled::run(shape, &d, 1, nullptr);
  check(cudaEventRecord(stop));
  check(cudaEventSynchronize(stop));
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms * 1000.0 / kRuns;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> hidden{32, 64, 128}, batch{64, 4096, 8192}, steps{100};
  if (argc > 3) {
    hidden = {std::atoi(argv[1])};
    batch = {std::atoi(argv[2])};
    steps = {std::atoi(argv[3])};
  }
  try {
    for (int h : hidden)
      for (int b : batch)
        for (int t : steps) {
          const double us = kernel_us(h, b, t);
          std::printf("{\"cell\": \"lstm\", \"hidden\": %d, \"batch\": %d, \"steps\": %d, \"kernel_us\": %.1f, "
                      "\"us_per_step\": %.2f, \"windows_per_s\": %.0f}\n",
                      h, b, t, us, us / t, b / us * 1e6);
        }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiled_kernel_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
