#include "models/recurrent_cuda.h"

#include "models/cuda_device_attributes.h"

#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace cg = cooperative_groups;

namespace spikecast::models::cuda_cells {
namespace {

constexpr int kThreads = 512;
constexpr int kLayerCluster = 8;                 // one layer: the portable cluster size
constexpr int kStackCluster = 16;                // a stack: Hopper's non-portable cluster size
constexpr size_t kTargetWeightBytes = 32 * 1024; // one layer: W_hh slice per block before the cluster grows

// How one layer is split over its blocks, and where a block of it keeps what in shared memory.
struct LayerLayout {
  int hidden = 0, input = 0;  // H, I
  int residual = 0;           // Residual
  int blocks = 1;             // C blocks, cluster ranks first .. first + C - 1
  int first = 0;
  int units = 0;              // U = H / C hidden units per block
  int rows_h = 0;             // gates * U rows of W_hh
  int rows_x = 0;             // gates * U rows of W_ih (0 on the first layer: its projections come in xp)
  int rows_res = 0;           // U rows of W_res (Residual::kProjection), else 0
  int split_h = 1, split_x = 1;    // threads per row (a power of two <= 32) in each product
  int stride_h = 0, stride_x = 0;  // shared-memory row strides H + split_h, I + split_x: the S parts
                                   // of 32 / S rows hit 32 banks
  // Offsets (floats) in the block's shared memory; W_hh's slice starts at 0.
  int off_wx = 0;  // [rows_x + rows_res][stride_x]: W_ih's and W_res's slices
  int off_h = 0;   // [2][B][H]: the layer's h of the previous step, double-buffered
  int off_x = 0;   // [2][B][I] the layer's input (first layer: [2][B][rows_h] of xp), double-buffered
  int off_g = 0;   // [B][rows_h + rows_x + rows_res]: this step's products
  int off_o = 0;   // [T][B][U]: last layer only, its output of every step, written out at the end
  int floats = 0;  // shared memory of a block of this layer
};

struct Layout {
  int layers = 0;
  int cluster = 0;  // blocks per stack (the cluster)
  LayerLayout layer[kMaxLayers];
  size_t smem = 0;  // bytes of dynamic shared memory per block (the largest layer's)
};

struct Params {
  int steps = 0;  // the batch is the kernel's template argument
  Layout layout;
  Stack stack[2];
};

int gates_of(Cell cell) { return cell == Cell::kLstm ? 4 : 3; }

int split_for(int rows, int len) {
  int split = 1;
  while (split < 32 && 2 * split * rows <= kThreads && 2 * split <= len) split *= 2;
  return split;
}

// Multiply-adds of one step of layer l (the first layer's input projection is done before).
double work_of(int gates, const LayerShape& s, int l) {
  double w = static_cast<double>(gates) * s.hidden * s.hidden;
  if (l > 0) w += static_cast<double>(gates) * s.hidden * s.input;
  if (s.residual == Residual::kProjection) w += static_cast<double>(s.hidden) * s.input;
  return w;
}

// Splits the stack over at most `budget` blocks: a single layer grows its cluster while its W_hh
// slice is over kTargetWeightBytes; a stack's blocks go, doubling at a time, to the layer with the
// most work per block, until the budget is spent (one barrier per step: the slowest block sets it).
Layout layout_for(const StackShape& s, int budget) {
  const int gates = gates_of(s.cell);
  Layout out;
  out.layers = s.layers;
  int blocks[kMaxLayers];
  for (int l = 0; l < s.layers; ++l) blocks[l] = 1;
  for (;;) {
    int total = 0;
    for (int l = 0; l < s.layers; ++l) total += blocks[l];
    int best = -1;
    for (int l = 0; l < s.layers; ++l) {
      if (s.layer[l].hidden % (2 * blocks[l]) != 0 || total + blocks[l] > budget) continue;
      if (best < 0 || work_of(gates, s.layer[l], l) / blocks[l] > work_of(gates, s.layer[best], best) / blocks[best])
        best = l;
    }
    if (best < 0) break;
    if (s.layers == 1 &&
        static_cast<size_t>(gates) * s.layer[0].hidden * s.layer[0].hidden * sizeof(float) / blocks[0] <= kTargetWeightBytes)
      break;
    blocks[best] *= 2;
  }
  const int B = s.batch, T = s.steps;
  int first = 0, largest = 0;
  for (int l = 0; l < s.layers; ++l) {
    LayerLayout& L = out.layer[l];
    const LayerShape& in = s.layer[l];
    L.hidden = in.hidden;
    L.input = in.input;
    L.residual = static_cast<int>(in.residual);
    L.blocks = blocks[l];
    L.first = first;
    first += blocks[l];
    L.units = in.hidden / blocks[l];
    L.rows_h = gates * L.units;
    L.rows_x = l > 0 ? gates * L.units : 0;
    L.rows_res = in.residual == Residual::kProjection ? L.units : 0;
    L.split_h = split_for(L.rows_h, in.hidden);
    L.split_x = split_for(L.rows_x + L.rows_res, in.input);
    L.stride_h = in.hidden + L.split_h;
    L.stride_x = in.input + L.split_x;
    L.off_wx = L.rows_h * L.stride_h;
    L.off_h = L.off_wx + (L.rows_x + L.rows_res) * L.stride_x;
    L.off_x = L.off_h + 2 * B * in.hidden;
    L.off_g = L.off_x + 2 * B * (l == 0 ? L.rows_h : in.input);
    L.off_o = L.off_g + B * (L.rows_h + L.rows_x + L.rows_res);
    L.floats = L.off_o + (l + 1 == s.layers ? T * B * L.units : 0);
    largest = std::max(largest, L.floats);
  }
  out.cluster = first;
  out.smem = sizeof(float) * static_cast<size_t>(largest);
  return out;
}

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Asynchronous 4-byte copies from global to shared memory (cp.async): the step loop's barriers do
// not wait for them, so the next step's x projections load while this step computes.
__device__ __forceinline__ void copy_async(float* shared_dst, const float* global_src) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(dst), "l"(global_src) : "memory");
}
__device__ __forceinline__ void copies_issued() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void copies_done() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// out[b * out_stride + r] = w[r] . vec[b] for `rows` rows of `len` values (row stride `stride`) and the
// kB vectors at vec + b * len. `split` consecutive threads share a row, each taking every split-th
// column, in four independent chains per batch row (one chain of dependent multiply-adds was
// latency bound: measured on the H200, 4.6 -> 1.9 us per step at H = 128, batch 1).
template <int kB>
__device__ __forceinline__ void matvec(const float* w, int stride, int rows, int len, const float* vec, int split,
                                       float* out, int out_stride) {
  const int row_in_pass = threadIdx.x / split, part = threadIdx.x % split, rows_per_pass = kThreads / split;
  for (int r0 = 0; r0 < rows; r0 += rows_per_pass) {  // r0 is the same for the whole warp
    const int r = r0 + row_in_pass;
    const bool active = r < rows;
    float acc[4][kB];
#pragma unroll
    for (int q = 0; q < 4; ++q)
#pragma unroll
      for (int b = 0; b < kB; ++b) acc[q][b] = 0.0f;
    if (active) {
      const float* w_row = w + r * stride;
      int k = part;
      for (; k + 3 * split < len; k += 4 * split) {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const float wk = w_row[k + q * split];
#pragma unroll
          for (int b = 0; b < kB; ++b) acc[q][b] = fmaf(wk, vec[b * len + k + q * split], acc[q][b]);
        }
      }
      for (; k < len; k += split) {
        const float wk = w_row[k];
#pragma unroll
        for (int b = 0; b < kB; ++b) acc[0][b] = fmaf(wk, vec[b * len + k], acc[0][b]);
      }
    }
#pragma unroll
    for (int b = 0; b < kB; ++b) {
      float v = (acc[0][b] + acc[1][b]) + (acc[2][b] + acc[3][b]);
      for (int offset = split / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
      if (active && part == 0) out[b * out_stride + r] = v;
    }
  }
}

// kB: the batch, a compile-time constant so that the product's accumulators stay in registers with
// no per-row predicates (one instantiation per batch size up to kMaxBatch).
template <bool kLstm, int kB>
__global__ void __launch_bounds__(kThreads) stack_kernel(const Params p) {
  constexpr int kGates = kLstm ? 4 : 3;
  constexpr int B = kB;
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = static_cast<int>(cluster.block_rank());
  const Layout& layout = p.layout;
  const Stack& st = p.stack[blockIdx.x / layout.cluster];
  int li = 0;  // this block's layer
  while (li + 1 < layout.layers && rank >= layout.layer[li + 1].first) ++li;
  const LayerLayout& L = layout.layer[li];
  const LayerWeights& W = st.layer[li];
  const bool first_layer = li == 0, last_layer = li + 1 == layout.layers;
  const int H = L.hidden, I = L.input, U = L.units, q = rank - L.first, T = p.steps, G = kGates * H;
  const int rows_xr = L.rows_x + L.rows_res, rows_all = L.rows_h + rows_xr;

  extern __shared__ float smem[];
  float* wh_s = smem;             // local row g * U + u is W_hh row g * H + q * U + u
  float* wx_s = smem + L.off_wx;  // the same rows of W_ih, then W_res rows q * U + u
  float* h_s = smem + L.off_h;
  float* x_s = smem + L.off_x;
  float* g_s = smem + L.off_g;
  float* o_s = smem + L.off_o;

  for (int i = threadIdx.x; i < L.rows_h * H; i += kThreads) {
    const int lr = i / H, k = i % H, g = lr / U, u = lr % U;
    wh_s[lr * L.stride_h + k] = W.w_hh[static_cast<int64_t>(g * H + q * U + u) * H + k];
  }
  for (int i = threadIdx.x; i < L.rows_x * I; i += kThreads) {
    const int lr = i / I, k = i % I, g = lr / U, u = lr % U;
    wx_s[lr * L.stride_x + k] = W.w_ih[static_cast<int64_t>(g * H + q * U + u) * I + k];
  }
  for (int i = threadIdx.x; i < L.rows_res * I; i += kThreads) {
    const int u = i / I, k = i % I;
    wx_s[(L.rows_x + u) * L.stride_x + k] = W.w_res[static_cast<int64_t>(q * U + u) * I + k];
  }
  for (int i = threadIdx.x; i < 2 * B * H; i += kThreads) h_s[i] = 0.0f;

  // Gate phase: thread (b, u) owns hidden unit j of batch row b for the whole sequence (c and h
  // stay in its registers); on the first layer it fetches its own x projections.
  const bool owner = threadIdx.x < U * B;
  const int ob = owner ? threadIdx.x / U : 0, ou = owner ? threadIdx.x % U : 0;
  const int j = q * U + ou;
  float c_state = 0.0f, h_prev = 0.0f;
  float bh[kGates], bin[kGates];
#pragma unroll
  for (int g = 0; g < kGates; ++g) {
    bh[g] = (!kLstm && owner && W.b_hh != nullptr) ? W.b_hh[g * H + j] : 0.0f;
    bin[g] = (!first_layer && owner) ? W.b_in[g * H + j] : 0.0f;
  }
  const float bres = (owner && L.rows_res > 0) ? W.b_res[j] : 0.0f;
  const auto fetch_x = [&](int s) {
    const int t = st.reverse ? T - 1 - s : s;
    const float* row = st.xp + (static_cast<int64_t>(ob) * T + t) * G;
    float* dst = x_s + ((s & 1) * B + ob) * L.rows_h;
#pragma unroll
    for (int g = 0; g < kGates; ++g) copy_async(dst + g * U + ou, row + g * H + j);
    copies_issued();
  };
  if (owner && first_layer) fetch_x(0);
  // Zeroed h before any block writes into another's (remote writes start after this barrier).
  cluster.sync();

  // Step s: layer l works on its step s - l (the wavefront). Buffers alternate with s: what is written
  // at step s (h for the layer's own blocks, y for the next layer's) is read at step s + 1.
  const int wavefront = T + layout.layers - 1;
  for (int s = 0; s < wavefront; ++s) {
    const int tl = s - li;
    const bool active = tl >= 0 && tl < T;
    const float* h_cur = h_s + (s & 1) * B * H;
    const float* x_cur = x_s + (s & 1) * B * I;  // layers after the first
    if (active) {
      matvec<kB>(wh_s, L.stride_h, L.rows_h, H, h_cur, L.split_h, g_s, rows_all);
      if (!first_layer) matvec<kB>(wx_s, L.stride_x, rows_xr, I, x_cur, L.split_x, g_s + L.rows_h, rows_all);
    }
    __syncthreads();

    if (active && owner) {
      float xg[kGates];
      if (first_layer) {
        copies_done();  // this step's x (issued a step ago)
        const float* x = x_s + ((tl & 1) * B + ob) * L.rows_h;
#pragma unroll
        for (int g = 0; g < kGates; ++g) xg[g] = x[g * U + ou];
        if (tl + 1 < T) fetch_x(tl + 1);
      } else {
        const float* x = g_s + ob * rows_all + L.rows_h;
#pragma unroll
        for (int g = 0; g < kGates; ++g) xg[g] = x[g * U + ou] + bin[g];
      }
      const float* dot = g_s + ob * rows_all;
      float h;
      if constexpr (kLstm) {
        const float i = sigmoid(xg[0] + dot[0 * U + ou]);
        const float f = sigmoid(xg[1] + dot[1 * U + ou]);
        const float gg = tanhf(xg[2] + dot[2 * U + ou]);
        const float o = sigmoid(xg[3] + dot[3 * U + ou]);
        c_state = f * c_state + i * gg;
        h = o * tanhf(c_state);
      } else {
        const float r = sigmoid(xg[0] + dot[0 * U + ou] + bh[0]);
        const float z = sigmoid(xg[1] + dot[1 * U + ou] + bh[1]);
        const float n = tanhf(xg[2] + r * (dot[2 * U + ou] + bh[2]));
        h = (1.0f - z) * n + z * h_prev;
      }
      h_prev = h;
      float y = h;
      if (L.residual == static_cast<int>(Residual::kInput)) y += x_cur[ob * I + j];
      else if (L.rows_res > 0) y += g_s[ob * rows_all + L.rows_h + L.rows_x + ou] + bres;
      float* h_next = h_s + ((s + 1) & 1) * B * H;
      for (int c = 0; c < L.blocks; ++c) cluster.map_shared_rank(h_next, L.first + c)[ob * H + j] = h;
      if (last_layer) {
        o_s[(tl * B + ob) * U + ou] = y;
      } else {
        const LayerLayout& N = layout.layer[li + 1];  // its input width is H
        float* x_next = smem + N.off_x + ((s + 1) & 1) * B * H;
        for (int c = 0; c < N.blocks; ++c) cluster.map_shared_rank(x_next, N.first + c)[ob * H + j] = y;
      }
    }
    // Every block's share of this step has arrived, and every block is done reading h_cur, x_cur
    // and g_s (both are written again two steps on, after the next barrier).
    cluster.sync();
  }

  // The outputs, coalesced along the hidden units (no global store inside the step loop, whose
  // barriers would wait for it).
  if (last_layer) {
    for (int i = threadIdx.x; i < T * B * U; i += kThreads) {
      const int s = i / (B * U), b = (i / U) % B, u = i % U;
      const int t = st.reverse ? T - 1 - s : s;
      st.out[b * st.out_batch_stride + t * st.out_step_stride + q * U + u] = o_s[i];
    }
  }
}

using Kernel = void (*)(const Params);

Kernel kernel_for(Cell cell, int batch) {
  static constexpr Kernel kLstmKernels[kMaxBatch] = {
      stack_kernel<true, 1>, stack_kernel<true, 2>, stack_kernel<true, 3>, stack_kernel<true, 4>,
      stack_kernel<true, 5>, stack_kernel<true, 6>, stack_kernel<true, 7>, stack_kernel<true, 8>};
  static constexpr Kernel kGruKernels[kMaxBatch] = {
      stack_kernel<false, 1>, stack_kernel<false, 2>, stack_kernel<false, 3>, stack_kernel<false, 4>,
      stack_kernel<false, 5>, stack_kernel<false, 6>, stack_kernel<false, 7>, stack_kernel<false, 8>};
  return cell == Cell::kLstm ? kLstmKernels[batch - 1] : kGruKernels[batch - 1];
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("recurrent CUDA kernel: ") + what + ": " + cudaGetErrorString(e));
}

// What a device offers the kernel, looked up once per device.
struct DeviceLimits {
  int major = 0;
  int smem_optin = 0;     // bytes of shared memory a block may opt in to
  int stack_cluster = 0;  // blocks a stack's cluster may have (16 where the card allows it, else 8)
};

// Raises a kernel's shared-memory limit and allows non-portable clusters, once per kernel (before any
// graph capture: the first call is eager).
void prepare(Kernel kernel, int smem_optin) {
  static std::mutex mutex;
  static std::map<Kernel, bool> done;
  std::lock_guard<std::mutex> lock(mutex);
  if (done.count(kernel) != 0) return;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin), "shared memory limit");
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1), "cluster size");
  done[kernel] = true;
}

const DeviceLimits& limits(int device) {
  return cuda_device::once_per_device<DeviceLimits>(device, [](int device) {
    DeviceLimits d;
    const cuda_device::Attributes& a = cuda_device::attributes(device);
    d.major = a.major;
    d.smem_optin = a.smem_optin;
    d.stack_cluster = kLayerCluster;
    if (d.major >= 9) {
      // Whether a cluster of kStackCluster blocks of kThreads threads with most of the shared memory fits.
      int current = 0;
      if (cudaGetDevice(&current) == cudaSuccess && cudaSetDevice(device) == cudaSuccess) {
        const Kernel kernel = kernel_for(Cell::kLstm, 1);
        try {
          prepare(kernel, d.smem_optin);
          cudaLaunchConfig_t config = {};
          config.gridDim = dim3(kStackCluster);
          config.blockDim = dim3(kThreads);
          config.dynamicSmemBytes = static_cast<size_t>(d.smem_optin);
          cudaLaunchAttribute attribute[1];
          attribute[0].id = cudaLaunchAttributeClusterDimension;
          attribute[0].val.clusterDim.x = kStackCluster;
          attribute[0].val.clusterDim.y = 1;
          attribute[0].val.clusterDim.z = 1;
          config.attrs = attribute;
          config.numAttrs = 1;
          int clusters = 0;
          if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &config) == cudaSuccess && clusters > 0)
            d.stack_cluster = kStackCluster;
        } catch (const std::runtime_error&) {
        }
        cudaGetLastError();  // a refused query leaves no error behind
        cudaSetDevice(current);
      }
    }
    return d;
  });
}

bool valid(const StackShape& s) {
  if (s.batch < 1 || s.batch > kMaxBatch || s.steps < 1 || s.layers < 1 || s.layers > kMaxLayers) return false;
  for (int l = 0; l < s.layers; ++l) {
    const LayerShape& in = s.layer[l];
    if (in.hidden < 1 || in.input < 1) return false;
    if (l > 0 && in.input != s.layer[l - 1].hidden) return false;
    if (in.residual != Residual::kNone && l == 0) return false;
    if (in.residual == Residual::kInput && in.input != in.hidden) return false;
  }
  return true;
}

Layout layout_on(const DeviceLimits& d, const StackShape& s, int count) {
  return layout_for(s, count == 1 && s.layers > 1 ? d.stack_cluster : kLayerCluster);
}

bool fits(const DeviceLimits& d, const StackShape& s, const Layout& l) {
  for (int i = 0; i < s.layers; ++i)
    if (l.layer[i].units * s.batch > kThreads) return false;
  return l.smem <= static_cast<size_t>(d.smem_optin);
}

}  // namespace

bool supported(int device, const StackShape& shape) {
  if (!valid(shape)) return false;
  const DeviceLimits& d = limits(device);
  return d.major >= 9 && fits(d, shape, layout_on(d, shape, 1));
}

void run(const StackShape& shape, const Stack* stacks, int count, void* stream) {
  if (count < 1 || count > 2 || (count == 2 && shape.layers != 1))
    throw std::runtime_error("recurrent CUDA kernel: 1 stack, or 2 directions of one layer, expected");
  if (!valid(shape)) throw std::runtime_error("recurrent CUDA kernel: invalid stack shape");
  int device = 0;
  check(cudaGetDevice(&device), "device");
  const DeviceLimits& d = limits(device);
  Params p;
  p.steps = shape.steps;
  p.layout = layout_on(d, shape, count);
  if (d.major < 9 || !fits(d, shape, p.layout)) throw std::runtime_error("recurrent CUDA kernel: shape not supported here");
  for (int i = 0; i < count; ++i) {
    if (stacks[i].reverse && shape.layers != 1)
      throw std::runtime_error("recurrent CUDA kernel: only a one-layer stack runs in reverse");
    p.stack[i] = stacks[i];
  }
  const Kernel kernel = kernel_for(shape.cell, shape.batch);
  prepare(kernel, d.smem_optin);
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(p.layout.cluster * count));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = p.layout.smem;
  config.stream = static_cast<cudaStream_t>(stream);
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeClusterDimension;
  attribute[0].val.clusterDim.x = static_cast<unsigned>(p.layout.cluster);
  attribute[0].val.clusterDim.y = 1;
  attribute[0].val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  check(cudaLaunchKernelEx(&config, kernel, p), "launch");
}

}  // namespace spikecast::models::cuda_cells
