// The common interface of every spikecast model: ensemble members, baselines and the ensemble
// itself. A Forecaster maps a window of scaled inputs to a forecast of the scaled target:
//   x [batch, L, C] (channel 0 = target)  ->  ForecastOutput{ value [batch, H], ... }
// Concrete models follow the LibTorch pattern (XxxOptions, XxxImpl : ForecasterImpl,
// TORCH_MODULE(Xxx)); the registry (model_registry.h) builds them by name from a ModelSpec.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace spikecast::models {

// What every forward returns. Only `value` is always defined.
struct ForecastOutput {
  torch::Tensor value;        // [B, H] forecast of the scaled target
  torch::Tensor spike_logit;  // [B] logit that a spike occurs within the horizon (spike member, ensemble)
  torch::Tensor rules_fired;  // [B, n_rules] bool: which rules changed the forecast (rule member)
  torch::Tensor weights;      // [B, M, H] the ensemble's weight of each member at each step (ensemble)
};

// Everything needed to build a model: the window shape and the model's options as JSON (missing
// keys take their defaults; unknown keys are ConfigErrors).
struct ModelSpec {
  int64_t input_length = 100;  // L: steps in the input window
  int64_t horizon = 1;         // H: steps forecast
  int64_t channels = 13;       // C: input channels, channel 0 the target
  nlohmann::json options = nlohmann::json::object();

  // ConfigError naming `model` when L, H or C is out of range.
  void validate(const std::string& model) const;
};

class ForecasterImpl : public torch::nn::Module {
 public:
  // x: [B, L, C] scaled window, channel 0 the target. filled_fraction: optional [B], the fraction
  // of the window's rows that were gap-filled (the rules layer uses it; other models ignore it).
  // Returns value [B, H] plus whatever else the model provides.
  virtual ForecastOutput forward(const torch::Tensor& x, const torch::Tensor& filled_fraction = {}) = 0;

  // The registry name ("lstm", "patchtst", ...).
  virtual std::string type_name() const = 0;
  // Every option with its resolved value: make_forecaster(type_name(), spec()) rebuilds the model.
  virtual nlohmann::json options_json() const = 0;
  // Whether forward() fills ForecastOutput::spike_logit.
  virtual bool has_spike_head() const { return false; }

  int64_t input_length() const { return input_length_; }
  int64_t horizon() const { return horizon_; }
  int64_t channels() const { return channels_; }
  ModelSpec spec() const { return {input_length_, horizon_, channels_, options_json()}; }

 protected:
  ForecasterImpl(int64_t input_length, int64_t horizon, int64_t channels)
      : input_length_(input_length), horizon_(horizon), channels_(channels) {}
  // ModelError unless x is [B, L, C] with this model's L and C.
  void check_input(const torch::Tensor& x) const;

 private:
  int64_t input_length_, horizon_, channels_;
};

using Forecaster = std::shared_ptr<ForecasterImpl>;

// Parameter count (all parameters, trainable or not).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace spikecast::models
