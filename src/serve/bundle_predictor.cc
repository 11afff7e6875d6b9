#include "serve/bundle_predictor.h"

#include <cmath>

#include "core/error.h"
#include "models/dynamic_ensemble.h"
#include "models/model_bundle.h"
#include "tensor/context.h"

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
  BundlePredictor(const std::string& dir, const std::string& device, double spike_threshold)
      : ctx_(make_context(device, "fp32")), threshold_(spike_threshold) {
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
  }

  const ModelInfo& info() const override { return info_; }

  PredictOutput predict(const PredictInput& in) override {
    torch::NoGradGuard no_grad;
    const int64_t b = in.windows, l = in.length, c = in.num_channels(), h = info_.horizon;
    torch::Tensor x = torch::from_blob(const_cast<float*>(in.values.data()), {b, l, c}, torch::kFloat32)
                          .to(ctx_.device);
    x = (x - mean_t_) / std_t_;
    torch::Tensor filled;
    if (static_cast<int64_t>(in.filled_fraction.size()) == b)
      filled = torch::from_blob(const_cast<float*>(in.filled_fraction.data()), {b}, torch::kFloat32).to(ctx_.device);
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
    PredictOutput out;
    out.windows = b;
    out.horizon = h;
    out.member_names = info_.member_names;
    const double m0 = mean_[0], s0 = std_[0];
    out.forecast = to_vector((value.to(torch::kFloat32) * s0 + m0));
    if (members.defined()) {
      out.member_forecasts = to_vector(members.to(torch::kFloat32) * s0 + m0);
      out.weights = to_vector(weights.to(torch::kFloat32));
    }
    if (spike_logit.defined() && info_.has_spike_head) {
      out.spike_probability = to_vector(torch::sigmoid(spike_logit.to(torch::kFloat32)));
      out.spike.resize(static_cast<size_t>(b));
      for (int64_t i = 0; i < b; ++i) out.spike[static_cast<size_t>(i)] = out.spike_probability[static_cast<size_t>(i)] >= threshold_;
    }
    out.rules_fired.assign(static_cast<size_t>(b), {});
    if (rules.defined() && rules.numel() > 0) {
      const torch::Tensor r = rules.to(torch::kCPU, torch::kBool).contiguous();
      const int64_t n_rules = r.size(1);
      const bool* p = r.data_ptr<bool>();
      for (int64_t i = 0; i < b; ++i)
        for (int64_t k = 0; k < n_rules; ++k)
          if (p[i * n_rules + k])
            out.rules_fired[static_cast<size_t>(i)].push_back(
                k < static_cast<int64_t>(rule_names_.size()) ? rule_names_[static_cast<size_t>(k)] : "rule" + std::to_string(k));
    }
    return out;
  }

 private:
  static std::vector<float> to_vector(const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kCPU).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }

  Context ctx_;
  double threshold_;
  models::Forecaster model_;
  std::shared_ptr<models::DynamicEnsembleImpl> ensemble_;
  std::vector<double> mean_, std_;
  torch::Tensor mean_t_, std_t_;
  std::vector<std::string> rule_names_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir, const std::string& device,
                                                 double spike_threshold) {
  return std::make_unique<BundlePredictor>(bundle_dir, device, spike_threshold);
}

}  // namespace spikecast::serve
