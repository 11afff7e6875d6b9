// The tensor-core recurrent layer kernels alone (models/recurrent_tiled_cuda.h), without LibTorch: one
// direction of 100 steps for each cell (LSTM, GRU), width and batch, in five modes: `infer` (the
// inference forward), `train` (the training forward, which also writes what backward reads),
// `backward` (from the training forward's outputs), and `infer_fused` / `train_fused` (the forwards
// that read 16 inputs a step and multiply them by W_ih themselves, Direction::x). Inputs are
// pseudo-random with a fixed seed, so
// `checksum` (FNV-1a over the outputs, the backward's bias sums left out) is the same for every build
// whose arithmetic is the same: comparing it across two builds checks a change that only reorders work.
// Time: CUDA events over 10 launches after 3 warm-up launches. Prints one JSON object per line.
// Built only with nvcc (SPIKECAST_CUDA_KERNELS); it also builds alone:
//   nvcc -O3 -std=c++17 -arch=sm_90 -I src bench/tiled_kernel_bench.cu src/models/recurrent_tiled_cuda.cu
// Usage: tiled_kernel_bench [cell hidden batch steps], cell lstm or gru.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/recurrent_tiled_cuda.h"

namespace {

namespace tiled = spikecast::models::cuda_tiled;

void check(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(cudaGetErrorString(e));
}

// A device buffer of `count` elements of T, freed at scope exit.
template <typename T>
struct Buffer {
  T* p = nullptr;
  size_t count = 0;
  explicit Buffer(size_t n) : count(n) {
    check(cudaMalloc(&p, n * sizeof(T)));
    check(cudaMemset(p, 0, n * sizeof(T)));
  }
  ~Buffer() { cudaFree(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint16_t* bits() { return reinterpret_cast<uint16_t*>(p); }
};

// Element i of a stream: uniform in [-scale, scale), from a hash of (seed, i), the same on every machine.
__host__ __device__ inline float uniform(uint64_t seed, uint64_t i, float scale) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return scale * (static_cast<float>(z >> 40) / 8388608.0f - 1.0f);
}

template <typename T>
__device__ T from_float(float v);
template <>
__device__ __half from_float<__half>(float v) { return __float2half(v); }
template <>
__device__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <>
__device__ float from_float<float>(float v) { return v; }

template <typename T>
__global__ void fill_kernel(T* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = from_float<T>(uniform(seed, i, scale));
}

// Fills a buffer with its own stream of the seed sequence (`stream` counts the buffers filled).
struct Uniform {
  uint64_t seed;
  explicit Uniform(uint64_t s) : seed(s) {}
  template <typename T>
  void operator()(Buffer<T>& b, float scale) {
    fill_kernel<<<1024, 256>>>(b.p, b.count, seed, scale);
    check(cudaGetLastError());
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
  }
};

template <typename T>
void fill(Buffer<T>& b, Uniform& u, float scale) { u(b, scale); }

// FNV-1a over a device buffer's bytes.
template <typename T>
uint64_t digest(const Buffer<T>& b, uint64_t h = 1469598103934665603ull) {
  std::vector<unsigned char> host(b.count * sizeof(T));
  check(cudaMemcpy(host.data(), b.p, host.size(), cudaMemcpyDeviceToHost));
  for (unsigned char c : host) h = (h ^ c) * 1099511628211ull;
  return h;
}

double time_us(const std::function<void()>& launch) {
  for (int i = 0; i < 3; ++i) launch();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start));
  check(cudaEventCreate(&stop));
  check(cudaEventRecord(start));
  constexpr int kRuns = 10;
  for (int i = 0; i < kRuns; ++i) launch();
  check(cudaEventRecord(stop));
  check(cudaEventSynchronize(stop));
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms * 1000.0 / kRuns;
}

void print(const char* cell, const char* mode, int hidden, int batch, int steps, double us, uint64_t sum) {
  std::printf("{\"cell\": \"%s\", \"mode\": \"%s\", \"hidden\": %d, \"batch\": %d, \"steps\": %d, \"kernel_us\": %.1f, "
              "\"us_per_step\": %.2f, \"windows_per_s\": %.0f, \"checksum\": \"%016llx\"}\n",
              cell, mode, hidden, batch, steps, us, us / steps, batch / us * 1e6, static_cast<unsigned long long>(sum));
  std::fflush(stdout);
}

// All three modes for one shape.
void bench(tiled::Cell cell, int hidden, int batch, int steps) {
  const bool lstm = cell == tiled::Cell::kLstm;
  const char* name = lstm ? "lstm" : "gru";
  const size_t g = (lstm ? 4u : 3u) * hidden, rows = static_cast<size_t>(batch) * steps;
  const tiled::LayerShape shape{cell, batch, steps, hidden};
  Uniform u(0x5eed0000u + hidden * 7u + (lstm ? 1u : 2u));
  Buffer<float> b_in(g), b_hh(g);
  fill(b_in, u, 0.1f);
  fill(b_hh, u, 0.1f);
  // One direction over [B, T, .] arrays: projections xp, weights w_hh, output out.
  const auto direction = [&](uint16_t* xp, uint16_t* w_hh, uint16_t* out) {
    tiled::Direction d;
    d.xp = xp;
    d.w_hh = w_hh;
    d.b_in = b_in.p;
    d.b_hh = lstm ? nullptr : b_hh.p;
    d.out = out;
    d.out_batch_stride = static_cast<int64_t>(steps) * hidden;
    d.out_step_stride = hidden;
    return d;
  };

  {  // inference: float16 in and out
    Buffer<__half> xp(rows * g), w(g * hidden), out(rows * hidden);
    fill(xp, u, 1.0f);
    fill(w, u, 0.15f);
    const tiled::Direction d = direction(xp.bits(), w.bits(), out.bits());
    const double us = time_us([&] { tiled::run(shape, &d, 1, nullptr); });
    print(name, "infer", hidden, batch, steps, us, digest(out));
  }
  {  // inference with the input projection inside: 16 inputs a step, W_ih [G, 16]
    Buffer<__half> x(rows * tiled::kFusedInputs), w_ih(g * tiled::kFusedInputs), w(g * hidden), out(rows * hidden);
    Uniform uf(u.seed ^ 0xf05edu);  // its own stream: the other modes' inputs stay as they were
    fill(x, uf, 1.0f);
    fill(w_ih, uf, 0.25f);
    fill(w, uf, 0.15f);
    tiled::Direction d = direction(nullptr, w.bits(), out.bits());
    d.x = x.bits();
    d.w_ih = w_ih.bits();
    const double us = time_us([&] { tiled::run(shape, &d, 1, nullptr); });
    print(name, "infer_fused", hidden, batch, steps, us, digest(out));
  }

  // training: bfloat16 projections and output, then backward from what the forward kept
  Buffer<__nv_bfloat16> xp(rows * g), w(g * hidden), out(rows * hidden), h_prev(rows * hidden), dy(rows * hidden),
      dg_in(rows * g), dg_hidden(lstm ? 1 : rows * g);
  Buffer<__half> w16(g * hidden), act(rows * g), state(rows * hidden);
  fill(xp, u, 1.0f);
  fill(w16, u, 0.15f);
  fill(w, u, 0.15f);
  fill(dy, u, 0.01f);
  tiled::Direction d = direction(xp.bits(), w16.bits(), out.bits());
  d.act = act.bits();
  (lstm ? d.c : d.hn) = state.bits();
  d.h_prev = h_prev.bits();
  const double train_us = time_us([&] { tiled::run(shape, &d, 1, nullptr); });
  const auto training_outputs = [&] { return digest(h_prev, digest(state, digest(act, digest(out)))); };
  print(name, "train", hidden, batch, steps, train_us, training_outputs());
  {  // the training forward with the input projection inside, into the same outputs
    Buffer<__nv_bfloat16> x(rows * tiled::kFusedInputs), w_ih(g * tiled::kFusedInputs);
    Uniform uf(u.seed ^ 0xf05edu);
    fill(x, uf, 1.0f);
    fill(w_ih, uf, 0.25f);
    tiled::Direction f = d;
    f.xp = nullptr;
    f.x = x.bits();
    f.w_ih = w_ih.bits();
    const double us = time_us([&] { tiled::run(shape, &f, 1, nullptr); });
    print(name, "train_fused", hidden, batch, steps, us, training_outputs());
    tiled::run(shape, &d, 1, nullptr);  // backward reads the unfused forward's outputs
  }

  Buffer<float> db(static_cast<size_t>(tiled::backward_blocks(shape)) * (g + (lstm ? 0 : hidden)));
  tiled::BackwardDirection bd;
  bd.act = act.bits();
  (lstm ? bd.c : bd.hn) = state.bits();
  bd.h_prev = lstm ? nullptr : h_prev.bits();
  bd.dy = dy.bits();
  bd.w_hh = w.bits();
  bd.dg_in = dg_in.bits();
  bd.dg_hidden = lstm ? nullptr : dg_hidden.bits();
  bd.db_blocks = db.p;
  const double backward_us = time_us([&] { tiled::run_backward(shape, bd, nullptr); });
  // Not the bias sums: each block adds its threads' sums with shared-memory atomics, in no fixed order.
  const uint64_t sum = digest(dg_in);
  print(name, "backward", hidden, batch, steps, backward_us, lstm ? sum : digest(dg_hidden, sum));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> cells{"lstm", "gru"};
  std::vector<int> hidden{32, 64, 128}, batch{64, 4096, 8192}, steps{100};
  if (argc > 4) {
    cells = {argv[1]};
    hidden = {std::atoi(argv[2])};
    batch = {std::atoi(argv[3])};
    steps = {std::atoi(argv[4])};
  }
  try {
    for (const std::string& c : cells) {
      if (c != "lstm" && c != "gru") throw std::runtime_error("cell must be lstm or gru, not " + c);
      for (int h : hidden)
        for (int b : batch)
          for (int t : steps) bench(c == "lstm" ? tiled::Cell::kLstm : tiled::Cell::kGru, h, b, t);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiled_kernel_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
