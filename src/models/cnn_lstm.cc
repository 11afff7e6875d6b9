#include "models/cnn_lstm.h"

#include "core/error.h"
#include "models/option_reader.h"
#include "models/recurrent_inference.h"
#include "models/sequence_ops.h"
#include "tensor/compat.h"

namespace spikecast::models {

CnnLstmOptions CnnLstmOptions::from_spec(const ModelSpec& spec) {
  spec.validate("cnn_lstm");
  CnnLstmOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.cnn_lstm");
  r.read("kernels", o.kernels);
  r.read("filters", o.filters);
  r.read("hidden", o.hidden);
  r.read("head", o.head);
  r.read("dropout", o.dropout);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json CnnLstmOptions::to_json() const {
  nlohmann::json j = {{"kernels", kernels}, {"filters", filters}, {"hidden", hidden},
                      {"head", head},       {"dropout", dropout}};
  frame.write(j);
  return j;
}

void CnnLstmOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("cnn_lstm");
  check_widths("models.cnn_lstm.kernels", kernels);
  for (int64_t k : kernels)
    if (k % 2 == 0)
      throw ConfigError("models.cnn_lstm.kernels", "kernel sizes must be odd for 'same' padding, got " + std::to_string(k));
  check_positive("models.cnn_lstm.filters", filters);
  check_widths("models.cnn_lstm.hidden", hidden);
  check_widths("models.cnn_lstm.head", head, true);
  check_probability("models.cnn_lstm.dropout", dropout);
  frame.validate("models.cnn_lstm");
}

CnnLstmImpl::CnnLstmImpl(const CnnLstmOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  frame_ = register_module("frame", ForecastFrame(options_.frame, options_.input_length, options_.horizon));
  for (int64_t k : options_.kernels)
    convs_.push_back(register_module(
        "conv" + std::to_string(k),
        torch::nn::Conv1d(torch::nn::Conv1dOptions(options_.channels, options_.filters, k).padding(k / 2))));
  int64_t d = options_.filters * static_cast<int64_t>(options_.kernels.size());
  for (size_t i = 0; i < options_.hidden.size(); ++i) {
    layers_.push_back(register_module(
        "lstm" + std::to_string(i),
        torch::nn::LSTM(torch::nn::LSTMOptions(d, options_.hidden[i]).batch_first(true))));
    d = options_.hidden[i];
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
  DenseHeadOptions ho(d, options_.head, options_.horizon);
  ho.dropout = options_.dropout;
  head_ = register_module("head", DenseHead(ho));
}

ForecastOutput CnnLstmImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  NormalizedWindow w = frame_->normalize(x);
  // The scales' convolutions as one product, concatenated in order: [B, L, k*filters]. In inference
  // on a card under autocast, in float16: the recurrent layers' kernels read float16, and converting
  // the product from bfloat16 took 407 of the member's 2,572 us at batch 8192 (H200, Nsight Compute).
  const bool half = w.x.is_cuda() && compat::cuda_autocast_enabled() && !torch::GradMode::is_enabled();
  const c10::optional<torch::ScalarType> compute = half ? c10::optional<torch::ScalarType>(torch::kHalf) : c10::nullopt;
  const bool training = dropout_->is_training() && dropout_->options.p() > 0;
  torch::Tensor h = training ? relu_dropout(same_convs(convs_, w.x), dropout_->options.p(), true)
                             : same_convs(convs_, w.x, compute, /*relu=*/true);
  std::vector<StackedLayer> stack;
  for (auto& layer : layers_) stack.push_back({layer.get()});
  h = run_recurrent_stack(stack, dropout_, h, /*last_step=*/true);  // [B, 1, hidden_top]
  ForecastOutput out;
  out.value = frame_->finish(head_->forward(dropout_->forward(h.select(1, h.size(1) - 1))), w);
  return out;
}

}  // namespace spikecast::models
