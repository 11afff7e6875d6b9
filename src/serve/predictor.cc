#include "serve/predictor.h"

#include <cmath>

#include "core/error.h"

namespace spikecast::serve {

PredictInput make_probe_input(const ModelInfo& info, int64_t windows) {
  PredictInput in;
  in.windows = windows;
  in.length = info.input_length;
  in.channels = info.channels;
  const int64_t c = in.num_channels();
  in.values.resize(static_cast<size_t>(windows * in.length * c));
  for (int64_t b = 0; b < windows; ++b)
    for (int64_t t = 0; t < in.length; ++t)
      for (int64_t k = 0; k < c; ++k)
        in.values[(b * in.length + t) * c + k] =
            static_cast<float>(1.0 + 0.5 * std::sin(0.1 * static_cast<double>(t + 7 * k + 3 * b)));
  in.filled_fraction.assign(static_cast<size_t>(windows), 0.0f);
  return in;
}

namespace {

void expect_size(const char* field, size_t got, int64_t expected) {
  if (static_cast<int64_t>(got) != expected)
    throw ModelError(std::string("predictor output '") + field + "' has " + std::to_string(got) +
                     " values, expected " + std::to_string(expected));
}

void expect_finite(const char* field, const std::vector<float>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw ModelError(std::string("predictor output '") + field + "' is not finite at index " + std::to_string(i));
}

}  // namespace

void check_output(const ModelInfo& info, const PredictInput& input, const PredictOutput& out) {
  const int64_t b = input.windows, h = info.horizon;
  const int64_t m = static_cast<int64_t>(info.member_names.size());
  if (out.windows != b || out.horizon != h)
    throw ModelError("predictor output is [" + std::to_string(out.windows) + ", " + std::to_string(out.horizon) +
                     "], expected [" + std::to_string(b) + ", " + std::to_string(h) + "]");
  if (out.member_names != info.member_names)
    throw ModelError("predictor output member names differ from the model's info()");
  expect_size("forecast", out.forecast.size(), b * h);
  expect_finite("forecast", out.forecast);
  if (m > 0) {
    expect_size("member_forecasts", out.member_forecasts.size(), b * m * h);
    expect_size("weights", out.weights.size(), b * m * h);
    expect_finite("member_forecasts", out.member_forecasts);
    expect_finite("weights", out.weights);
  } else {
    expect_size("member_forecasts", out.member_forecasts.size(), 0);
    expect_size("weights", out.weights.size(), 0);
  }
  if (info.has_spike_head) {
    expect_size("spike_probability", out.spike_probability.size(), b);
    expect_size("spike", out.spike.size(), b);
    for (size_t i = 0; i < out.spike_probability.size(); ++i) {
      const float p = out.spike_probability[i];
      if (!(p >= 0.0f && p <= 1.0f))
        throw ModelError("predictor output 'spike_probability' is outside [0, 1] at index " + std::to_string(i));
    }
  }
  if (!out.rules_fired.empty()) expect_size("rules_fired", out.rules_fired.size(), b);
}

PredictOutput slice_output(const PredictOutput& batch, int64_t begin, int64_t count) {
  PredictOutput o;
  o.windows = count;
  o.horizon = batch.horizon;
  o.member_names = batch.member_names;
  const int64_t h = batch.horizon, m = batch.num_members();
  auto copy = [&](const std::vector<float>& src, std::vector<float>& dst, int64_t per) {
    if (src.empty()) return;
    dst.assign(src.begin() + begin * per, src.begin() + (begin + count) * per);
  };
  copy(batch.forecast, o.forecast, h);
  copy(batch.member_forecasts, o.member_forecasts, m * h);
  copy(batch.weights, o.weights, m * h);
  copy(batch.spike_probability, o.spike_probability, 1);
  if (!batch.spike.empty()) o.spike.assign(batch.spike.begin() + begin, batch.spike.begin() + begin + count);
  if (!batch.rules_fired.empty())
    o.rules_fired.assign(batch.rules_fired.begin() + begin, batch.rules_fired.begin() + begin + count);
  return o;
}

}  // namespace spikecast::serve
