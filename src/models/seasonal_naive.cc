#include "models/seasonal_naive.h"

#include "core/error.h"
#include "models/option_reader.h"

namespace spikecast::models {

SeasonalNaiveOptions SeasonalNaiveOptions::from_spec(const ModelSpec& spec) {
  spec.validate("seasonal_naive");
  SeasonalNaiveOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.seasonal_naive");
  r.read("period", o.period);
  r.finish();
  o.validate();
  return o;
}

void SeasonalNaiveOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("seasonal_naive");
  check_positive("models.seasonal_naive.period", period);
  if (period > input_length)
    throw ConfigError("models.seasonal_naive.period", "must be <= input length L = " +
                                                          std::to_string(input_length) + ", got " + std::to_string(period));
}

SeasonalNaiveImpl::SeasonalNaiveImpl(const SeasonalNaiveOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  for (int64_t h = 1; h <= options_.horizon; ++h)
    index_.push_back(options_.input_length - options_.period + (h - 1) % options_.period);
}

ForecastOutput SeasonalNaiveImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  // Made once per device, not per call: a host-to-device copy inside forward() would break CUDA graph
  // capture and cost a synchronisation on every call.
  if (!index_tensor_.defined() || index_tensor_.device() != x.device())
    index_tensor_ = torch::tensor(index_, torch::TensorOptions().dtype(torch::kLong)).to(x.device());
  ForecastOutput out;
  out.value = x.select(2, 0).index_select(1, index_tensor_);  // [B, H]
  return out;
}

}  // namespace spikecast::models
