#include "models/attention_cuda.h"

#include "models/mma_sync.cuh"

#include <cuda_pipeline.h>
#include <cuda_runtime.h>
#include <curand_philox4x32_x.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace spikecast::models::cuda_attention {
namespace {

using mma_sync::bf16;
using mma_sync::half;
using mma_sync::ldmatrix_x4;
using mma_sync::ldmatrix_x4_trans;
using mma_sync::load_a;
using mma_sync::load_pair;
using mma_sync::mma16;
using mma_sync::pack_pair;
using mma_sync::store_pair;

constexpr int kD = kHeadWidth;
// Shared rows of q, k, v and the output gradient: 32 elements + 8, so the 8 row addresses of an
// ldmatrix (80 bytes apart) fall on different banks.
constexpr int kLd = kD + 8;
constexpr float kLog2e = 1.4426950408889634f;
constexpr unsigned kAll = 0xffffffffu;

__host__ __device__ constexpr int rows_of(int row_tiles) { return 16 * row_tiles; }
// Shared row of the backward's weights and score gradients ([rows][rows + 8]): bank spread again.
__host__ __device__ constexpr int ld_weights(int row_tiles) { return rows_of(row_tiles) + 8; }

size_t forward_shared_bytes(int row_tiles) { return 3u * rows_of(row_tiles) * kLd * sizeof(uint16_t); }
size_t backward_shared_bytes(int row_tiles) {
  return 4u * rows_of(row_tiles) * kLd * sizeof(uint16_t) +
         2u * rows_of(row_tiles) * ld_weights(row_tiles) * sizeof(uint16_t) + rows_of(row_tiles) * sizeof(float);
}

// Rows [0, length) of one head's 32 elements (`stride` elements apart in global memory) into a
// [kRows][kLd] shared array, 16 bytes an asynchronous copy (cp.async: every copy of the block is in
// flight at once, none waits in a register); rows [length, kRows) zero. The caller commits and waits.
template <int kRows, int kThreads>
__device__ __forceinline__ void fetch_rows(uint16_t* dst, const uint16_t* src, int64_t stride, int length) {
#pragma unroll
  for (int n = 0; n < (kRows * 4 + kThreads - 1) / kThreads; ++n) {
    const int i = static_cast<int>(threadIdx.x) + n * kThreads;
    if (i >= kRows * 4) break;
    const int r = i / 4, c = (i % 4) * 8;
    if (r < length)
      __pipeline_memcpy_async(dst + r * kLd + c, src + r * stride + c, 16);
    else
      *reinterpret_cast<uint4*>(dst + r * kLd + c) = make_uint4(0, 0, 0, 0);
  }
}

struct Seed {
  uint64_t seed, offset;
};

__device__ __forceinline__ Seed unpack(const Dropout& d) {
  if (d.captured)
    return {static_cast<uint64_t>(*d.seed_ptr), static_cast<uint64_t>(*d.offset_ptr) + d.offset_intragraph};
  return {d.seed, d.offset};
}

// 8 random 16-bit values (two a 32-bit word) for the thread's 8 weights of query row `row` in the
// key tiles 4 group .. 4 group + 3 (columns 2q, 2q + 1 of each) of (window, head) `bh`: one
// Philox4x32-10 block, at a counter of its own (the low 64 bits the generator's offset in blocks of
// four words, the high 64 bits the weight group's index), so forward and backward draw the same.
__device__ __forceinline__ uint4 random_words(const Seed& s, int64_t bh, int row, int group, int q) {
  const uint64_t block = s.offset / 4;
  const uint64_t index = ((static_cast<uint64_t>(bh) * kMaxLength + row) * 4 + group) * 4 + q;
  const uint4 counter = make_uint4(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                                   static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32));
  const uint2 key = make_uint2(static_cast<uint32_t>(s.seed), static_cast<uint32_t>(s.seed >> 32));
  return curand_Philox4x32_10(counter, key);
}

__device__ __forceinline__ uint32_t word(const uint4& w, int i) { return i == 0 ? w.x : i == 1 ? w.y : i == 2 ? w.z : w.w; }

// The dropout's factor for weight e (0, 1: columns 2q, 2q + 1) of key tile j from the tile group's
// words: 0 (dropped) or the inverse of the kept fraction.
__device__ __forceinline__ float keep_factor(const uint4& w, int j, int e, uint32_t threshold, float scale) {
  return ((word(w, j % 4) >> (16 * e)) & 0xffffu) >= threshold ? scale : 0.0f;
}

// The dropout's threshold on 16 random bits, and the factor of a kept weight (exactly the inverse
// of the kept fraction 1 - threshold / 65536).
__host__ __device__ inline uint32_t threshold_of(float p) { return static_cast<uint32_t>(p * 65536.0f + 0.5f); }
__host__ __device__ inline float keep_scale(uint32_t threshold) { return 65536.0f / static_cast<float>(65536u - threshold); }

// acc (16 rows x 32 columns: four accumulator tiles) += a (a 16 x 16 A operand) times rows
// 16 kk .. 16 kk + 15 of a [rows][kLd] shared array of 32 columns, loaded transposed as the B operand.
template <typename T>
__device__ __forceinline__ void mma_rows(float (&acc)[4][4], const uint32_t (&a)[4], const uint16_t* b_rows, int kk,
                                         int lane) {
#pragma unroll
  for (int nd = 0; nd < 4; nd += 2) {
    uint32_t bm[4];
    ldmatrix_x4_trans(bm, b_rows + (16 * kk + lane % 8 + ((lane / 8) % 2) * 8) * kLd + (nd + lane / 16) * 8);
    mma16<T>(acc[nd], a, bm[0], bm[1]);
    mma16<T>(acc[nd + 1], a, bm[2], bm[3]);
  }
}

// ---- Forward: one block a (window, head), warp w the query rows 16 w .. 16 w + 15 ----
template <typename T, int RT, bool kTrain>
__global__ void __launch_bounds__(32 * RT) attention_forward(Forward f) {
  constexpr int kRows = rows_of(RT), kKeyTiles = 2 * RT;  // key tiles of 8 columns
  extern __shared__ __align__(16) uint16_t shared[];
  uint16_t* sq = shared;
  uint16_t* sk = sq + kRows * kLd;
  uint16_t* sv = sk + kRows * kLd;
  const int64_t bh = blockIdx.x;
  const int64_t b = bh / f.heads;
  const int h = static_cast<int>(bh % f.heads), heads = f.heads, length = f.length;
  const int64_t qkv_stride = 3LL * heads * kD;
  const uint16_t* base = f.qkv + b * length * qkv_stride + h * kD;
  fetch_rows<kRows, 32 * RT>(sq, base, qkv_stride, length);
  fetch_rows<kRows, 32 * RT>(sk, base + heads * kD, qkv_stride, length);
  fetch_rows<kRows, 32 * RT>(sv, base + 2 * heads * kD, qkv_stride, length);
  __pipeline_commit();
  __pipeline_wait_prior(0);
  __syncthreads();

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, q = lane % 4, r0 = 16 * warp;
  const T* tq = reinterpret_cast<const T*>(sq);
  uint32_t aq[2][4];
  load_a(aq[0], tq + r0 * kLd, kLd);
  load_a(aq[1], tq + r0 * kLd + 16, kLd);

  // Scores in log2 units (q k^T / sqrt(32) * log2 e), columns past the window masked.
  const float to_log2 = rsqrtf(static_cast<float>(kD)) * kLog2e;
  float s[kKeyTiles][4];
  float m[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int j = 0; j < kKeyTiles; ++j) {
    uint32_t bk[4];
    ldmatrix_x4(bk, sk + (8 * j + lane % 8) * kLd + (lane / 8) * 8);
    s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
    mma16<T>(s[j], aq[0], bk[0], bk[1]);
    mma16<T>(s[j], aq[1], bk[2], bk[3]);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = 8 * j + 2 * q + (e & 1);
      s[j][e] = col < length ? s[j][e] * to_log2 : -INFINITY;
      m[e >> 1] = fmaxf(m[e >> 1], s[j][e]);
    }
  }
  float sum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    m[i] = fmaxf(m[i], __shfl_xor_sync(kAll, m[i], 1));
    m[i] = fmaxf(m[i], __shfl_xor_sync(kAll, m[i], 2));
  }
#pragma unroll
  for (int j = 0; j < kKeyTiles; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      s[j][e] = exp2f(s[j][e] - m[e >> 1]);
      sum[e >> 1] += s[j][e];
    }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    sum[i] += __shfl_xor_sync(kAll, sum[i], 1);
    sum[i] += __shfl_xor_sync(kAll, sum[i], 2);
  }

  if constexpr (kTrain) {
    if (f.dropout.p > 0) {
      const Seed seed = unpack(f.dropout);
      const uint32_t threshold = threshold_of(f.dropout.p);
      const float scale = keep_scale(threshold);
      uint32_t kept[2] = {0, 0};  // bit 2 (kKeyTiles i + j) + e: weight e of key tile j, row half i
#pragma unroll
      for (int c = 0; c < (kKeyTiles + 3) / 4; ++c)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const uint4 w = random_words(seed, bh, r0 + g + 8 * i, c, q);
#pragma unroll
          for (int jj = 0; jj < 4; ++jj) {
            const int j = 4 * c + jj;
            if (j >= kKeyTiles) break;
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const float factor = keep_factor(w, j, e, threshold, scale);
              s[j][2 * i + e] *= factor;
              const int bit = 2 * (kKeyTiles * i + j) + e;
              if (factor != 0.0f) kept[bit / 32] |= 1u << (bit % 32);
            }
          }
        }
      reinterpret_cast<uint2*>(f.mask)[bh * 32 * RT + threadIdx.x] = make_uint2(kept[0], kept[1]);
    }
  }

  // out = weights v: the weights' accumulators are the A operand of the next product as they are.
  float o[4][4] = {};
#pragma unroll
  for (int kk = 0; kk < RT; ++kk) {
    const uint32_t ap[4] = {pack_pair<T>(s[2 * kk][0], s[2 * kk][1]), pack_pair<T>(s[2 * kk][2], s[2 * kk][3]),
                            pack_pair<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                            pack_pair<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
    mma_rows<T>(o, ap, sv, kk, lane);
  }
  // The warp's 16 output rows through its own rows of q's shared array (only this warp read them),
  // then to global memory 16 bytes a copy.
  T* staged = reinterpret_cast<T*>(sq) + r0 * kLd;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float inv = 1.0f / sum[i];
#pragma unroll
    for (int nd = 0; nd < 4; ++nd)
      store_pair(staged + (g + 8 * i) * kLd + 8 * nd + 2 * q, o[nd][2 * i] * inv, o[nd][2 * i + 1] * inv);
    const int row = r0 + g + 8 * i;
    if constexpr (kTrain)
      if (q == 0 && row < length) f.lse[bh * length + row] = (m[i] + log2f(sum[i])) / kLog2e;
  }
  __syncwarp();
#pragma unroll
  for (int n = 0; n < 2; ++n) {
    const int c = lane + 32 * n, row = r0 + c / 4;
    if (row < length)
      *reinterpret_cast<uint4*>(f.out + ((b * length + row) * heads + h) * kD + (c % 4) * 8) =
          *reinterpret_cast<const uint4*>(staged + (c / 4) * kLd + (c % 4) * 8);
  }
}

// ---- Backward: one block a (window, head) ----
// Pass 1, warp w for query rows 16 w ..: the weights again from the saved log-sum-exp, the output
// gradient times v^T, and from them the dropped weights and the scores' gradient, both to shared
// memory as T. Pass 2, warp w for rows 16 w .. of each result: dq = ds k, dk = ds^T q, dv = p^T dout.
template <typename T, int RT>
__global__ void __launch_bounds__(32 * RT) attention_backward(Backward bw) {
  constexpr int kRows = rows_of(RT), kKeyTiles = 2 * RT, kLdW = ld_weights(RT);
  extern __shared__ __align__(16) uint16_t shared[];
  uint16_t* sq = shared;
  uint16_t* sk = sq + kRows * kLd;
  uint16_t* sv = sk + kRows * kLd;
  uint16_t* sdo = sv + kRows * kLd;
  uint16_t* sp = sdo + kRows * kLd;
  uint16_t* sds = sp + kRows * kLdW;
  float* sdot = reinterpret_cast<float*>(sds + kRows * kLdW);
  const int64_t bh = blockIdx.x;
  const int64_t b = bh / bw.heads;
  const int h = static_cast<int>(bh % bw.heads), heads = bw.heads, length = bw.length;
  const int64_t qkv_stride = 3LL * heads * kD, out_stride = static_cast<int64_t>(heads) * kD;
  const uint16_t* base = bw.qkv + b * length * qkv_stride + h * kD;
  fetch_rows<kRows, 32 * RT>(sq, base, qkv_stride, length);
  fetch_rows<kRows, 32 * RT>(sk, base + heads * kD, qkv_stride, length);
  fetch_rows<kRows, 32 * RT>(sv, base + 2 * heads * kD, qkv_stride, length);
  fetch_rows<kRows, 32 * RT>(sdo, bw.dout + b * length * out_stride + h * kD, out_stride, length);
  __pipeline_commit();

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, q = lane % 4, r0 = 16 * warp;
  {  // each query row's dout . out (the softmax's backward term), two lanes a row
    const int row = r0 + lane / 2;
    float dot = 0.0f;
    if (row < length) {
      const int64_t at = (b * length + row) * out_stride + h * kD + (lane % 2) * 16;
      const T* o = reinterpret_cast<const T*>(bw.out) + at;
      const T* d = reinterpret_cast<const T*>(bw.dout) + at;
#pragma unroll
      for (int i = 0; i < 16; i += 2) {
        const float2 a = load_pair(o + i), c = load_pair(d + i);
        dot = fmaf(a.x, c.x, fmaf(a.y, c.y, dot));
      }
    }
    dot += __shfl_xor_sync(kAll, dot, 1);
    if (lane % 2 == 0) sdot[row] = dot;
  }
  __pipeline_wait_prior(0);
  __syncthreads();

  const T* tq = reinterpret_cast<const T*>(sq);
  const T* tdo = reinterpret_cast<const T*>(sdo);
  uint32_t aq[2][4], ado[2][4];
  load_a(aq[0], tq + r0 * kLd, kLd);
  load_a(aq[1], tq + r0 * kLd + 16, kLd);
  load_a(ado[0], tdo + r0 * kLd, kLd);
  load_a(ado[1], tdo + r0 * kLd + 16, kLd);
  const float to_log2 = rsqrtf(static_cast<float>(kD)) * kLog2e;
  float lse2[2], dot[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int row = r0 + g + 8 * i;
    lse2[i] = row < length ? bw.lse[bh * length + row] * kLog2e : INFINITY;  // rows past the window: weight 0
    dot[i] = sdot[row];
  }
  const bool dropout = bw.dropout_p > 0;
  const float scale = dropout ? keep_scale(threshold_of(bw.dropout_p)) : 1.0f;
  uint2 kept = make_uint2(0xffffffffu, 0xffffffffu);  // the forward's decisions, as it numbered them
  if (dropout) kept = reinterpret_cast<const uint2*>(bw.mask)[bh * 32 * RT + threadIdx.x];
  {
#pragma unroll
    for (int j = 0; j < kKeyTiles; ++j) {
      float sc[4] = {}, dp[4] = {};
      uint32_t bk[4], bv[4];
      ldmatrix_x4(bk, sk + (8 * j + lane % 8) * kLd + (lane / 8) * 8);
      mma16<T>(sc, aq[0], bk[0], bk[1]);
      mma16<T>(sc, aq[1], bk[2], bk[3]);
      ldmatrix_x4(bv, sv + (8 * j + lane % 8) * kLd + (lane / 8) * 8);
      mma16<T>(dp, ado[0], bv[0], bv[1]);
      mma16<T>(dp, ado[1], bv[2], bv[3]);
      float pd[4], ds[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = e >> 1, col = 8 * j + 2 * q + (e & 1);
        const float p = col < length ? exp2f(sc[e] * to_log2 - lse2[i]) : 0.0f;
        const int bit = 2 * (kKeyTiles * i + j) + (e & 1);
        const float factor = ((bit < 32 ? kept.x : kept.y) >> (bit % 32)) & 1u ? scale : 0.0f;
        pd[e] = p * factor;
        ds[e] = p * (dp[e] * factor - dot[i]);
      }
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int at = (r0 + g + 8 * i) * kLdW + 8 * j + 2 * q;
        store_pair(reinterpret_cast<T*>(sp + at), pd[2 * i], pd[2 * i + 1]);
        store_pair(reinterpret_cast<T*>(sds + at), ds[2 * i], ds[2 * i + 1]);
      }
    }
  }
  __syncthreads();

  // result rows 16 w ..: A from the weights (or their gradient) as stored (dq) or transposed (dk, dv),
  // B from k, q or dout transposed.
  const float softmax_scale = rsqrtf(static_cast<float>(kD));
  const auto product = [&](const uint16_t* a_rows, bool a_transposed, const uint16_t* b_rows, float factor,
                           int part) {
    float acc[4][4] = {};
#pragma unroll
    for (int kk = 0; kk < RT; ++kk) {
      uint32_t a[4];
      if (a_transposed)
        ldmatrix_x4_trans(a, a_rows + (16 * kk + lane % 8 + (lane / 16) * 8) * kLdW + r0 + ((lane / 8) % 2) * 8);
      else
        ldmatrix_x4(a, a_rows + (r0 + lane % 16) * kLdW + 16 * kk + (lane / 16) * 8);
      mma_rows<T>(acc, a, b_rows, kk, lane);
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int row = r0 + g + 8 * i;
      if (row >= length) continue;
      T* d = reinterpret_cast<T*>(bw.dqkv) + (b * length + row) * qkv_stride + part * heads * kD + h * kD + 2 * q;
#pragma unroll
      for (int nd = 0; nd < 4; ++nd) store_pair(d + 8 * nd, acc[nd][2 * i] * factor, acc[nd][2 * i + 1] * factor);
    }
  };
  product(sds, false, sk, softmax_scale, 0);  // dq
  product(sds, true, sq, softmax_scale, 1);   // dk
  product(sp, true, sdo, 1.0f, 2);            // dv
}

template <typename T, bool kTrain>
void launch_forward(const Forward& f, int row_tiles, cudaStream_t stream) {
  using Kernel = void (*)(Forward);
  static constexpr Kernel kernels[] = {attention_forward<T, 1, kTrain>, attention_forward<T, 2, kTrain>,
                                       attention_forward<T, 3, kTrain>, attention_forward<T, 4, kTrain>,
                                       attention_forward<T, 5, kTrain>, attention_forward<T, 6, kTrain>,
                                       attention_forward<T, 7, kTrain>, attention_forward<T, 8, kTrain>};
  const Kernel kernel = kernels[row_tiles - 1];
  const size_t bytes = forward_shared_bytes(row_tiles);
  if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)) != cudaSuccess)
    throw std::runtime_error("attention forward: shared memory of " + std::to_string(bytes) + " bytes refused");
  kernel<<<static_cast<unsigned>(f.batch * f.heads), 32 * row_tiles, bytes, stream>>>(f);
}

template <typename T>
void launch_backward(const Backward& b, int row_tiles, cudaStream_t stream) {
  using Kernel = void (*)(Backward);
  static constexpr Kernel kernels[] = {attention_backward<T, 1>, attention_backward<T, 2>, attention_backward<T, 3>,
                                       attention_backward<T, 4>, attention_backward<T, 5>, attention_backward<T, 6>,
                                       attention_backward<T, 7>, attention_backward<T, 8>};
  const Kernel kernel = kernels[row_tiles - 1];
  const size_t bytes = backward_shared_bytes(row_tiles);
  if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)) != cudaSuccess)
    throw std::runtime_error("attention backward: shared memory of " + std::to_string(bytes) + " bytes refused");
  kernel<<<static_cast<unsigned>(b.batch * b.heads), 32 * row_tiles, bytes, stream>>>(b);
}

void check_shape(const char* what, int64_t batch, int length, int heads) {
  if (batch < 1 || heads < 1 || !supported(length, kD) || batch * heads > 0x7fffffffLL)
    throw std::runtime_error(std::string(what) + ": needs windows of 1-" + std::to_string(kMaxLength) +
                             " steps, at least one head and window, got batch " + std::to_string(batch) + ", length " +
                             std::to_string(length) + ", heads " + std::to_string(heads));
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

bool supported(int length, int head_width) { return length >= 1 && length <= kMaxLength && head_width == kD; }

int64_t mask_words(int64_t batch, int length, int heads) { return batch * heads * 32 * ((length + 15) / 16) * 2; }

void run_forward(const Forward& f, void* stream) {
  check_shape("attention forward", f.batch, f.length, f.heads);
  const bool train = f.lse != nullptr;
  if (f.qkv == nullptr || f.out == nullptr || !aligned16(f.qkv) || !aligned16(f.out))
    throw std::runtime_error("attention forward: qkv and out must be 16-byte aligned device arrays");
  if (f.dropout.p < 0 || f.dropout.p >= 1 || (f.dropout.p > 0 && (!train || f.mask == nullptr)))
    throw std::runtime_error("attention forward: dropout needs 0 <= p < 1, and the training outputs (lse, mask)");
  const int row_tiles = (f.length + 15) / 16;
  const auto s = static_cast<cudaStream_t>(stream);
  if (f.type == Type::kBFloat16)
    train ? launch_forward<bf16, true>(f, row_tiles, s) : launch_forward<bf16, false>(f, row_tiles, s);
  else
    train ? launch_forward<half, true>(f, row_tiles, s) : launch_forward<half, false>(f, row_tiles, s);
  check_launch("attention forward");
}

void run_backward(const Backward& b, void* stream) {
  check_shape("attention backward", b.batch, b.length, b.heads);
  if (b.qkv == nullptr || b.out == nullptr || b.dout == nullptr || b.lse == nullptr || b.dqkv == nullptr ||
      !aligned16(b.qkv) || !aligned16(b.dout) || !aligned16(b.dqkv) || !aligned16(b.out))
    throw std::runtime_error("attention backward: qkv, out, dout, lse and dqkv must be (16-byte aligned) device arrays");
  if (b.dropout_p < 0 || b.dropout_p >= 1 || (b.dropout_p > 0 && b.mask == nullptr))
    throw std::runtime_error("attention backward: dropout needs 0 <= p < 1 and the forward's mask");
  const int row_tiles = (b.length + 15) / 16;
  const auto s = static_cast<cudaStream_t>(stream);
  if (b.type == Type::kBFloat16)
    launch_backward<bf16>(b, row_tiles, s);
  else
    launch_backward<half>(b, row_tiles, s);
  check_launch("attention backward");
}

}  // namespace spikecast::models::cuda_attention
