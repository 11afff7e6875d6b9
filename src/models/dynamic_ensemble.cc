#include "models/dynamic_ensemble.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "models/model_registry.h"
#include "models/option_reader.h"
#include "models/recurrent_inference.h"
#include "tensor/side_streams.h"

namespace spikecast::models {
namespace {
// The largest inference batch whose members run on side streams (below): every batch by default;
// SPIKECAST_SIDE_STREAM_MAX_BATCH, read once, is a diagnostic switch for measuring the choice
// (docs/performance.md, session 10).
int64_t side_stream_max_batch() {
  static const int64_t value = [] {
    const char* v = std::getenv("SPIKECAST_SIDE_STREAM_MAX_BATCH");
    return v == nullptr || *v == '\0' ? std::numeric_limits<int64_t>::max() : std::max<int64_t>(0, std::atoll(v));
  }();
  return value;
}
}  // namespace

std::vector<EnsembleMember> DynamicEnsembleOptions::default_members() {
  std::vector<EnsembleMember> m;
  for (const std::string& n : user_member_names()) m.push_back({n, nlohmann::json::object()});
  m.push_back({"linear", nlohmann::json::object()});
  m.push_back({"repeat_last", nlohmann::json::object()});
  return m;
}

DynamicEnsembleOptions DynamicEnsembleOptions::from_spec(const ModelSpec& spec) {
  spec.validate("ensemble");
  DynamicEnsembleOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.ensemble");
  if (const nlohmann::json* list = r.take("members")) {
    if (!list->is_array()) throw ConfigError("models.ensemble.members", "must be a JSON array");
    o.members.clear();
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& m = (*list)[i];
      const std::string field = "models.ensemble.members[" + std::to_string(i) + "]";
      // A member is "name" or {"name": ..., "options": {...}}.
      if (m.is_string()) {
        o.members.push_back({m.get<std::string>(), nlohmann::json::object()});
        continue;
      }
      OptionReader mr(m, field);
      EnsembleMember member;
      mr.read("name", member.name);
      mr.read("options", member.options);
      mr.finish();
      o.members.push_back(member);
    }
  }
  r.read("mode", o.mode);
  r.read("gate_hidden", o.gate_hidden);
  r.read("gate_dropout", o.gate_dropout);
  r.read("volatility_window", o.volatility_window);
  r.read("temperature", o.temperature);
  r.read("floor", o.floor);
  r.read("entropy_weight", o.entropy_weight);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json DynamicEnsembleOptions::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) list.push_back({{"name", m.name}, {"options", m.options}});
  return {{"members", list},         {"mode", mode},
          {"gate_hidden", gate_hidden}, {"gate_dropout", gate_dropout},
          {"volatility_window", volatility_window}, {"temperature", temperature},
          {"floor", floor},          {"entropy_weight", entropy_weight}};
}

void DynamicEnsembleOptions::validate() const {
  const std::string p = "models.ensemble";
  ModelSpec{input_length, horizon, channels, {}}.validate("ensemble");
  if (members.empty()) throw ConfigError(p + ".members", "needs at least one member");
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i].name == "ensemble")
      throw ConfigError(p + ".members[" + std::to_string(i) + "]", "an ensemble cannot be a member");
  if (mode != "gated" && mode != "static" && mode != "equal")
    throw ConfigError(p + ".mode", "must be 'gated', 'static' or 'equal', got '" + mode + "'");
  check_positive(p + ".gate_hidden", gate_hidden);
  check_probability(p + ".gate_dropout", gate_dropout);
  check_positive(p + ".volatility_window", volatility_window);
  if (!(temperature > 0)) throw ConfigError(p + ".temperature", "must be > 0, got " + std::to_string(temperature));
  if (!(floor >= 0 && floor <= 1)) throw ConfigError(p + ".floor", "must be in [0, 1], got " + std::to_string(floor));
  if (!(entropy_weight >= 0)) throw ConfigError(p + ".entropy_weight", "must be >= 0");
}

DynamicEnsembleImpl::DynamicEnsembleImpl(const DynamicEnsembleOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  for (const auto& m : options_.members)
    members_.push_back(make_forecaster(m.name, {options_.input_length, options_.horizon, options_.channels, m.options}));
  build();
}

DynamicEnsembleImpl::DynamicEnsembleImpl(const DynamicEnsembleOptions& options, std::vector<Forecaster> members)
    : ForecasterImpl(options.input_length, options.horizon, options.channels),
      options_(options),
      members_(std::move(members)) {
  options_.members.clear();
  for (size_t i = 0; i < members_.size(); ++i) {
    const auto& m = members_[i];
    if (!m) throw ConfigError("models.ensemble.members[" + std::to_string(i) + "]", "is null");
    if (m->input_length() != input_length() || m->horizon() != horizon() || m->channels() != channels())
      throw ConfigError("models.ensemble.members[" + std::to_string(i) + "]",
                        m->type_name() + " has a different window shape than the ensemble");
    options_.members.push_back({m->type_name(), m->options_json()});
  }
  options_.validate();
  build();
}

void DynamicEnsembleImpl::build() {
  const int64_t m = static_cast<int64_t>(members_.size()), h = horizon();
  for (size_t i = 0; i < members_.size(); ++i) {
    register_module("member" + std::to_string(i) + "_" + members_[i]->type_name(), members_[i]);
    if (spike_member_ < 0 && members_[i]->has_spike_head()) spike_member_ = static_cast<int>(i);
    member_cost_.push_back(count_parameters(*members_[i]));
  }
  if (options_.mode == "equal") return;
  static_logits_ = register_parameter("static_logits", torch::zeros({m, h}));
  if (options_.mode == "static") return;
  gate_in_ = register_module("gate_in", torch::nn::Linear(context_width() + m * h, options_.gate_hidden));
  gate_dropout_ = register_module("gate_dropout", torch::nn::Dropout(options_.gate_dropout));
  gate_out_ = register_module("gate_out", torch::nn::Linear(options_.gate_hidden, m * h));
  torch::NoGradGuard no_grad;
  gate_out_->weight.zero_();  // start at equal weights
  gate_out_->bias.zero_();
}

MemberForecasts DynamicEnsembleImpl::member_forecasts(const torch::Tensor& x, const torch::Tensor& filled_fraction) {
  check_input(x);
  if (!torch::GradMode::is_enabled() && x.size(0) > max_forward_batch_) {
    std::vector<torch::Tensor> preds, spikes, rules;
    for (int64_t b = 0; b < x.size(0); b += max_forward_batch_) {
      const int64_t n = std::min(max_forward_batch_, x.size(0) - b);
      const MemberForecasts part =
          member_forecasts(x.narrow(0, b, n), filled_fraction.defined() ? filled_fraction.narrow(0, b, n) : filled_fraction);
      preds.push_back(part.preds);
      if (part.spike_logit.defined()) spikes.push_back(part.spike_logit);
      if (part.rules_fired.defined()) rules.push_back(part.rules_fired);
    }
    MemberForecasts out;
    out.preds = torch::cat(preds);
    if (!spikes.empty()) out.spike_logit = torch::cat(spikes);
    if (!rules.empty()) out.rules_fired = torch::cat(rules);
    return out;
  }
  std::vector<ForecastOutput> outputs(members_.size());
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), static_cast<int64_t>(members_.size()));
  if (x.device().is_cpu() && !torch::GradMode::is_enabled() && threads > 1 && x.size(0) <= kCellKernelMaxBatch) {
    // Small-batch CPU inference (serving): one member's forward cannot use more than one core, so
    // the members run side by side, spread over the threads by parameter count (largest first,
    // each to the least-loaded thread).
    const std::vector<int64_t>& cost = member_cost_;
    std::vector<size_t> order(members_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
    std::vector<std::vector<size_t>> bins(static_cast<size_t>(threads));
    std::vector<int64_t> load(static_cast<size_t>(threads), 0);
    for (size_t i : order) {
      const size_t t = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      bins[t].push_back(i);
      load[t] += cost[i] + 1;
    }
    at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
      torch::NoGradGuard no_grad;  // grad mode is per thread
      for (int64_t t = begin; t < end; ++t)
        for (size_t i : bins[static_cast<size_t>(t)]) outputs[i] = members_[i]->forward(x, filled_fraction);
    });
  } else if (x.is_cuda() && !torch::GradMode::is_enabled() && side_streams_ && x.size(0) <= side_stream_max_batch()) {
    // Inference on a GPU: each member on its own stream, so their kernels overlap on the card (also
    // inside a CUDA graph capture, which records the fork and the join). Measured on the H200
    // (docs/performance.md): batch 32 fp32 6.4 -> 3.3 ms; with cuDNN's layers large batches were
    // 3-13% slower this way (session 3), with the tensor-core layer kernel they are 4-5% faster
    // (bf16, batch 8192 and 65,536, session 10), so every batch runs so.
    std::vector<std::function<void()>> tasks;
    for (size_t i = 0; i < members_.size(); ++i)
      tasks.emplace_back([&, i] { outputs[i] = members_[i]->forward(x, filled_fraction); });
    run_on_side_streams(x.device(), tasks);
    for (const ForecastOutput& o : outputs)
      for (const torch::Tensor& t : {o.value, o.spike_logit, o.rules_fired, o.weights}) keep_for_current_stream(t);
  } else {
    for (size_t i = 0; i < members_.size(); ++i) outputs[i] = members_[i]->forward(x, filled_fraction);
  }
  MemberForecasts out;
  std::vector<torch::Tensor> preds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ForecastOutput& o = outputs[i];
    preds.push_back(o.value);
    if (static_cast<int>(i) == spike_member_) out.spike_logit = o.spike_logit;
    if (!out.rules_fired.defined() && o.rules_fired.defined()) out.rules_fired = o.rules_fired;
  }
  out.preds = torch::stack(preds, 1);  // [B, M, H]
  return out;
}

torch::Tensor DynamicEnsembleImpl::context_features(const torch::Tensor& x, const torch::Tensor& spike_logit) const {
  check_input(x);
  const int64_t len = x.size(1), k = std::min<int64_t>(options_.volatility_window, len);
  torch::Tensor last_row = x.select(1, len - 1);  // [B, C]
  torch::Tensor recent = x.select(2, 0).narrow(1, len - k, k);  // [B, k]
  torch::Tensor volatility = k > 1 ? recent.std(1, /*unbiased=*/false, /*keepdim=*/true)
                                   : torch::zeros({x.size(0), 1}, x.options());
  torch::Tensor spike = spike_logit.defined() ? torch::sigmoid(spike_logit).unsqueeze(1).to(x.dtype())
                                              : torch::zeros({x.size(0), 1}, x.options());
  return torch::cat({last_row, volatility, spike}, 1);  // [B, C + 2]
}

std::pair<torch::Tensor, torch::Tensor> DynamicEnsembleImpl::mix(const torch::Tensor& context, const torch::Tensor& preds) {
  const int64_t b = preds.size(0), m = static_cast<int64_t>(members_.size()), h = horizon();
  if (preds.dim() != 3 || preds.size(1) != m || preds.size(2) != h)
    throw ModelError("ensemble: member predictions must be [batch, " + std::to_string(m) + ", " +
                     std::to_string(h) + "], got " + c10::str(preds.sizes()));
  if (context.dim() != 2 || context.size(0) != b || context.size(1) != context_width())
    throw ModelError("ensemble: context must be [" + std::to_string(b) + ", " + std::to_string(context_width()) +
                     "], got " + c10::str(context.sizes()));
  torch::Tensor weights;
  if (options_.mode == "equal") {
    weights = torch::full({b, m, h}, 1.0 / static_cast<double>(m), preds.options());
  } else {
    torch::Tensor logits = static_logits_.to(preds.dtype()).unsqueeze(0).expand({b, m, h});
    if (options_.mode == "gated") {
      // Member forecasts relative to the last target (context feature 0): level-free features.
      torch::Tensor delta = (preds - context.narrow(1, 0, 1).unsqueeze(2)).flatten(1);  // [B, M*H]
      torch::Tensor hidden = torch::relu(gate_in_->forward(torch::cat({context, delta}, 1)));
      logits = logits + gate_out_->forward(gate_dropout_->forward(hidden)).view({b, m, h});
    }
    weights = torch::softmax(logits / options_.temperature, 1);
    if (options_.floor > 0) weights = options_.floor / static_cast<double>(m) + (1.0 - options_.floor) * weights;
  }
  return {(weights * preds).sum(1), weights};
}

torch::Tensor DynamicEnsembleImpl::regularization(const torch::Tensor& weights) const {
  const double log_m = std::log(static_cast<double>(weights.size(1)));
  torch::Tensor entropy = -(weights * torch::log(weights.clamp_min(1e-12))).sum(1);  // [B, H]
  return options_.entropy_weight * (log_m - entropy).mean();
}

ForecastOutput DynamicEnsembleImpl::forward(const torch::Tensor& x, const torch::Tensor& filled_fraction) {
  MemberForecasts mf = member_forecasts(x, filled_fraction);
  auto [value, weights] = mix(context_features(x, mf.spike_logit), mf.preds);
  ForecastOutput out;
  out.value = value;
  out.weights = weights;
  out.spike_logit = mf.spike_logit;
  out.rules_fired = mf.rules_fired;
  return out;
}

std::vector<torch::Tensor> DynamicEnsembleImpl::gate_parameters() const {
  std::vector<torch::Tensor> p;
  if (static_logits_.defined()) p.push_back(static_logits_);
  for (const auto& layer : {gate_in_, gate_out_})
    if (layer)
      for (const auto& t : layer->parameters()) p.push_back(t);
  return p;
}

void DynamicEnsembleImpl::freeze_members(bool frozen) {
  for (auto& m : members_)
    for (auto& p : m->parameters()) p.requires_grad_(!frozen);
}

}  // namespace spikecast::models
