#include "models/dlinear.h"

#include "models/option_reader.h"

namespace spikecast::models {

FrameOptions DLinearOptions::plain_frame() {
  FrameOptions f;
  f.window_norm = "none";
  f.linear_skip = false;
  return f;
}

DLinearOptions DLinearOptions::from_spec(const ModelSpec& spec) {
  spec.validate("linear");
  DLinearOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.linear");
  r.read("kernel", o.kernel);
  r.read("all_channels", o.all_channels);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json DLinearOptions::to_json() const {
  nlohmann::json j = {{"kernel", kernel}, {"all_channels", all_channels}};
  frame.write(j);
  return j;
}

void DLinearOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("linear");
  check_positive("models.linear.kernel", kernel);
  frame.validate("models.linear");
}

DLinearImpl::DLinearImpl(const DLinearOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  const auto& o = options_;
  frame_ = register_module("frame", ForecastFrame(o.frame, o.input_length, o.horizon));
  const int64_t in = o.input_length * (o.all_channels ? o.channels : 1);
  trend_ = register_module("trend", torch::nn::Linear(in, o.horizon));
  seasonal_ = register_module("seasonal", torch::nn::Linear(in, o.horizon));
}

torch::Tensor DLinearImpl::moving_average(const torch::Tensor& x, int64_t kernel) {
  const int64_t front = (kernel - 1) / 2, back = kernel - 1 - front, len = x.size(2);
  torch::Tensor padded = torch::cat({x.narrow(2, 0, 1).expand({-1, -1, front}), x,
                                     x.narrow(2, len - 1, 1).expand({-1, -1, back})}, 2);
  return torch::avg_pool1d(padded, {kernel}, {1});
}

ForecastOutput DLinearImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  NormalizedWindow w = frame_->normalize(x);
  torch::Tensor s = options_.all_channels ? w.x.transpose(1, 2) : w.x.narrow(2, 0, 1).transpose(1, 2);  // [B, C', L]
  torch::Tensor trend = moving_average(s, options_.kernel);
  torch::Tensor seasonal = s - trend;
  ForecastOutput out;
  out.value = frame_->finish(trend_->forward(trend.flatten(1)) + seasonal_->forward(seasonal.flatten(1)), w);
  return out;
}

}  // namespace spikecast::models
