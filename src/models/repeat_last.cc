#include "models/repeat_last.h"

#include "models/option_reader.h"

namespace spikecast::models {

RepeatLastOptions RepeatLastOptions::from_spec(const ModelSpec& spec) {
  spec.validate("repeat_last");
  OptionReader(spec.options, "models.repeat_last").finish();
  return {spec.input_length, spec.horizon, spec.channels};
}

RepeatLastImpl::RepeatLastImpl(const RepeatLastOptions& o) : ForecasterImpl(o.input_length, o.horizon, o.channels) {
  ModelSpec{o.input_length, o.horizon, o.channels, {}}.validate("repeat_last");
}

ForecastOutput RepeatLastImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  ForecastOutput out;
  out.value = x.select(1, x.size(1) - 1).narrow(1, 0, 1).expand({x.size(0), horizon()}).contiguous();
  return out;
}

}  // namespace spikecast::models
