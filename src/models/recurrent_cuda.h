// One CUDA kernel for a whole LSTM or GRU layer at inference, for small batches (<= 8).
// One launch runs all steps of a layer (both directions side by side): a cluster of thread blocks
// (Hopper, sm_90) keeps W_hh in shared memory, each block owns a slice of the hidden units, and each
// step's new h reaches every block of the cluster through distributed shared memory, with one
// cluster barrier per step. Alone it is about as fast as cuDNN's small-batch kernels (faster for the
// 128-wide LSTM layers, slower for the small ones); its point is that a launch takes at most 16
// multiprocessors, so the ensemble's members, on their own streams, run at the same time, which
// cuDNN's kernels did not (measured on the H200: one window 1.54 -> 0.71 ms, docs/performance.md).
// Plain CUDA on float arrays (no LibTorch); models/recurrent_inference.cc prepares the inputs.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_cells {

enum class Cell { kLstm, kGru };

// Largest batch the kernel takes (the per-thread accumulators are sized for it).
constexpr int kMaxBatch = 8;

// One direction of one layer. Gate layouts follow PyTorch: LSTM rows (i, f, g, o), GRU (r, z, n).
struct Direction {
  const float* xp = nullptr;   // [B, T, G]: W_ih x_t + b_ih (+ b_hh for the LSTM), G = 4H or 3H
  const float* w_hh = nullptr; // [G, H] row-major, as the module stores weight_hh
  const float* b_hh = nullptr; // [G], GRU only (its n gate needs b_hh inside r * (.)); else null
  float* out = nullptr;        // h of (b, t) at out + b * out_batch_stride + t * out_step_stride
  int64_t out_batch_stride = 0;
  int64_t out_step_stride = 0;
  bool reverse = false;        // run t = T-1 .. 0
};

struct Shape {
  int batch = 0;   // B <= kMaxBatch
  int steps = 0;   // T
  int hidden = 0;  // H
};

// Whether `device` can run the kernel for this cell and shape (compute capability 9.0 or later for
// thread-block clusters, and W_hh slices that fit the blocks' shared memory).
bool supported(int device, Cell cell, const Shape& shape);

// Runs `count` (1 or 2) directions of one layer on `stream` (a cudaStream_t), asynchronously.
// Throws std::runtime_error when the launch fails.
void run_layer(Cell cell, const Shape& shape, const Direction* directions, int count, void* stream);

}  // namespace spikecast::models::cuda_cells
