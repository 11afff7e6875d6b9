// One CUDA kernel for one LSTM or GRU layer over a large batch, on tensor cores.
// Each thread block owns kTileRows windows of the batch and runs them through every step: W_hh stays
// in the warps' registers (part in shared memory at H = 128), h (float16) in shared memory, the cell
// state in registers, and each step's h W_hh^T is a [kTileRows, H] x [H, G] product on the tensor
// cores (mma.sync, float16 in, float32 accumulation). A warp owns 8 hidden units of every gate, so the
// gates' element-wise work runs on its accumulator registers in the same step. Windows are independent,
// so blocks never wait for each other, and a batch of thousands fills the card. The input
// projections of every step (x_t W_ih^T) come precomputed as one large matrix product.
// Its point is throughput under autocast, where cuDNN's recurrent kernels leave most of the card
// idle (docs/performance.md). float16, not bf16, because cuDNN's recurrent layers also compute in
// float16 under autocast, and h (in [-1, 1]) and the normalised inputs need its precision more than
// bf16's range. Plain CUDA (no LibTorch); models/recurrent_inference.cc prepares the inputs. float16
// arrays travel as their 16-bit patterns (uint16_t) so this header needs no CUDA header.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_tiled {

enum class Cell { kLstm, kGru };

// Windows per thread block.
constexpr int kTileRows = 32;

// A layer with at most this many input features can hand the kernel its inputs (zero-padded to this
// width) instead of their projections: the kernel multiplies them by W_ih itself (Direction::x).
constexpr int kFusedInputs = 16;
constexpr bool fuses_inputs(int64_t inputs) { return inputs <= kFusedInputs; }

struct LayerShape {
  Cell cell = Cell::kLstm;
  int batch = 0;   // B
  int steps = 0;   // T
  int hidden = 0;  // H: 32, 64 or 128
};

// One direction of one layer. Gate layouts follow PyTorch: LSTM rows (i, f, g, o), GRU (r, z, n);
// G = 4H (LSTM) or 3H (GRU).
struct Direction {
  const uint16_t* xp = nullptr;  // [B, T, G] float16 (training: bfloat16): x_t W_ih^T, without bias
  // Or, for a layer with at most kFusedInputs inputs, the inputs and W_ih instead of xp (null then), in
  // xp's type, each row zero-padded to kFusedInputs: x [B, T, kFusedInputs], w_ih [G, kFusedInputs].
  const uint16_t* x = nullptr;
  const uint16_t* w_ih = nullptr;
  const float* b_in = nullptr;   // [G]: b_ih (+ b_hh for the LSTM)
  const float* b_hh = nullptr;   // [G]: GRU only (its n gate needs b_hh inside r * (.)); else null
  const uint16_t* w_hh = nullptr;  // [G, H] float16, row-major as the module stores weight_hh
  uint16_t* out = nullptr;  // h of (b, t) at out + b * out_batch_stride + t * out_step_stride, float16 (training: bfloat16)
  int64_t out_batch_stride = 0;
  int64_t out_step_stride = 0;
  bool reverse = false;            // run t = T-1 .. 0
  // Training only (all null at inference): what run_backward() reads, each batch-major like xp. With
  // them set, xp and out are bfloat16, as the layer's inputs and outputs are in training.
  uint16_t* act = nullptr;    // [B, T, G] float16: the gates' activations, LSTM (i, f, g, o), GRU (r, z, n)
  uint16_t* c = nullptr;      // LSTM: [B, T, H] float16: the cell states
  uint16_t* hn = nullptr;     // GRU: [B, T, H] float16: W_hn h_{t-1} + b_hn, the n gate's hidden part
  uint16_t* h_prev = nullptr; // [B, T, H] bfloat16: the state step t read (zeros at the first step)
};

// Whether `device` can run the kernel for this shape (compute capability 8.0 or later for bf16 tensor
// cores, a supported width, and enough shared memory per block).
bool supported(int device, const LayerShape& shape);

// Whether `device` can run the training kernels (run() with a Direction's training outputs, and
// run_backward()) for this shape.
bool train_supported(int device, const LayerShape& shape);

// One direction's backward: the gradients w.r.t. the gates' pre-activations of every step, from
// what the training forward kept and dy, the gradient w.r.t. the layer's output. The steps run in
// reverse inside one launch; each is one [kTileRows, G] x [G, H] product (dg W_hh) on the tensor
// cores (bfloat16 in, float32 accumulation) and the gates' element-wise derivatives in float32.
// The weight and input gradients are then plain matrix products of dg over all steps.
struct BackwardDirection {
  const uint16_t* act = nullptr;     // as the forward kept them (Direction)
  const uint16_t* c = nullptr;       // LSTM
  const uint16_t* hn = nullptr;      // GRU
  const uint16_t* h_prev = nullptr;  // GRU
  const uint16_t* dy = nullptr;      // [B, T, H] bfloat16 (the layer answers in bfloat16 in training)
  const uint16_t* w_hh = nullptr;    // [G, H] bfloat16
  uint16_t* dg_in = nullptr;         // [B, T, G] bfloat16: w.r.t. x_t W_ih^T + b_ih (+ b_hh for the LSTM)
  uint16_t* dg_hidden = nullptr;     // GRU: [B, T, G] bfloat16: w.r.t. W_hh h_{t-1} + b_hh; LSTM: null
  // The bias gradients, as one float32 row per thread block: [blocks, G + (GRU: H)], where blocks =
  // backward_blocks(shape). Columns 0..G-1 sum dg_in over the block's windows and steps (LSTM: the
  // gradient of b_ih and of b_hh; GRU: of b_ih, and of b_hh's r and z parts); the GRU's last H
  // columns sum dg_hidden's n part (the gradient of b_hh's n part). The caller sums the rows.
  float* db_blocks = nullptr;
  bool reverse = false;
};

// The thread blocks of a backward launch (rows of BackwardDirection::db_blocks).
int backward_blocks(const LayerShape& shape);

// Runs one direction's backward on `stream`, asynchronously; throws std::runtime_error as run().
void run_backward(const LayerShape& shape, const BackwardDirection& direction, void* stream);

// Runs `count` directions of the same shape (1, or 2 for a bidirectional layer) on `stream` (a
// cudaStream_t), asynchronously. Throws std::runtime_error when the shape is not supported or the
// launch fails.
void run(const LayerShape& shape, const Direction* directions, int count, void* stream);

}  // namespace spikecast::models::cuda_tiled
