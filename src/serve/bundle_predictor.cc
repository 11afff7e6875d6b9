#include "serve/bundle_predictor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/dynamic_ensemble.h"
#include "models/model_bundle.h"
#include "tensor/compat.h"
#include "tensor/context.h"
#include "tensor/graphed_call.h"

namespace spikecast::serve {
namespace {

// Scaler mean/std per channel from the manifest's scaler JSON ({"mean": [...], "std": [...]}).
std::vector<double> json_vector(const nlohmann::json& scaler, const char* key, const std::string& dir) {
  for (const char* k : {key, key[0] == 's' ? "stddev" : key}) {
    if (scaler.contains(k) && scaler.at(k).is_array()) return scaler.at(k).get<std::vector<double>>();
  }
  throw ModelError("bundle '" + dir + "': manifest scaler has no '" + key + "' array");
}

class BundlePredictor final : public Predictor {
 public:
  BundlePredictor(const std::string& dir, const BundlePredictorOptions& options)
      : ctx_(make_context(options.device, options.precision)), threshold_(options.spike_threshold) {
    models::LoadedBundle bundle = models::load_bundle(dir, ctx_.device);
    model_ = bundle.model;
    model_->eval();
    const models::BundleManifest& m = bundle.manifest;
    mean_ = json_vector(m.scaler, "mean", dir);
    std_ = json_vector(m.scaler, "std", dir);
    if (static_cast<int64_t>(mean_.size()) != m.channels || static_cast<int64_t>(std_.size()) != m.channels)
      throw ModelError("bundle '" + dir + "': the scaler has " + std::to_string(mean_.size()) +
                       " channels, the model " + std::to_string(m.channels));
    mean_t_ = torch::tensor(mean_, torch::kFloat32).to(ctx_.device);
    std_t_ = torch::tensor(std_, torch::kFloat32).to(ctx_.device);
    ensemble_ = std::dynamic_pointer_cast<models::DynamicEnsembleImpl>(model_);
    info_.channels = m.channel_names;
    info_.input_length = m.input_length;
    info_.horizon = m.horizon;
    info_.has_spike_head = model_->has_spike_head();
    info_.name = m.architecture;
    if (ensemble_) {
      std::string names;
      for (const auto& member : ensemble_->options().members) {
        info_.member_names.push_back(member.name);
        names += (names.empty() ? "" : ",") + member.name;
        if (rule_names_.empty() && member.options.contains("rules"))
          for (const auto& r : member.options.at("rules")) rule_names_.push_back(r.value("type", "rule"));
      }
      info_.name = "ensemble(" + names + ")";
    } else if (m.options.contains("rules")) {
      for (const auto& r : m.options.at("rules")) rule_names_.push_back(r.value("type", "rule"));
    }
    row_ = m.input_length * m.channels;
    // One eager call fixes the packed layout; then, on CUDA, every batch bucket is captured.
    graphed_ = std::make_unique<GraphedCall>([this](const torch::Tensor& in) { return forward_packed(in); },
                                             ctx_.device, options.graph_batches, !options.graph_batches.empty());
    torch::InferenceMode inference;
    const torch::Tensor example = torch::zeros({1, row_ + 1}, torch::TensorOptions().device(ctx_.device));
    forward_packed(example);
    graphed_->capture_all(example);
  }

  const ModelInfo& info() const override { return info_; }

  PredictOutput predict(const PredictInput& in) override {
    torch::InferenceMode inference;
    const int64_t b = in.windows, l = in.length, c = in.num_channels(), h = info_.horizon;
    if (l * c != row_) throw ModelError("predict: windows of " + std::to_string(l) + " x " + std::to_string(c) +
                                        " values, the model takes " + std::to_string(row_));
    // One host buffer per batch: [window values..., filled fraction] per row, one copy to the device.
    torch::Tensor rows = torch::empty({b, row_ + 1}, torch::kFloat32);
    float* p = rows.data_ptr<float>();
    const bool has_filled = static_cast<int64_t>(in.filled_fraction.size()) == b;
    for (int64_t i = 0; i < b; ++i) {
      std::copy_n(in.values.data() + i * row_, row_, p + i * (row_ + 1));
      p[i * (row_ + 1) + row_] = has_filled ? in.filled_fraction[static_cast<size_t>(i)] : 0.0f;
    }
    if (ctx_.is_cuda()) rows = rows.pin_memory().to(ctx_.device, /*non_blocking=*/true);
    const torch::Tensor packed = graphed_->to_host(rows).contiguous();  // [B, K] on the host
    const float* q = packed.data_ptr<float>();
    const int64_t k = packed.size(1), m = static_cast<int64_t>(info_.member_names.size());
    PredictOutput out;
    out.windows = b;
    out.horizon = h;
    out.member_names = info_.member_names;
    out.forecast.resize(static_cast<size_t>(b * h));
    if (m > 0) {
      out.member_forecasts.resize(static_cast<size_t>(b * m * h));
      out.weights.resize(static_cast<size_t>(b * m * h));
    }
    const bool spike = layout_.spike && info_.has_spike_head;
    if (spike) {
      out.spike_probability.resize(static_cast<size_t>(b));
      out.spike.resize(static_cast<size_t>(b));
    }
    out.rules_fired.assign(static_cast<size_t>(b), {});
    for (int64_t i = 0; i < b; ++i) {
      const float* r = q + i * k;
      std::copy_n(r, h, out.forecast.data() + i * h);
      if (m > 0) {
        std::copy_n(r + h, m * h, out.member_forecasts.data() + i * m * h);
        std::copy_n(r + h + m * h, m * h, out.weights.data() + i * m * h);
      }
      const float* tail = r + layout_.tail;
      if (spike) {
        out.spike_probability[static_cast<size_t>(i)] = tail[0];
        out.spike[static_cast<size_t>(i)] = tail[0] >= threshold_;
      }
      const float* fired = tail + (layout_.spike ? 1 : 0);
      for (int64_t j = 0; j < layout_.rules; ++j)
        if (fired[j] > 0.5f)
          out.rules_fired[static_cast<size_t>(i)].push_back(
              j < static_cast<int64_t>(rule_names_.size()) ? rule_names_[static_cast<size_t>(j)] : "rule" + std::to_string(j));
    }
    return out;
  }

 private:
  // rows [B, L*C + 1] (raw window values, then the filled fraction) on the device -> [B, K] float:
  // forecast (H, original units), then for an ensemble member forecasts (M*H, original units) and
  // weights (M*H), then the spike probability (1) and rule flags (R) when the model has them.
  torch::Tensor forward_packed(const torch::Tensor& rows) {
    const int64_t b = rows.size(0);
    torch::Tensor x = rows.narrow(1, 0, row_).reshape({b, info_.input_length, -1});
    x = (x - mean_t_) / std_t_;
    const torch::Tensor filled = rows.select(1, row_).contiguous();
    compat::AutocastScope autocast(ctx_.device.type(), ctx_.autocast_dtype(), ctx_.autocast());
    torch::Tensor value, weights, members, spike_logit, rules;
    if (ensemble_) {
      const models::MemberForecasts mf = ensemble_->member_forecasts(x, filled);
      std::tie(value, weights) = ensemble_->mix(ensemble_->context_features(x, mf.spike_logit), mf.preds);
      members = mf.preds;
      spike_logit = mf.spike_logit;
      rules = mf.rules_fired;
    } else {
      const models::ForecastOutput o = model_->forward(x, filled);
      value = o.value;
      spike_logit = o.spike_logit;
      rules = o.rules_fired;
    }
    const double m0 = mean_[0], s0 = std_[0];
    std::vector<torch::Tensor> parts{value.to(torch::kFloat32) * s0 + m0};
    if (members.defined()) {
      parts.push_back((members.to(torch::kFloat32) * s0 + m0).flatten(1));
      parts.push_back(weights.to(torch::kFloat32).flatten(1));
    }
    layout_.tail = 0;
    for (const auto& t : parts) layout_.tail += t.size(1);
    layout_.spike = spike_logit.defined();
    if (layout_.spike) parts.push_back(torch::sigmoid(spike_logit.to(torch::kFloat32)).reshape({b, 1}));
    layout_.rules = rules.defined() ? rules.size(1) : 0;
    if (layout_.rules > 0) parts.push_back(rules.to(torch::kFloat32));
    return torch::cat(parts, 1);
  }

  struct Layout {
    int64_t tail = 0;     // offset of the spike probability / rule flags in a packed row
    bool spike = false;   // a spike probability follows
    int64_t rules = 0;    // rule flags after it
  };

  Context ctx_;
  double threshold_;
  models::Forecaster model_;
  std::shared_ptr<models::DynamicEnsembleImpl> ensemble_;
  std::vector<double> mean_, std_;
  torch::Tensor mean_t_, std_t_;
  std::vector<std::string> rule_names_;
  ModelInfo info_;
  int64_t row_ = 0;  // L * C
  Layout layout_;
  std::unique_ptr<GraphedCall> graphed_;
};

}  // namespace

std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir, const BundlePredictorOptions& options) {
  return std::make_unique<BundlePredictor>(bundle_dir, options);
}

}  // namespace spikecast::serve
