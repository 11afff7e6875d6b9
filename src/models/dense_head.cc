#include "models/dense_head.h"

namespace spikecast::models {

DenseHeadImpl::DenseHeadImpl(const DenseHeadOptions& options) {
  int64_t d = options.in;
  for (int64_t h : options.hidden) {
    layers_->push_back(torch::nn::Linear(d, h));
    layers_->push_back(torch::nn::ReLU());
    if (options.dropout > 0) layers_->push_back(torch::nn::Dropout(options.dropout));
    d = h;
  }
  layers_->push_back(torch::nn::Linear(d, options.out));
  register_module("layers", layers_);
}

torch::Tensor DenseHeadImpl::forward(const torch::Tensor& x) { return layers_->forward(x); }

}  // namespace spikecast::models
