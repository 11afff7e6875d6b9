// Inference kernels for one recurrent layer direction on the CPU, for small batches.
// LibTorch's CPU LSTM/GRU runs ~10 small operators per time step; at batch 1 that dispatch overhead,
// not arithmetic, is the cost (the users' ensemble runs ~1,100 cell steps per window). These loops
// do one step as one register-blocked matrix-vector product plus vectorised gate arithmetic.
// Pure C++ on float arrays (no LibTorch): recurrent_inference.h prepares the inputs.
#pragma once

#include <cstdint>

namespace spikecast::models::cells {

// Gate layouts follow PyTorch: LSTM rows (i, f, g, o), GRU rows (r, z, n), each `hidden` wide.
struct RecurrentShape {
  int64_t steps = 0;   // T
  int64_t hidden = 0;  // H
};

// LSTM over one sequence. xp [T, 4H]: W_ih x_t + b_ih + b_hh, precomputed for every step.
// whh_t [H, 4H]: W_hh transposed (row k holds the weights of h[k] for every gate).
// Writes h_t to out + t * out_stride (t in input order; reverse runs t = T-1 .. 0).
void lstm_sequence(const float* xp, const float* whh_t, RecurrentShape shape, bool reverse, float* out,
                   int64_t out_stride);

// GRU over one sequence. xp [T, 3H]: W_ih x_t + b_ih. whh_t [H, 3H]: W_hh transposed. bhh [3H].
void gru_sequence(const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape, bool reverse,
                  float* out, int64_t out_stride);

// The instruction sets the kernels are compiled for. On x86-64 the binary carries all three and the
// entry points above run the best one the CPU supports (kernel_isa()); elsewhere only kPortable
// (GCC/Clang vector extensions on the target's own SIMD).
enum class KernelIsa {
  kPortable,  // the build's baseline (SSE2 on x86-64)
  kAvx2,      // AVX2 + FMA, 8-lane vectors
  kAvx512,    // AVX-512 F + VL, 16-lane vectors
};

// Whether this build has the variant and this CPU (and OS) can run it.
bool isa_supported(KernelIsa isa);
// The variant lstm_sequence/gru_sequence run, chosen once: the best supported one, unless the
// environment variable SPIKECAST_CELL_KERNELS_ISA names another supported one (for measurements).
KernelIsa kernel_isa();
// "portable", "avx2" or "avx512" (the names SPIKECAST_CELL_KERNELS_ISA takes).
const char* to_string(KernelIsa isa);

// The kernels above with a given variant (tests compare them); throw std::invalid_argument when
// !isa_supported(isa).
void lstm_sequence(KernelIsa isa, const float* xp, const float* whh_t, RecurrentShape shape, bool reverse,
                   float* out, int64_t out_stride);
void gru_sequence(KernelIsa isa, const float* xp, const float* whh_t, const float* bhh, RecurrentShape shape,
                  bool reverse, float* out, int64_t out_stride);

// The elementwise functions the kernels use, exposed for tests: |error| < 2e-7 for sigmoid and
// < 4e-7 for tanh against the exact function, for every finite input.
float sigmoid(float x);
float tanh(float x);

}  // namespace spikecast::models::cells
