#include "models/recurrent_tiled_cuda.h"

#include "models/cuda_device_attributes.h"
#include "models/mma_sync.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace spikecast::models::cuda_tiled {
namespace {

constexpr int kWarps = 16;  // of a backward block
constexpr int kThreads = kWarps * 32;
constexpr int kTile = 16;                      // rows and k of an mma.sync tile (m16n8k16)
constexpr int kRowTiles = kTileRows / kTile;   // row tiles per block
constexpr int kPadHalves = 8;  // added to each 16-bit shared row (h, inputs, staged outputs, dg): bank spread
// Added to each shared row of the backward's float32 partial sums: with rows 8 banks apart, the
// 64-bit stores of an accumulator (2 x 4 lanes a row, 8 rows) touch 32 different banks; with 4 they
// conflicted 3.3-way (Nsight Compute, docs/performance.md).
constexpr int kPadFloats = 8;

using mma_sync::bf16;
using mma_sync::half;
using mma_sync::load_a;
using mma_sync::load_pair;
using mma_sync::mma16;
using mma_sync::mma_bf16;
using mma_sync::mma_f16;
using mma_sync::store_pair;

// One MUFU instruction each (tanh.approx.f32, sm_75+; relative error below 2^-10, about float16's
// precision, which h is kept in); sigmoid(x) = (1 + tanh(x / 2)) / 2.
__device__ __forceinline__ float tanh_fast(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float sigmoid(float x) { return fmaf(0.5f, tanh_fast(0.5f * x), 0.5f); }

__host__ __device__ constexpr int gates_of(Cell cell) { return cell == Cell::kLstm ? 4 : 3; }

// The backward's product on the tensor cores through mma.sync directly (bfloat16 in, float32
// accumulation, m16n8k16): WMMA's loads of bfloat16 fragments from shared memory compiled to four
// 32-bit loads each (Nsight Compute: 194 shared-memory load requests a warp a step in the backward),
// where one ldmatrix loads the same A operand.
// The thread's B operand registers of a 16 x 16 tile of a row-major [K][ld] bfloat16 array, for its
// two 8-column blocks: {block 0 rows 2q, 2q + 1; block 0 rows 2q + 8, 2q + 9; block 1 ...; block 1 ...}
// at column lane / 4 of the block, q = lane % 4 (each register: the lower row in its low half).
__device__ __forceinline__ uint4 b_operand_bf16(const bf16* tile, int ld) {
  const int lane = static_cast<int>(threadIdx.x) % 32, n = lane / 4, k = 2 * (lane % 4);
  const uint16_t* t = reinterpret_cast<const uint16_t*>(tile);
  auto pack = [&](int row, int column) {
    return static_cast<uint32_t>(t[row * ld + column]) | (static_cast<uint32_t>(t[(row + 1) * ld + column]) << 16);
  };
  return make_uint4(pack(k, n), pack(k + 8, n), pack(k, n + 8), pack(k + 8, n + 8));
}

// ---- Forward ----
//
// A warp owns 8 hidden units (one 8-column block of the mma per gate) of one or more row tiles, so
// the element-wise work of a unit reads its gates straight from the warp's accumulator registers:
// lane l holds, for every gate, rows l / 4 and l / 4 + 8 of the tile at units 2 (l % 4) + 0, 1.
// The gate products never go through shared memory; each step is one product, the element-wise work
// on the registers, h written to shared memory for the next step, and one barrier.
constexpr int kUnitsPerWarp = 8;

__host__ __device__ constexpr int forward_unit_groups(int hidden) { return hidden / kUnitsPerWarp; }
// The row tiles of a block spread over up to 16 warps: at H = 128 one group of 16 warps takes both row
// tiles; at H = 64 each of two groups of 8 warps one row tile; at H = 32 two groups of 4.
__host__ __device__ constexpr int forward_row_groups(int hidden) {
  return forward_unit_groups(hidden) >= 16 ? 1
         : 16 / forward_unit_groups(hidden) < kRowTiles ? 16 / forward_unit_groups(hidden)
                                                         : kRowTiles;
}
__host__ __device__ constexpr int forward_threads(int hidden) {
  return 32 * forward_unit_groups(hidden) * forward_row_groups(hidden);
}
// How many k steps of a warp's W_hh fragments the forward keeps in shared memory rather than in
// registers (the last ones; [warps][step][gate][32 lanes] uint2, each lane's B operand registers).
// At H = 128 a warp's fragments are 64 (LSTM) or 48 (GRU) of the 128 registers a thread has at 512
// threads a block. ptxas, sm_90, spills a thread with none in shared memory: inference 24 (LSTM) and 8
// (GRU) bytes, training 76 and 12; with these, none (the LSTM's training forward then fills the 227 KiB
// a block can have). With the input projection inside (fused), one more: W_ih's fragments take its
// registers.
__host__ __device__ constexpr int forward_shared_k(Cell cell, int hidden, bool train, bool fused) {
  return hidden != 128 ? 0 : (!train ? 1 : cell == Cell::kLstm ? 3 : 2) + (fused ? (train ? 1 : 2) : 0);
}

// Shared memory of a block, in bytes from the start: h [2][kTileRows][H + kPadHalves] half
// (double-buffered: a step reads one and writes the other; the rows' padding spreads ldmatrix's rows
// over the banks), the input projections [2][kTileRows][G + kPadHalves] 16-bit (this step's and the
// next, which arrives while this one computes; padded so that a warp's 8 rows of 4-byte reads fall on
// different banks) or, fused, the inputs [2][kTileRows][kFusedInputs + kPadHalves], the training
// outputs staged [2][kTileRows][G + 2H + kPadHalves], and the W_hh fragments kept in shared memory.
struct SharedLayout {
  int ld_h = 0, ld_x = 0, ld_o = 0;
  size_t h = 0, x = 0, o = 0, w = 0, bytes = 0;
};

SharedLayout shared_layout(Cell cell, int hidden, bool train, bool fused) {
  SharedLayout s;
  const int g = gates_of(cell) * hidden;
  s.ld_h = hidden + kPadHalves;
  s.ld_x = (fused ? kFusedInputs : g) + kPadHalves;
  s.ld_o = train ? g + 2 * hidden + kPadHalves : 0;
  s.h = 0;
  s.x = s.h + 2u * kTileRows * s.ld_h * sizeof(half);
  s.o = s.x + 2u * kTileRows * s.ld_x * sizeof(half);
  s.w = s.o + 2u * kTileRows * s.ld_o * sizeof(half);
  s.bytes = s.w + static_cast<size_t>(forward_threads(hidden)) * forward_shared_k(cell, hidden, train, fused) * gates_of(cell) *
                      sizeof(uint2);
  return s;
}

// Copies step t of the block's windows from a batch-major [B, T, kRowBytes] array into shared memory
// [kTileRows][kDstRowBytes] asynchronously (16 bytes per copy; rows past the batch repeat its last
// window, whose result is never written). The caller commits the copies as one group.
template <int kRowBytes, int kThreadCount = kThreads, int kDstRowBytes = kRowBytes>
__device__ __forceinline__ void fetch_rows(void* dst, const void* src, int batch, int steps, int t, int tile0) {
  static_assert(kRowBytes % 16 == 0 && kDstRowBytes % 16 == 0, "whole 16-byte copies");
  constexpr int kChunksPerRow = kRowBytes / 16;
  unsigned char* d = static_cast<unsigned char*>(dst);
  const unsigned char* from = static_cast<const unsigned char*>(src);
#pragma unroll
  for (int i = 0; i < (kTileRows * kChunksPerRow + kThreadCount - 1) / kThreadCount; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * kThreadCount;
    if (c >= kTileRows * kChunksPerRow) break;
    const int row = c / kChunksPerRow, offset = (c % kChunksPerRow) * 16;
    const int b = min(tile0 + row, batch - 1);
    __pipeline_memcpy_async(d + row * kDstRowBytes + offset,
                            from + (static_cast<int64_t>(b) * steps + t) * kRowBytes + offset, 16);
  }
}

// One step's rows of the block's windows, [B, T, kWidth] 16-bit elements (the input projections, or
// fused the inputs), into [kTileRows][kWidth + kPadHalves] of shared memory, as one copy group.
template <int kWidth, int kThreadCount>
__device__ __forceinline__ void fetch_step(void* dst, const void* src, int batch, int steps, int t, int tile0) {
  fetch_rows<kWidth * 2, kThreadCount, (kWidth + kPadHalves) * 2>(dst, src, batch, steps, t, tile0);
  __pipeline_commit();
}

// Copies h of the block's windows ([kTileRows][ld_h] float16 in shared memory) to out + b
// batch_stride + base, one Word (uint4: 8 elements, __half2: 2) a copy.
template <typename Word, int H, int kThreadCount>
__device__ __forceinline__ void copy_h_rows(const half* h, int ld_h, half* out, int64_t batch_stride, int64_t base,
                                            int batch, int tile0) {
  constexpr int kElems = static_cast<int>(sizeof(Word) / sizeof(half)), kChunks = H / kElems;
#pragma unroll
  for (int i = 0; i < (kTileRows * kChunks + kThreadCount - 1) / kThreadCount; ++i) {  // unrolled: the loads first, then the stores
    const int c = static_cast<int>(threadIdx.x) + i * kThreadCount;
    if (c >= kTileRows * kChunks) break;
    const int row = c / kChunks, offset = (c % kChunks) * kElems, b = tile0 + row;
    if (b < batch)
      *reinterpret_cast<Word*>(out + static_cast<int64_t>(b) * batch_stride + base + offset) =
          *reinterpret_cast<const Word*>(h + row * ld_h + offset);
  }
}

// Copies h of the block's windows to `out` at step t, 16 bytes a copy where the output's rows allow
// it (inference: out is float16 as h is).
template <int H, int kThreadCount>
__device__ __forceinline__ void copy_h_out(const half* h, int ld_h, const Direction& dir, int batch, int t, int tile0,
                                           bool wide) {
  half* out = reinterpret_cast<half*>(dir.out);
  const int64_t base = static_cast<int64_t>(t) * dir.out_step_stride;
  if (wide)
    copy_h_rows<uint4, H, kThreadCount>(h, ld_h, out, dir.out_batch_stride, base, batch, tile0);
  else
    copy_h_rows<__half2, H, kThreadCount>(h, ld_h, out, dir.out_batch_stride, base, batch, tile0);
}

// Training: h_{t-1} of the block's windows (float16 in shared memory) as bfloat16 into h_prev at step t.
template <int H, int kThreadCount>
__device__ __forceinline__ void copy_h_prev(const half* h, int ld_h, const Direction& dir, int batch, int steps, int t,
                                            int tile0) {
  constexpr int kChunks = H / 8;
  bf16* h_prev = reinterpret_cast<bf16*>(dir.h_prev);
#pragma unroll
  for (int i = 0; i < (kTileRows * kChunks + kThreadCount - 1) / kThreadCount; ++i) {  // unrolled: the loads first, then the stores
    const int c = static_cast<int>(threadIdx.x) + i * kThreadCount;
    if (c >= kTileRows * kChunks) break;
    const int row = c / kChunks, offset = (c % kChunks) * 8, b = tile0 + row;
    if (b >= batch) continue;
    const uint4 v = *reinterpret_cast<const uint4*>(h + row * ld_h + offset);
    const __half2* p = reinterpret_cast<const __half2*>(&v);
    uint4 o;
    __nv_bfloat162* q = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = __float22bfloat162_rn(__half22float2(p[i]));
    *reinterpret_cast<uint4*>(h_prev + (static_cast<int64_t>(b) * steps + t) * H + offset) = o;
  }
}

// Training: one step's outputs of the block's windows, staged in shared memory as rows of
// [act (G) | c or hn (H) | out (H, bfloat16)], to global memory at step t in 16-byte copies (the output's
// in 4-byte ones where its rows are not 16-byte aligned). A lane's own results (8 rows of 4 units'
// pairs) written straight to global memory touched 8 lines a store; the training forward took twice
// as long that way.
template <int G, int H, int kThreadCount>
__device__ __forceinline__ void copy_staged(const half* o, int ld_o, const Direction& dir, int batch, int steps, int t,
                                            int tile0, bool wide) {
  constexpr int kChunks = (G + 2 * H) / 8;
#pragma unroll
  for (int i = 0; i < (kTileRows * kChunks + kThreadCount - 1) / kThreadCount; ++i) {  // unrolled: the loads first, then the stores
    const int c = static_cast<int>(threadIdx.x) + i * kThreadCount;
    if (c >= kTileRows * kChunks) break;
    const int row = c / kChunks, offset = (c % kChunks) * 8, b = tile0 + row;
    if (b >= batch) continue;
    const half* from = o + row * ld_o + offset;
    const int64_t at = static_cast<int64_t>(b) * steps + t;
    if (offset < G) {
      *reinterpret_cast<uint4*>(reinterpret_cast<half*>(dir.act) + at * G + offset) = *reinterpret_cast<const uint4*>(from);
    } else if (offset < G + H) {
      half* state = reinterpret_cast<half*>(dir.c != nullptr ? dir.c : dir.hn);
      *reinterpret_cast<uint4*>(state + at * H + offset - G) = *reinterpret_cast<const uint4*>(from);
    } else {
      half* out = reinterpret_cast<half*>(dir.out) + static_cast<int64_t>(b) * dir.out_batch_stride +
                  static_cast<int64_t>(t) * dir.out_step_stride + offset - G - H;
      if (wide) {
        *reinterpret_cast<uint4*>(out) = *reinterpret_cast<const uint4*>(from);
      } else {
#pragma unroll
        for (int i = 0; i < 8; i += 2) *reinterpret_cast<uint32_t*>(out + i) = *reinterpret_cast<const uint32_t*>(from + i);
      }
    }
  }
}

// Blocks: (ceil(B / kTileRows), directions), forward_threads(H) threads. Warp w owns hidden units
// 8 (w % U) .. + 7 of every gate (U = H / 8) for its row tiles; it keeps those gate rows of W_hh as
// the mma's B operand registers for all steps, and the units' biases and state (c, or the GRU's h) in
// registers. A step: for each of the warp's row tiles, h W_hh^T into the accumulators (A: h from
// shared memory through ldmatrix), the element-wise update on them with the step's input projections
// (copied in during the previous step), the new h into the other h buffer; then one barrier.
// kTrain: also keep what backward reads (Direction's training outputs); the input projections and the
// output are then bfloat16 (float16 in inference).
// kFused: the step reads the layer's inputs (at most kFusedInputs features, zero-padded) instead of
// their projections and multiplies them by W_ih (the warp's gate rows as registers) into the same
// accumulators; the GRU's n gate keeps its input part apart (r multiplies only the hidden part).
template <Cell kCell, int H, bool kTrain, bool kFused>
__global__ void __launch_bounds__(forward_threads(H), 1)
    tiled_layer(int batch, int steps, Direction d0, Direction d1, SharedLayout lay) {
  constexpr int NG = gates_of(kCell);
  constexpr int G = NG * H;
  constexpr int kK = H / kTile;  // k steps of a product
  constexpr int kThreadCount = forward_threads(H);
  constexpr int kUnitGroups = forward_unit_groups(H);
  constexpr int kMTiles = kRowTiles / forward_row_groups(H);  // row tiles per warp
  constexpr int kSharedK = forward_shared_k(kCell, H, kTrain, kFused);
  constexpr int kXWidth = kFused ? kFusedInputs : G;  // 16-bit elements of a fetched row
  constexpr int kRegK = kK - kSharedK;
  static_assert(kRowTiles % forward_row_groups(H) == 0, "whole row tiles per warp");
  static_assert(kRegK >= 1, "at least one k step in registers");

  extern __shared__ __align__(128) unsigned char smem[];
  half* h_s = reinterpret_cast<half*>(smem + lay.h);
  using IoType = std::conditional_t<kTrain, bf16, half>;  // xp (or x and w_ih) and out
  IoType* x_s = reinterpret_cast<IoType*>(smem + lay.x);
  half* o_s = reinterpret_cast<half*>(smem + lay.o);  // training: the staged outputs, [2][kTileRows][ld_o]
  const uint2* w_shared = reinterpret_cast<const uint2*>(smem + lay.w);
  const int ld_h = lay.ld_h, ld_x = lay.ld_x, ld_o = lay.ld_o;

  const Direction dir = blockIdx.y == 0 ? d0 : d1;
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const int quad = lane / 4;                                      // the lane's row in an 8-row half tile
  const int col = kUnitsPerWarp * (warp % kUnitGroups) + 2 * (lane % 4);  // its two units: col, col + 1
  const int row0 = kTile * kMTiles * (warp / kUnitGroups);        // the warp's first row
  const int tile0 = static_cast<int>(blockIdx.x) * kTileRows;
  const IoType* xp = reinterpret_cast<const IoType*>(kFused ? dir.x : dir.xp);

  fetch_step<kXWidth, kThreadCount>(x_s, xp, batch, steps, dir.reverse ? steps - 1 : 0, tile0);

  // The B operand (B = W_hh^T: column n of B is row n of W_hh) for gate g, k step kk: W_hh row
  // g H + unit0 + lane / 4, columns 16 kk + 2 (lane % 4) + {0, 1} and + {8, 9}.
  const half* w_g = reinterpret_cast<const half*>(dir.w_hh);
  auto w_operand = [&](int g, int kk) {
    const half* r = w_g + static_cast<int64_t>(g * H + col - 2 * (lane % 4) + quad) * H + kk * kTile + 2 * (lane % 4);
    return make_uint2(*reinterpret_cast<const uint32_t*>(r), *reinterpret_cast<const uint32_t*>(r + 8));
  };
  uint32_t w[kRegK][NG][2];
#pragma unroll
  for (int kk = 0; kk < kRegK; ++kk)
#pragma unroll
    for (int g = 0; g < NG; ++g) {
      const uint2 b = w_operand(g, kk);
      w[kk][g][0] = b.x;
      w[kk][g][1] = b.y;
    }
  uint2* w_mine = reinterpret_cast<uint2*>(smem + lay.w) + warp * kSharedK * NG * 32 + lane;
#pragma unroll
  for (int f = 0; f < kSharedK; ++f)
#pragma unroll
    for (int g = 0; g < NG; ++g) w_mine[(f * NG + g) * 32] = w_operand(g, kRegK + f);
  // Fused: W_ih's B operand (W_ih [G, kFusedInputs] in the inputs' type), one k step a gate.
  uint32_t w_in[kFused ? NG : 1][2];
  if constexpr (kFused) {
    const IoType* wi = reinterpret_cast<const IoType*>(dir.w_ih);
#pragma unroll
    for (int g = 0; g < NG; ++g) {
      const IoType* r = wi + (g * H + col - 2 * (lane % 4) + quad) * kFusedInputs + 2 * (lane % 4);
      w_in[g][0] = *reinterpret_cast<const uint32_t*>(r);
      w_in[g][1] = *reinterpret_cast<const uint32_t*>(r + 8);
    }
  }

  constexpr int kHiddenBiases = kCell == Cell::kGru ? NG : 1;  // b_hh: the GRU's only
  float b_in[NG][2], b_hh[kHiddenBiases][2];
#pragma unroll
  for (int g = 0; g < NG; ++g)
#pragma unroll
    for (int o = 0; o < 2; ++o) {
      b_in[g][o] = dir.b_in[g * H + col + o];
      if constexpr (kCell == Cell::kGru) b_hh[g][o] = dir.b_hh[g * H + col + o];
    }
  float state[kMTiles][2][2];  // [row tile][row half][unit]
#pragma unroll
  for (int j = 0; j < kMTiles; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) state[j][e][0] = state[j][e][1] = 0.0f;
  for (int i = static_cast<int>(threadIdx.x); i < 2 * kTileRows * ld_h; i += kThreadCount) h_s[i] = __float2half(0.0f);
  // 16-byte copies of h to the output where its rows are 16-byte aligned.
  const bool wide = ((reinterpret_cast<uintptr_t>(dir.out) | static_cast<uintptr_t>(dir.out_batch_stride * 2) |
                      static_cast<uintptr_t>(dir.out_step_stride * 2)) % 16) == 0;
  __pipeline_wait_prior(0);
  __syncthreads();

  for (int s = 0; s < steps; ++s) {
    const int t = dir.reverse ? steps - 1 - s : s;
    const half* h_cur = h_s + (s & 1) * kTileRows * ld_h;
    half* h_next = h_s + ((s + 1) & 1) * kTileRows * ld_h;
    const IoType* x_cur = x_s + (s & 1) * kTileRows * ld_x;
    // The next step's input projections, into the buffer the previous step read.
    if (s + 1 < steps)
      fetch_step<kXWidth, kThreadCount>(x_s + ((s + 1) & 1) * kTileRows * ld_x, xp, batch, steps, dir.reverse ? t - 1 : t + 1,
                                  tile0);
    // What the previous step wrote: inference, its output; training, this step's h_{t-1} and the
    // previous step's staged outputs.
    half* o_cur = o_s + (s & 1) * kTileRows * ld_o;
    if constexpr (kTrain) {
      copy_h_prev<H, kThreadCount>(h_cur, ld_h, dir, batch, steps, t, tile0);
      if (s > 0)
        copy_staged<G, H, kThreadCount>(o_s + ((s + 1) & 1) * kTileRows * ld_o, ld_o, dir, batch, steps,
                                        dir.reverse ? t + 1 : t - 1, tile0, wide);
    } else if (s > 0) {
      copy_h_out<H, kThreadCount>(h_cur, ld_h, dir, batch, dir.reverse ? t + 1 : t - 1, tile0, wide);
    }

#pragma unroll
    for (int j = 0; j < kMTiles; ++j) {
      const int tile_row = row0 + j * kTile;
      float acc[NG][4];
#pragma unroll
      for (int g = 0; g < NG; ++g) acc[g][0] = acc[g][1] = acc[g][2] = acc[g][3] = 0.0f;
      constexpr bool kApartN = kFused && kCell == Cell::kGru;  // the GRU's n gate: x W_in apart
      float acc_xn[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if constexpr (kFused) {
        uint32_t a[4];
        load_a(a, x_cur + tile_row * ld_x, ld_x);
#pragma unroll
        for (int g = 0; g < NG; ++g) mma16<IoType>(kApartN && g == NG - 1 ? acc_xn : acc[g], a, w_in[g][0], w_in[g][1]);
      }
#pragma unroll
      for (int kk = 0; kk < kK; ++kk) {
        uint32_t a[4];
        load_a(a, h_cur + tile_row * ld_h + kk * kTile, ld_h);
#pragma unroll
        for (int g = 0; g < NG; ++g) {
          if (kk < kRegK) {
            mma_f16(acc[g], a, w[kk][g][0], w[kk][g][1]);
          } else {
            const uint2 b = w_shared[((warp * kSharedK + kk - kRegK) * NG + g) * 32 + lane];
            mma_f16(acc[g], a, b.x, b.y);
          }
        }
      }
      // Element-wise, on the accumulators: half e holds rows tile_row + lane / 4 + 8 e.
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int row = tile_row + quad + 8 * e;
        const IoType* px = x_cur + row * ld_x + col;
        float gate[NG][2], x[NG][2];
#pragma unroll
        for (int g = 0; g < NG; ++g) {
          // Fused, the input part is in the accumulators already (the GRU's n gate: in acc_xn).
          const float2 xv = !kFused                 ? load_pair(px + g * H)
                            : kApartN && g == NG - 1 ? make_float2(acc_xn[2 * e], acc_xn[2 * e + 1])
                                                     : make_float2(0.0f, 0.0f);
          gate[g][0] = acc[g][2 * e];
          gate[g][1] = acc[g][2 * e + 1];
          if constexpr (kCell == Cell::kGru) {
            gate[g][0] += b_hh[g][0];
            gate[g][1] += b_hh[g][1];
          }
          x[g][0] = xv.x + b_in[g][0];
          x[g][1] = xv.y + b_in[g][1];
        }
        float hv[2], act[NG][2];
#pragma unroll
        for (int o = 0; o < 2; ++o) {
          float& st = state[j][e][o];
          if constexpr (kCell == Cell::kLstm) {
            act[0][o] = sigmoid(x[0][o] + gate[0][o]);
            act[1][o] = sigmoid(x[1][o] + gate[1][o]);
            act[2][o] = tanh_fast(x[2][o] + gate[2][o]);
            act[3][o] = sigmoid(x[3][o] + gate[3][o]);
            st = act[1][o] * st + act[0][o] * act[2][o];
            hv[o] = act[3][o] * tanh_fast(st);
          } else {
            act[0][o] = sigmoid(x[0][o] + gate[0][o]);
            act[1][o] = sigmoid(x[1][o] + gate[1][o]);
            act[2][o] = tanh_fast(x[2][o] + act[0][o] * gate[2][o]);
            st = (1.0f - act[1][o]) * act[2][o] + act[1][o] * st;
            hv[o] = st;
          }
        }
        *reinterpret_cast<__half2*>(h_next + row * ld_h + col) = __floats2half2_rn(hv[0], hv[1]);
        if constexpr (kTrain) {
          half* o = o_cur + row * ld_o + col;
#pragma unroll
          for (int g = 0; g < NG; ++g) *reinterpret_cast<__half2*>(o + g * H) = __floats2half2_rn(act[g][0], act[g][1]);
          *reinterpret_cast<__half2*>(o + G) = kCell == Cell::kLstm ? __floats2half2_rn(state[j][e][0], state[j][e][1])
                                                                    : __floats2half2_rn(gate[2][0], gate[2][1]);
          store_pair(reinterpret_cast<bf16*>(o + G + H), hv[0], hv[1]);
        }
      }
    }
    __pipeline_wait_prior(0);  // the next step's input projections
    __syncthreads();
  }
  if constexpr (kTrain)
    copy_staged<G, H, kThreadCount>(o_s + ((steps + 1) & 1) * kTileRows * ld_o, ld_o, dir, batch, steps,
                                    dir.reverse ? 0 : steps - 1, tile0, wide);
  else
    copy_h_out<H, kThreadCount>(h_s + (steps & 1) * kTileRows * ld_h, ld_h, dir, batch, dir.reverse ? 0 : steps - 1,
                                tile0, wide);
}

// ---- Backward ----

// How many warps share the K dimension of the backward product: the largest divisor of its k steps
// that leaves every warp at most one column tile.
__host__ __device__ constexpr int k_split(int k_steps, int most) {
  for (int s = most; s > 1; --s)
    if (k_steps % s == 0) return s;
  return 1;
}

// Shared memory of a backward block, in bytes from the start: the step's inputs, double-buffered
// (the next step's arrive while this one computes): act [2][kTileRows][G] half; LSTM c_t and
// c_{t-1} [2][kTileRows][H] half each, GRU hn (half) and h_prev (bfloat16) [2][kTileRows][H]; dy
// [2][kTileRows][H] bfloat16. Then dg [kTileRows][G + kPadHalves] bfloat16 (the product's left side)
// and the product's partial sums [split][kTileRows][H + kPadFloats] float, which at the end hold
// the block's bias gradients [G + H] float.
struct BackwardLayout {
  int ld_dg = 0, ld_p = 0;
  size_t act = 0, s0 = 0, s1 = 0, dy = 0, dg = 0, prod = 0, w = 0, bytes = 0;
};

// How many of a warp's W_hh fragments the backward keeps in shared memory rather than registers
// ([kWarps][this][32 lanes] uint4 after the partial sums). At H = 128 a warp holds 16 (LSTM) or 12
// (GRU) fragments, 64 or 48 of the 128 registers a thread has at 512 threads a block, and the LSTM's
// kernel reloaded about 29 spilled values a warp every step (Nsight Compute, docs/performance.md).
// With 5 in shared memory ptxas reports 4 bytes of spills a thread (176-248 with none, 16-24 with
// 4); with 6, 0-12, and the GRU's backward ran 6% slower than with 5 (tiled_kernel_bench, H200).
__host__ __device__ constexpr int shared_w_fragments(Cell, int hidden) { return hidden == 128 ? 5 : 0; }

BackwardLayout backward_layout(Cell cell, int hidden) {
  BackwardLayout s;
  const int g = gates_of(cell) * hidden;
  const size_t state_bytes = sizeof(half);
  const int split = k_split(g / kTile, kWarps / (hidden / kTile));
  s.ld_dg = g + kPadHalves;
  s.ld_p = hidden + kPadFloats;
  s.act = 0;
  s.s0 = s.act + 2u * kTileRows * g * sizeof(half);
  s.s1 = s.s0 + 2u * kTileRows * hidden * state_bytes;
  s.dy = s.s1 + 2u * kTileRows * hidden * state_bytes;
  s.dg = s.dy + 2u * kTileRows * hidden * sizeof(bf16);
  s.prod = s.dg + static_cast<size_t>(kTileRows) * s.ld_dg * sizeof(bf16);
  s.w = s.prod + static_cast<size_t>(split) * kTileRows * s.ld_p * sizeof(float);
  s.bytes = s.w + static_cast<size_t>(kWarps) * shared_w_fragments(cell, hidden) * kTile * kTile * sizeof(bf16);
  return s;
}

// Blocks: ceil(B / kTileRows). The steps run in reverse order of the forward. Each step has two
// phases. Product: dh_rec = dg_{next} W_hh for the block's windows, the [kTileRows, G] x [G, H]
// product split over the warps by column tile and K range (each warp's W_hh fragments in registers
// for all steps), partial sums into shared memory. Element-wise: each thread owns the same pairs of
// hidden units as in the forward, carries dc (LSTM) or dh z (GRU) in registers, and writes the
// step's dg to global memory and, as the next product's input, to shared memory.
template <Cell kCell, int H>
__global__ void __launch_bounds__(kThreads, 1)
    tiled_layer_backward(int batch, int steps, BackwardDirection dir, BackwardLayout lay) {
  constexpr int NG = gates_of(kCell);
  constexpr int G = NG * H;
  constexpr int kColTiles = H / kTile;
  constexpr int kKSteps = G / kTile;
  constexpr int kSplit = k_split(kKSteps, kWarps / kColTiles);
  constexpr int kKPer = kKSteps / kSplit;
  constexpr int kPairsPerThread = kTileRows * H / 2 / kThreads;
  static_assert(kColTiles * kSplit <= kWarps, "one column tile and K range per warp");
  static_assert(kPairsPerThread >= 1 && (kTileRows * H / 2) % kThreads == 0, "whole pairs per thread");

  extern __shared__ __align__(128) unsigned char smem[];
  half* act_s = reinterpret_cast<half*>(smem + lay.act);
  half* s0_s = reinterpret_cast<half*>(smem + lay.s0);  // LSTM c_t, GRU hn
  half* s1_s = reinterpret_cast<half*>(smem + lay.s1);  // LSTM c_{t-1} (half), GRU h_prev (bfloat16)
  bf16* dy_s = reinterpret_cast<bf16*>(smem + lay.dy);
  bf16* dg_s = reinterpret_cast<bf16*>(smem + lay.dg);
  float* prod_s = reinterpret_cast<float*>(smem + lay.prod);
  const int ld_dg = lay.ld_dg, ld_p = lay.ld_p;

  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int tile0 = static_cast<int>(blockIdx.x) * kTileRows;
  // Iteration j runs step t(j): the forward's last step first.
  auto step_of = [&](int j) { return dir.reverse ? j : steps - 1 - j; };
  auto previous = [&](int t) { return dir.reverse ? t + 1 : t - 1; };

  auto fetch = [&](int j) {
    const int t = step_of(j), buf = j & 1;
    fetch_rows<G * 2>(act_s + buf * kTileRows * G, dir.act, batch, steps, t, tile0);
    if constexpr (kCell == Cell::kLstm) {
      fetch_rows<H * 2>(s0_s + buf * kTileRows * H, dir.c, batch, steps, t, tile0);
      if (j + 1 < steps) fetch_rows<H * 2>(s1_s + buf * kTileRows * H, dir.c, batch, steps, previous(t), tile0);
    } else {
      fetch_rows<H * 2>(s0_s + buf * kTileRows * H, dir.hn, batch, steps, t, tile0);
      fetch_rows<H * 2>(s1_s + buf * kTileRows * H, dir.h_prev, batch, steps, t, tile0);
    }
    fetch_rows<H * 2>(dy_s + buf * kTileRows * H, dir.dy, batch, steps, t, tile0);
    __pipeline_commit();
  };
  fetch(0);

  // The warp's column tile and K range of the product, and its W_hh fragments (B = W_hh, [G, H]) as
  // the mma's B operand registers: the first kRegFrags k steps in registers, the rest in shared
  // memory in the same per-lane order ([kSharedFrags][32 lanes] uint4: one conflict-free 16-byte
  // load a fragment).
  constexpr int kSharedFrags = shared_w_fragments(kCell, H);
  constexpr int kRegFrags = kKPer - kSharedFrags;
  static_assert(kRegFrags >= 1, "at least one fragment in registers");
  const int unit_tile = warp % kColTiles, part = warp / kColTiles;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const bool multiplies = part < kSplit;
  uint4 w[kRegFrags];
  const bf16* w_g = reinterpret_cast<const bf16*>(dir.w_hh);
  uint4* w_s = reinterpret_cast<uint4*>(smem + lay.w) + warp * kSharedFrags * 32;
  if (multiplies) {
#pragma unroll
    for (int kk = 0; kk < kRegFrags; ++kk) w[kk] = b_operand_bf16(w_g + (part * kKPer + kk) * kTile * H + unit_tile * kTile, H);
    for (int f = 0; f < kSharedFrags; ++f)
      w_s[f * 32 + lane] = b_operand_bf16(w_g + (part * kKPer + kRegFrags + f) * kTile * H + unit_tile * kTile, H);
  }

  const int col = 2 * (static_cast<int>(threadIdx.x) % (H / 2));
  const int row_first = static_cast<int>(threadIdx.x) / (H / 2), row_step = kThreads / (H / 2);
  float carry[kPairsPerThread][2];  // LSTM: dc from the next step; GRU: dh z of the next step
#pragma unroll
  for (int i = 0; i < kPairsPerThread; ++i) carry[i][0] = carry[i][1] = 0.0f;
  // The thread's bias gradients: dg_in summed over its pairs and steps (its columns are fixed), and
  // the GRU's dg_hidden n part.
  float db[NG + 1][2] = {};
  bf16* dg_in = reinterpret_cast<bf16*>(dir.dg_in);
  bf16* dg_hidden = reinterpret_cast<bf16*>(dir.dg_hidden);

  for (int j = 0; j < steps; ++j) {
    const int t = step_of(j), buf = j & 1;
    const bool has_previous = j + 1 < steps;
    if (has_previous) fetch(j + 1);

    // Product: dg of the step after this one (in forward order) times W_hh.
    if (j > 0 && multiplies) {
#pragma unroll
      for (int r = 0; r < kRowTiles; ++r) {
        float acc[2][4] = {};  // the two 8-column blocks of the 16 x 16 result
#pragma unroll
        for (int kk = 0; kk < kKPer; ++kk) {
          uint32_t a[4];
          load_a(a, dg_s + r * kTile * ld_dg + (part * kKPer + kk) * kTile, ld_dg);
          const uint4 b = kk < kRegFrags ? w[kk] : w_s[(kk - kRegFrags) * 32 + lane];
          mma_bf16(acc[0], a, b.x, b.y);
          mma_bf16(acc[1], a, b.z, b.w);
        }
        // The thread's results: rows lane / 4 and lane / 4 + 8, columns 2 (lane % 4) + {0, 1} of each block.
        float* out_rows = prod_s + (part * kTileRows + r * kTile + lane / 4) * ld_p + unit_tile * kTile + 2 * (lane % 4);
#pragma unroll
        for (int nb = 0; nb < 2; ++nb) {
          *reinterpret_cast<float2*>(out_rows + nb * 8) = make_float2(acc[nb][0], acc[nb][1]);
          *reinterpret_cast<float2*>(out_rows + 8 * ld_p + nb * 8) = make_float2(acc[nb][2], acc[nb][3]);
        }
      }
    }
    if (has_previous) __pipeline_wait_prior(1); else __pipeline_wait_prior(0);
    __syncthreads();

    // Element-wise.
#pragma unroll
    for (int i = 0; i < kPairsPerThread; ++i) {
      const int row = row_first + i * row_step;
      const int b = tile0 + row;
      const half* pa = act_s + (buf * kTileRows + row) * G + col;
      const half* p0 = s0_s + (buf * kTileRows + row) * H + col;
      const half* p1 = s1_s + (buf * kTileRows + row) * H + col;
      const float2 dyv = load_pair(dy_s + (buf * kTileRows + row) * H + col);
      float dh[2] = {dyv.x, dyv.y};
      if (j > 0) {
#pragma unroll
        for (int k = 0; k < kSplit; ++k) {
          const float2 p = *reinterpret_cast<const float2*>(prod_s + (k * kTileRows + row) * ld_p + col);
          dh[0] += p.x;
          dh[1] += p.y;
        }
      }
      float a[NG][2];
#pragma unroll
      for (int g = 0; g < NG; ++g) {
        const float2 v = __half22float2(*reinterpret_cast<const __half2*>(pa + g * H));
        a[g][0] = v.x;
        a[g][1] = v.y;
      }
      float d_in[NG][2], d_hid[NG][2];
      if constexpr (kCell == Cell::kLstm) {
        const float2 c = __half22float2(*reinterpret_cast<const __half2*>(p0));
        const float2 cp = has_previous ? __half22float2(*reinterpret_cast<const __half2*>(p1)) : make_float2(0.0f, 0.0f);
        const float cv[2] = {c.x, c.y}, cpv[2] = {cp.x, cp.y};
#pragma unroll
        for (int o = 0; o < 2; ++o) {
          const float ig = a[0][o], fg = a[1][o], gg = a[2][o], og = a[3][o];
          const float tc = tanh_fast(cv[o]);
          const float dc = carry[i][o] + dh[o] * og * (1.0f - tc * tc);
          d_in[0][o] = dc * gg * ig * (1.0f - ig);
          d_in[1][o] = dc * cpv[o] * fg * (1.0f - fg);
          d_in[2][o] = dc * ig * (1.0f - gg * gg);
          d_in[3][o] = dh[o] * tc * og * (1.0f - og);
          carry[i][o] = dc * fg;
#pragma unroll
          for (int g = 0; g < NG; ++g) d_hid[g][o] = d_in[g][o];
        }
      } else {
        const float2 hn = __half22float2(*reinterpret_cast<const __half2*>(p0));
        const float2 hp = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p1));
        const float hnv[2] = {hn.x, hn.y}, hpv[2] = {hp.x, hp.y};
#pragma unroll
        for (int o = 0; o < 2; ++o) {
          const float rg = a[0][o], zg = a[1][o], ng = a[2][o];
          const float d = dh[o] + carry[i][o];
          const float dn = d * (1.0f - zg) * (1.0f - ng * ng);
          d_in[0][o] = dn * hnv[o] * rg * (1.0f - rg);
          d_in[1][o] = d * (hpv[o] - ng) * zg * (1.0f - zg);
          d_in[2][o] = dn;
          carry[i][o] = d * zg;
          d_hid[0][o] = d_in[0][o];
          d_hid[1][o] = d_in[1][o];
          d_hid[2][o] = dn * rg;
        }
      }
      if (b < batch) {
#pragma unroll
        for (int o = 0; o < 2; ++o) {
#pragma unroll
          for (int g = 0; g < NG; ++g) db[g][o] += d_in[g][o];
          db[NG][o] += d_hid[NG - 1][o];
        }
      }
#pragma unroll
      for (int g = 0; g < NG; ++g) {
        const __nv_bfloat162 hid = __floats2bfloat162_rn(d_hid[g][0], d_hid[g][1]);
        *reinterpret_cast<__nv_bfloat162*>(dg_s + row * ld_dg + g * H + col) = hid;
        if (b < batch) {
          const int64_t at = (static_cast<int64_t>(b) * steps + t) * G + g * H + col;
          *reinterpret_cast<__nv_bfloat162*>(dg_in + at) = __floats2bfloat162_rn(d_in[g][0], d_in[g][1]);
          if constexpr (kCell == Cell::kGru) *reinterpret_cast<__nv_bfloat162*>(dg_hidden + at) = hid;
        }
      }
    }
    __syncthreads();
  }

  // The block's bias gradients: the threads' sums added per column in shared memory (the product's
  // space, no longer needed), then one row to global memory.
  constexpr int kBiasColumns = G + (kCell == Cell::kGru ? H : 0);
  float* sums = prod_s;
  for (int i = static_cast<int>(threadIdx.x); i < kBiasColumns; i += kThreads) sums[i] = 0.0f;
  __syncthreads();
#pragma unroll
  for (int o = 0; o < 2; ++o) {
#pragma unroll
    for (int g = 0; g < NG; ++g) atomicAdd(sums + g * H + col + o, db[g][o]);
    if constexpr (kCell == Cell::kGru) atomicAdd(sums + G + col + o, db[NG][o]);
  }
  __syncthreads();
  for (int i = static_cast<int>(threadIdx.x); i < kBiasColumns; i += kThreads)
    dir.db_blocks[static_cast<int64_t>(blockIdx.x) * kBiasColumns + i] = sums[i];
}

using BackwardKernel = void (*)(int, int, BackwardDirection, BackwardLayout);

template <Cell kCell>
BackwardKernel backward_kernel_for_width(int hidden) {
  switch (hidden) {
    case 32: return tiled_layer_backward<kCell, 32>;
    case 64: return tiled_layer_backward<kCell, 64>;
    case 128: return tiled_layer_backward<kCell, 128>;
    default: return nullptr;
  }
}

BackwardKernel backward_kernel_for(const LayerShape& s) {
  return s.cell == Cell::kLstm ? backward_kernel_for_width<Cell::kLstm>(s.hidden)
                               : backward_kernel_for_width<Cell::kGru>(s.hidden);
}

using Kernel = void (*)(int, int, Direction, Direction, SharedLayout);

template <Cell kCell, bool kTrain, bool kFused>
Kernel kernel_for_width(int hidden) {
  switch (hidden) {
    case 32: return tiled_layer<kCell, 32, kTrain, kFused>;
    case 64: return tiled_layer<kCell, 64, kTrain, kFused>;
    case 128: return tiled_layer<kCell, 128, kTrain, kFused>;
    default: return nullptr;
  }
}

template <Cell kCell>
Kernel kernel_for_cell(int hidden, bool train, bool fused) {
  if (train) return fused ? kernel_for_width<kCell, true, true>(hidden) : kernel_for_width<kCell, true, false>(hidden);
  return fused ? kernel_for_width<kCell, false, true>(hidden) : kernel_for_width<kCell, false, false>(hidden);
}

Kernel kernel_for(const LayerShape& s, bool train = false, bool fused = false) {
  return s.cell == Cell::kLstm ? kernel_for_cell<Cell::kLstm>(s.hidden, train, fused)
                               : kernel_for_cell<Cell::kGru>(s.hidden, train, fused);
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("tiled recurrent CUDA kernel: ") + what + ": " + cudaGetErrorString(e));
}

// Lets `kernel` use `bytes` of shared memory on the current device (once per device and kernel).
template <typename KernelPointer>
void prepare(KernelPointer kernel, int device, size_t bytes) {
  static std::mutex mutex;
  static std::map<std::pair<int, const void*>, size_t> done;
  std::lock_guard<std::mutex> lock(mutex);
  size_t& granted = done[{device, reinterpret_cast<const void*>(kernel)}];
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
  // The fused layouts are smaller: their inputs take 16 columns where the projections take G.
  return d.major >= 8 && shared_layout(shape.cell, shape.hidden, false, false).bytes <= static_cast<size_t>(d.smem_optin);
}

bool train_supported(int device, const LayerShape& shape) {
  const auto optin = static_cast<size_t>(cuda_device::attributes(device).smem_optin);
  return supported(device, shape) && backward_kernel_for(shape) != nullptr &&
         shared_layout(shape.cell, shape.hidden, true, false).bytes <= optin &&
         backward_layout(shape.cell, shape.hidden).bytes <= optin;
}

void run(const LayerShape& shape, const Direction* directions, int count, void* stream) {
  if (count < 1 || count > 2) throw std::runtime_error("tiled recurrent CUDA kernel: 1 or 2 directions expected");
  int device = 0;
  check(cudaGetDevice(&device), "device");
  if (!supported(device, shape)) throw std::runtime_error("tiled recurrent CUDA kernel: shape not supported here");
  const bool train = directions[0].act != nullptr;
  const bool fused = directions[0].x != nullptr;
  const bool lstm = shape.cell == Cell::kLstm;
  for (int i = 0; i < count; ++i) {
    const Direction& d = directions[i];
    const bool inputs = fused ? d.x != nullptr && d.w_ih != nullptr : d.xp != nullptr && d.x == nullptr;
    if (!inputs || d.w_hh == nullptr || d.b_in == nullptr || d.out == nullptr || (!lstm && d.b_hh == nullptr))
      throw std::runtime_error("tiled recurrent CUDA kernel: a direction lacks an input");
    if (train && (d.act == nullptr || d.h_prev == nullptr || (lstm ? d.c == nullptr : d.hn == nullptr)))
      throw std::runtime_error("tiled recurrent CUDA kernel: a training direction lacks an output");
  }
  const SharedLayout lay = shared_layout(shape.cell, shape.hidden, train, fused);
  const Kernel kernel = kernel_for(shape, train, fused);
  prepare(kernel, device, lay.bytes);
  const dim3 grid(static_cast<unsigned>((shape.batch + kTileRows - 1) / kTileRows), static_cast<unsigned>(count));
  kernel<<<grid, forward_threads(shape.hidden), lay.bytes, static_cast<cudaStream_t>(stream)>>>(
      shape.batch, shape.steps, directions[0], directions[count - 1], lay);
  check(cudaGetLastError(), "launch");
}

int backward_blocks(const LayerShape& shape) { return (shape.batch + kTileRows - 1) / kTileRows; }

void run_backward(const LayerShape& shape, const BackwardDirection& d, void* stream) {
  int device = 0;
  check(cudaGetDevice(&device), "device");
  if (!train_supported(device, shape))
    throw std::runtime_error("tiled recurrent CUDA kernel: backward shape not supported here");
  const bool lstm = shape.cell == Cell::kLstm;
  if (d.act == nullptr || d.dy == nullptr || d.w_hh == nullptr || d.dg_in == nullptr || d.db_blocks == nullptr ||
      (lstm ? d.c == nullptr : (d.hn == nullptr || d.h_prev == nullptr || d.dg_hidden == nullptr)))
    throw std::runtime_error("tiled recurrent CUDA kernel: the backward direction lacks an input");
  const BackwardLayout lay = backward_layout(shape.cell, shape.hidden);
  const BackwardKernel kernel = backward_kernel_for(shape);
  prepare(kernel, device, lay.bytes);
  const dim3 grid(static_cast<unsigned>(backward_blocks(shape)));
  kernel<<<grid, kThreads, lay.bytes, static_cast<cudaStream_t>(stream)>>>(shape.batch, shape.steps, d, lay);
  check(cudaGetLastError(), "backward launch");
}

}  // namespace spikecast::models::cuda_tiled
