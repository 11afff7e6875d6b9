#include "bench/capacity_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "bench/flop_count.h"
#include "bench/inference_latency.h"
#include "bench/train_throughput.h"
#include "core/error.h"
#include "models/model_registry.h"

namespace spikecast::bench {
namespace {

int64_t round_width(double w) { return std::max<int64_t>(8, static_cast<int64_t>(std::lround(w / 8.0)) * 8); }

// The width options of each member (docs/models.md); kernels, heads and dropouts stay.
const std::map<std::string, std::vector<std::string>>& width_keys() {
  static const std::map<std::string, std::vector<std::string>> k = {
      {"lstm", {"hidden", "head"}},
      {"gru", {"hidden", "head"}},
      {"cnn_lstm", {"filters", "hidden", "head"}},
      {"spike", {"d_model", "lstm_hidden", "head", "spike_head"}},
      {"rule", {"hidden", "head"}}};
  return k;
}

// Defaults of the width options, so an options object without them can still be scaled.
nlohmann::json with_defaults(const std::string& member, const nlohmann::json& options) {
  nlohmann::json full = models::make_forecaster(member, models::ModelSpec{100, 1, 13, options})->options_json();
  nlohmann::json out = options;
  for (const auto& key : width_keys().at(member)) out[key] = full.at(key);
  return out;
}

int64_t counted_parameters(const std::string& member, const models::ModelSpec& spec) {
  return count_model(member, spec).parameters();
}

int64_t bytes_of(const torch::nn::Module& m) {
  int64_t b = 0;
  for (const auto& p : m.parameters()) b += p.numel() * static_cast<int64_t>(p.element_size());
  for (const auto& p : m.buffers()) b += p.numel() * static_cast<int64_t>(p.element_size());
  return b;
}

}  // namespace

void PlanOptions::validate() const {
  if (members.empty()) throw ConfigError("plan.members", "at least one member");
  for (const auto& m : members)
    if (!width_keys().count(m)) throw ConfigError("plan.members", "'" + m + "' is not one of lstm, gru, cnn_lstm, spike, rule");
  if (batches.empty()) throw ConfigError("plan.batches", "at least one batch size");
  for (int64_t b : batches)
    if (b < 1) throw ConfigError("plan.batches", "each at least 1");
  if (infer_batch < 1) throw ConfigError("plan.infer_batch", "at least 1");
  if (records.empty()) throw ConfigError("plan.records", "at least one record count");
  for (int64_t r : records)
    if (r < 1) throw ConfigError("plan.records", "each at least 1");
  for (int64_t p : parameter_totals)
    if (p < 0) throw ConfigError("plan.parameters", "each 0 (as built) or more");
  if (epochs_per_retrain < 1) throw ConfigError("plan.epochs_per_retrain", "at least 1");
  if (train_fraction <= 0 || train_fraction > 1 || val_fraction < 0 || train_fraction + val_fraction > 1)
    throw ConfigError("plan.split", "0 < train <= 1, val >= 0, train + val <= 1");
  if (steps < 1) throw ConfigError("plan.steps", "at least 1");
  if (infer_runs < 1) throw ConfigError("plan.infer_runs", "at least 1");
  for (const auto& j : join) {
    if (std::find(members.begin(), members.end(), j) != members.end())
      throw ConfigError("plan.join", "'" + j + "' is already a member");
    try {
      count_model(j, models::ModelSpec{100, 1, 13, nlohmann::json::object()});
    } catch (const ConfigError&) {
      throw ConfigError("plan.join", "'" + j + "' is not a model the planner can count");
    }
  }
  if (join_min_windows < 1) throw ConfigError("plan.join_min_windows", "at least 1");
}

nlohmann::json scale_widths(const std::string& member, const nlohmann::json& options, double scale) {
  nlohmann::json out = with_defaults(member, options);
  for (const auto& key : width_keys().at(member)) {
    nlohmann::json& v = out[key];
    if (v.is_array()) {
      for (auto& w : v) w = round_width(w.get<double>() * scale);
    } else {
      v = round_width(v.get<double>() * scale);
    }
  }
  return out;
}

ScaledMembers scale_members(const std::vector<std::string>& members, const std::vector<models::ModelSpec>& specs,
                            int64_t total) {
  ScaledMembers s;
  auto build = [&](double k) {
    std::vector<models::ModelSpec> out = specs;
    if (k != 1.0)
      for (size_t i = 0; i < members.size(); ++i) out[i].options = scale_widths(members[i], specs[i].options, k);
    return out;
  };
  auto sum = [&](const std::vector<models::ModelSpec>& sp) {
    int64_t n = 0;
    for (size_t i = 0; i < members.size(); ++i) n += counted_parameters(members[i], sp[i]);
    return n;
  };
  if (total <= 0) {
    s.specs = specs;
    s.parameters = sum(specs);
    return s;
  }
  // Parameters grow about as the square of the width: bisect the multiplier on a log scale.
  double lo = 0.05, hi = 20.0;
  for (int it = 0; it < 60; ++it) {
    const double mid = std::sqrt(lo * hi);
    (sum(build(mid)) < total ? lo : hi) = mid;
  }
  // Widths are rounded, so take whichever neighbour lands nearer the total.
  const int64_t n_lo = sum(build(lo)), n_hi = sum(build(hi));
  s.width_scale = std::llabs(n_lo - total) <= std::llabs(n_hi - total) ? lo : hi;
  s.specs = build(s.width_scale);
  s.parameters = sum(s.specs);
  return s;
}

std::vector<PlanRow> project(const std::vector<Measurement>& measured, const PlanOptions& o, int64_t channels,
                             int64_t input_length, int64_t horizon) {
  std::vector<PlanRow> rows;
  const Measurement* ensemble_infer = nullptr;
  for (int64_t records : o.records) {
    const auto train_windows = static_cast<int64_t>(std::llround(o.train_fraction * static_cast<double>(records)));
    const bool joined = !o.join.empty() && train_windows - input_length - horizon + 1 >= o.join_min_windows;
    const double val_windows = o.val_fraction * static_cast<double>(records);
    const int64_t dataset = resident_dataset_bytes(records + input_length + horizon - 1, channels, train_windows);
    // Ensemble rows accumulate per (parameter total, batch).
    std::map<std::pair<int64_t, int64_t>, PlanRow> ens;
    for (const Measurement& m : measured) {
      if (m.model == "ensemble") continue;
      // The member's inference figures come from its own measurement at the same parameter total.
      PlanRow r;
      r.model = m.model;
      r.parameter_total = m.parameter_total;
      r.parameters = m.parameters;
      r.records = records;
      r.batch = m.batch;
      r.train_memory_bytes = m.train_model_bytes + dataset;
      r.infer_memory_bytes = m.infer_bytes;
      r.epoch_s = static_cast<double>(records) / m.train_samples_per_s;
      const double val_s = m.infer_windows_per_s > 0 ? val_windows / m.infer_windows_per_s : 0.0;
      r.retrain_s = static_cast<double>(o.epochs_per_retrain) *
                    (static_cast<double>(train_windows) / m.train_samples_per_s + val_s);
      rows.push_back(r);
      if (m.joins && !joined) continue;  // not in the ensemble at this size
      PlanRow& e = ens[{m.parameter_total, m.batch}];
      if (m.joins) e.joined.push_back(m.model);
      e.model = "ensemble";
      e.parameter_total = m.parameter_total;
      e.records = records;
      e.batch = m.batch;
      e.parameters += m.parameters;
      e.train_memory_bytes = std::max(e.train_memory_bytes, r.train_memory_bytes);
      e.epoch_s += r.epoch_s;
      e.retrain_s += r.retrain_s;
    }
    for (auto& [key, e] : ens) {
      for (const Measurement& m : measured)
        if (m.model == "ensemble" && m.parameter_total == key.first && m.joins == joined) ensemble_infer = &m;
      if (ensemble_infer) {
        e.parameters = ensemble_infer->parameters;
        e.infer_memory_bytes = ensemble_infer->infer_bytes;
        ensemble_infer = nullptr;
      }
      rows.push_back(e);
    }
  }
  return rows;
}

Plan make_plan(const BenchData& data, const PlanOptions& o, const Context& ctx) {
  Plan plan;
  // A forward-only measurement of `model` at the inference batch, into `m`.
  const auto measure_inference = [&](models::ForecasterImpl& model, Measurement& m) {
    m.parameters = models::count_parameters(model);
    model.to(ctx.device);
    const LatencyResult lat = measure_latency(model, data, o.infer_batch, o.infer_runs, ctx);
    m.infer_windows_per_s = lat.windows_per_s;
    m.infer_bytes = bytes_of(model) + o.infer_batch * data.config.window.input_length * data.channels() * 4 +
                    std::max<int64_t>(0, lat.memory.phase_bytes());
    m.memory_kind = lat.memory.kind;
  };
  // Member `name` built from `spec`: inference alone, then training at each batch size.
  const auto measure_member = [&](const std::string& name, const models::ModelSpec& spec, const ScaledMembers& scaled,
                                  bool joins) {
    Measurement base;
    base.model = name;
    base.parameter_total = scaled.parameters;
    base.width_scale = scaled.width_scale;
    base.joins = joins;
    measure_inference(*models::make_forecaster(name, spec), base);
    for (int64_t batch : o.batches) {
      Measurement m = base;
      m.batch = batch;
      const ThroughputResult t = measure_training(name, data, batch, o.steps, ctx, 1, &spec);
      m.train_samples_per_s = t.samples_per_s;
      m.train_model_bytes = std::max<int64_t>(0, t.memory.phase_bytes());
      m.memory_kind = t.memory.kind;
      plan.measured.push_back(m);
    }
  };
  // The ensemble's inference over `list` ({name, options} each).
  const auto measure_ensemble = [&](const nlohmann::json& list, const ScaledMembers& scaled, bool joins) {
    models::ModelSpec espec = data.spec("ensemble");
    espec.options = {{"members", list}, {"mode", "gated"}};
    Measurement e;
    e.model = "ensemble";
    e.parameter_total = scaled.parameters;
    e.width_scale = scaled.width_scale;
    e.joins = joins;
    measure_inference(*models::make_forecaster("ensemble", espec), e);
    plan.measured.push_back(e);
  };
  std::vector<models::ModelSpec> specs;
  for (const auto& m : o.members) specs.push_back(data.spec(m));
  for (int64_t total : o.parameter_totals) {
    const ScaledMembers scaled = scale_members(o.members, specs, total);
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < o.members.size(); ++i) {
      measure_member(o.members[i], scaled.specs[i], scaled, false);
      list.push_back({{"name", o.members[i]}, {"options", scaled.specs[i].options}});
    }
    measure_ensemble(list, scaled, false);
    if (o.join.empty()) continue;
    for (const auto& name : o.join) {  // at their built widths
      const models::ModelSpec spec = data.spec(name);
      measure_member(name, spec, scaled, true);
      list.push_back({{"name", name}, {"options", spec.options}});
    }
    measure_ensemble(list, scaled, true);
  }
  plan.rows = project(plan.measured, o, data.channels(), data.config.window.input_length, data.config.window.horizon);
  return plan;
}

nlohmann::json Plan::to_json(const PlanOptions& o, const Context& ctx) const {
  nlohmann::json m = nlohmann::json::array();
  for (const auto& x : measured)
    m.push_back({{"model", x.model}, {"parameter_total", x.parameter_total}, {"parameters", x.parameters},
                 {"width_scale", x.width_scale}, {"batch", x.batch}, {"train_samples_per_s", x.train_samples_per_s},
                 {"train_model_mib", x.train_model_bytes / 1048576.0}, {"infer_batch", o.infer_batch},
                 {"infer_windows_per_s", x.infer_windows_per_s}, {"infer_mib", x.infer_bytes / 1048576.0},
                 {"memory_kind", x.memory_kind}, {"joins", x.joins}});
  nlohmann::json r = nlohmann::json::array();
  for (const auto& x : rows)
    r.push_back({{"model", x.model}, {"parameter_total", x.parameter_total}, {"parameters", x.parameters},
                 {"records", x.records}, {"batch", x.batch}, {"train_memory_mib", x.train_memory_bytes / 1048576.0},
                 {"infer_memory_mib", x.infer_memory_bytes / 1048576.0}, {"epoch_s", x.epoch_s},
                 {"retrain_s", x.retrain_s}, {"joined", x.joined}});
  return {{"device", ctx.device.str()},
          {"precision", to_string(ctx.precision)},
          {"epochs_per_retrain", o.epochs_per_retrain},
          {"train_fraction", o.train_fraction},
          {"val_fraction", o.val_fraction},
          {"infer_batch", o.infer_batch},
          {"join", o.join},
          {"join_min_windows", o.join_min_windows},
          {"measured", m},
          {"projected", r}};
}

}  // namespace spikecast::bench
