#include "models/residual_gru.h"

#include "models/option_reader.h"
#include "models/recurrent_inference.h"

namespace spikecast::models {

ResidualGruOptions ResidualGruOptions::from_spec(const ModelSpec& spec) {
  spec.validate("gru");
  ResidualGruOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.gru");
  r.read("hidden", o.hidden);
  r.read("head", o.head);
  r.read("dropout", o.dropout);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json ResidualGruOptions::to_json() const {
  nlohmann::json j = {{"hidden", hidden}, {"head", head}, {"dropout", dropout}};
  frame.write(j);
  return j;
}

void ResidualGruOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("gru");
  check_widths("models.gru.hidden", hidden);
  check_widths("models.gru.head", head, true);
  check_probability("models.gru.dropout", dropout);
  frame.validate("models.gru");
}

ResidualGruImpl::ResidualGruImpl(const ResidualGruOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  frame_ = register_module("frame", ForecastFrame(options_.frame, options_.input_length, options_.horizon));
  int64_t d = options_.channels;
  for (size_t i = 0; i < options_.hidden.size(); ++i) {
    const int64_t w = options_.hidden[i];
    layers_.push_back(register_module(
        "gru" + std::to_string(i), torch::nn::GRU(torch::nn::GRUOptions(d, w).batch_first(true))));
    torch::nn::Linear proj{nullptr};
    if (i > 0 && d != w) proj = register_module("proj" + std::to_string(i), torch::nn::Linear(d, w));
    projections_.push_back(proj);
    d = w;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
  DenseHeadOptions ho(d, options_.head, options_.horizon);
  ho.dropout = options_.dropout;
  head_ = register_module("head", DenseHead(ho));
}

ForecastOutput ResidualGruImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  NormalizedWindow w = frame_->normalize(x);
  std::vector<StackedLayer> stack;  // residual connections from the second layer on
  for (size_t i = 0; i < layers_.size(); ++i) stack.push_back({layers_[i].get(), i > 0, projections_[i]});
  const torch::Tensor h = run_recurrent_stack(stack, dropout_, w.x, /*last_step=*/true);  // [B, 1, hidden_top]
  ForecastOutput out;
  out.value = frame_->finish(head_->forward(dropout_->forward(h.select(1, h.size(1) - 1))), w);
  return out;
}

}  // namespace spikecast::models
