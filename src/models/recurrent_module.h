// Which recurrent module a layer is (LibTorch's LSTM or GRU) and its parameters by name: what every
// path of recurrent_inference.h and recurrent_sequence.h reads from a layer. Internal to src/models.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace spikecast::models {

enum class Cell { kLstm, kGru };

// The layer's options and cell; options is nullptr when the layer is neither an LSTM nor a GRU.
struct RecurrentModule {
  const torch::nn::detail::RNNOptionsBase* options = nullptr;
  Cell cell = Cell::kLstm;
};

inline RecurrentModule recurrent_module(const torch::nn::Module& layer) {
  if (const auto* lstm = dynamic_cast<const torch::nn::LSTMImpl*>(&layer)) return {&lstm->options_base, Cell::kLstm};
  if (const auto* gru = dynamic_cast<const torch::nn::GRUImpl*>(&layer)) return {&gru->options_base, Cell::kGru};
  return {};
}

// params.find(name), or a ModelError naming the missing parameter ("weight_ih_l0_reverse").
inline const torch::Tensor& layer_parameter(const torch::OrderedDict<std::string, torch::Tensor>& params,
                                            const std::string& name) {
  const torch::Tensor* p = params.find(name);
  if (p == nullptr) throw ModelError("recurrent layer has no parameter '" + name + "'");
  return *p;
}

// One direction of one layer: its weights, and its biases (zeros when the module has none).
struct DirectionWeights {
  torch::Tensor w_ih, w_hh, b_ih, b_hh;
};

inline DirectionWeights direction_weights(const torch::OrderedDict<std::string, torch::Tensor>& params,
                                          const RecurrentModule& m, int64_t layer, bool reverse) {
  const std::string sfx = "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
  DirectionWeights w;
  w.w_ih = layer_parameter(params, "weight_ih" + sfx);
  w.w_hh = layer_parameter(params, "weight_hh" + sfx);
  if (m.options->bias()) {
    w.b_ih = layer_parameter(params, "bias_ih" + sfx);
    w.b_hh = layer_parameter(params, "bias_hh" + sfx);
  } else {
    w.b_ih = torch::zeros({w.w_hh.size(0)}, w.w_hh.options());
    w.b_hh = w.b_ih;
  }
  return w;
}

// Whether every parameter of the module is a float32 tensor on `device`.
inline bool float32_parameters_on(const torch::nn::Module& layer, const torch::Device& device) {
  for (const auto& p : layer.parameters(/*recurse=*/false))
    if (p.scalar_type() != torch::kFloat32 || p.device() != device) return false;
  return true;
}

// A batch_first module's forward built from one function per direction of a layer,
// direction(x [B, T, I], weights, reverse) -> [B, T, H]: the layers in turn, both directions of a
// bidirectional inner layer concatenated, dropout between layers as the module applies it in
// training. Returns the last layer's output per direction (forward, then backward), not concatenated.
template <typename DirectionFn>
std::vector<torch::Tensor> forward_directions(torch::nn::Module& layer, const RecurrentModule& m,
                                              const torch::Tensor& x, DirectionFn&& direction) {
  const auto params = layer.named_parameters(/*recurse=*/false);
  torch::Tensor h = x.contiguous();
  std::vector<torch::Tensor> y;
  for (int64_t l = 0; l < m.options->num_layers(); ++l) {
    if (l > 0) {
      h = y.size() == 1 ? y[0] : torch::cat(y, 2);
      if (layer.is_training() && m.options->dropout() > 0) h = torch::dropout(h, m.options->dropout(), true);
    }
    y = {direction(h, direction_weights(params, m, l, false), false)};
    if (m.options->bidirectional()) y.push_back(direction(h, direction_weights(params, m, l, true), true));
  }
  return y;
}

// The module's forward output [B, T, directions * H] from forward_directions().
template <typename DirectionFn>
torch::Tensor forward_by_direction(torch::nn::Module& layer, const RecurrentModule& m, const torch::Tensor& x,
                                   DirectionFn&& direction) {
  const std::vector<torch::Tensor> y = forward_directions(layer, m, x, std::forward<DirectionFn>(direction));
  return y.size() == 1 ? y[0] : torch::cat(y, 2);
}

}  // namespace spikecast::models
