// Multi-head self-attention of short windows, softmax(q k^T / sqrt(32)) v with dropout on the
// weights, as one CUDA kernel each way, for the spike member's attention (heads 32 wide, windows of
// at most 128 steps; 16-bit activations, float32 softmax and accumulation). One thread block holds a
// whole (window, head) in shared memory, one warp per 16 query rows, products on the tensor cores
// (mma.sync). It reads q, k and v straight from the input projection's [B, L, 3, heads, 32] output
// and writes the output (and, backward, the gradient) in the layouts of the products around it, with
// no copies. LibTorch's fused kernels (cuDNN's flash attention) ran these shapes at about 42 TFLOP/s
// on an H200, L = 100 padded to their 128-row tiles (docs/performance.md, session 15).
// Plain CUDA (no LibTorch); models/self_attention_cuda.cc prepares the tensors and the random state.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_attention {

enum class Type { kHalf, kBFloat16 };

constexpr int kHeadWidth = 32;
constexpr int kMaxLength = 128;

// Whether the kernels take windows of `length` steps and heads `head_width` wide.
bool supported(int length, int head_width);

// Dropout on the attention weights: each weight is kept with probability 1 - p (decided by 16 bits
// of Philox4x32-10 at the weight's own counter) and scaled by the inverse of the kept fraction; the
// forward keeps the decisions as bits for backward. The seed and offset are values, or, inside a
// CUDA graph capture, device pointers read when the kernel runs (LibTorch's CUDA generator gives one
// or the other).
struct Dropout {
  float p = 0;
  bool captured = false;
  uint64_t seed = 0, offset = 0;
  const int64_t* seed_ptr = nullptr;
  const int64_t* offset_ptr = nullptr;
  uint64_t offset_intragraph = 0;
};

struct Forward {
  Type type = Type::kBFloat16;
  int64_t batch = 0;
  int length = 0;
  int heads = 0;
  const uint16_t* qkv = nullptr;  // [batch, length, 3, heads, 32]: q, k, v
  uint16_t* out = nullptr;        // [batch, length, heads, 32]
  // For backward (null in inference): each query row's log-sum-exp of its scaled scores, and, with
  // dropout, which weights it kept (mask_words() 32-bit words).
  float* lse = nullptr;  // [batch, heads, length]
  uint32_t* mask = nullptr;
  Dropout dropout;
};

// The 32-bit words of a dropout mask: 64 bits for each thread of each (window, head).
int64_t mask_words(int64_t batch, int length, int heads);

struct Backward {
  Type type = Type::kBFloat16;
  int64_t batch = 0;
  int length = 0;
  int heads = 0;
  float dropout_p = 0;
  const uint16_t* qkv = nullptr;   // as the forward read it
  const uint16_t* out = nullptr;   // the forward's output
  const uint16_t* dout = nullptr;  // [batch, length, heads, 32]
  const float* lse = nullptr;      // as the forward kept them
  const uint32_t* mask = nullptr;
  uint16_t* dqkv = nullptr;        // [batch, length, 3, heads, 32]
};

// Launch on `stream` (a cudaStream_t), asynchronously; std::runtime_error on a bad argument or a
// failed launch.
void run_forward(const Forward& f, void* stream);
void run_backward(const Backward& b, void* stream);

}  // namespace spikecast::models::cuda_attention
