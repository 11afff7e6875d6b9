#include "models/recurrent_inference.h"

#include <ATen/Parallel.h>

#include <string>

#include "core/error.h"
#include "models/recurrent_cells.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cstdlib>
#include <stdexcept>

#include "models/recurrent_cuda.h"
#endif

namespace spikecast::models {
namespace {

enum class Cell { kLstm, kGru };

using Parameters = torch::OrderedDict<std::string, torch::Tensor>;

const torch::Tensor& parameter(const Parameters& params, const std::string& name) {
  const torch::Tensor* p = params.find(name);
  if (p == nullptr) throw ModelError("recurrent layer has no parameter '" + name + "'");
  return *p;
}

// One direction of one layer, prepared for the cell kernels: the input projections of every step in
// one matrix product, xp [B, T, G] (+ b_ih, + b_hh for the LSTM, which adds both biases outside the
// product), W_hh [G, H] and b_hh [G] (zeros without bias).
struct DirectionInputs {
  torch::Tensor xp, w_hh, b_hh;
};

DirectionInputs prepare_direction(const Parameters& params, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                                  const torch::Tensor& input, int64_t layer, int64_t direction) {
  const int64_t gates = (cell == Cell::kLstm ? 4 : 3) * o.hidden_size();
  const std::string sfx = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
  DirectionInputs d;
  d.xp = torch::matmul(input, parameter(params, "weight_ih" + sfx).t());
  d.w_hh = parameter(params, "weight_hh" + sfx).contiguous();
  if (o.bias()) {
    d.xp = d.xp + parameter(params, "bias_ih" + sfx);
    d.b_hh = parameter(params, "bias_hh" + sfx).contiguous();
    if (cell == Cell::kLstm) d.xp = d.xp + d.b_hh;
  } else {
    d.b_hh = torch::zeros({gates}, input.options());
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

cuda_cells::Shape cuda_shape(const torch::nn::detail::RNNOptionsBase& o, const torch::Tensor& x) {
  return {static_cast<int>(x.size(0)), static_cast<int>(x.size(1)), static_cast<int>(o.hidden_size())};
}

// One pass over all layers with the CUDA layer kernel (recurrent_cuda.h), both directions of a
// layer in one launch. Float32 throughout, also under autocast (the output is float32).
torch::Tensor cuda_forward(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                           const torch::Tensor& x) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const int64_t hidden = o.hidden_size();
  const int64_t dirs = o.bidirectional() ? 2 : 1;
  const int64_t batch = x.size(0), steps = x.size(1);
  const Parameters params = layer.named_parameters(/*recurse=*/false);
  const cuda_cells::Shape shape = cuda_shape(o, x);
  void* stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
  torch::Tensor input = x.to(torch::kFloat32).contiguous();
  for (int64_t l = 0; l < o.num_layers(); ++l) {
    torch::Tensor out = torch::empty({batch, steps, dirs * hidden}, input.options());
    // Freed after the launch is queued: the caching allocator reuses memory in stream order.
    DirectionInputs in[2];
    cuda_cells::Direction dir[2];
    for (int64_t d = 0; d < dirs; ++d) {
      in[d] = prepare_direction(params, o, cell, input, l, d);
      dir[d].xp = in[d].xp.data_ptr<float>();
      dir[d].w_hh = in[d].w_hh.data_ptr<float>();
      dir[d].b_hh = cell == Cell::kGru ? in[d].b_hh.data_ptr<float>() : nullptr;
      dir[d].out = out.data_ptr<float>() + d * hidden;
      dir[d].out_batch_stride = steps * dirs * hidden;
      dir[d].out_step_stride = dirs * hidden;
      dir[d].reverse = d == 1;
    }
    try {
      cuda_cells::run_layer(cuda_cell(cell), shape, dir, static_cast<int>(dirs), stream);
    } catch (const std::runtime_error& e) {
      throw ModelError(e.what());
    }
    input = out;
  }
  return input;
}

// SPIKECAST_CUDA_CELL_KERNELS=0 turns the CUDA kernel off (cuDNN for every batch): a diagnostic
// switch, read once, for measuring the kernel against cuDNN inside whole models (docs/performance.md).
bool cuda_kernels_switched_on() {
  static const bool on = [] {
    const char* v = std::getenv("SPIKECAST_CUDA_CELL_KERNELS");
    return v == nullptr || std::string(v) != "0";
  }();
  return on;
}

bool cuda_kernel_takes(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                       const torch::Tensor& x) {
  if (!x.is_cuda() || !x.is_floating_point() || !cuda_kernels_switched_on()) return false;
  for (const auto& p : layer.parameters(/*recurse=*/false))
    if (p.scalar_type() != torch::kFloat32 || !p.is_cuda()) return false;
  return cuda_cells::supported(x.device().index(), cuda_cell(cell), cuda_shape(o, x));
}
#endif

// The module behind a torch::nn::LSTM or GRU holder, with its cell kind; null for anything else.
struct RecurrentModule {
  const torch::nn::detail::RNNOptionsBase* options = nullptr;
  Cell cell = Cell::kLstm;
};

RecurrentModule recurrent_module(const torch::nn::Module& layer) {
  if (const auto* lstm = dynamic_cast<const torch::nn::LSTMImpl*>(&layer)) return {&lstm->options_base, Cell::kLstm};
  if (const auto* gru = dynamic_cast<const torch::nn::GRUImpl*>(&layer)) return {&gru->options_base, Cell::kGru};
  return {};
}

enum class Path { kModule, kCpuCells, kCudaKernel };

// Which path runs `layer` on `x`: a kernel only in inference (a batch_first layer without
// projections, autograd off, module in eval mode) at batch <= kCellKernelMaxBatch.
Path path_for(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
              const torch::Tensor& x) {
  if (!o.batch_first() || o.proj_size() != 0 || layer.is_training() || torch::GradMode::is_enabled() ||
      x.dim() != 3 || x.size(0) > kCellKernelMaxBatch)
    return Path::kModule;
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) return Path::kCpuCells;
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  if (cuda_kernel_takes(layer, o, cell, x)) return Path::kCudaKernel;
#else
  (void)cell;
#endif
  return Path::kModule;
}

torch::Tensor run(torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o, Cell cell,
                  const torch::Tensor& x) {
  switch (path_for(layer, o, cell, x)) {
    case Path::kCpuCells:
      return cell_forward(layer, o, cell, x);
#ifdef SPIKECAST_WITH_CUDA_KERNELS
    case Path::kCudaKernel:
      return cuda_forward(layer, o, cell, x);
#endif
    default:
      return torch::Tensor();
  }
}

}  // namespace

bool cuda_cell_kernels_available(const torch::Device& device) {
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  if (!device.is_cuda()) return false;
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  return cuda_kernels_switched_on() && cuda_cells::supported(index, cuda_cells::Cell::kLstm, {1, 1, 32});
#else
  (void)device;
  return false;
#endif
}

bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(layer);
  return m.options != nullptr && path_for(layer, *m.options, m.cell, x) != Path::kModule;
}

torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x) {
  torch::Tensor y = run(*layer, layer->options_base, Cell::kLstm, x);
  return y.defined() ? y : std::get<0>(layer->forward(x));
}

torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x) {
  torch::Tensor y = run(*layer, layer->options_base, Cell::kGru, x);
  return y.defined() ? y : std::get<0>(layer->forward(x));
}

}  // namespace spikecast::models
