#include "models/stacked_lstm.h"

#include "models/option_reader.h"
#include "models/recurrent_inference.h"

namespace spikecast::models {

StackedLstmOptions StackedLstmOptions::from_spec(const ModelSpec& spec) {
  spec.validate("lstm");
  StackedLstmOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.lstm");
  r.read("hidden", o.hidden);
  r.read("head", o.head);
  r.read("dropout", o.dropout);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json StackedLstmOptions::to_json() const {
  nlohmann::json j = {{"hidden", hidden}, {"head", head}, {"dropout", dropout}};
  frame.write(j);
  return j;
}

void StackedLstmOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("lstm");
  check_widths("models.lstm.hidden", hidden);
  check_widths("models.lstm.head", head, true);
  check_probability("models.lstm.dropout", dropout);
  frame.validate("models.lstm");
}

StackedLstmImpl::StackedLstmImpl(const StackedLstmOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  frame_ = register_module("frame", ForecastFrame(options_.frame, options_.input_length, options_.horizon));
  int64_t d = options_.channels;
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

ForecastOutput StackedLstmImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  NormalizedWindow w = frame_->normalize(x);
  std::vector<StackedLayer> stack;
  for (auto& layer : layers_) stack.push_back({layer.get()});
  const torch::Tensor h = run_recurrent_stack(stack, dropout_, w.x, /*last_step=*/true);  // [B, 1, hidden_top]
  torch::Tensor last = h.select(1, h.size(1) - 1);  // [B, hidden_top]
  ForecastOutput out;
  out.value = frame_->finish(head_->forward(dropout_->forward(last)), w);  // [B, H]
  return out;
}

}  // namespace spikecast::models
