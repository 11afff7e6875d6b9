// The tensor-core building blocks the CUDA kernels share (recurrent_tiled_cuda.cu,
// attention_cuda.cu): mma.sync m16n8k16 with float32 accumulation in bfloat16 or float16, ldmatrix
// loads of its operands from shared memory, and pairs of 16-bit elements to and from floats.
// Fragment layout of one m16n8k16 (g = lane / 4, q = lane % 4): the A operand's registers hold rows
// g and g + 8 at columns 2q, 2q + 1 (registers 0, 1) and 2q + 8, 2q + 9 (registers 2, 3); the B
// operand's two registers hold rows (k) 2q, 2q + 1 and 2q + 8, 2q + 9 at column g; the accumulator
// holds rows g (0, 1) and g + 8 (2, 3) at columns 2q, 2q + 1.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace spikecast::models::mma_sync {

using half = __half;
using bf16 = __nv_bfloat16;

// Two neighbouring 16-bit elements as floats, and two floats stored as 16-bit elements (rounded to
// nearest), for float16 and bfloat16 alike.
__device__ __forceinline__ float2 load_pair(const half* p) { return __half22float2(*reinterpret_cast<const __half2*>(p)); }
__device__ __forceinline__ float2 load_pair(const bf16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}
__device__ __forceinline__ void store_pair(bf16* p, float a, float b) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(a, b);
}
__device__ __forceinline__ void store_pair(half* p, float a, float b) {
  *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
}

// Two floats as one register of two 16-bit elements (a in the low half), as an mma operand.
template <typename T16>
__device__ __forceinline__ uint32_t pack_pair(float a, float b) {
  uint32_t r;
  if constexpr (std::is_same_v<T16, bf16>) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(a, b);
    r = *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __half2 v = __floats2half2_rn(a, b);
    r = *reinterpret_cast<const uint32_t*>(&v);
  }
  return r;
}

// Four 8 x 8 matrices of 16-bit elements from shared memory: each lane gives the address of one
// matrix row (lanes 0-7 the first matrix's rows, 8-15 the second's, ...); register i of a lane holds
// elements 2 (lane % 4), + 1 of row lane / 4 of matrix i (`trans`: of its column lane / 4, rows
// 2 (lane % 4), + 1).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}

// A 16 x 16 tile of a row-major shared array (16-byte aligned rows) as the A operand.
template <typename T16>
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const T16* tile, int ld) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  ldmatrix_x4(a, tile + (lane % 16) * ld + (lane / 16) * 8);
}

// d += a b for one 16 x 8 block of the product; b0, b1: the thread's two registers of the B operand.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_f16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// d += a b in the type of T16 (float16 or bfloat16).
template <typename T16>
__device__ __forceinline__ void mma16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T16, bf16>)
    mma_bf16(d, a, b0, b1);
  else
    mma_f16(d, a, b0, b1);
}

}  // namespace spikecast::models::mma_sync
