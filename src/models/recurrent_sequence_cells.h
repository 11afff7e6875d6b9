// The elementwise work of one time step of an LSTM or GRU layer over a batch, forward and backward,
// for training on the CPU (recurrent_sequence.h does the matrix products around it). One fused,
// vectorised pass per step where LibTorch's CPU cell runs about ten operators, each a pass over the
// batch and, under autograd, a node that keeps its own inputs. Pure C++ on float arrays; rows are the
// batch, each row `hidden` (H) wide per gate, gates in PyTorch's order: LSTM (i, f, g, o), GRU (r, z, n).
// The variant (portable, AVX2, AVX-512) is the one recurrent_cells.h's kernel_isa() chose.
#pragma once

#include <cstdint>

#include "models/recurrent_cells.h"

namespace spikecast::models::cells {

struct StepShape {
  int64_t batch = 0;   // B
  int64_t hidden = 0;  // H
};

// LSTM, forward. gates [B, 4H]: the pre-activations W_ih x_t + b_ih + b_hh + W_hh h_{t-1}, replaced in
// place by the activations (sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)), which backward reads.
// c_prev [B, H] (nullptr: the zero state). Writes c = f c_prev + i g and h = o tanh(c), both [B, H].
void lstm_step_forward(float* gates, const float* c_prev, float* c, float* h, StepShape shape);

// LSTM, backward through one step. act, c, c_prev: what the forward step kept and read (c_prev
// nullptr: zero). dy [B, H]: the gradient of the loss w.r.t. h_t from the layer's output, dh [B, H]:
// the part from step t+1 (through W_hh); dc [B, H]: in, the gradient w.r.t. c_t from step t+1; out,
// the gradient w.r.t. c_{t-1}. Writes dgates [B, 4H], the gradient w.r.t. the pre-activations.
void lstm_step_backward(const float* act, const float* c, const float* c_prev, const float* dy, const float* dh,
                        float* dc, float* dgates, StepShape shape);

// GRU, forward. xg [B, 3H]: W_ih x_t + b_ih, replaced in place by (r, z, n); hg [B, 3H]: W_hh h_{t-1}
// + b_hh, read only (backward needs its n part). h_prev [B, H] (nullptr: zero). Writes h [B, H]:
// r = sigmoid(xg_r + hg_r), z = sigmoid(xg_z + hg_z), n = tanh(xg_n + r hg_n), h = (1 - z) n + z h_prev.
void gru_step_forward(float* xg, const float* hg, const float* h_prev, float* h, StepShape shape);

// GRU, backward through one step. act (r, z, n) and hg as the forward step left them, h_prev
// (nullptr: zero), dy and dh as for the LSTM. Writes dxg [B, 3H] (the gradient w.r.t. xg's
// pre-activations: the input projection and b_ih), dhg [B, 3H] (w.r.t. hg: W_hh h_{t-1} + b_hh; its n
// part is scaled by r) and dh_prev [B, H], the gradient w.r.t. h_{t-1} through z only (the caller
// adds dhg W_hh).
void gru_step_backward(const float* act, const float* hg, const float* h_prev, const float* dy, const float* dh,
                       float* dxg, float* dhg, float* dh_prev, StepShape shape);

// The kernels above with a given variant (tests compare them); throw std::invalid_argument when
// !isa_supported(isa).
void lstm_step_forward(KernelIsa isa, float* gates, const float* c_prev, float* c, float* h, StepShape shape);
void lstm_step_backward(KernelIsa isa, const float* act, const float* c, const float* c_prev, const float* dy,
                        const float* dh, float* dc, float* dgates, StepShape shape);
void gru_step_forward(KernelIsa isa, float* xg, const float* hg, const float* h_prev, float* h, StepShape shape);
void gru_step_backward(KernelIsa isa, const float* act, const float* hg, const float* h_prev, const float* dy,
                       const float* dh, float* dxg, float* dhg, float* dh_prev, StepShape shape);

}  // namespace spikecast::models::cells
