// Which recurrent module a layer is (LibTorch's LSTM or GRU) and its parameters by name: what every
// path of recurrent_inference.h and recurrent_sequence.h reads from a layer. Internal to src/models.
#pragma once

#include <torch/torch.h>

#include <string>

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

}  // namespace spikecast::models
