#include "models/recurrent_tiled_cuda.h"

#include "models/cuda_device_attributes.h"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

namespace spikecast::models::cuda_tiled {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kWarps = 16;
constexpr int kThreads = kWarps * 32;
constexpr int kTile = 16;                      // the WMMA tile: 16 x 16 x 16
constexpr int kRowTiles = kTileRows / kTile;   // row tiles per block
constexpr int kPadHalves = 8;                  // added to each shared row of h (bank spread)
constexpr int kPadFloats = 4;                  // added to each shared row of the gate products

using half = __half;

// One MUFU instruction each (tanh.approx.f32, sm_75+; relative error below 2^-10, about float16's
// precision, which h is kept in); sigmoid(x) = (1 + tanh(x / 2)) / 2.
__device__ __forceinline__ float tanh_fast(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float sigmoid(float x) { return fmaf(0.5f, tanh_fast(0.5f * x), 0.5f); }

__host__ __device__ constexpr int gates_of(Cell cell) { return cell == Cell::kLstm ? 4 : 3; }

// Shared memory of a block, in bytes from the start: h [2][kTileRows][H + kPadHalves] half
// (double-buffered: a step reads one and writes the other), the step's gate products
// [kTileRows][G + kPadFloats] float, and the input projections [2][kTileRows][G] half (this step's
// and the next, which arrives while this one computes).
struct SharedLayout {
  int ld_h = 0, ld_g = 0;
  size_t h = 0, gates = 0, x = 0, bytes = 0;
};

SharedLayout shared_layout(Cell cell, int hidden) {
  SharedLayout s;
  const int g = gates_of(cell) * hidden;
  s.ld_h = hidden + kPadHalves;
  s.ld_g = g + kPadFloats;
  s.h = 0;
  s.gates = s.h + 2u * kTileRows * s.ld_h * sizeof(half);
  s.x = s.gates + static_cast<size_t>(kTileRows) * s.ld_g * sizeof(float);
  s.bytes = s.x + 2u * kTileRows * g * sizeof(half);
  return s;
}

// Copies one step's input projections of the block's windows, [kTileRows][G] half, into shared
// memory asynchronously (16 bytes per copy; rows past the batch repeat its last window, whose result
// is never written).
template <int G>
__device__ __forceinline__ void fetch_step(half* dst, const half* xp, int batch, int steps, int t, int tile0) {
  constexpr int kChunks = kTileRows * G / 8;
  for (int c = static_cast<int>(threadIdx.x); c < kChunks; c += kThreads) {
    const int row = c / (G / 8), col = (c % (G / 8)) * 8;
    const int b = min(tile0 + row, batch - 1);
    __pipeline_memcpy_async(dst + row * G + col, xp + (static_cast<int64_t>(b) * steps + t) * G + col, 16);
  }
  __pipeline_commit();
}

// Blocks: (ceil(B / kTileRows), directions). Each step has two phases.
// Products: the NG * H/16 gate tiles (gate g, hidden units 16u..16u+15) are spread over the warps,
// at most two each; a warp keeps its tiles' W_hh fragments in registers for all steps and computes
// them for every window of the block (h from shared memory), into the shared gate products.
// Element-wise: each thread owns H/32 pairs of neighbouring hidden units of fixed columns (so its
// biases and its state, c or the GRU's h, stay in registers) and updates them from the gate products
// and the step's input projections, which were copied in during the previous step.
template <Cell kCell, int H>
__global__ void __launch_bounds__(kThreads, 1)
    tiled_layer(int batch, int steps, Direction d0, Direction d1, SharedLayout lay) {
  constexpr int NG = gates_of(kCell);
  constexpr int G = NG * H;
  constexpr int kUnitTiles = H / kTile;
  constexpr int kGateTiles = NG * kUnitTiles;
  constexpr int kTilesPerWarp = (kGateTiles + kWarps - 1) / kWarps;
  constexpr int kK = H / kTile;                          // k steps of a product
  constexpr int kPairsPerThread = kTileRows * H / 2 / kThreads;
  static_assert(kTilesPerWarp <= 2, "W_hh fragments of at most two tiles per warp");
  static_assert(kPairsPerThread >= 1 && (kTileRows * H / 2) % kThreads == 0, "whole pairs per thread");
  static_assert(kThreads % (H / 2) == 0, "a thread's columns are the same in every pair");

  extern __shared__ __align__(128) unsigned char smem[];
  half* h_s = reinterpret_cast<half*>(smem + lay.h);
  float* gates_s = reinterpret_cast<float*>(smem + lay.gates);
  half* x_s = reinterpret_cast<half*>(smem + lay.x);
  const int ld_h = lay.ld_h, ld_g = lay.ld_g;

  const Direction dir = blockIdx.y == 0 ? d0 : d1;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int tile0 = static_cast<int>(blockIdx.x) * kTileRows;
  const half* xp = reinterpret_cast<const half*>(dir.xp);
  half* out = reinterpret_cast<half*>(dir.out);

  fetch_step<G>(x_s, xp, batch, steps, dir.reverse ? steps - 1 : 0, tile0);

  // The warp's gate tiles and their W_hh fragments (B = W_hh^T: column n of B is row n of W_hh).
  using BFrag = wmma::fragment<wmma::matrix_b, kTile, kTile, kTile, half, wmma::col_major>;
  BFrag w[kTilesPerWarp][kK];
  int tile_col[kTilesPerWarp];  // first gate column of each tile, or -1
  const half* w_g = reinterpret_cast<const half*>(dir.w_hh);
#pragma unroll
  for (int i = 0; i < kTilesPerWarp; ++i) {
    const int tile = warp + i * kWarps;
    tile_col[i] = tile < kGateTiles ? tile * kTile : -1;  // tile = g * kUnitTiles + u: column g H + 16 u
    if (tile_col[i] >= 0) {
#pragma unroll
      for (int kk = 0; kk < kK; ++kk) wmma::load_matrix_sync(w[i][kk], w_g + tile_col[i] * H + kk * kTile, H);
    }
  }

  // The thread's pairs: pair q = threadIdx.x + kThreads * i is row q / (H/2), columns 2 (q % (H/2)) + 0, 1.
  const int col = 2 * (static_cast<int>(threadIdx.x) % (H / 2));
  const int row_first = static_cast<int>(threadIdx.x) / (H / 2), row_step = kThreads / (H / 2);
  constexpr int kHiddenBiases = kCell == Cell::kGru ? NG : 1;  // b_hh: the GRU's only
  float b_in[NG][2], b_hh[kHiddenBiases][2];
#pragma unroll
  for (int g = 0; g < NG; ++g)
#pragma unroll
    for (int o = 0; o < 2; ++o) {
      b_in[g][o] = dir.b_in[g * H + col + o];
      if constexpr (kCell == Cell::kGru) b_hh[g][o] = dir.b_hh[g * H + col + o];
    }
  float state[kPairsPerThread][2];
#pragma unroll
  for (int i = 0; i < kPairsPerThread; ++i) state[i][0] = state[i][1] = 0.0f;
  for (int i = static_cast<int>(threadIdx.x); i < 2 * kTileRows * ld_h; i += kThreads) h_s[i] = __float2half(0.0f);
  __syncthreads();

  for (int s = 0; s < steps; ++s) {
    const int t = dir.reverse ? steps - 1 - s : s;
    const half* h_cur = h_s + (s & 1) * kTileRows * ld_h;
    half* h_next = h_s + ((s + 1) & 1) * kTileRows * ld_h;
    const half* x_cur = x_s + (s & 1) * kTileRows * G;
    // The next step's input projections, into the buffer the previous step read.
    if (s + 1 < steps) fetch_step<G>(x_s + ((s + 1) & 1) * kTileRows * G, xp, batch, steps, dir.reverse ? t - 1 : t + 1, tile0);

    // Products: h W_hh^T for the warp's gate tiles, one row tile after the other.
    if (tile_col[0] >= 0) {
#pragma unroll
      for (int r = 0; r < kRowTiles; ++r) {
        wmma::fragment<wmma::accumulator, kTile, kTile, kTile, float> acc[kTilesPerWarp];
#pragma unroll
        for (int i = 0; i < kTilesPerWarp; ++i) wmma::fill_fragment(acc[i], 0.0f);
#pragma unroll
        for (int kk = 0; kk < kK; ++kk) {
          wmma::fragment<wmma::matrix_a, kTile, kTile, kTile, half, wmma::row_major> a;
          wmma::load_matrix_sync(a, h_cur + r * kTile * ld_h + kk * kTile, ld_h);
#pragma unroll
          for (int i = 0; i < kTilesPerWarp; ++i)
            if (tile_col[i] >= 0) wmma::mma_sync(acc[i], a, w[i][kk], acc[i]);
        }
#pragma unroll
        for (int i = 0; i < kTilesPerWarp; ++i)
          if (tile_col[i] >= 0)
            wmma::store_matrix_sync(gates_s + r * kTile * ld_g + tile_col[i], acc[i], ld_g, wmma::mem_row_major);
      }
    }
    if (s + 1 < steps) __pipeline_wait_prior(1); else __pipeline_wait_prior(0);  // this step's copies
    __syncthreads();

    // Element-wise.
#pragma unroll
    for (int i = 0; i < kPairsPerThread; ++i) {
      const int row = row_first + i * row_step;
      const float* pg = gates_s + row * ld_g + col;
      const half* px = x_cur + row * G + col;
      float gate[NG][2], x[NG][2];
#pragma unroll
      for (int g = 0; g < NG; ++g) {
        const float2 p = *reinterpret_cast<const float2*>(pg + g * H);
        const float2 xv = __half22float2(*reinterpret_cast<const __half2*>(px + g * H));
        gate[g][0] = p.x;
        gate[g][1] = p.y;
        if constexpr (kCell == Cell::kGru) {
          gate[g][0] += b_hh[g][0];
          gate[g][1] += b_hh[g][1];
        }
        x[g][0] = xv.x + b_in[g][0];
        x[g][1] = xv.y + b_in[g][1];
      }
      float hv[2];
#pragma unroll
      for (int o = 0; o < 2; ++o) {
        float& st = state[i][o];
        if constexpr (kCell == Cell::kLstm) {
          const float ig = sigmoid(x[0][o] + gate[0][o]);
          const float fg = sigmoid(x[1][o] + gate[1][o]);
          const float gg = tanh_fast(x[2][o] + gate[2][o]);
          const float og = sigmoid(x[3][o] + gate[3][o]);
          st = fg * st + ig * gg;
          hv[o] = og * tanh_fast(st);
        } else {
          const float rg = sigmoid(x[0][o] + gate[0][o]);
          const float zg = sigmoid(x[1][o] + gate[1][o]);
          const float ng = tanh_fast(x[2][o] + rg * gate[2][o]);
          st = (1.0f - zg) * ng + zg * st;
          hv[o] = st;
        }
      }
      const __half2 hh = __floats2half2_rn(hv[0], hv[1]);
      *reinterpret_cast<__half2*>(h_next + row * ld_h + col) = hh;
      const int b = tile0 + row;
      if (b < batch)
        *reinterpret_cast<__half2*>(out + static_cast<int64_t>(b) * dir.out_batch_stride +
                                    static_cast<int64_t>(t) * dir.out_step_stride + col) = hh;
    }
    __syncthreads();
  }
}

using Kernel = void (*)(int, int, Direction, Direction, SharedLayout);

template <Cell kCell>
Kernel kernel_for_width(int hidden) {
  switch (hidden) {
    case 32: return tiled_layer<kCell, 32>;
    case 64: return tiled_layer<kCell, 64>;
    case 128: return tiled_layer<kCell, 128>;
    default: return nullptr;
  }
}

Kernel kernel_for(const LayerShape& s) {
  return s.cell == Cell::kLstm ? kernel_for_width<Cell::kLstm>(s.hidden) : kernel_for_width<Cell::kGru>(s.hidden);
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("tiled recurrent CUDA kernel: ") + what + ": " + cudaGetErrorString(e));
}

// Lets `kernel` use `bytes` of shared memory on the current device (once per device and kernel).
void prepare(Kernel kernel, int device, size_t bytes) {
  static std::mutex mutex;
  static std::map<std::pair<int, Kernel>, size_t> done;
  std::lock_guard<std::mutex> lock(mutex);
  size_t& granted = done[{device, kernel}];
  if (granted >= bytes) return;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
        "shared memory");
  granted = bytes;
}

bool valid(const LayerShape& s) { return s.batch >= 1 && s.steps >= 1 && kernel_for(s) != nullptr; }

}  // namespace

bool supported(int device, const LayerShape& shape) {
  if (!valid(shape)) return false;
  const cuda_device::Attributes& d = cuda_device::attributes(device);
  return d.major >= 8 && shared_layout(shape.cell, shape.hidden).bytes <= static_cast<size_t>(d.smem_optin);
}

void run(const LayerShape& shape, const Direction* directions, int count, void* stream) {
  if (count < 1 || count > 2) throw std::runtime_error("tiled recurrent CUDA kernel: 1 or 2 directions expected");
  int device = 0;
  check(cudaGetDevice(&device), "device");
  if (!supported(device, shape)) throw std::runtime_error("tiled recurrent CUDA kernel: shape not supported here");
  for (int i = 0; i < count; ++i)
    if (directions[i].xp == nullptr || directions[i].w_hh == nullptr || directions[i].b_in == nullptr ||
        directions[i].out == nullptr || (shape.cell == Cell::kGru && directions[i].b_hh == nullptr))
      throw std::runtime_error("tiled recurrent CUDA kernel: a direction lacks an input");
  const SharedLayout lay = shared_layout(shape.cell, shape.hidden);
  const Kernel kernel = kernel_for(shape);
  prepare(kernel, device, lay.bytes);
  const dim3 grid(static_cast<unsigned>((shape.batch + kTileRows - 1) / kTileRows), static_cast<unsigned>(count));
  kernel<<<grid, kThreads, lay.bytes, static_cast<cudaStream_t>(stream)>>>(shape.batch, shape.steps, directions[0],
                                                                           directions[count - 1], lay);
  check(cudaGetLastError(), "launch");
}

}  // namespace spikecast::models::cuda_tiled
