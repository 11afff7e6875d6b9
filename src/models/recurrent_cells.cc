#include "models/recurrent_cells.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace spikecast::models::cells {
namespace {

// Builds with x86-64-v3 (AVX2 + FMA) and baseline clones; the loader picks one at start-up.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SPIKECAST_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SPIKECAST_CLONES
#endif

typedef float v8 __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;
constexpr int64_t kBlock = 8 * kLanes;  // 64 outputs in 8 vector accumulators

inline v8 load(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// y[0..g) = y0 + sum_k h[k] * wt[k, 0..g): the accumulators of a 64-wide block stay in registers
// while k runs, so each weight is loaded once and used in one fused multiply-add.
inline void matvec_t(const float* y0, const float* wt, const float* h, int64_t hidden, int64_t g, float* y) {
  int64_t j = 0;
  for (; j + kBlock <= g; j += kBlock) {
    v8 acc[8];
    for (int a = 0; a < 8; ++a) acc[a] = load(y0 + j + a * kLanes);
    const float* w = wt + j;
    for (int64_t k = 0; k < hidden; ++k, w += g) {
      const float hk = h[k];
      for (int a = 0; a < 8; ++a) acc[a] += hk * load(w + a * kLanes);
    }
    for (int a = 0; a < 8; ++a) store(y + j + a * kLanes, acc[a]);
  }
  for (; j + kLanes <= g; j += kLanes) {
    v8 acc = load(y0 + j);
    const float* w = wt + j;
    for (int64_t k = 0; k < hidden; ++k, w += g) acc += h[k] * load(w);
    store(y + j, acc);
  }
  for (; j < g; ++j) {
    float acc = y0[j];
    for (int64_t k = 0; k < hidden; ++k) acc += h[k] * wt[k * g + j];
    y[j] = acc;
  }
}

// exp(x) for x in [-87, 88] as 2^n * 2^f, n = round(x / ln 2), f in [-1/2, 1/2], with the degree-6
// Taylor polynomial of 2^f (relative error ~1.2e-7): branch-free, so loops over it vectorise.
inline float exp_approx(float x) {
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

inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline float tanh_approx(float x) { return 2.0f / (1.0f + exp_approx(-2.0f * x)) - 1.0f; }

// The same three functions on 8 lanes (GCC vector extensions: AVX2 in the x86-64-v3 clone).
typedef int32_t v8i __attribute__((vector_size(32)));

inline v8 exp_approx(v8 x) {
  x = x < 88.0f ? x : 88.0f;
  x = x > -87.0f ? x : -87.0f;
  const v8 u = x * 1.44269504088896341f + 0.5f;
  v8 n = __builtin_convertvector(__builtin_convertvector(u, v8i), v8);  // truncation
  n = n > u ? n - 1.0f : n;                                              // floor
  const v8 f = (u - 0.5f) - n;
  v8 p = f * 1.5403530e-4f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const v8i bits = (__builtin_convertvector(n, v8i) + 127) << 23;
  return p * (v8)bits;  // a vector cast reinterprets the bits
}

inline v8 sigmoid_approx(v8 x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline v8 tanh_approx(v8 x) { return 2.0f / (1.0f + exp_approx(-2.0f * x)) - 1.0f; }

}  // namespace

float sigmoid(float x) { return sigmoid_approx(x); }
float tanh(float x) { return tanh_approx(x); }

SPIKECAST_CLONES
void lstm_sequence(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                   int64_t out_stride) {
  const int64_t hn = shape.hidden, g = 4 * hn;
  std::vector<float> h(static_cast<size_t>(hn), 0.0f), c(static_cast<size_t>(hn), 0.0f);
  std::vector<float> gates(static_cast<size_t>(g));
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t t = reverse ? shape.steps - 1 - s : s;
    matvec_t(xp + t * g, whh_t, h.data(), hn, g, gates.data());
    float* gi = gates.data();
    float* gf = gi + hn;
    float* gg = gf + hn;
    float* go = gg + hn;
    float* o = out + t * out_stride;
    int64_t k = 0;
    for (; k + kLanes <= hn; k += kLanes) {
      const v8 ck = sigmoid_approx(load(gf + k)) * load(c.data() + k) + sigmoid_approx(load(gi + k)) * tanh_approx(load(gg + k));
      const v8 hk = sigmoid_approx(load(go + k)) * tanh_approx(ck);
      store(c.data() + k, ck);
      store(h.data() + k, hk);
      store(o + k, hk);
    }
    for (; k < hn; ++k) {
      const float ck = sigmoid_approx(gf[k]) * c[k] + sigmoid_approx(gi[k]) * tanh_approx(gg[k]);
      c[k] = ck;
      h[k] = sigmoid_approx(go[k]) * tanh_approx(ck);
      o[k] = h[k];
    }
  }
}

SPIKECAST_CLONES
void gru_sequence(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse,
                  float* out, int64_t out_stride) {
  const int64_t hn = shape.hidden, g = 3 * hn;
  std::vector<float> h(static_cast<size_t>(hn), 0.0f), hp(static_cast<size_t>(g));
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t t = reverse ? shape.steps - 1 - s : s;
    matvec_t(bhh, whh_t, h.data(), hn, g, hp.data());  // W_hh h + b_hh
    const float* x = xp + t * g;
    float* o = out + t * out_stride;
    int64_t k = 0;
    for (; k + kLanes <= hn; k += kLanes) {
      const v8 r = sigmoid_approx(load(x + k) + load(hp.data() + k));
      const v8 z = sigmoid_approx(load(x + hn + k) + load(hp.data() + hn + k));
      const v8 n = tanh_approx(load(x + 2 * hn + k) + r * load(hp.data() + 2 * hn + k));
      const v8 hk = (1.0f - z) * n + z * load(h.data() + k);
      store(h.data() + k, hk);
      store(o + k, hk);
    }
    for (; k < hn; ++k) {
      const float r = sigmoid_approx(x[k] + hp[k]);
      const float z = sigmoid_approx(x[hn + k] + hp[hn + k]);
      const float n = tanh_approx(x[2 * hn + k] + r * hp[2 * hn + k]);
      h[k] = (1.0f - z) * n + z * h[k];
      o[k] = h[k];
    }
  }
}

}  // namespace spikecast::models::cells
