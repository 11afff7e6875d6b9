#include "models/rule_lstm.h"

#include "core/error.h"
#include "models/option_reader.h"
#include "models/recurrent_inference.h"

namespace spikecast::models {

RulesLayerOptions RuleLstmOptions::default_rules() {
  RulesLayerOptions r;
  Rule non_finite;
  non_finite.type = RuleType::kNonFiniteFallback;
  Rule gap;
  gap.type = RuleType::kGapFallback;
  gap.max_filled_fraction = 0.5;
  Rule step;
  step.type = RuleType::kMaxStepChange;
  step.original_units = false;
  step.max_change = 3.0;
  r.rules = {non_finite, gap, step};
  return r;
}

RuleLstmOptions RuleLstmOptions::from_spec(const ModelSpec& spec) {
  spec.validate("rule");
  RuleLstmOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.rule");
  r.read("hidden", o.hidden);
  r.read("head", o.head);
  r.read("dropout", o.dropout);
  o.frame.read(r);
  if (const nlohmann::json* rules = r.take("rules")) {
    if (!rules->is_array()) throw ConfigError("models.rule.rules", "must be a JSON array of rules");
    o.rules.rules.clear();
    for (size_t i = 0; i < rules->size(); ++i)
      o.rules.rules.push_back(Rule::from_json((*rules)[i], "models.rule.rules[" + std::to_string(i) + "]"));
  }
  r.read("target_mean", o.rules.target_mean);
  r.read("target_std", o.rules.target_std);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json RuleLstmOptions::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Rule& rule : rules.rules) list.push_back(rule.to_json());
  nlohmann::json j = {{"hidden", hidden}, {"head", head}, {"dropout", dropout}, {"rules", list},
                      {"target_mean", rules.target_mean}, {"target_std", rules.target_std}};
  frame.write(j);
  return j;
}

void RuleLstmOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("rule");
  check_positive("models.rule.hidden", hidden);
  check_widths("models.rule.head", head, true);
  check_probability("models.rule.dropout", dropout);
  frame.validate("models.rule");
  rules.validate("models.rule");
}

RuleLstmImpl::RuleLstmImpl(const RuleLstmOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  const auto& o = options_;
  frame_ = register_module("frame", ForecastFrame(o.frame, o.input_length, o.horizon));
  lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(o.channels, o.hidden).batch_first(true)));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  DenseHeadOptions ho(o.hidden, o.head, o.horizon);
  ho.dropout = o.dropout;
  head_ = register_module("head", DenseHead(ho));
  rules_ = register_module("rules", RulesLayer(o.rules));
}

ForecastOutput RuleLstmImpl::forward(const torch::Tensor& x, const torch::Tensor& filled_fraction) {
  check_input(x);
  if (filled_fraction.defined() && (filled_fraction.dim() != 1 || filled_fraction.size(0) != x.size(0)))
    throw ModelError("rule: filled_fraction must be [batch] = [" + std::to_string(x.size(0)) + "], got " +
                     c10::str(filled_fraction.sizes()));
  NormalizedWindow w = frame_->normalize(x);
  torch::Tensor h = run_recurrent(lstm_, w.x);  // [B, L, hidden]
  torch::Tensor y = frame_->finish(head_->forward(dropout_->forward(h.select(1, h.size(1) - 1))), w);
  torch::Tensor last = x.select(1, x.size(1) - 1).select(1, 0);  // [B] last observed target
  RulesResult r = rules_->forward(y, last, filled_fraction);
  ForecastOutput out;
  out.value = r.value;
  out.rules_fired = r.fired;
  return out;
}

}  // namespace spikecast::models
