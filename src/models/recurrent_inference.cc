#include "models/recurrent_inference.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/recurrent_cells.h"
#include "models/recurrent_module.h"
#include "models/recurrent_sequence.h"
#include "models/recurrent_sequence_cuda.h"
#include "models/sequence_ops.h"
#include "tensor/context.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cstdlib>

#include "models/cuda_call.h"
#include "models/recurrent_cuda.h"
#include "models/recurrent_tiled_cuda.h"
#include "tensor/compat.h"
#endif

namespace spikecast::models {
namespace {

using Parameters = torch::OrderedDict<std::string, torch::Tensor>;

// One direction of one layer, prepared for the cell kernels: the input projections of every step in
// one matrix product, xp [B, T, G] (+ b_ih, + b_hh for the LSTM, which adds both biases outside the
// product), W_hh [G, H] and b_hh [G] (zeros without bias).
struct DirectionInputs {
  torch::Tensor xp, w_hh, b_hh;
};

DirectionInputs prepare_direction(const Parameters& params, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                                  const torch::Tensor& input, int64_t layer, int64_t direction) {
  const DirectionWeights w = direction_weights(params, {&o, cell}, layer, direction == 1);
  DirectionInputs d;
  d.xp = torch::matmul(input, w.w_ih.t());
  d.w_hh = w.w_hh.contiguous();
  d.b_hh = w.b_hh.contiguous();  // zeros without bias
  if (o.bias()) {
    d.xp = d.xp + w.b_ih;
    if (cell == Cell::kLstm) d.xp = d.xp + d.b_hh;
  }
  d.xp = d.xp.contiguous();
  return d;
}

// One pass over all layers and directions with the CPU cell kernels.
torch::Tensor cell_forward(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o,
                           Cell cell, const torch::Tensor& x) {
  const int64_t hidden = o.hidden_size();
  const int64_t dirs = o.bidirectional() ? 2 : 1;
  const int64_t batch = x.size(0), steps = x.size(1);
  // One dictionary per call (named_parameters() builds a fresh one each time).
  const Parameters params = layer.named_parameters(/*recurse=*/false);
  torch::Tensor input = x.contiguous();
  for (int64_t l = 0; l < o.num_layers(); ++l) {
    torch::Tensor out = torch::empty({batch, steps, dirs * hidden}, x.options());
    for (int64_t d = 0; d < dirs; ++d) {
      const DirectionInputs in = prepare_direction(params, o, cell, input, l, d);
      const torch::Tensor whh_t = in.w_hh.t().contiguous();  // [H, G]
      const float* xp_p = in.xp.data_ptr<float>();
      const float* w_p = whh_t.data_ptr<float>();
      const float* b_p = in.b_hh.data_ptr<float>();
      float* out_p = out.data_ptr<float>() + d * hidden;
      const cells::RecurrentShape shape{steps, hidden};
      const bool reverse = d == 1;
      at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
          const float* xb = xp_p + b * steps * in.xp.size(2);
          float* ob = out_p + b * steps * dirs * hidden;
          if (cell == Cell::kLstm)
            cells::lstm_sequence(xb, w_p, shape, reverse, ob, dirs * hidden);
          else
            cells::gru_sequence(xb, w_p, b_p, shape, reverse, ob, dirs * hidden);
        }
      });
    }
    input = out;
  }
  return input;
}

#ifdef SPIKECAST_WITH_CUDA_KERNELS
cuda_cells::Cell cuda_cell(Cell cell) { return cell == Cell::kLstm ? cuda_cells::Cell::kLstm : cuda_cells::Cell::kGru; }

// SPIKECAST_CUDA_CELL_KERNELS: a diagnostic switch, read once, for measuring the kernel inside whole
// models (docs/performance.md): "0" turns it off (cuDNN for every batch), "layers" runs one launch per
// layer (no wavefront over a stack); unset or anything else, the default: a stack in one launch.
enum class CudaKernels { kOff, kLayers, kStacks };

CudaKernels cuda_kernels_mode() {
  static const CudaKernels mode = [] {
    const char* v = std::getenv("SPIKECAST_CUDA_CELL_KERNELS");
    const std::string s = v == nullptr ? "" : v;
    return s == "0" ? CudaKernels::kOff : s == "layers" ? CudaKernels::kLayers : CudaKernels::kStacks;
  }();
  return mode;
}

// One layer of a launch: layer `index` of a module, and what is added to its output. The module's
// parameters are looked up when it is launched, not while the path is decided.
struct KernelLayer {
  const torch::nn::Module* module = nullptr;
  const torch::nn::detail::RNNOptionsBase* options = nullptr;
  int64_t index = 0;
  int64_t input = 0;  // the width of its input
  cuda_cells::Residual residual = cuda_cells::Residual::kNone;
  torch::nn::Linear projection{nullptr};  // Residual::kProjection
};

std::vector<KernelLayer> kernel_layers(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o) {
  std::vector<KernelLayer> out;
  const int64_t dirs = o.bidirectional() ? 2 : 1;
  for (int64_t l = 0; l < o.num_layers(); ++l)
    out.push_back({&layer, &o, l, l == 0 ? o.input_size() : dirs * o.hidden_size()});
  return out;
}

// How many layers each launch of a stack runs: up to kMaxLayers (one in the "layers" mode); none when
// a launch would begin with a residual layer, which the kernel does not take.
std::vector<int> launch_sizes(const std::vector<KernelLayer>& layers) {
  const size_t most = cuda_kernels_mode() == CudaKernels::kLayers ? 1 : cuda_cells::kMaxLayers;
  std::vector<int> sizes;
  for (size_t i = 0; i < layers.size(); i += static_cast<size_t>(sizes.back())) {
    if (layers[i].residual != cuda_cells::Residual::kNone) return {};
    sizes.push_back(static_cast<int>(std::min(most, layers.size() - i)));
  }
  return sizes;
}

cuda_cells::StackShape stack_shape(Cell cell, const KernelLayer* layers, int count, const torch::Tensor& x) {
  cuda_cells::StackShape s;
  s.cell = cuda_cell(cell);
  s.batch = static_cast<int>(x.size(0));
  s.steps = static_cast<int>(x.size(1));
  s.layers = count;
  for (int i = 0; i < count; ++i)
    s.layer[i] = {static_cast<int>(layers[i].input), static_cast<int>(layers[i].options->hidden_size()), layers[i].residual};
  return s;
}

// Whether the kernel takes these layers on x: each launch's shape (per layer for a bidirectional module).
bool launchable(Cell cell, const std::vector<KernelLayer>& layers, const torch::Tensor& x, bool bidirectional) {
  if (layers.empty() || x.size(0) > cuda_cells::kMaxBatch) return false;
  const int device = x.device().index();
  if (bidirectional) {
    for (const KernelLayer& l : layers)
      if (!cuda_cells::supported(device, stack_shape(cell, &l, 1, x))) return false;
    return true;
  }
  const std::vector<int> sizes = launch_sizes(layers);
  size_t first = 0;
  for (int n : sizes) {
    if (!cuda_cells::supported(device, stack_shape(cell, &layers[first], n, x))) return false;
    first += static_cast<size_t>(n);
  }
  return !sizes.empty();
}

// A launch's tensors, kept until the launch is queued (the caching allocator reuses memory in
// stream order).
struct LaunchTensors {
  std::vector<torch::Tensor> keep;
  const float* add(const torch::Tensor& t) {
    keep.push_back(t.to(torch::kFloat32).contiguous());
    return keep.back().data_ptr<float>();
  }
  // As float16, passed as its 16-bit patterns.
  const uint16_t* add_half(const torch::Tensor& t) {
    keep.push_back(t.to(torch::kHalf).contiguous());
    return cuda_call::bits(keep.back());
  }
};

// The biases a kernel adds outside the products, for one direction of one layer (zeros for a module
// without bias): b_in = b_ih (+ b_hh for the LSTM, whose gates add both) and b_hh (the GRU's n gate
// needs it inside r * (.)).
struct KernelBiases {
  torch::Tensor b_in, b_hh;
};

KernelBiases kernel_biases(const DirectionWeights& w, Cell cell) {
  return {cell == Cell::kLstm ? w.b_ih + w.b_hh : w.b_ih, w.b_hh};
}

// A launch's first layer takes its input projections of every step (prepare_direction).
void add_first_weights(const DirectionInputs& in, Cell cell, LaunchTensors& t, cuda_cells::Stack& st,
                       cuda_cells::LayerWeights& w) {
  st.xp = t.add(in.xp);
  w.w_hh = t.add(in.w_hh);
  w.b_hh = cell == Cell::kGru ? t.add(in.b_hh) : nullptr;
}

// The layers after it compute their input projections inside the kernel: W_ih and the input-side
// bias b_ih (+ b_hh for the LSTM), with W_hh, b_hh and the residual's projection.
void add_inner_weights(const KernelLayer& k, Cell cell, LaunchTensors& t, cuda_cells::LayerWeights& w) {
  const Parameters params = k.module->named_parameters(/*recurse=*/false);
  const DirectionWeights dw = direction_weights(params, {k.options, cell}, k.index, false);
  w.w_ih = t.add(dw.w_ih);
  w.w_hh = t.add(dw.w_hh);
  const KernelBiases b = kernel_biases(dw, cell);
  w.b_in = t.add(b.b_in);
  if (cell == Cell::kGru) w.b_hh = t.add(b.b_hh);
  if (k.residual == cuda_cells::Residual::kProjection) {
    const torch::Tensor& weight = k.projection->weight;
    w.w_res = t.add(weight);
    w.b_res = t.add(k.projection->bias.defined() ? k.projection->bias : torch::zeros({weight.size(0)}, weight.options()));
  }
}

// A kernel's run(): its std::runtime_error becomes a ModelError.
template <typename Shape, typename Argument>
void launch(void (*run)(const Shape&, const Argument*, int, void*), const Shape& shape, const Argument* arguments,
            int count, void* stream) {
  cuda_call::checked([&] { run(shape, arguments, count, stream); });
}

// `count` layers in one launch: x [B, T, I] (float32) -> the last one's output [B, T, H_last].
torch::Tensor launch_stack(Cell cell, const KernelLayer* layers, int count, const torch::Tensor& x, void* stream) {
  LaunchTensors t;
  cuda_cells::Stack st;
  const Parameters params = layers[0].module->named_parameters(/*recurse=*/false);
  add_first_weights(prepare_direction(params, *layers[0].options, cell, x, layers[0].index, 0), cell, t, st, st.layer[0]);
  for (int i = 1; i < count; ++i) add_inner_weights(layers[i], cell, t, st.layer[i]);
  const int64_t hidden = layers[count - 1].options->hidden_size();
  torch::Tensor out = torch::empty({x.size(0), x.size(1), hidden}, x.options());
  st.out = out.data_ptr<float>();
  st.out_batch_stride = x.size(1) * hidden;
  st.out_step_stride = hidden;
  launch(cuda_cells::run, stack_shape(cell, layers, count, x), &st, 1, stream);
  return out;
}

// Both directions of one bidirectional layer in one launch: x [B, T, I] -> [B, T, 2H].
torch::Tensor launch_bidirectional(Cell cell, const KernelLayer& layer, const torch::Tensor& x, void* stream) {
  const int64_t hidden = layer.options->hidden_size();
  torch::Tensor out = torch::empty({x.size(0), x.size(1), 2 * hidden}, x.options());
  const Parameters params = layer.module->named_parameters(/*recurse=*/false);
  LaunchTensors t;
  cuda_cells::Stack st[2];
  for (int d = 0; d < 2; ++d) {
    add_first_weights(prepare_direction(params, *layer.options, cell, x, layer.index, d), cell, t, st[d], st[d].layer[0]);
    st[d].out = out.data_ptr<float>() + d * hidden;
    st[d].out_batch_stride = x.size(1) * 2 * hidden;
    st[d].out_step_stride = 2 * hidden;
    st[d].reverse = d == 1;
  }
  launch(cuda_cells::run, stack_shape(cell, &layer, 1, x), st, 2, stream);
  return out;
}

// The layers with the CUDA kernel (launchable() said yes), float32 throughout, also under autocast
// (the output is float32).
torch::Tensor cuda_forward(Cell cell, const std::vector<KernelLayer>& layers, bool bidirectional, const torch::Tensor& x) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const c10::cuda::CUDAGuard device_guard(x.device());  // the launch goes to the current device
  void* stream = cuda_call::stream_of(x);
  torch::Tensor input = x.to(torch::kFloat32).contiguous();
  if (bidirectional) {
    for (const KernelLayer& l : layers) input = launch_bidirectional(cell, l, input, stream);
    return input;
  }
  size_t first = 0;
  for (int n : launch_sizes(layers)) {
    input = launch_stack(cell, &layers[first], n, input, stream);
    first += static_cast<size_t>(n);
  }
  return input;
}

bool cuda_kernel_takes(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                       const torch::Tensor& x) {
  if (!x.is_cuda() || !x.is_floating_point() || cuda_kernels_mode() == CudaKernels::kOff ||
      !float32_parameters_on(layer, x.device()))
    return false;
  return launchable(cell, kernel_layers(layer, o), x, o.bidirectional());
}

cuda_tiled::LayerShape tiled_shape(Cell cell, const torch::nn::detail::RNNOptionsBase& o, const torch::Tensor& x) {
  return {cell == Cell::kLstm ? cuda_tiled::Cell::kLstm : cuda_tiled::Cell::kGru, static_cast<int>(x.size(0)),
          static_cast<int>(x.size(1)), static_cast<int>(o.hidden_size())};
}

// The tensor-core kernel (recurrent_tiled_cuda.h) for one module at a large batch under autocast:
// per layer, each direction's input projections of every step in one half-precision matrix product
// (a layer of at most kFusedInputs inputs: the inputs themselves, which the kernel multiplies), then
// both directions in one launch. x [B, T, I] -> [B, T, directions * H] in float16, the type
// cuDNN's recurrent layers answer in under autocast (bf16 or not; tested).
torch::Tensor tiled_forward(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                            const torch::Tensor& x) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const c10::cuda::CUDAGuard device_guard(x.device());
  void* stream = cuda_call::stream_of(x);
  const Parameters params = layer.named_parameters(/*recurse=*/false);
  const int64_t hidden = o.hidden_size(), dirs = o.bidirectional() ? 2 : 1;
  const cuda_tiled::LayerShape shape = tiled_shape(cell, o, x);
  torch::Tensor input = x.to(torch::kHalf).contiguous();
  for (int64_t l = 0; l < o.num_layers(); ++l) {
    torch::Tensor out = torch::empty({x.size(0), x.size(1), dirs * hidden}, input.options());
    LaunchTensors t;
    cuda_tiled::Direction d[2];
    // A layer of at most kFusedInputs inputs: the kernel multiplies them by W_ih itself.
    const bool fused = cuda_tiled::fuses_inputs(input.size(2));
    const uint16_t* x_fused =
        fused ? t.add_half(cuda_call::aligned(cuda_call::zero_padded(input, cuda_tiled::kFusedInputs))) : nullptr;
    for (int64_t dir = 0; dir < dirs; ++dir) {
      const DirectionWeights dw = direction_weights(params, {&o, cell}, l, dir == 1);
      if (fused) {
        d[dir].x = x_fused;
        d[dir].w_ih = t.add_half(cuda_call::zero_padded(dw.w_ih, cuda_tiled::kFusedInputs));
      } else {
        d[dir].xp = t.add_half(torch::matmul(input, dw.w_ih.to(torch::kHalf).t()));
      }
      d[dir].w_hh = t.add_half(dw.w_hh);
      const KernelBiases b = kernel_biases(dw, cell);
      d[dir].b_in = t.add(b.b_in);
      d[dir].b_hh = cell == Cell::kGru ? t.add(b.b_hh) : nullptr;
      d[dir].out = cuda_call::bits(out) + dir * hidden;
      d[dir].out_batch_stride = x.size(1) * dirs * hidden;
      d[dir].out_step_stride = dirs * hidden;
      d[dir].reverse = dir == 1;
    }
    launch(cuda_tiled::run, shape, d, static_cast<int>(dirs), stream);
    input = out;
  }
  return input;
}

bool tiled_kernel_takes(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                        const torch::Tensor& x) {
  if (!x.is_cuda() || !x.is_floating_point() || x.size(0) < kTiledKernelMinBatch ||
      cuda_kernels_mode() == CudaKernels::kOff || !compat::cuda_autocast_enabled() ||
      !float32_parameters_on(layer, x.device()))
    return false;
  return x.size(0) <= std::numeric_limits<int>::max() &&
         cuda_tiled::supported(x.device().index(), tiled_shape(cell, o, x));
}
#endif

enum class Path { kModule, kCpuCells, kCpuSequence, kCudaKernel, kCudaTiled, kCudaSequence };

// SPIKECAST_CPU_SEQUENCE_KERNELS=0: a diagnostic switch, read once, that sends CPU training and
// large-batch CPU inference back to the module's own forward (for measuring recurrent_sequence.h
// against it, docs/performance.md).
bool cpu_sequence_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("SPIKECAST_CPU_SEQUENCE_KERNELS");
    return v == nullptr || std::string(v) != "0";
  }();
  return enabled;
}

// Whether a kernel may run `layer` on `x`: in inference (a batch_first layer without projections,
// autograd off, module in eval mode).
bool in_inference(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, const torch::Tensor& x) {
  return o.batch_first() && o.proj_size() == 0 && !layer.is_training() && !torch::GradMode::is_enabled() &&
         x.dim() == 3 && x.size(0) >= 1;
}

#ifdef SPIKECAST_WITH_CUDA_KERNELS
bool inference_at_small_batch(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o,
                              const torch::Tensor& x) {
  return in_inference(layer, o, x) && x.size(0) <= kCellKernelMaxBatch;
}
#endif

// Which path runs `layer` on `x`.
Path path_for(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
              const torch::Tensor& x) {
  const bool cpu_sequence = cpu_sequence_enabled() && cpu_sequence_takes(layer, x);
  if (!in_inference(layer, o, x)) {
    if (cpu_sequence) return Path::kCpuSequence;
    return cuda_sequence_takes(layer, x) ? Path::kCudaSequence : Path::kModule;
  }
  if (x.size(0) <= kCellKernelMaxBatch) {
    if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) return Path::kCpuCells;
#ifdef SPIKECAST_WITH_CUDA_KERNELS
    if (cuda_kernel_takes(layer, o, cell, x)) return Path::kCudaKernel;
#endif
  }
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  if (tiled_kernel_takes(layer, o, cell, x)) return Path::kCudaTiled;
#else
  (void)cell;
#endif
  return cpu_sequence ? Path::kCpuSequence : Path::kModule;
}

// `layer` (an LSTM or GRU module) on x, by the path path_for() picks.
torch::Tensor run_module(torch::nn::Module& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(layer);
  if (m.options == nullptr) throw ModelError("run_recurrent: the layer is not an LSTM or GRU module");
  switch (path_for(layer, *m.options, m.cell, x)) {
    case Path::kCpuCells:
      return cell_forward(layer, *m.options, m.cell, x);
    case Path::kCpuSequence:
      return cpu_sequence_forward(layer, x);
    case Path::kCudaSequence:
      return cuda_sequence_forward(layer, x);
#ifdef SPIKECAST_WITH_CUDA_KERNELS
    case Path::kCudaKernel:
      return cuda_forward(m.cell, kernel_layers(layer, *m.options), m.options->bidirectional(), x);
    case Path::kCudaTiled:
      return tiled_forward(layer, *m.options, m.cell, x);
#endif
    default:
      break;
  }
  if (auto* lstm = dynamic_cast<torch::nn::LSTMImpl*>(&layer)) return std::get<0>(lstm->forward(x));
  return std::get<0>(dynamic_cast<torch::nn::GRUImpl&>(layer).forward(x));
}

#ifdef SPIKECAST_WITH_CUDA_KERNELS
// The stack's layers for the CUDA kernel, or none when it does not take them all in launches of
// several layers: one cell kind, unidirectional, inference at small batch on float32 CUDA tensors,
// dropout off, residual layers of one layer each.
std::vector<KernelLayer> fused_stack(const std::vector<StackedLayer>& layers, const torch::nn::Dropout& dropout,
                                     const torch::Tensor& x) {
  if (cuda_kernels_mode() != CudaKernels::kStacks || layers.size() < 2 || !x.is_cuda() || !x.is_floating_point() ||
      dropout->is_training())
    return {};
  const RecurrentModule first = layers[0].layer == nullptr ? RecurrentModule{} : recurrent_module(*layers[0].layer);
  std::vector<KernelLayer> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const StackedLayer& s = layers[i];
    const RecurrentModule m = s.layer == nullptr ? RecurrentModule{} : recurrent_module(*s.layer);
    if (m.options == nullptr || m.cell != first.cell || m.options->bidirectional() ||
        !inference_at_small_batch(*s.layer, *m.options, x) || !float32_parameters_on(*s.layer, x.device()))
      return {};
    std::vector<KernelLayer> k = kernel_layers(*s.layer, *m.options);
    if (s.residual) {
      if (k.size() != 1 || i == 0) return {};
      k[0].residual = s.projection ? cuda_cells::Residual::kProjection : cuda_cells::Residual::kInput;
      k[0].projection = s.projection;
      if (s.projection && !float32_parameters_on(*s.projection, x.device())) return {};
    }
    out.insert(out.end(), k.begin(), k.end());
  }
  if (!launchable(first.cell, out, x, false)) return {};
  return out;
}
#endif

}  // namespace

bool cuda_cell_kernels_available(const torch::Device& device) {
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  if (!device.is_cuda()) return false;
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  cuda_cells::StackShape probe;
  probe.batch = probe.steps = probe.layers = 1;
  probe.layer[0] = {1, 32, cuda_cells::Residual::kNone};
  return cuda_kernels_mode() != CudaKernels::kOff && cuda_cells::supported(index, probe);
#else
  (void)device;
  return false;
#endif
}

bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(layer);
  return m.options != nullptr && path_for(layer, *m.options, m.cell, x) != Path::kModule;
}

torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x) { return run_module(*layer, x); }

torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x) { return run_module(*layer, x); }

std::vector<torch::Tensor> run_recurrent_directions(torch::nn::LSTM& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(*layer);
  if (path_for(*layer, *m.options, m.cell, x) == Path::kCudaSequence) return cuda_sequence_directions(*layer, x);
  const torch::Tensor y = run_module(*layer, x);
  return m.options->bidirectional() ? y.chunk(2, 2) : std::vector<torch::Tensor>{y};
}

bool runs_as_one_kernel(const std::vector<StackedLayer>& layers, const torch::nn::Dropout& dropout,
                        const torch::Tensor& x) {
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  return !fused_stack(layers, dropout, x).empty();
#else
  (void)layers, (void)dropout, (void)x;
  return false;
#endif
}

torch::Tensor run_recurrent_stack(const std::vector<StackedLayer>& layers, torch::nn::Dropout& dropout,
                                  const torch::Tensor& x, bool last_step) {
  const auto last = [&](const torch::Tensor& t) { return last_step ? t.narrow(1, t.size(1) - 1, 1) : t; };
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  const std::vector<KernelLayer> fused = fused_stack(layers, dropout, x);
  if (!fused.empty()) return last(cuda_forward(recurrent_module(*layers[0].layer).cell, fused, false, x));
#endif
  torch::Tensor h = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    const bool top = i + 1 == layers.size();
    torch::Tensor y = run_module(*layers[i].layer, h);
    if (top) y = last(y);
    if (layers[i].residual) {
      const torch::Tensor in = top ? last(h) : h;
      torch::nn::Linear projection = layers[i].projection;
      y = y + (projection ? rows_linear(in, projection->weight, projection->bias) : in);
    }
    h = top ? y : dropout->forward(y);
  }
  return h;
}

std::string runtime_summary_with_kernels() {
  return runtime_summary() + ", CPU cell kernels " + cells::to_string(cells::kernel_isa());
}

}  // namespace spikecast::models
