#include "models/recurrent_inference.h"

#include <ATen/Parallel.h>

#include <string>

#include "core/error.h"
#include "models/recurrent_cells.h"

namespace spikecast::models {
namespace {

enum class Cell { kLstm, kGru };

using Parameters = torch::OrderedDict<std::string, torch::Tensor>;

const torch::Tensor& parameter(const Parameters& params, const std::string& name) {
  const torch::Tensor* p = params.find(name);
  if (p == nullptr) throw ModelError("recurrent layer has no parameter '" + name + "'");
  return *p;
}

// One pass over all layers and directions with the cell kernels.
torch::Tensor cell_forward(const torch::nn::Module& layer, const torch::nn::detail::RNNOptionsBase& o,
                           Cell cell, const torch::Tensor& x) {
  const int64_t hidden = o.hidden_size(), gates = (cell == Cell::kLstm ? 4 : 3) * hidden;
  const int64_t dirs = o.bidirectional() ? 2 : 1;
  const int64_t batch = x.size(0), steps = x.size(1);
  // One dictionary per call (named_parameters() builds a fresh one each time).
  const Parameters params = layer.named_parameters(/*recurse=*/false);
  torch::Tensor input = x.contiguous();
  for (int64_t l = 0; l < o.num_layers(); ++l) {
    torch::Tensor out = torch::empty({batch, steps, dirs * hidden}, x.options());
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      const torch::Tensor w_ih = parameter(params, "weight_ih" + sfx);
      const torch::Tensor w_hh = parameter(params, "weight_hh" + sfx);
      // Input projections of every step in one matrix product: [B, T, G].
      torch::Tensor xp = torch::matmul(input, w_ih.t());
      torch::Tensor b_hh;
      if (o.bias()) {
        xp = xp + parameter(params, "bias_ih" + sfx);
        b_hh = parameter(params, "bias_hh" + sfx);
        if (cell == Cell::kLstm) xp = xp + b_hh;  // LSTM adds both biases outside the product
      } else {
        b_hh = torch::zeros({gates}, x.options());
      }
      xp = xp.contiguous();
      const torch::Tensor whh_t = w_hh.t().contiguous();  // [H, G]
      const torch::Tensor bhh = b_hh.contiguous();
      const float* xp_p = xp.data_ptr<float>();
      const float* w_p = whh_t.data_ptr<float>();
      const float* b_p = bhh.data_ptr<float>();
      float* out_p = out.data_ptr<float>() + d * hidden;
      const cells::RecurrentShape shape{steps, hidden};
      const bool reverse = d == 1;
      at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
          const float* xb = xp_p + b * steps * gates;
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

const torch::nn::detail::RNNOptionsBase* options_of(const torch::nn::Module& layer) {
  if (const auto* lstm = dynamic_cast<const torch::nn::LSTMImpl*>(&layer)) return &lstm->options_base;
  if (const auto* gru = dynamic_cast<const torch::nn::GRUImpl*>(&layer)) return &gru->options_base;
  return nullptr;
}

}  // namespace

bool uses_cell_kernels(const torch::nn::Module& layer, const torch::Tensor& x) {
  const torch::nn::detail::RNNOptionsBase* o = options_of(layer);
  return o != nullptr && o->batch_first() && o->proj_size() == 0 && !layer.is_training() &&
         !torch::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         x.dim() == 3 && x.size(0) <= kCellKernelMaxBatch;
}

torch::Tensor run_recurrent(torch::nn::LSTM& layer, const torch::Tensor& x) {
  if (uses_cell_kernels(*layer, x)) return cell_forward(*layer, layer->options_base, Cell::kLstm, x);
  return std::get<0>(layer->forward(x));
}

torch::Tensor run_recurrent(torch::nn::GRU& layer, const torch::Tensor& x) {
  if (uses_cell_kernels(*layer, x)) return cell_forward(*layer, layer->options_base, Cell::kGru, x);
  return std::get<0>(layer->forward(x));
}

}  // namespace spikecast::models
