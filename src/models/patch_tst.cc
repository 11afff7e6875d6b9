#include "models/patch_tst.h"

#include "core/error.h"
#include "models/option_reader.h"

namespace spikecast::models {

FrameOptions PatchTstOptions::revin_frame() {
  FrameOptions f;
  f.window_norm = "mean";
  return f;
}

PatchTstOptions PatchTstOptions::from_spec(const ModelSpec& spec) {
  spec.validate("patchtst");
  PatchTstOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.patchtst");
  r.read("patch_len", o.patch_len);
  r.read("stride", o.stride);
  r.read("d_model", o.d_model);
  r.read("heads", o.heads);
  r.read("d_ff", o.d_ff);
  r.read("layers", o.layers);
  r.read("dropout", o.dropout);
  r.read("head_dropout", o.head_dropout);
  r.read("channel_mix", o.channel_mix);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json PatchTstOptions::to_json() const {
  nlohmann::json j = {{"patch_len", patch_len}, {"stride", stride},   {"d_model", d_model},
                      {"heads", heads},         {"d_ff", d_ff},       {"layers", layers},
                      {"dropout", dropout},     {"head_dropout", head_dropout},
                      {"channel_mix", channel_mix}};
  frame.write(j);
  return j;
}

void PatchTstOptions::validate() const {
  const std::string p = "models.patchtst";
  ModelSpec{input_length, horizon, channels, {}}.validate("patchtst");
  check_positive(p + ".patch_len", patch_len);
  check_positive(p + ".stride", stride);
  if (input_length < patch_len)
    throw ConfigError(p + ".patch_len", "input length L = " + std::to_string(input_length) +
                                            " is shorter than one patch (" + std::to_string(patch_len) + ")");
  check_positive(p + ".heads", heads);
  check_positive(p + ".d_model", d_model);
  if (d_model % heads != 0)
    throw ConfigError(p + ".d_model", "must be divisible by heads (" + std::to_string(heads) + "), got " +
                                          std::to_string(d_model));
  check_positive(p + ".d_ff", d_ff);
  check_positive(p + ".layers", layers);
  check_probability(p + ".dropout", dropout);
  check_probability(p + ".head_dropout", head_dropout);
  frame.validate(p);
}

PatchTstImpl::PatchTstImpl(const PatchTstOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  const auto& o = options_;
  frame_ = register_module("frame", ForecastFrame(o.frame, o.input_length, o.horizon));
  embed_ = register_module("embed", torch::nn::Linear(o.patch_len, o.d_model));
  position_ = register_parameter("position", torch::empty({o.num_patches(), o.d_model}).uniform_(-0.02, 0.02));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  for (int64_t i = 0; i < o.layers; ++i)
    encoder_.push_back(register_module(
        "encoder" + std::to_string(i),
        torch::nn::TransformerEncoderLayer(torch::nn::TransformerEncoderLayerOptions(o.d_model, o.heads)
                                               .dim_feedforward(o.d_ff)
                                               .dropout(o.dropout)
                                               .activation(torch::kGELU))));
  head_dropout_ = register_module("head_dropout", torch::nn::Dropout(o.head_dropout));
  head_ = register_module("head", torch::nn::Linear(o.num_patches() * o.d_model, o.horizon));
  if (o.channel_mix) {
    mix_ = register_module("mix", torch::nn::Linear(torch::nn::LinearOptions(o.channels, 1).bias(false)));
    torch::NoGradGuard no_grad;
    mix_->weight.zero_();
    mix_->weight[0][0] = 1.0;  // start as the target channel's own forecast
  }
}

ForecastOutput PatchTstImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  const auto& o = options_;
  NormalizedWindow w = frame_->normalize(x);
  const int64_t batch = x.size(0);
  torch::Tensor series = o.channel_mix ? w.x.transpose(1, 2) : w.x.narrow(2, 0, 1).transpose(1, 2);
  const int64_t cs = series.size(1);
  series = series.reshape({batch * cs, o.input_length});  // [B*C', L]
  // End padding by the last value (PatchTST's padding_patch="end"), then patches: [B*C', N, P].
  series = torch::cat({series, series.narrow(1, o.input_length - 1, 1).expand({-1, o.stride})}, 1);
  torch::Tensor patches = series.unfold(1, o.patch_len, o.stride);
  torch::Tensor h = dropout_->forward(embed_->forward(patches) + position_);  // [B*C', N, d]
  h = h.transpose(0, 1);  // the encoder layers are sequence-first: [N, B*C', d]
  for (auto& layer : encoder_) h = layer->forward(h);
  h = h.transpose(0, 1).reshape({batch * cs, -1});                  // [B*C', N*d]
  torch::Tensor y = head_->forward(head_dropout_->forward(h));     // [B*C', H]
  y = y.reshape({batch, cs, o.horizon});
  torch::Tensor correction = o.channel_mix ? mix_->forward(y.transpose(1, 2)).squeeze(2)  // [B, H]
                                           : y.select(1, 0);
  ForecastOutput out;
  out.value = frame_->finish(correction, w);
  return out;
}

}  // namespace spikecast::models
