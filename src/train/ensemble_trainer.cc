#include "train/ensemble_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "tensor/compat.h"
#include "train/checkpoint.h"

namespace spikecast::train {
namespace {

double mse(const torch::Tensor& pred, const torch::Tensor& y) {
  return (pred.to(torch::kFloat64) - y.to(torch::kFloat64)).pow(2).mean().item<double>();
}

models::DynamicEnsemble with_mode(const models::DynamicEnsembleImpl& base, const std::string& mode) {
  models::DynamicEnsembleOptions o = base.options();
  o.mode = mode;
  return models::DynamicEnsemble(o, base.members());
}

// Full-batch AdamW on the fit part; the epoch with the lowest holdout MSE wins.
double fit_gate(models::DynamicEnsembleImpl& ens, const MemberPredictions& fit, const MemberPredictions& hold,
                const TrainConfig& config, int64_t& best_epoch) {
  const auto params = ens.gate_parameters();
  ens.freeze_members(true);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(config.gate_lr).weight_decay(config.gate_weight_decay));
  StateDict best_state = snapshot(ens);
  double best = std::numeric_limits<double>::infinity();
  best_epoch = 0;
  {
    torch::NoGradGuard no_grad;
    ens.eval();
    best = mse(ens.mix(hold.context, hold.preds).first, hold.y);
  }
  int64_t since_best = 0;
  for (int64_t epoch = 1; epoch <= config.gate_epochs; ++epoch) {
    ens.train();
    opt.zero_grad();
    auto [value, weights] = ens.mix(fit.context, fit.preds);
    torch::Tensor loss = torch::mse_loss(value, fit.y) + ens.regularization(weights);
    loss.backward();
    opt.step();
    torch::NoGradGuard no_grad;
    ens.eval();
    const double h = mse(ens.mix(hold.context, hold.preds).first, hold.y);
    if (h < best) {
      best = h;
      best_state = snapshot(ens);
      best_epoch = epoch;
      since_best = 0;
    } else if (++since_best > 50) {
      break;
    }
  }
  restore(ens, best_state);
  ens.eval();
  return best;
}

// Diebold-Mariano statistic of loss differences d [n] (negative: the first forecast is better),
// with a Newey-West (Bartlett) long-run variance over `lags` autocovariances.
double diebold_mariano(const torch::Tensor& d_any, int64_t lags) {
  const torch::Tensor d = d_any.to(torch::kFloat64).contiguous();
  const int64_t n = d.size(0);
  if (n < 3) return 0;
  const double* p = d.data_ptr<double>();
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += p[i];
  mean /= static_cast<double>(n);
  const int64_t q = std::min<int64_t>(std::max<int64_t>(lags, 1), n - 1);
  double var = 0;
  for (int64_t k = 0; k <= q; ++k) {
    double g = 0;
    for (int64_t i = k; i < n; ++i) g += (p[i] - mean) * (p[i - k] - mean);
    g /= static_cast<double>(n);
    var += (k == 0 ? 1.0 : 2.0 * (1.0 - static_cast<double>(k) / static_cast<double>(q + 1))) * g;
  }
  if (!(var > 0)) return mean < 0 ? -1e9 : 0;
  return mean / std::sqrt(var / static_cast<double>(n));
}

MemberPredictions slice(const MemberPredictions& p, int64_t begin, int64_t end) {
  return {p.preds.slice(0, begin, end), p.context.slice(0, begin, end), p.y.slice(0, begin, end)};
}

}  // namespace

MemberPredictions predict_members(models::DynamicEnsembleImpl& ensemble, const DeviceData& data,
                                  const std::vector<int64_t>& windows, const Context& ctx, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  ensemble.eval();
  const torch::Tensor idx = data.index(windows);
  std::vector<torch::Tensor> preds, contexts, ys;
  for (int64_t b = 0; b < idx.size(0); b += batch_size) {
    const WindowBatch batch = data.gather(idx.slice(0, b, std::min(idx.size(0), b + batch_size)));
    compat::AutocastScope autocast(ctx.device.type(), ctx.autocast_dtype(), ctx.autocast());
    const models::MemberForecasts m = ensemble.member_forecasts(batch.x, batch.filled_fraction);
    preds.push_back(m.preds.to(torch::kFloat32));
    contexts.push_back(ensemble.context_features(batch.x, m.spike_logit).to(torch::kFloat32));
    ys.push_back(batch.y);
  }
  return {torch::cat(preds), torch::cat(contexts), torch::cat(ys)};
}

models::DynamicEnsemble fit_ensemble(models::DynamicEnsembleImpl& ensemble, const DeviceData& data,
                                     const std::vector<int64_t>& val_windows, const TrainConfig& config,
                                     const Context& ctx, Progress& progress, GateResult& result) {
  const int64_t n = static_cast<int64_t>(val_windows.size());
  if (n < 2) throw Error("the ensemble gate needs at least 2 validation windows, got " + std::to_string(n));
  const int64_t n_hold = std::clamp<int64_t>(static_cast<int64_t>(static_cast<double>(n) * config.gate_holdout), 1, n - 1);
  const MemberPredictions all = predict_members(ensemble, data, val_windows, ctx);
  const MemberPredictions fit = slice(all, 0, n - n_hold), hold = slice(all, n - n_hold, n);
  result.fit_windows = n - n_hold;
  result.holdout_windows = n_hold;
  const auto& members = ensemble.options().members;
  for (size_t m = 0; m < members.size(); ++m)
    result.holdout_mse["member:" + members[m].name] = mse(hold.preds.select(1, static_cast<int64_t>(m)), hold.y);

  // Candidates, simplest first: the plain average; the average of the k members best on the fit
  // part (k = M-1 .. 1, static weights fixed at 1/k, the forecast-combination literature's robust
  // "trimmed" average); learned static weights; the input-dependent gate. A richer candidate must
  // beat the current choice by more than 0.5% on the holdout to be taken.
  struct Candidate {
    std::string label, mode;
    int64_t top_k = 0;  // > 0: fixed top-k average
  };
  std::vector<Candidate> candidates;
  const int64_t n_members = static_cast<int64_t>(members.size());
  if (config.ensemble == "auto" || config.ensemble == "equal") candidates.push_back({"equal", "equal", 0});
  if (config.ensemble == "auto")
    for (int64_t k = n_members - 1; k >= 1; --k) candidates.push_back({"top" + std::to_string(k) + "-mean", "static", k});
  if (config.ensemble == "auto" || config.ensemble == "static") candidates.push_back({"static", "static", 0});
  if (config.ensemble == "auto" || config.ensemble == "gated") candidates.push_back({"gated", "gated", 0});

  // Members ranked by their MSE on the fit part (not the holdout, which judges the candidates).
  std::vector<std::pair<double, int64_t>> ranking;
  for (int64_t m = 0; m < n_members; ++m) ranking.emplace_back(mse(fit.preds.select(1, m), fit.y), m);
  std::sort(ranking.begin(), ranking.end());

  models::DynamicEnsemble best{nullptr};
  double best_mse = std::numeric_limits<double>::infinity();
  torch::Tensor best_errors;  // [n_hold] per-window squared error of the current choice
  for (const Candidate& c : candidates) {
    models::DynamicEnsemble candidate = with_mode(ensemble, c.mode);
    candidate->to(ctx.device);
    int64_t epochs = 0;
    double h;
    if (c.mode == "equal" || c.top_k > 0) {
      if (c.top_k > 0) {
        torch::NoGradGuard no_grad;
        torch::Tensor logits = candidate->named_parameters()["static_logits"];
        logits.fill_(-30.0);  // softmax weight e^-30: nil
        for (int64_t r = 0; r < c.top_k; ++r) logits[ranking[static_cast<size_t>(r)].second].fill_(0.0);
      }
      torch::NoGradGuard no_grad;
      candidate->eval();
      h = mse(candidate->mix(hold.context, hold.preds).first, hold.y);
    } else {
      h = fit_gate(*candidate, fit, hold, config, epochs);
    }
    result.holdout_mse[c.label] = h;
    torch::Tensor errors;
    {
      torch::NoGradGuard no_grad;
      candidate->eval();
      errors = (candidate->mix(hold.context, hold.preds).first.to(torch::kFloat64) - hold.y.to(torch::kFloat64))
                   .pow(2)
                   .mean(1)
                   .cpu();
    }
    // Fixed averages: taken when 0.5% better. Learned weights (static, gated) must also beat the
    // current choice significantly: a Diebold-Mariano statistic on the per-window loss
    // differences, with a Newey-West variance over H lags (consecutive windows share H - 1
    // targets), below -2. Learned combinations rarely beat simple averages out of sample (the
    // "forecast combination puzzle"), and the holdout is short and autocorrelated.
    bool take = h < best_mse * 0.995;
    double dm = 0;
    if (take && c.top_k == 0 && c.mode != "equal" && best_errors.defined()) {
      dm = diebold_mariano(errors - best_errors, data.horizon());
      take = dm < -2.0;
    }
    progress.event("gate", c.label + ": holdout MSE " + std::to_string(h) +
                               (epochs > 0 ? " after " + std::to_string(epochs) + " epochs" : "") +
                               (dm != 0 ? ", DM statistic " + std::to_string(dm) : ""));
    if (take) {
      best_mse = h;
      best = candidate;
      best_errors = errors;
      result.mode = c.label;
      result.epochs = epochs;
    }
  }
  best->freeze_members(false);
  best->eval();
  return best;
}

}  // namespace spikecast::train
