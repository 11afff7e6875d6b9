// LayerNorm of a residual sum, y = LayerNorm(a + b) over rows of width d, as one CUDA kernel each
// way, for 16-bit activations (float16 or bfloat16) with float32 statistics, weight and bias. One
// warp normalises one row held in its registers. LibTorch's kernels for this (an add, then a layer
// norm that gives each row of 128 its own thread block) took 0.63 ms forward and 0.5 ms backward
// for the spike member's [409600, 128] in bf16 on an H200 (docs/performance.md). Plain CUDA (no
// LibTorch); models/residual_norm_cuda.cc prepares the tensors. 16-bit arrays travel as uint16_t.
#pragma once

#include <cstdint>

namespace spikecast::models::cuda_norm {

enum class Type { kHalf, kBFloat16 };

// Whether the kernels take rows of this width (64, 128, 256 or 512).
bool width_supported(int width);

struct Forward {
  Type type = Type::kBFloat16;
  int64_t rows = 0;
  int width = 0;
  float eps = 1e-5f;
  const uint16_t* a = nullptr;  // [rows, width]
  const uint16_t* b = nullptr;  // [rows, width]
  const float* weight = nullptr;  // [width]
  const float* bias = nullptr;    // [width]
  uint16_t* y = nullptr;          // [rows, width]
  // For backward (all null in inference): a + b rounded to the type, and each row's mean and 1 / std.
  uint16_t* sum = nullptr;  // [rows, width]
  float* mean = nullptr;    // [rows]
  float* rstd = nullptr;    // [rows]
};

struct Backward {
  Type type = Type::kBFloat16;
  int64_t rows = 0;
  int width = 0;
  const uint16_t* dy = nullptr;   // [rows, width]
  const uint16_t* sum = nullptr;  // as the forward kept them
  const float* mean = nullptr;
  const float* rstd = nullptr;
  const float* weight = nullptr;  // [width]
  uint16_t* dx = nullptr;         // [rows, width]: the gradient of a and of b
  // The weight and bias gradients as one float32 row per thread block, [blocks, 2 * width] (weight,
  // then bias), blocks = backward_blocks(rows); the caller sums the rows (a fixed order: the result
  // does not depend on scheduling).
  float* partial = nullptr;
};

// The thread blocks of a backward launch (rows of Backward::partial).
int backward_blocks(int64_t rows);

// Launch on `stream` (a cudaStream_t), asynchronously; std::runtime_error on a bad argument or a
// failed launch.
void run_forward(const Forward& f, void* stream);
void run_backward(const Backward& b, void* stream);

}  // namespace spikecast::models::cuda_norm
