#include "models/recurrent_sequence_cells.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "models/simd_math.h"

namespace spikecast::models::cells {
namespace {

using namespace simd;

// A row of zeros for a missing previous state (the first step), per thread, at least `n` long.
const float* zeros(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.assign(static_cast<size_t>(n), 0.0f);
  return buffer.data();
}

// The work of one step at hidden units k .. k + lanes(T) of one batch row. T is a vector type or
// float (the tail); g points at the row's gates, the other pointers at its [H] rows.
template <typename T>
SPIKECAST_INLINE void lstm_forward_at(float* g, const float* cp, float* c, float* h, int64_t hn, int64_t k) {
  const T i = sigmoid_approx(load<T>(g + k));
  const T f = sigmoid_approx(load<T>(g + hn + k));
  const T gg = tanh_approx(load<T>(g + 2 * hn + k));
  const T o = sigmoid_approx(load<T>(g + 3 * hn + k));
  const T cn = f * load<T>(cp + k) + i * gg;
  store(g + k, i);
  store(g + hn + k, f);
  store(g + 2 * hn + k, gg);
  store(g + 3 * hn + k, o);
  store(c + k, cn);
  store(h + k, o * tanh_approx(cn));
}

template <typename T>
SPIKECAST_INLINE void lstm_backward_at(const float* a, const float* c, const float* cp, const float* dy,
                                       const float* dh, float* dc, float* dg, int64_t hn, int64_t k) {
  const T i = load<T>(a + k), f = load<T>(a + hn + k), g = load<T>(a + 2 * hn + k), o = load<T>(a + 3 * hn + k);
  const T tc = tanh_approx(load<T>(c + k));  // the forward's own value: the same function of the same c
  const T dht = load<T>(dy + k) + load<T>(dh + k);
  const T dct = load<T>(dc + k) + dht * o * (1.0f - tc * tc);
  store(dg + k, dct * g * i * (1.0f - i));
  store(dg + hn + k, dct * load<T>(cp + k) * f * (1.0f - f));
  store(dg + 2 * hn + k, dct * i * (1.0f - g * g));
  store(dg + 3 * hn + k, dht * tc * o * (1.0f - o));
  store(dc + k, dct * f);
}

template <typename T>
SPIKECAST_INLINE void gru_forward_at(float* x, const float* hg, const float* hp, float* h, int64_t hn, int64_t k) {
  const T r = sigmoid_approx(load<T>(x + k) + load<T>(hg + k));
  const T z = sigmoid_approx(load<T>(x + hn + k) + load<T>(hg + hn + k));
  const T n = tanh_approx(load<T>(x + 2 * hn + k) + r * load<T>(hg + 2 * hn + k));
  store(x + k, r);
  store(x + hn + k, z);
  store(x + 2 * hn + k, n);
  store(h + k, (1.0f - z) * n + z * load<T>(hp + k));
}

template <typename T>
SPIKECAST_INLINE void gru_backward_at(const float* a, const float* hg, const float* hp, const float* dy,
                                      const float* dh, float* dxg, float* dhg, float* dhp, int64_t hn, int64_t k) {
  const T r = load<T>(a + k), z = load<T>(a + hn + k), n = load<T>(a + 2 * hn + k);
  const T dht = load<T>(dy + k) + load<T>(dh + k);
  const T dn = dht * (1.0f - z) * (1.0f - n * n);
  const T dz = dht * (load<T>(hp + k) - n) * z * (1.0f - z);
  const T dr = dn * load<T>(hg + 2 * hn + k) * r * (1.0f - r);
  store(dxg + k, dr);
  store(dxg + hn + k, dz);
  store(dxg + 2 * hn + k, dn);
  store(dhg + k, dr);
  store(dhg + hn + k, dz);
  store(dhg + 2 * hn + k, dn * r);
  store(dhp + k, dht * z);
}

// Each step over the batch rows: vectors of V's width, then the tail one unit at a time.
template <typename V>
SPIKECAST_INLINE void lstm_forward_body(float* gates, const float* c_prev, float* c, float* h, StepShape s) {
  const int64_t hn = s.hidden;
  const float* zero = zeros(hn);
  for (int64_t b = 0; b < s.batch; ++b) {
    float* g = gates + b * 4 * hn;
    const float* cp = c_prev != nullptr ? c_prev + b * hn : zero;
    float *cb = c + b * hn, *hb = h + b * hn;
    int64_t k = 0;
    for (; k + Lanes<V>::kCount <= hn; k += Lanes<V>::kCount) lstm_forward_at<V>(g, cp, cb, hb, hn, k);
    for (; k < hn; ++k) lstm_forward_at<float>(g, cp, cb, hb, hn, k);
  }
}

template <typename V>
SPIKECAST_INLINE void lstm_backward_body(const float* act, const float* c, const float* c_prev, const float* dy,
                                         const float* dh, float* dc, float* dgates, StepShape s) {
  const int64_t hn = s.hidden;
  const float* zero = zeros(hn);
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t r = b * hn;
    const float* a = act + 4 * r;
    const float* cp = c_prev != nullptr ? c_prev + r : zero;
    float* dg = dgates + 4 * r;
    int64_t k = 0;
    for (; k + Lanes<V>::kCount <= hn; k += Lanes<V>::kCount)
      lstm_backward_at<V>(a, c + r, cp, dy + r, dh + r, dc + r, dg, hn, k);
    for (; k < hn; ++k) lstm_backward_at<float>(a, c + r, cp, dy + r, dh + r, dc + r, dg, hn, k);
  }
}

template <typename V>
SPIKECAST_INLINE void gru_forward_body(float* xg, const float* hg, const float* h_prev, float* h, StepShape s) {
  const int64_t hn = s.hidden;
  const float* zero = zeros(hn);
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t r = b * hn;
    float* x = xg + 3 * r;
    const float* hgr = hg + 3 * r;
    const float* hp = h_prev != nullptr ? h_prev + r : zero;
    int64_t k = 0;
    for (; k + Lanes<V>::kCount <= hn; k += Lanes<V>::kCount) gru_forward_at<V>(x, hgr, hp, h + r, hn, k);
    for (; k < hn; ++k) gru_forward_at<float>(x, hgr, hp, h + r, hn, k);
  }
}

template <typename V>
SPIKECAST_INLINE void gru_backward_body(const float* act, const float* hg, const float* h_prev, const float* dy,
                                        const float* dh, float* dxg, float* dhg, float* dh_prev, StepShape s) {
  const int64_t hn = s.hidden;
  const float* zero = zeros(hn);
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t r = b * hn;
    const float *a = act + 3 * r, *hgr = hg + 3 * r;
    const float* hp = h_prev != nullptr ? h_prev + r : zero;
    float *dx = dxg + 3 * r, *dg = dhg + 3 * r;
    int64_t k = 0;
    for (; k + Lanes<V>::kCount <= hn; k += Lanes<V>::kCount)
      gru_backward_at<V>(a, hgr, hp, dy + r, dh + r, dx, dg, dh_prev + r, hn, k);
    for (; k < hn; ++k) gru_backward_at<float>(a, hgr, hp, dy + r, dh + r, dx, dg, dh_prev + r, hn, k);
  }
}

// The four kernels of one variant, compiled with that variant's instruction set.
#define SPIKECAST_STEP_KERNELS(attributes, suffix, V)                                                          \
  attributes void lstm_forward_##suffix(float* g, const float* cp, float* c, float* h, StepShape s) {         \
    lstm_forward_body<V>(g, cp, c, h, s);                                                                      \
  }                                                                                                            \
  attributes void lstm_backward_##suffix(const float* a, const float* c, const float* cp, const float* dy,    \
                                         const float* dh, float* dc, float* dg, StepShape s) {                 \
    lstm_backward_body<V>(a, c, cp, dy, dh, dc, dg, s);                                                        \
  }                                                                                                            \
  attributes void gru_forward_##suffix(float* x, const float* hg, const float* hp, float* h, StepShape s) {   \
    gru_forward_body<V>(x, hg, hp, h, s);                                                                      \
  }                                                                                                            \
  attributes void gru_backward_##suffix(const float* a, const float* hg, const float* hp, const float* dy,    \
                                        const float* dh, float* dxg, float* dhg, float* dhp, StepShape s) {    \
    gru_backward_body<V>(a, hg, hp, dy, dh, dxg, dhg, dhp, s);                                                 \
  }

SPIKECAST_STEP_KERNELS(, portable, v4)
#if SPIKECAST_X86_VARIANTS
SPIKECAST_STEP_KERNELS(SPIKECAST_TARGET("avx2,fma"), avx2, v8)
SPIKECAST_STEP_KERNELS(SPIKECAST_TARGET("avx512f,avx512vl,avx2,fma"), avx512, v16)
#endif
#undef SPIKECAST_STEP_KERNELS

struct StepKernels {
  decltype(&lstm_forward_portable) lstm_forward;
  decltype(&lstm_backward_portable) lstm_backward;
  decltype(&gru_forward_portable) gru_forward;
  decltype(&gru_backward_portable) gru_backward;
};

StepKernels variant(KernelIsa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("recurrent step kernels: ") + to_string(isa) + " is not available here");
  switch (isa) {
#if SPIKECAST_X86_VARIANTS
    case KernelIsa::kAvx2: return {lstm_forward_avx2, lstm_backward_avx2, gru_forward_avx2, gru_backward_avx2};
    case KernelIsa::kAvx512: return {lstm_forward_avx512, lstm_backward_avx512, gru_forward_avx512, gru_backward_avx512};
#endif
    default: return {lstm_forward_portable, lstm_backward_portable, gru_forward_portable, gru_backward_portable};
  }
}

// The variant recurrent_cells.h's kernel_isa() chose.
const StepKernels& kernels() {
  static const StepKernels k = variant(kernel_isa());
  return k;
}

}  // namespace

void lstm_step_forward(float* gates, const float* c_prev, float* c, float* h, StepShape shape) {
  kernels().lstm_forward(gates, c_prev, c, h, shape);
}

void lstm_step_backward(const float* act, const float* c, const float* c_prev, const float* dy, const float* dh,
                        float* dc, float* dgates, StepShape shape) {
  kernels().lstm_backward(act, c, c_prev, dy, dh, dc, dgates, shape);
}

void gru_step_forward(float* xg, const float* hg, const float* h_prev, float* h, StepShape shape) {
  kernels().gru_forward(xg, hg, h_prev, h, shape);
}

void gru_step_backward(const float* act, const float* hg, const float* h_prev, const float* dy, const float* dh,
                       float* dxg, float* dhg, float* dh_prev, StepShape shape) {
  kernels().gru_backward(act, hg, h_prev, dy, dh, dxg, dhg, dh_prev, shape);
}

void lstm_step_forward(KernelIsa isa, float* gates, const float* c_prev, float* c, float* h, StepShape shape) {
  variant(isa).lstm_forward(gates, c_prev, c, h, shape);
}

void lstm_step_backward(KernelIsa isa, const float* act, const float* c, const float* c_prev, const float* dy,
                        const float* dh, float* dc, float* dgates, StepShape shape) {
  variant(isa).lstm_backward(act, c, c_prev, dy, dh, dc, dgates, shape);
}

void gru_step_forward(KernelIsa isa, float* xg, const float* hg, const float* h_prev, float* h, StepShape shape) {
  variant(isa).gru_forward(xg, hg, h_prev, h, shape);
}

void gru_step_backward(KernelIsa isa, const float* act, const float* hg, const float* h_prev, const float* dy,
                       const float* dh, float* dxg, float* dhg, float* dh_prev, StepShape shape) {
  variant(isa).gru_backward(act, hg, h_prev, dy, dh, dxg, dhg, dh_prev, shape);
}

}  // namespace spikecast::models::cells
