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

// The elementwise functions the kernels use, exposed for tests: |error| < 2e-7 for sigmoid and
// < 4e-7 for tanh against the exact function, for every finite input.
float sigmoid(float x);
float tanh(float x);

}  // namespace spikecast::models::cells
