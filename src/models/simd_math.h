// SIMD building blocks of the CPU recurrent kernels (recurrent_cells.cc for inference,
// recurrent_sequence_cells.cc for training): GCC/Clang vector types of 4, 8 and 16 lanes, and exp,
// sigmoid and tanh as branch-free polynomials that vectorise. Internal to src/models.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace spikecast::models::simd {

// On x86-64 the kernels are compiled three times: for the baseline (SSE2), for AVX2 + FMA and for
// AVX-512; kernel_isa() picks one at run time. Elsewhere there is the portable build only (the
// vector extensions map to the target's own SIMD). Everything a kernel calls is always_inline, so
// it is compiled once per variant with that variant's instruction set.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define SPIKECAST_X86_VARIANTS 1
#define SPIKECAST_TARGET(isa) __attribute__((target(isa)))
#else
#define SPIKECAST_X86_VARIANTS 0
#endif
#define SPIKECAST_INLINE inline __attribute__((always_inline))

// 4, 8 and 16 lanes. The portable build keeps to 16-byte vectors: wider ones have no registers in
// the baseline and GCC would keep them in memory.
typedef float v4 __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

// Lane count and integer twin of a float vector type.
template <typename V>
struct Lanes;
template <>
struct Lanes<v4> {
  using Int = v4i;
  static constexpr int64_t kCount = 4;
};
template <>
struct Lanes<v8> {
  using Int = v8i;
  static constexpr int64_t kCount = 8;
};
template <>
struct Lanes<v16> {
  using Int = v16i;
  static constexpr int64_t kCount = 16;
};

template <typename V>
SPIKECAST_INLINE V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
SPIKECAST_INLINE void store(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// exp(x) for x in [-87, 88] as 2^n * 2^f, n = round(x / ln 2), f in [-1/2, 1/2], with the degree-6
// Taylor polynomial of 2^f (relative error ~1.2e-7): branch-free, so loops over it vectorise.
SPIKECAST_INLINE float exp_approx(float x) {
  x = std::min(88.0f, std::max(-87.0f, x));
  const float u = x * 1.44269504088896341f + 0.5f;
  const float n = static_cast<float>(static_cast<int32_t>(u) - (u < 0.0f ? 1 : 0));  // floor(u)
  const float f = (u - 0.5f) - n;
  float p = 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// The same on every lane of a vector.
template <typename V>
SPIKECAST_INLINE V exp_approx(V x) {
  using I = typename Lanes<V>::Int;
  x = x < 88.0f ? x : 88.0f;
  x = x > -87.0f ? x : -87.0f;
  const V u = x * 1.44269504088896341f + 0.5f;
  V n = __builtin_convertvector(__builtin_convertvector(u, I), V);  // truncation
  n = n > u ? n - 1.0f : n;                                          // floor
  const V f = (u - 0.5f) - n;
  V p = f * 1.5403530e-4f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  return p * (V)bits;  // a vector cast reinterprets the bits
}

template <typename T>
SPIKECAST_INLINE T sigmoid_approx(T x) {
  return 1.0f / (1.0f + exp_approx(-x));
}
template <typename T>
SPIKECAST_INLINE T tanh_approx(T x) {
  return 2.0f / (1.0f + exp_approx(-2.0f * x)) - 1.0f;
}

}  // namespace spikecast::models::simd
