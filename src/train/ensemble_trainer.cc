#include "train/ensemble_trainer.h"

#include <algorithm>
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

  std::vector<std::string> modes = {"equal", "static", "gated"};
  if (config.ensemble != "auto") modes = {config.ensemble};
  models::DynamicEnsemble best{nullptr};
  double best_mse = std::numeric_limits<double>::infinity();
  for (const std::string& mode : modes) {
    models::DynamicEnsemble candidate = with_mode(ensemble, mode);
    candidate->to(ctx.device);
    int64_t epochs = 0;
    double h;
    if (mode == "equal") {
      torch::NoGradGuard no_grad;
      candidate->eval();
      h = mse(candidate->mix(hold.context, hold.preds).first, hold.y);
    } else {
      h = fit_gate(*candidate, fit, hold, config, epochs);
    }
    result.holdout_mse[mode] = h;
    progress.event("gate", mode + ": holdout MSE " + std::to_string(h) + " after " + std::to_string(epochs) + " epochs");
    // Prefer the simpler mode unless the richer one is better by more than 0.5%.
    if (h < best_mse * 0.995) {
      best_mse = h;
      best = candidate;
      result.mode = mode;
      result.epochs = epochs;
    }
  }
  best->freeze_members(false);
  best->eval();
  return best;
}

}  // namespace spikecast::train
