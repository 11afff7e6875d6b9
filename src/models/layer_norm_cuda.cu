#include "models/layer_norm_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace spikecast::models::cuda_norm {
namespace {

constexpr int kWarps = 8;  // rows a block handles at once: one per warp
constexpr int kThreads = kWarps * 32;
constexpr int kMaxBackwardBlocks = 1024;

// Two neighbouring 16-bit values as float2 and back (rounded to nearest).
template <typename T>
struct Pair;
template <>
struct Pair<__half> {
  using V = __half2;
  static __device__ __forceinline__ float2 load(V v) { return __half22float2(v); }
  static __device__ __forceinline__ V make(float a, float b) { return __floats2half2_rn(a, b); }
};
template <>
struct Pair<__nv_bfloat16> {
  using V = __nv_bfloat162;
  static __device__ __forceinline__ float2 load(V v) { return __bfloat1622float2(v); }
  static __device__ __forceinline__ V make(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Each warp takes rows in turn (row = its global index, then every total-warps rows); its lane holds
// kPer neighbouring values of the row (columns lane * kPer ...).
template <typename T, int kPer>
__global__ void __launch_bounds__(kThreads) forward_kernel(Forward f) {
  using P = Pair<T>;
  using V = typename P::V;
  constexpr int W = kPer * 32;
  constexpr int kPairs = kPer / 2;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int col0 = lane * kPer;
  const int64_t total_warps = static_cast<int64_t>(gridDim.x) * kWarps;
  const V* a = reinterpret_cast<const V*>(f.a);
  const V* b = reinterpret_cast<const V*>(f.b);
  V* y = reinterpret_cast<V*>(f.y);
  V* sum = reinterpret_cast<V*>(f.sum);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32; row < f.rows; row += total_warps) {
    const int64_t at = (row * W + col0) / 2;  // in pairs
    float v[kPer];
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      const float2 x = P::load(a[at + i]), r = P::load(b[at + i]);
      const V rounded = P::make(x.x + r.x, x.y + r.y);  // the sum in T, as an add in T leaves it
      if (sum != nullptr) sum[at + i] = rounded;
      const float2 t = P::load(rounded);
      v[2 * i] = t.x;
      v[2 * i + 1] = t.y;
      s += t.x + t.y;
    }
    const float mean = warp_sum(s) / W;
    float q = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) q += (v[i] - mean) * (v[i] - mean);
    const float rstd = rsqrtf(warp_sum(q) / W + f.eps);
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      const int c = col0 + 2 * i;
      y[at + i] = P::make((v[2 * i] - mean) * rstd * f.weight[c] + f.bias[c],
                          (v[2 * i + 1] - mean) * rstd * f.weight[c + 1] + f.bias[c + 1]);
    }
    if (f.mean != nullptr && lane == 0) {
      f.mean[row] = mean;
      f.rstd[row] = rstd;
    }
  }
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy * weight, xhat = (x - mean) rstd; the
// weight's gradient sums dy xhat over rows, the bias's dy. Each lane keeps its columns' sums in
// registers, the block adds its warps' in shared memory and writes one row of `partial`.
template <typename T, int kPer>
__global__ void __launch_bounds__(kThreads) backward_kernel(Backward bw) {
  using P = Pair<T>;
  using V = typename P::V;
  constexpr int W = kPer * 32;
  constexpr int kPairs = kPer / 2;
  __shared__ float part[kWarps][2 * W];
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const int col0 = lane * kPer;
  const int64_t total_warps = static_cast<int64_t>(gridDim.x) * kWarps;
  const V* dy = reinterpret_cast<const V*>(bw.dy);
  const V* x = reinterpret_cast<const V*>(bw.sum);
  V* dx = reinterpret_cast<V*>(bw.dx);
  float w[kPer], dw[kPer], db[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    w[i] = bw.weight[col0 + i];
    dw[i] = db[i] = 0.0f;
  }
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + warp; row < bw.rows; row += total_warps) {
    const int64_t at = (row * W + col0) / 2;
    const float mean = bw.mean[row], rstd = bw.rstd[row];
    float g[kPer], xh[kPer];
    float sg = 0.0f, sgx = 0.0f;
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      const float2 d = P::load(dy[at + i]), xv = P::load(x[at + i]);
      const float dv[2] = {d.x, d.y}, xs[2] = {xv.x, xv.y};
#pragma unroll
      for (int o = 0; o < 2; ++o) {
        const int k = 2 * i + o;
        xh[k] = (xs[o] - mean) * rstd;
        g[k] = dv[o] * w[k];
        sg += g[k];
        sgx += g[k] * xh[k];
        dw[k] += dv[o] * xh[k];
        db[k] += dv[o];
      }
    }
    const float mg = warp_sum(sg) / W, mgx = warp_sum(sgx) / W;
#pragma unroll
    for (int i = 0; i < kPairs; ++i)
      dx[at + i] = P::make(rstd * (g[2 * i] - mg - xh[2 * i] * mgx), rstd * (g[2 * i + 1] - mg - xh[2 * i + 1] * mgx));
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    part[warp][col0 + i] = dw[i];
    part[warp][W + col0 + i] = db[i];
  }
  __syncthreads();
  for (int c = static_cast<int>(threadIdx.x); c < 2 * W; c += kThreads) {
    float t = 0.0f;
#pragma unroll
    for (int k = 0; k < kWarps; ++k) t += part[k][c];
    bw.partial[static_cast<int64_t>(blockIdx.x) * 2 * W + c] = t;
  }
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("layer norm CUDA kernel: ") + what + ": " + cudaGetErrorString(e));
}

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 4 == 0; }

// The kernel instance for the type and width, launched with `blocks` blocks on `stream`.
template <template <typename, int> class Kernel, typename Args>
void launch(Type type, int width, unsigned blocks, const Args& args, void* stream) {
  const auto go = [&](auto kernel) { kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(args); };
  const bool h = type == Type::kHalf;
  switch (width) {
    case 64: h ? go(Kernel<__half, 2>::kernel) : go(Kernel<__nv_bfloat16, 2>::kernel); return;
    case 128: h ? go(Kernel<__half, 4>::kernel) : go(Kernel<__nv_bfloat16, 4>::kernel); return;
    case 256: h ? go(Kernel<__half, 8>::kernel) : go(Kernel<__nv_bfloat16, 8>::kernel); return;
    case 512: h ? go(Kernel<__half, 16>::kernel) : go(Kernel<__nv_bfloat16, 16>::kernel); return;
    default: throw std::runtime_error("layer norm CUDA kernel: width " + std::to_string(width) + " not supported");
  }
}

template <typename T, int kPer>
struct ForwardKernel {
  static constexpr auto kernel = forward_kernel<T, kPer>;
};
template <typename T, int kPer>
struct BackwardKernel {
  static constexpr auto kernel = backward_kernel<T, kPer>;
};

}  // namespace

bool width_supported(int width) { return width == 64 || width == 128 || width == 256 || width == 512; }

int backward_blocks(int64_t rows) {
  return static_cast<int>(std::clamp<int64_t>((rows + kWarps - 1) / kWarps, 1, kMaxBackwardBlocks));
}

void run_forward(const Forward& f, void* stream) {
  if (f.rows < 1 || f.a == nullptr || f.b == nullptr || f.y == nullptr || f.weight == nullptr || f.bias == nullptr ||
      !aligned(f.a) || !aligned(f.b) || !aligned(f.y) || (f.sum != nullptr && !aligned(f.sum)) ||
      (f.sum != nullptr) != (f.mean != nullptr) || (f.mean != nullptr) != (f.rstd != nullptr))
    throw std::runtime_error("layer norm CUDA kernel: bad forward arguments");
  const int64_t blocks = (f.rows + kWarps - 1) / kWarps;
  if (blocks > 0x7fffffff) throw std::runtime_error("layer norm CUDA kernel: too many rows");
  launch<ForwardKernel>(f.type, f.width, static_cast<unsigned>(blocks), f, stream);
  check(cudaGetLastError(), "forward launch");
}

void run_backward(const Backward& b, void* stream) {
  if (b.rows < 1 || b.dy == nullptr || b.sum == nullptr || b.mean == nullptr || b.rstd == nullptr ||
      b.weight == nullptr || b.dx == nullptr || b.partial == nullptr || !aligned(b.dy) || !aligned(b.sum) ||
      !aligned(b.dx))
    throw std::runtime_error("layer norm CUDA kernel: bad backward arguments");
  launch<BackwardKernel>(b.type, b.width, static_cast<unsigned>(backward_blocks(b.rows)), b, stream);
  check(cudaGetLastError(), "backward launch");
}

}  // namespace spikecast::models::cuda_norm
