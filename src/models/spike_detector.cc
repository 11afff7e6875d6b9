#include "models/spike_detector.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "models/option_reader.h"
#include "models/recurrent_inference.h"
#include "models/self_attention_cuda.h"
#include "models/sequence_ops.h"
#include "tensor/compat.h"

namespace spikecast::models {

SpikeDetectorOptions SpikeDetectorOptions::from_spec(const ModelSpec& spec) {
  spec.validate("spike");
  SpikeDetectorOptions o;
  o.input_length = spec.input_length;
  o.horizon = spec.horizon;
  o.channels = spec.channels;
  OptionReader r(spec.options, "models.spike");
  r.read("d_model", o.d_model);
  r.read("kernel", o.kernel);
  r.read("heads", o.heads);
  r.read("lstm_hidden", o.lstm_hidden);
  r.read("head", o.head);
  r.read("spike_head", o.spike_head);
  r.read("dropout", o.dropout);
  o.frame.read(r);
  r.finish();
  o.validate();
  return o;
}

nlohmann::json SpikeDetectorOptions::to_json() const {
  nlohmann::json j = {{"d_model", d_model}, {"kernel", kernel}, {"heads", heads},
                      {"lstm_hidden", lstm_hidden}, {"head", head}, {"spike_head", spike_head},
                      {"dropout", dropout}};
  frame.write(j);
  return j;
}

void SpikeDetectorOptions::validate() const {
  ModelSpec{input_length, horizon, channels, {}}.validate("spike");
  check_positive("models.spike.heads", heads);
  check_positive("models.spike.d_model", d_model);
  if (d_model % heads != 0)
    throw ConfigError("models.spike.d_model", "must be divisible by heads (" + std::to_string(heads) +
                                                  "), got " + std::to_string(d_model));
  check_positive("models.spike.kernel", kernel);
  if (kernel % 2 == 0) throw ConfigError("models.spike.kernel", "must be odd, got " + std::to_string(kernel));
  check_positive("models.spike.lstm_hidden", lstm_hidden);
  check_widths("models.spike.head", head, true);
  check_widths("models.spike.spike_head", spike_head, true);
  check_probability("models.spike.dropout", dropout);
  frame.validate("models.spike");
}

SpikeDetectorImpl::SpikeDetectorImpl(const SpikeDetectorOptions& options)
    : ForecasterImpl(options.input_length, options.horizon, options.channels), options_(options) {
  options_.validate();
  const auto& o = options_;
  frame_ = register_module("frame", ForecastFrame(o.frame, o.input_length, o.horizon));
  conv_ = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.channels, o.d_model, o.kernel)
                                                        .padding(o.kernel / 2)));
  attention_ = register_module(
      "attention", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.d_model, o.heads).dropout(o.dropout)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  bilstm_ = register_module("bilstm", torch::nn::LSTM(torch::nn::LSTMOptions(o.d_model, o.lstm_hidden)
                                                          .batch_first(true)
                                                          .bidirectional(true)));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  DenseHeadOptions vo(2 * o.lstm_hidden, o.head, o.horizon);
  vo.dropout = o.dropout;
  value_head_ = register_module("value_head", DenseHead(vo));
  DenseHeadOptions so(2 * o.lstm_hidden, o.spike_head, 1);
  so.dropout = o.dropout;
  spike_head_ = register_module("spike_head", DenseHead(so));
}

torch::Tensor fused_self_attention(torch::nn::MultiheadAttention& attention, const torch::Tensor& s) {
  const int64_t batch = s.size(0), len = s.size(1), d = s.size(2), heads = attention->options.num_heads();
  const torch::Tensor qkv = rows_linear(s, attention->in_proj_weight, attention->in_proj_bias);
  const double dropout = attention->is_training() ? attention->options.dropout() : 0.0;
  const torch::nn::Linear& out = attention->out_proj;
  // Heads 32 wide over windows of at most 128 steps in 16 bits: spikecast's kernels, reading q, k
  // and v from qkv as it is (self_attention_cuda.h).
  if (cuda_self_attention_takes(qkv, heads)) return rows_linear(cuda_self_attention(qkv, heads, dropout), out->weight, out->bias);
  // [B, L, 3d] -> q, k, v, each a [B, heads, L, d / heads] view. unbind, not indexing: its backward
  // stacks the three gradients into qkv's layout in one copy, where indexing a permuted view zero-fills
  // a [3, B, heads, L, d / heads] gradient per part, adds them and copies the sum back (1.8 of the
  // member's 12.5 ms in a training step at batch 4096 on an H200).
  const std::vector<torch::Tensor> parts = qkv.view({batch, len, 3, heads, d / heads}).unbind(2);
  const torch::Tensor o = compat::scaled_dot_product_attention(parts[0].transpose(1, 2), parts[1].transpose(1, 2),
                                                               parts[2].transpose(1, 2), dropout);
  return rows_linear(o.transpose(1, 2).reshape({batch, len, d}), out->weight, out->bias);
}

namespace {

// One chunk: the fused call on CUDA; the module's own (sequence-first) forward on the CPU, where
// LibTorch 1.13's attention op was slower than the module (one window, one thread: 720-880 against
// 600-660 us).
torch::Tensor attend(torch::nn::MultiheadAttention& attention, const torch::Tensor& s) {
  if (s.is_cuda()) return fused_self_attention(attention, s);
  const torch::Tensor t = s.transpose(0, 1);
  return std::get<0>(attention->forward(t, t, t, {}, /*need_weights=*/false)).transpose(0, 1);
}

}  // namespace

torch::Tensor self_attention(torch::nn::MultiheadAttention& attention, const torch::Tensor& s,
                             int64_t max_score_elements) {
  const int64_t batch = s.size(0), len = s.size(1);
  const int64_t per_window = std::max<int64_t>(1, attention->options.num_heads() * len * len);
  const int64_t chunk = std::max<int64_t>(1, max_score_elements / per_window);
  if (batch <= chunk) return attend(attention, s);
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < batch; b += chunk) parts.push_back(attend(attention, s.narrow(0, b, std::min(chunk, batch - b))));
  return torch::cat(parts, 0);
}

ForecastOutput SpikeDetectorImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  check_input(x);
  NormalizedWindow w = frame_->normalize(x);
  // Batch first and contiguous throughout: every projection is one matrix product with its bias
  // fused, and no [B, L, d] tensor is transposed in memory (on CUDA those copies took 40% of the
  // member's time at batch 8192).
  const torch::Tensor s = same_conv(conv_, w.x, /*relu=*/true);  // [B, L, d]
  const torch::Tensor h = residual_layer_norm(norm_, self_attention(attention_, s), s);
  const std::vector<torch::Tensor> y = run_recurrent_directions(bilstm_, h);  // [B, L, hidden] each
  // Each direction's summary of the whole window: the forward direction's last step and the backward
  // direction's first step. (The users' h[:, -1] would give the backward direction one step of input
  // and leave its recurrent weights without gradient.)
  torch::Tensor z = torch::cat({y[0].select(1, y[0].size(1) - 1), y[1].select(1, 0)}, 1);
  z = dropout_->forward(z);  // [B, 2*hidden]
  ForecastOutput out;
  out.value = frame_->finish(value_head_->forward(z), w);
  out.spike_logit = spike_head_->forward(z).squeeze(1);  // [B]
  return out;
}

}  // namespace spikecast::models
