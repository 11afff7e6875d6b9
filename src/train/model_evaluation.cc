#include "train/model_evaluation.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "models/dynamic_ensemble.h"
#include "models/model_registry.h"
#include "tensor/compat.h"
#include "train/device_data.h"
#include "train/training_run.h"

namespace spikecast::train {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

bool is_baseline(const std::string& name) {
  return name == "linear" || name == "repeat_last" || name == "seasonal_naive";
}

// Runs `model` over the windows in batches; collects value, weights, spike logits and members.
struct Outputs {
  std::vector<torch::Tensor> value, weights, spike, members, y;
};

}  // namespace

const ModelScore& Evaluation::score(const std::string& name) const {
  for (const ModelScore& s : scores)
    if (s.name == name) return s;
  throw Error("no score for '" + name + "'");
}

Evaluation evaluate_model(models::ForecasterImpl& model, const Dataset& data, const Config& config,
                          const Context& ctx, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.eval();
  model.to(ctx.device);
  const int64_t L = model.input_length(), H = model.horizon();
  if (L != config.window.input_length || H != config.window.horizon)
    throw ConfigError("window", "the model was trained with L = " + std::to_string(L) + ", H = " +
                                    std::to_string(H) + "; the evaluation asks for L = " +
                                    std::to_string(config.window.input_length) + ", H = " +
                                    std::to_string(config.window.horizon));
  const DeviceData dd(data.table, data.scaler.mean(), data.scaler.stddev(), data.spike_labels, L, H, ctx.device);
  auto* ensemble = dynamic_cast<models::DynamicEnsembleImpl*>(&model);

  // Baselines that are not members are scored alongside, built from the registry.
  std::vector<std::pair<std::string, models::Forecaster>> extra;
  for (const std::string name : {"repeat_last", "seasonal_naive"}) {
    bool present = false;
    if (ensemble)
      for (const auto& m : ensemble->options().members) present = present || m.name == name;
    if (!present)
      extra.emplace_back(name, models::make_forecaster(name, models::ModelSpec{L, H, model.channels(),
                                                                                member_options(name, config, data)}));
  }
  for (auto& [name, m] : extra) {
    m->to(ctx.device);
    m->eval();
  }

  Evaluation ev;
  ev.windows = data.windows.test;
  const torch::Tensor idx = dd.index(ev.windows);
  Outputs out;
  std::vector<std::vector<torch::Tensor>> extra_out(extra.size());
  for (int64_t b = 0; b < idx.size(0); b += batch_size) {
    const WindowBatch batch = dd.gather(idx.slice(0, b, std::min(idx.size(0), b + batch_size)));
    compat::AutocastScope autocast(ctx.device.type(), ctx.autocast_dtype(), ctx.autocast());
    if (ensemble) {
      const models::MemberForecasts mf = ensemble->member_forecasts(batch.x, batch.filled_fraction);
      const auto context = ensemble->context_features(batch.x, mf.spike_logit);
      auto [value, weights] = ensemble->mix(context, mf.preds);
      out.value.push_back(value.to(torch::kFloat32).cpu());
      out.weights.push_back(weights.to(torch::kFloat32).cpu());
      out.members.push_back(mf.preds.to(torch::kFloat32).cpu());
      if (mf.spike_logit.defined()) out.spike.push_back(torch::sigmoid(mf.spike_logit.to(torch::kFloat32)).cpu());
    } else {
      const models::ForecastOutput o = model.forward(batch.x, batch.filled_fraction);
      out.value.push_back(o.value.to(torch::kFloat32).cpu());
      if (o.spike_logit.defined()) out.spike.push_back(torch::sigmoid(o.spike_logit.to(torch::kFloat32)).cpu());
    }
    for (size_t e = 0; e < extra.size(); ++e)
      extra_out[e].push_back(extra[e].second->forward(batch.x, batch.filled_fraction).value.to(torch::kFloat32).cpu());
    out.y.push_back(batch.y.cpu());
  }
  ev.y = torch::cat(out.y);
  ev.forecast = torch::cat(out.value);
  const std::vector<float> actual = to_vector(ev.y);
  const int64_t n = ev.y.size(0);
  const double mean = data.scaler.mean()[0], sd = data.scaler.stddev()[0];
  const auto metrics_of = [&](const torch::Tensor& pred) {
    return compute_forecast_metrics(to_vector(pred), actual, n, H, mean, sd);
  };
  ev.scores.push_back({ensemble ? "ensemble" : model.type_name(), ensemble ? "ensemble" : "member", metrics_of(ev.forecast), 0});
  if (ensemble) {
    ev.member_preds = torch::cat(out.members);
    ev.weights = torch::cat(out.weights);
    for (size_t m = 0; m < ensemble->options().members.size(); ++m) {
      const std::string& name = ensemble->options().members[m].name;
      ev.member_names.push_back(name);
      ev.scores.push_back({name, is_baseline(name) ? "baseline" : "member",
                           metrics_of(ev.member_preds.select(1, static_cast<int64_t>(m))), 0});
    }
  }
  for (size_t e = 0; e < extra.size(); ++e)
    ev.scores.push_back({extra[e].first, "baseline", metrics_of(torch::cat(extra_out[e])), 0});
  const ForecastMetrics& ref = ev.score("repeat_last").metrics;
  for (ModelScore& s : ev.scores) s.skill = skill_score(s.metrics, ref);

  if (!out.spike.empty() && !data.spike_labels.empty()) {
    ev.has_spikes = true;
    ev.spike_prob = torch::cat(out.spike);
    const std::vector<float> prob = to_vector(ev.spike_prob);
    std::vector<uint8_t> labels(static_cast<size_t>(n)), flags(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      labels[static_cast<size_t>(i)] = data.spike_labels[static_cast<size_t>(ev.windows[static_cast<size_t>(i)] + L)];
      flags[static_cast<size_t>(i)] = prob[static_cast<size_t>(i)] >= ev.spike_threshold;
    }
    ev.spike_events = compute_event_metrics(labels, flags);
    NabFile file;
    file.name = data.table.source;
    file.anomaly_scores = prob;
    for (const EventRun& run : find_runs(labels)) file.label_rows.push_back(run.begin);
    if (!file.label_rows.empty()) ev.nab = score_nab({file});
  }
  return ev;
}

nlohmann::json Evaluation::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const ModelScore& s : scores)
    rows.push_back({{"model", s.name}, {"kind", s.kind}, {"windows", s.metrics.windows},
                    {"mse", s.metrics.mse}, {"mae", s.metrics.mae}, {"mse_original", s.metrics.mse_original},
                    {"mae_original", s.metrics.mae_original}, {"skill", s.skill},
                    {"mse_per_step", s.metrics.mse_per_step}});
  nlohmann::json j = {{"windows", static_cast<int64_t>(windows.size())}, {"reference", "repeat_last"}, {"rows", rows}};
  if (has_spikes) {
    nlohmann::json nab_json = nlohmann::json::array();
    for (const NabProfileScore& p : nab.profiles)
      nab_json.push_back({{"profile", p.profile}, {"score", p.normalized_score}, {"threshold", p.threshold},
                          {"tp", p.counts.tp}, {"fp", p.counts.fp}, {"fn", p.counts.fn}});
    j["spikes"] = {{"threshold", spike_threshold},
                   {"precision", spike_events.precision},
                   {"recall", spike_events.recall},
                   {"f1", spike_events.f1},
                   {"true_events", spike_events.true_events},
                   {"flagged_runs", spike_events.flagged_runs},
                   {"nab", nab_json}};
  }
  return j;
}

std::string format_scores(const Evaluation& ev) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-16s %-9s %10s %10s %14s %14s %8s\n", "model", "kind", "MSE", "MAE",
                "MSE (units)", "MAE (units)", "skill");
  out += line;
  for (const ModelScore& s : ev.scores) {
    std::snprintf(line, sizeof line, "%-16s %-9s %10.5f %10.5f %14.5g %14.5g %8.3f\n", s.name.c_str(), s.kind.c_str(),
                  s.metrics.mse, s.metrics.mae, s.metrics.mse_original, s.metrics.mae_original, s.skill);
    out += line;
  }
  std::snprintf(line, sizeof line, "(%zu test windows; MSE/MAE on the normalised scale and in the target's units; "
                "skill = 1 - MSE / MSE(repeat_last))\n", ev.windows.size());
  out += line;
  if (ev.has_spikes) {
    std::snprintf(line, sizeof line, "spikes: precision %.3f recall %.3f F1 %.3f (%lld true events)", ev.spike_events.precision,
                  ev.spike_events.recall, ev.spike_events.f1, static_cast<long long>(ev.spike_events.true_events));
    out += line;
    for (const NabProfileScore& p : ev.nab.profiles) {
      std::snprintf(line, sizeof line, "; NAB %s %.1f", p.profile.c_str(), p.normalized_score);
      out += line;
    }
    out += "\n";
  }
  return out;
}

nlohmann::json report_document(const Evaluation& ev, const Dataset& data, const nlohmann::json& history,
                               const std::string& title) {
  nlohmann::json doc;
  doc["title"] = title;
  const Table& t = data.table;
  nlohmann::json splits = nlohmann::json::array();
  const auto add_split = [&](const char* name, int64_t rows, const std::vector<int64_t>& w) {
    nlohmann::json s = {{"name", name}, {"rows", rows}};
    if (!w.empty()) {
      s["start"] = format_timestamp(t.time[static_cast<size_t>(w.front())]);
      s["end"] = format_timestamp(t.time[static_cast<size_t>(w.back())]);
    }
    splits.push_back(s);
  };
  add_split("train", data.split.train_rows(), data.windows.train);
  add_split("val", data.split.val_rows(), data.windows.val);
  add_split("test", data.split.test_rows(), data.windows.test);
  doc["data"] = {{"source", t.source}, {"rows", t.rows()}, {"channels", t.channels}, {"target", t.target()},
                 {"time_start", format_timestamp(t.time.front())}, {"time_end", format_timestamp(t.time.back())},
                 {"step", format_duration(t.step_ms)}, {"splits", splits}};
  nlohmann::json training = nlohmann::json::array();
  if (history.contains("members")) {
    for (const auto& m : history.at("members")) {
      nlohmann::json epoch = nlohmann::json::array(), tl = nlohmann::json::array(), vl = nlohmann::json::array();
      for (const auto& e : m.at("epochs")) {
        epoch.push_back(e.at("epoch"));
        tl.push_back(e.at("train_loss"));
        vl.push_back(e.at("val_loss"));
      }
      if (!epoch.empty()) training.push_back({{"model", m.at("model")}, {"epoch", epoch}, {"train_loss", tl}, {"val_loss", vl}});
    }
  }
  if (!training.empty()) doc["training"] = training;

  // Forecast vs actual: the first horizon step of each test window, the last 2000 windows at most.
  const int64_t n = ev.y.size(0), L = data.windows.input_length;
  const int64_t first = std::max<int64_t>(0, n - 2000);
  const double mean = data.scaler.mean()[0], sd = data.scaler.stddev()[0];
  nlohmann::json time = nlohmann::json::array(), actual = nlohmann::json::array(), forecast = nlohmann::json::array(),
                 labels = nlohmann::json::array(), flags = nlohmann::json::array();
  for (int64_t i = first; i < n; ++i) {
    const int64_t row = ev.windows[static_cast<size_t>(i)] + L;
    time.push_back(t.time[static_cast<size_t>(row)]);
    actual.push_back(ev.y[i][0].item<double>() * sd + mean);
    forecast.push_back(ev.forecast[i][0].item<double>() * sd + mean);
    labels.push_back(data.spike_labels.empty() ? 0 : data.spike_labels[static_cast<size_t>(row)]);
    if (ev.has_spikes) flags.push_back(ev.spike_prob[i].item<float>() >= ev.spike_threshold ? 1 : 0);
  }
  nlohmann::json fc = {{"time", time}, {"actual", actual}, {"forecast", forecast}, {"forecast_label", ev.scores.front().name},
                       {"units", t.target()}, {"spike_labels", labels},
                       {"note", "first horizon step of each test window"}};
  if (ev.has_spikes) fc["spike_flags"] = flags;
  if (ev.member_preds.defined()) {
    nlohmann::json members = nlohmann::json::array(), weights = nlohmann::json::array();
    for (size_t m = 0; m < ev.member_names.size(); ++m) {
      nlohmann::json values = nlohmann::json::array(), w = nlohmann::json::array();
      for (int64_t i = first; i < n; ++i) {
        values.push_back(ev.member_preds[i][static_cast<int64_t>(m)][0].item<double>() * sd + mean);
        w.push_back(ev.weights[i][static_cast<int64_t>(m)][0].item<double>());
      }
      members.push_back({{"name", ev.member_names[m]}, {"values", values}});
      weights.push_back({{"name", ev.member_names[m]}, {"values", w}});
    }
    fc["members"] = members;
    doc["ensemble_weights"] = {{"time", time}, {"members", weights}};
  }
  doc["forecast"] = fc;
  nlohmann::json rows = nlohmann::json::array();
  for (const ModelScore& s : ev.scores)
    rows.push_back({{"model", s.name}, {"kind", s.kind == "baseline" ? "baseline" : "model"}, {"mse", s.metrics.mse},
                    {"mae", s.metrics.mae}, {"mse_original", s.metrics.mse_original},
                    {"mae_original", s.metrics.mae_original}, {"skill", s.skill}});
  doc["metrics"] = {{"reference", "repeat_last"}, {"rows", rows}};
  if (ev.has_spikes) {
    nlohmann::json nab = nlohmann::json::array();
    for (const NabProfileScore& p : ev.nab.profiles)
      nab.push_back({{"detector", "spike head"}, {"profile", p.profile}, {"score", p.normalized_score},
                     {"threshold", p.threshold}, {"tp", p.counts.tp}, {"fp", p.counts.fp}, {"fn", p.counts.fn},
                     {"windows_detected", p.counts.windows_detected}, {"windows", ev.nab.windows}});
    doc["spike_metrics"] = {{"tolerance", 0},
                            {"event", nlohmann::json::array({{{"detector", "spike head"},
                                                              {"precision", ev.spike_events.precision},
                                                              {"recall", ev.spike_events.recall},
                                                              {"f1", ev.spike_events.f1},
                                                              {"true_events", ev.spike_events.true_events},
                                                              {"detected_events", ev.spike_events.detected_events},
                                                              {"flagged_runs", ev.spike_events.flagged_runs},
                                                              {"true_flagged_runs", ev.spike_events.true_flagged_runs}}})},
                            {"nab", nab}};
  }
  return doc;
}

}  // namespace spikecast::train
