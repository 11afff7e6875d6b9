// The standard protocol's test: every stride-1 test window, scored for the ensemble, each member
// and the naive baselines, on the normalised scale (comparable with published tables) and in the
// target's units, with skill against repeat-last; spike flags scored by event-level precision,
// recall and F1 and by the NAB score. Also assembles the HTML report's document (eval/html_report.h).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config.h"
#include "eval/event_metrics.h"
#include "eval/forecast_metrics.h"
#include "eval/nab_scorer.h"
#include "models/forecaster.h"
#include "tensor/context.h"
#include "train/dataset.h"

namespace spikecast::train {

struct ModelScore {
  std::string name;  // "ensemble", a member's name, or a baseline's
  std::string kind;  // "ensemble" | "member" | "baseline"
  ForecastMetrics metrics;
  double skill = 0;  // 1 - MSE / MSE(repeat-last)
};

struct Evaluation {
  std::vector<int64_t> windows;    // test window start rows
  std::vector<ModelScore> scores;  // ensemble first, then members, then baselines not among them
  torch::Tensor y;                 // [N, H] scaled target
  torch::Tensor forecast;          // [N, H] the model's forecast (scaled)
  torch::Tensor member_preds;      // [N, M, H] (ensembles only)
  std::vector<std::string> member_names;
  torch::Tensor weights;           // [N, M, H] (ensembles only)
  torch::Tensor spike_prob;        // [N] probability of a spike in the horizon (spike head only)
  double spike_threshold = 0.5;
  EventMetrics spike_events;       // flags vs labels on the first target row of each window
  NabReport nab;                   // spike probability as the anomaly score
  bool has_spikes = false;

  const ModelScore& score(const std::string& name) const;
  nlohmann::json to_json() const;
};

// model: an ensemble (members scored too) or a single forecaster.
Evaluation evaluate_model(models::ForecasterImpl& model, const Dataset& data, const Config& config,
                          const Context& ctx, int64_t batch_size = 1024);

// The document eval/html_report.h renders: data summary, training curves (from a bundle's history),
// forecast vs actual on the test split with spikes, the ensemble's weights over time, metrics.
nlohmann::json report_document(const Evaluation& evaluation, const Dataset& data, const nlohmann::json& history,
                               const std::string& title);

// A terminal table of the scores.
std::string format_scores(const Evaluation& evaluation);

}  // namespace spikecast::train
