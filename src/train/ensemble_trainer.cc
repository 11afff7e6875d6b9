#include "train/ensemble_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "tensor/compat.h"
#include "train/checkpoint.h"
#include "train/combination_choice.h"

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

  // The fixed average: with train.ensemble = auto, the members a Diebold-Mariano test on every
  // validation window (out of sample for the members) cannot tell from the best member, weighted
  // equally (train/combination_choice.h); with "equal", every member. Learned static weights and
  // the input-dependent gate (fitted on the earlier part) replace it only when they beat it on the
  // holdout by more than 0.5% and significantly. The plain average and the averages of the k
  // members best on the fit part are scored too, for the record (they choose nothing).
  std::vector<std::string> learned;  // modes, also their labels
  const int64_t n_members = static_cast<int64_t>(members.size());
  if (config.ensemble == "auto" || config.ensemble == "static") learned.push_back("static");
  if (config.ensemble == "auto" || config.ensemble == "gated") learned.push_back("gated");

  // Per-window squared error (mean over the horizon) of forecasts [N, H] against y [N, H].
  const auto window_losses = [](const torch::Tensor& forecast, const torch::Tensor& y) {
    const torch::Tensor e =
        (forecast.to(torch::kFloat64) - y.to(torch::kFloat64)).pow(2).mean(1).cpu().contiguous();
    return std::vector<double>(e.data_ptr<double>(), e.data_ptr<double>() + e.numel());
  };
  const auto holdout_losses = [&](models::DynamicEnsembleImpl& candidate) {
    torch::NoGradGuard no_grad;
    candidate.eval();
    return window_losses(candidate.mix(hold.context, hold.preds).first, hold.y);
  };
  const auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(std::max<size_t>(v.size(), 1));
  };

  // Members ranked by their MSE on the fit part (for the recorded top-k averages).
  std::vector<std::pair<double, int64_t>> ranking;
  for (int64_t m = 0; m < n_members; ++m) ranking.emplace_back(mse(fit.preds.select(1, m), fit.y), m);
  std::sort(ranking.begin(), ranking.end());
  for (const auto& [fit_mse, m] : ranking) result.ranking.push_back(members[static_cast<size_t>(m)].name);

  std::vector<std::vector<double>> member_losses;
  for (int64_t m = 0; m < n_members; ++m) member_losses.push_back(window_losses(all.preds.select(1, m), all.y));
  const ConfidenceSet set = confidence_set(member_losses, data.horizon());
  const std::string set_label = "set" + std::to_string(set.members.size()) + "-mean";
  for (int64_t m = 0; m < n_members; ++m)
    result.dm_statistic["member:" + members[static_cast<size_t>(m)].name] = set.dm_vs_best[static_cast<size_t>(m)];

  // Every fixed average by label, as member indices (result.averages keeps their names).
  std::map<std::string, std::vector<int64_t>> averages;
  std::vector<int64_t>& every = averages["equal"];
  every.resize(static_cast<size_t>(n_members));
  std::iota(every.begin(), every.end(), int64_t{0});
  for (int64_t k = n_members - 1; k >= 1; --k) {
    std::vector<int64_t>& idx = averages["top" + std::to_string(k) + "-mean"];
    for (int64_t r = 0; r < k; ++r) idx.push_back(ranking[static_cast<size_t>(r)].second);
  }
  averages[set_label].assign(set.members.begin(), set.members.end());
  for (const auto& [label, idx] : averages)
    for (int64_t m : idx) result.averages[label].push_back(members[static_cast<size_t>(m)].name);
  const std::string fixed_label = config.ensemble == "auto" ? set_label : config.ensemble == "equal" ? "equal" : "";

  models::DynamicEnsemble best{nullptr};
  double best_mse = std::numeric_limits<double>::infinity();
  std::vector<double> best_losses;
  for (const auto& [label, idx] : averages) {
    // The plain average in its own mode (1/M, no parameters); the others as static weights.
    const bool plain = label == "equal";
    models::DynamicEnsemble candidate = with_mode(ensemble, plain ? "equal" : "static");
    candidate->to(ctx.device);
    if (!plain) {
      torch::NoGradGuard no_grad;
      torch::Tensor logits = candidate->named_parameters()["static_logits"];
      logits.fill_(-30.0);  // softmax weight e^-30: nil
      for (int64_t m : idx) logits[m].fill_(0.0);
    }
    const std::vector<double> losses = holdout_losses(*candidate);
    result.holdout_mse[label] = mean_of(losses);
    if (label != fixed_label) continue;
    progress.event("gate", label + " (" + std::to_string(idx.size()) + " of " + std::to_string(n_members) +
                               " members): holdout MSE " + std::to_string(result.holdout_mse[label]));
    best = candidate;
    best_losses = losses;
    best_mse = result.holdout_mse[label];
    result.mode = label;
  }
  for (const std::string& mode : learned) {
    models::DynamicEnsemble candidate = with_mode(ensemble, mode);
    candidate->to(ctx.device);
    int64_t epochs = 0;
    const double h = fit_gate(*candidate, fit, hold, config, epochs);
    result.holdout_mse[mode] = h;
    const std::vector<double> losses = holdout_losses(*candidate);
    bool take = h < best_mse * 0.995;
    double dm = 0;
    if (take && !best_losses.empty()) {
      std::vector<double> d(losses.size());
      for (size_t w = 0; w < d.size(); ++w) d[w] = losses[w] - best_losses[w];
      dm = diebold_mariano(d, data.horizon());
      result.dm_statistic[mode] = dm;
      take = dm < -kSignificantDM;
    }
    progress.event("gate", mode + ": holdout MSE " + std::to_string(h) +
                               (epochs > 0 ? " after " + std::to_string(epochs) + " epochs" : "") +
                               (dm != 0 ? ", DM statistic " + std::to_string(dm) : ""));
    if (take) {
      best_mse = h;
      best = candidate;
      best_losses = losses;
      result.mode = mode;
      result.epochs = epochs;
    }
  }
  best->freeze_members(false);
  best->eval();
  return best;
}

void record_test_mse(GateResult& result, const torch::Tensor& member_preds,
                     const std::vector<std::string>& member_names, const torch::Tensor& y) {
  if (!member_preds.defined()) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor preds = member_preds.to(torch::kFloat64), target = y.to(torch::kFloat64);
  for (const auto& [label, names] : result.averages) {
    std::vector<int64_t> idx;  // member_preds' index of each averaged member
    for (const std::string& name : names) {
      const auto it = std::find(member_names.begin(), member_names.end(), name);
      if (it == member_names.end()) throw Error("ensemble member '" + name + "' missing from the test forecasts");
      idx.push_back(static_cast<int64_t>(it - member_names.begin()));
    }
    if (idx.empty()) continue;
    const torch::Tensor index = torch::tensor(idx, torch::kLong).to(preds.device());
    result.test_mse[label] = (preds.index_select(1, index).mean(1) - target).pow(2).mean().item<double>();
  }
}

}  // namespace spikecast::train
