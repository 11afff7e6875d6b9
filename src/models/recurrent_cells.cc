#include "models/recurrent_cells.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/simd_math.h"

namespace spikecast::models::cells {
namespace {

using namespace simd;

// The recurrent weights as a step reads them: W_hh transposed, whh_t [H, G] (row k: the weights of
// h[k]), cut into blocks of kBlock columns, each block [H, kBlock] contiguous, so that a step streams
// through the weights in order instead of touching kBlock / 16 cache lines 4G bytes apart for every k.
// Columns past G are zero. Packed once per call (one pass over the weights; a call runs T steps).
constexpr int64_t kBlock = 64;

int64_t padded(int64_t g) { return (g + kBlock - 1) / kBlock * kBlock; }

void pack_weights(const float* whh_t, int64_t hidden, int64_t g, float* packed) {
  for (int64_t j = 0; j < g; j += kBlock) {
    const int64_t width = std::min(kBlock, g - j);
    for (int64_t k = 0; k < hidden; ++k, packed += kBlock) {
      std::memcpy(packed, whh_t + k * g + j, static_cast<size_t>(width) * sizeof(float));
      std::fill(packed + width, packed + kBlock, 0.0f);
    }
  }
}

// y[0..gp) += sum_k h[k] * W[k, 0..gp) on the packed weights (gp a multiple of kBlock): kAcc vector
// accumulators (kAcc * lanes columns) stay in registers while k runs, so each weight is loaded once
// and used in one multiply-add (fused where the variant has FMA), in the order k = 0, 1, ...
template <typename V, int kAcc>
SPIKECAST_INLINE void matvec_packed(const float* packed, const float* h, int64_t hidden, int64_t gp, float* y) {
  constexpr int64_t kLanes = Lanes<V>::kCount, kWidth = kAcc * kLanes;
  static_assert(kBlock % kWidth == 0, "a pass covers a part of one block");
  for (int64_t j = 0; j < gp; j += kWidth) {
    const float* w = packed + j / kBlock * hidden * kBlock + j % kBlock;
    V acc[kAcc];
    for (int a = 0; a < kAcc; ++a) acc[a] = load<V>(y + j + a * kLanes);
    for (int64_t k = 0; k < hidden; ++k, w += kBlock) {
      const float hk = h[k];
      for (int a = 0; a < kAcc; ++a) acc[a] += hk * load<V>(w + a * kLanes);
    }
    for (int a = 0; a < kAcc; ++a) store(y + j + a * kLanes, acc[a]);
  }
}

// Per-thread working memory, reused from call to call (at batch 1 a window runs ~20 calls): the
// packed weights [H, gp], the gates or W_hh h [gp], then the states h and c [H], each 64-byte aligned.
struct Workspace {
  float *packed, *gates, *h, *c;
};

Workspace workspace(int64_t hidden, int64_t gp) {
  const auto aligned = [](int64_t n) { return (n + 15) / 16 * 16; };
  const int64_t sizes[] = {hidden * gp, gp, aligned(hidden), aligned(hidden)};
  thread_local std::vector<float> buffer;
  const auto total = static_cast<size_t>(sizes[0] + sizes[1] + sizes[2] + sizes[3] + 16);
  if (buffer.size() < total) buffer.resize(total);
  auto address = reinterpret_cast<uintptr_t>(buffer.data());
  float* p = buffer.data() + (64 - address % 64) % 64 / sizeof(float);
  Workspace w{};
  float** parts[] = {&w.packed, &w.gates, &w.h, &w.c};
  for (int i = 0; i < 4; ++i) {
    *parts[i] = p;
    p += sizes[i];
  }
  std::fill(w.gates, w.c + sizes[3], 0.0f);  // the padding of the gates, h and c start at zero
  return w;
}

// LSTM gates of one step for k from `begin` in steps of V's width; returns where it stopped.
template <typename V>
SPIKECAST_INLINE int64_t lstm_gates(const float* gates, int64_t hn, int64_t begin, float* c, float* h, float* o) {
  constexpr int64_t kLanes = Lanes<V>::kCount;
  const float *gi = gates, *gf = gi + hn, *gg = gf + hn, *go = gg + hn;
  int64_t k = begin;
  for (; k + kLanes <= hn; k += kLanes) {
    const V ck = sigmoid_approx(load<V>(gf + k)) * load<V>(c + k) +
                 sigmoid_approx(load<V>(gi + k)) * tanh_approx(load<V>(gg + k));
    const V hk = sigmoid_approx(load<V>(go + k)) * tanh_approx(ck);
    store(c + k, ck);
    store(h + k, hk);
    store(o + k, hk);
  }
  return k;
}

// V: the variant's vector type; kAcc: its matvec_packed accumulators.
template <typename V, int kAcc>
SPIKECAST_INLINE void lstm_body(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                                int64_t out_stride) {
  const int64_t hn = shape.hidden, g = 4 * hn, gp = padded(g);
  const Workspace ws = workspace(hn, gp);
  pack_weights(whh_t, hn, g, ws.packed);
  const float *gi = ws.gates, *gf = gi + hn, *gg = gf + hn, *go = gg + hn;
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t t = reverse ? shape.steps - 1 - s : s;
    std::memcpy(ws.gates, xp + t * g, static_cast<size_t>(g) * sizeof(float));
    matvec_packed<V, kAcc>(ws.packed, ws.h, hn, gp, ws.gates);
    float* o = out + t * out_stride;
    int64_t k = lstm_gates<V>(ws.gates, hn, 0, ws.c, ws.h, o);
    if constexpr (Lanes<V>::kCount > 4) k = lstm_gates<v4>(ws.gates, hn, k, ws.c, ws.h, o);
    for (; k < hn; ++k) {
      const float ck = sigmoid_approx(gf[k]) * ws.c[k] + sigmoid_approx(gi[k]) * tanh_approx(gg[k]);
      ws.c[k] = ck;
      ws.h[k] = sigmoid_approx(go[k]) * tanh_approx(ck);
      o[k] = ws.h[k];
    }
  }
}

// GRU gates of one step: x the step's input projections [3H], hp = W_hh h + b_hh [3H].
template <typename V>
SPIKECAST_INLINE int64_t gru_gates(const float* x, const float* hp, int64_t hn, int64_t begin, float* h, float* o) {
  constexpr int64_t kLanes = Lanes<V>::kCount;
  int64_t k = begin;
  for (; k + kLanes <= hn; k += kLanes) {
    const V r = sigmoid_approx(load<V>(x + k) + load<V>(hp + k));
    const V z = sigmoid_approx(load<V>(x + hn + k) + load<V>(hp + hn + k));
    const V n = tanh_approx(load<V>(x + 2 * hn + k) + r * load<V>(hp + 2 * hn + k));
    const V hk = (1.0f - z) * n + z * load<V>(h + k);
    store(h + k, hk);
    store(o + k, hk);
  }
  return k;
}

template <typename V, int kAcc>
SPIKECAST_INLINE void gru_body(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape,
                               bool reverse, float* out, int64_t out_stride) {
  const int64_t hn = shape.hidden, g = 3 * hn, gp = padded(g);
  const Workspace ws = workspace(hn, gp);
  pack_weights(whh_t, hn, g, ws.packed);
  float* hp = ws.gates;
  float* h = ws.h;
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t t = reverse ? shape.steps - 1 - s : s;
    std::memcpy(hp, bhh, static_cast<size_t>(g) * sizeof(float));
    matvec_packed<V, kAcc>(ws.packed, h, hn, gp, hp);  // W_hh h + b_hh
    const float* x = xp + t * g;
    float* o = out + t * out_stride;
    int64_t k = gru_gates<V>(x, hp, hn, 0, h, o);
    if constexpr (Lanes<V>::kCount > 4) k = gru_gates<v4>(x, hp, hn, k, h, o);
    for (; k < hn; ++k) {
      const float r = sigmoid_approx(x[k] + hp[k]);
      const float z = sigmoid_approx(x[hn + k] + hp[hn + k]);
      const float n = tanh_approx(x[2 * hn + k] + r * hp[2 * hn + k]);
      h[k] = (1.0f - z) * n + z * h[k];
      o[k] = h[k];
    }
  }
}

// One variant: both kernels compiled with one instruction set.
struct Variant {
  void (*lstm)(const float*, const float*, RecurrentShape, bool, float*, int64_t);
  void (*gru)(const float*, const float*, const float*, RecurrentShape, bool, float*, int64_t);
};

void lstm_portable(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                   int64_t out_stride) {
  lstm_body<v4, 8>(xp, whh_t, shape, reverse, out, out_stride);
}
void gru_portable(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse,
                  float* out, int64_t out_stride) {
  gru_body<v4, 8>(xp, whh_t, bhh, shape, reverse, out, out_stride);
}

#if SPIKECAST_X86_VARIANTS
SPIKECAST_TARGET("avx2,fma")
void lstm_avx2(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
               int64_t out_stride) {
  lstm_body<v8, 8>(xp, whh_t, shape, reverse, out, out_stride);
}
SPIKECAST_TARGET("avx2,fma")
void gru_avx2(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse, float* out,
              int64_t out_stride) {
  gru_body<v8, 8>(xp, whh_t, bhh, shape, reverse, out, out_stride);
}
SPIKECAST_TARGET("avx512f,avx512vl,avx2,fma")
void lstm_avx512(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                 int64_t out_stride) {
  lstm_body<v16, 4>(xp, whh_t, shape, reverse, out, out_stride);
}
SPIKECAST_TARGET("avx512f,avx512vl,avx2,fma")
void gru_avx512(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse,
                float* out, int64_t out_stride) {
  gru_body<v16, 4>(xp, whh_t, bhh, shape, reverse, out, out_stride);
}
#endif

Variant variant(KernelIsa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("recurrent cell kernels: ") + to_string(isa) + " is not available here");
  switch (isa) {
#if SPIKECAST_X86_VARIANTS
    case KernelIsa::kAvx2: return {lstm_avx2, gru_avx2};
    case KernelIsa::kAvx512: return {lstm_avx512, gru_avx512};
#endif
    default: return {lstm_portable, gru_portable};
  }
}

// The best supported variant, or the one SPIKECAST_CELL_KERNELS_ISA names ("portable", "avx2",
// "avx512"; a diagnostic switch, read once, for measuring one against another in the same binary)
// when this CPU supports it.
KernelIsa choose_isa() {
  const char* asked = std::getenv("SPIKECAST_CELL_KERNELS_ISA");
  const KernelIsa best_first[] = {KernelIsa::kAvx512, KernelIsa::kAvx2, KernelIsa::kPortable};
  if (asked != nullptr)
    for (KernelIsa isa : best_first)
      if (isa_supported(isa) && std::strcmp(asked, to_string(isa)) == 0) return isa;
  for (KernelIsa isa : best_first)
    if (isa_supported(isa)) return isa;
  return KernelIsa::kPortable;
}

}  // namespace

bool isa_supported(KernelIsa isa) {
  if (isa == KernelIsa::kPortable) return true;
#if SPIKECAST_X86_VARIANTS
  __builtin_cpu_init();  // idempotent; callers may run before the constructors that call it
  // __builtin_cpu_supports also checks that the OS saves the AVX (and AVX-512) registers.
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == KernelIsa::kAvx2) return avx2;
  if (isa == KernelIsa::kAvx512)
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
  return false;
}

const char* to_string(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAvx2: return "avx2";
    case KernelIsa::kAvx512: return "avx512";
    default: return "portable";
  }
}

KernelIsa kernel_isa() {
  static const KernelIsa isa = choose_isa();
  return isa;
}

float sigmoid(float x) { return sigmoid_approx(x); }
float tanh(float x) { return tanh_approx(x); }

void lstm_sequence(KernelIsa isa, const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                   int64_t out_stride) {
  variant(isa).lstm(xp, whh_t, shape, reverse, out, out_stride);
}

void gru_sequence(KernelIsa isa, const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape,
                  bool reverse, float* out, int64_t out_stride) {
  variant(isa).gru(xp, whh_t, bhh, shape, reverse, out, out_stride);
}

void lstm_sequence(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                   int64_t out_stride) {
  static const Variant v = variant(kernel_isa());
  v.lstm(xp, whh_t, shape, reverse, out, out_stride);
}

void gru_sequence(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse,
                  float* out, int64_t out_stride) {
  static const Variant v = variant(kernel_isa());
  v.gru(xp, whh_t, bhh, shape, reverse, out, out_stride);
}

}  // namespace spikecast::models::cells
