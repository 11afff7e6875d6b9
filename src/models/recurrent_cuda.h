// One CUDA kernel for a whole stack of LSTM or GRU layers at inference, for small batches (<= 8).
// One launch runs every step of every layer: a cluster of thread blocks (Hopper, sm_90) keeps the
// weights in shared memory, each block owns a slice of one layer's hidden units, and each step's new h
// reaches the blocks that read it (its own layer's, and the next layer's as input) through
// distributed shared memory, with one cluster barrier per step. The layers run as a wavefront: at
// step s layer l works on time s - l, so a stack of L layers takes T + L - 1 steps, not L * T.
// A bidirectional layer is two such clusters side by side, one per direction.
// Its point is latency: a launch takes at most 16 multiprocessors, so the ensemble's members, on
// their own streams, run at the same time, which cuDNN's small-batch kernels did not (measured on
// the H200, docs/performance.md). Plain CUDA on float arrays (no LibTorch);
// models/recurrent_inference.cc prepares the inputs.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_cells {

enum class Cell { kLstm, kGru };

// What a layer adds to its output before the next layer reads it: nothing, its own input (input
// width == hidden width), or a linear projection of its input (W_res x + b_res).
enum class Residual { kNone, kInput, kProjection };

// Largest batch the kernel takes (the per-thread accumulators are sized for it).
constexpr int kMaxBatch = 8;
// Most layers in one launch.
constexpr int kMaxLayers = 4;

struct LayerShape {
  int input = 0;   // I: the width of the layer's input
  int hidden = 0;  // H
  Residual residual = Residual::kNone;  // not on the first layer
};

struct StackShape {
  Cell cell = Cell::kLstm;
  int batch = 0;   // B <= kMaxBatch
  int steps = 0;   // T
  int layers = 0;  // 1 .. kMaxLayers
  LayerShape layer[kMaxLayers];
};

// One layer's weights. Gate layouts follow PyTorch: LSTM rows (i, f, g, o), GRU (r, z, n).
// G = 4H (LSTM) or 3H (GRU).
struct LayerWeights {
  const float* w_ih = nullptr;   // [G, I] row-major; layers after the first (the first's come in xp)
  const float* b_in = nullptr;   // [G]: b_ih (+ b_hh for the LSTM); layers after the first
  const float* w_hh = nullptr;   // [G, H] row-major, as the module stores weight_hh
  const float* b_hh = nullptr;   // [G], GRU only (its n gate needs b_hh inside r * (.)); else null
  const float* w_res = nullptr;  // [H, I], Residual::kProjection only
  const float* b_res = nullptr;  // [H], Residual::kProjection only
};

// One direction of a stack: its weights, its first layer's input projections and its output.
struct Stack {
  const float* xp = nullptr;  // [B, T, G_0]: W_ih x_t + b_ih (+ b_hh for the LSTM) of the first layer
  LayerWeights layer[kMaxLayers];
  float* out = nullptr;       // the last layer's output (with its residual) of (b, t) at
  int64_t out_batch_stride = 0;  // out + b * out_batch_stride + t * out_step_stride
  int64_t out_step_stride = 0;
  bool reverse = false;       // run t = T-1 .. 0 (one-layer stacks only: a bidirectional layer)
};

// Whether `device` can run the kernel for this shape (compute capability 9.0 or later for
// thread-block clusters, and weight slices that fit the blocks' shared memory).
bool supported(int device, const StackShape& shape);

// Runs `count` stacks of the same shape (1, or 2 for the two directions of a one-layer
// bidirectional layer) on `stream` (a cudaStream_t), asynchronously. Throws std::runtime_error
// when the shape is not supported or the launch fails.
void run(const StackShape& shape, const Stack* stacks, int count, void* stream);

}  // namespace spikecast::models::cuda_cells
