#include "bench/flop_count.h"

#include <fmt/format.h>

#include "core/error.h"
#include "models/cnn_lstm.h"
#include "models/dlinear.h"
#include "models/dynamic_ensemble.h"
#include "models/patch_tst.h"
#include "models/residual_gru.h"
#include "models/rule_lstm.h"
#include "models/spike_detector.h"
#include "models/stacked_lstm.h"

namespace spikecast::bench {
namespace {

using Layers = std::vector<LayerCount>;

// The forecast frame's linear skip: Linear(L -> H) on the one target channel.
void add_skip(Layers& out, const models::FrameOptions& frame, int64_t L, int64_t H) {
  if (frame.linear_skip) out.push_back(count_linear("skip", L, H, 1));
}

// DenseHead: in -> hidden... -> out on the one summary row of a window.
void add_head(Layers& out, const std::string& name, int64_t in, const std::vector<int64_t>& hidden, int64_t out_width) {
  int64_t w = in;
  for (size_t i = 0; i < hidden.size(); ++i) {
    out.push_back(count_linear(name + std::to_string(i), w, hidden[i], 1));
    w = hidden[i];
  }
  out.push_back(count_linear(name + std::to_string(hidden.size()), w, out_width, 1));
}

// Stacked LSTM layers "lstm1".."lstmN" of widths `hidden` over `steps`, from input width `w`;
// returns the last layer's width.
int64_t add_lstm_stack(Layers& out, int64_t w, const std::vector<int64_t>& hidden, int64_t steps) {
  for (size_t i = 0; i < hidden.size(); ++i) {
    out.push_back(count_lstm("lstm" + std::to_string(i + 1), w, hidden[i], steps));
    w = hidden[i];
  }
  return w;
}

Layers stacked_lstm(const models::ModelSpec& spec) {
  const auto o = models::StackedLstmOptions::from_spec(spec);
  Layers out;
  const int64_t w = add_lstm_stack(out, o.channels, o.hidden, o.input_length);
  add_head(out, "head", w, o.head, o.horizon);
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers residual_gru(const models::ModelSpec& spec) {
  const auto o = models::ResidualGruOptions::from_spec(spec);
  Layers out;
  int64_t w = o.channels;
  for (size_t i = 0; i < o.hidden.size(); ++i) {
    out.push_back(count_gru("gru" + std::to_string(i + 1), w, o.hidden[i], o.input_length));
    // The residual of every layer after the first: identity, or Linear(w -> hidden) per step.
    if (i > 0 && w != o.hidden[i])
      out.push_back(count_linear("proj" + std::to_string(i + 1), w, o.hidden[i], o.input_length));
    w = o.hidden[i];
  }
  add_head(out, "head", w, o.head, o.horizon);
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers cnn_lstm(const models::ModelSpec& spec) {
  const auto o = models::CnnLstmOptions::from_spec(spec);
  Layers out;
  for (int64_t k : o.kernels)
    out.push_back(count_conv1d("conv_k" + std::to_string(k), o.channels, o.filters, k, o.input_length));
  const int64_t w =
      add_lstm_stack(out, o.filters * static_cast<int64_t>(o.kernels.size()), o.hidden, o.input_length);
  add_head(out, "head", w, o.head, o.horizon);
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers spike_detector(const models::ModelSpec& spec) {
  const auto o = models::SpikeDetectorOptions::from_spec(spec);
  Layers out;
  out.push_back(count_conv1d("conv", o.channels, o.d_model, o.kernel, o.input_length));
  out.push_back(count_attention("attention", o.d_model, o.input_length));
  out.push_back({"layer_norm", 2 * o.d_model, 0.0});
  out.push_back(count_lstm("bilstm", o.d_model, o.lstm_hidden, o.input_length, /*bidirectional=*/true));
  add_head(out, "value_head", 2 * o.lstm_hidden, o.head, o.horizon);
  add_head(out, "spike_head", 2 * o.lstm_hidden, o.spike_head, 1);
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers rule_lstm(const models::ModelSpec& spec) {
  const auto o = models::RuleLstmOptions::from_spec(spec);
  Layers out;
  out.push_back(count_lstm("lstm", o.channels, o.hidden, o.input_length));
  add_head(out, "head", o.hidden, o.head, o.horizon);
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers dlinear(const models::ModelSpec& spec) {
  const auto o = models::DLinearOptions::from_spec(spec);
  const int64_t in = o.all_channels ? o.channels * o.input_length : o.input_length;
  Layers out = {count_linear("trend", in, o.horizon, 1), count_linear("seasonal", in, o.horizon, 1)};
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

// PatchTST over C' series a window (the target alone, or every channel with channel_mix), each N
// patches: the patch embedding, every encoder layer (attention over the N patches, the feed-forward
// pair, two LayerNorms) and the flatten head run once a series.
Layers patch_tst(const models::ModelSpec& spec) {
  const auto o = models::PatchTstOptions::from_spec(spec);
  const int64_t series = o.channel_mix ? o.channels : 1, n = o.num_patches(), d = o.d_model;
  const auto per_series = [&](LayerCount l) {
    l.forward_flops *= static_cast<double>(series);
    return l;
  };
  Layers out = {per_series(count_linear("embed", o.patch_len, d, n)), {fmt::format("position {}x{}", n, d), n * d, 0.0}};
  for (int64_t i = 0; i < o.layers; ++i) {
    const std::string layer = "encoder" + std::to_string(i);
    out.push_back(per_series(count_attention(layer + ".attention", d, n)));
    out.push_back(per_series(count_linear(layer + ".ff1", d, o.d_ff, n)));
    out.push_back(per_series(count_linear(layer + ".ff2", o.d_ff, d, n)));
    out.push_back({layer + ".norms", 4 * d, 0.0});
  }
  out.push_back(per_series(count_linear("head", n * d, o.horizon, 1)));
  if (o.channel_mix) out.push_back({fmt::format("mix {}->1", o.channels), o.channels, 2.0 * o.channels * o.horizon});
  add_skip(out, o.frame, o.input_length, o.horizon);
  return out;
}

Layers ensemble(const models::ModelSpec& spec) {
  const auto o = models::DynamicEnsembleOptions::from_spec(spec);
  Layers out;
  for (const auto& m : o.members) {
    const ModelCount c = count_model(m.name, models::ModelSpec{spec.input_length, spec.horizon, spec.channels, m.options});
    for (const auto& l : c.layers) out.push_back({m.name + "." + l.layer, l.parameters, l.forward_flops});
  }
  const int64_t M = static_cast<int64_t>(o.members.size()), H = o.horizon;
  if (o.mode != "equal") out.push_back({"gate.static_logits", M * H, 0.0});
  if (o.mode == "gated") {
    out.push_back(count_linear("gate.in", o.channels + 2 + M * H, o.gate_hidden, 1));
    out.push_back(count_linear("gate.out", o.gate_hidden, M * H, 1));
  }
  return out;
}

}  // namespace

int64_t ModelCount::parameters() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.parameters;
  return n;
}

double ModelCount::forward_flops() const {
  double f = 0;
  for (const auto& l : layers) f += l.forward_flops;
  return f;
}

nlohmann::json ModelCount::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) ls.push_back({{"layer", l.layer}, {"parameters", l.parameters}, {"forward_flops", l.forward_flops}});
  return {{"model", model},
          {"parameters", parameters()},
          {"forward_flops_per_window", forward_flops()},
          {"train_flops_per_window", train_flops()},
          {"layers", ls}};
}

LayerCount count_linear(const std::string& name, int64_t in, int64_t out, int64_t rows) {
  return {fmt::format("{} {}->{} x{}", name, in, out, rows), in * out + out, 2.0 * rows * in * out};
}

LayerCount count_lstm(const std::string& name, int64_t in, int64_t hidden, int64_t steps, bool bidirectional) {
  // Four gates: W_ih [4h, in] and W_hh [4h, h] every step, two bias vectors (LibTorch's layout).
  const int64_t dirs = bidirectional ? 2 : 1;
  return {fmt::format("{} {}->{}{} x{}", name, in, hidden, bidirectional ? " bidirectional" : "", steps),
          dirs * (4 * hidden * (in + hidden) + 8 * hidden), dirs * 2.0 * steps * 4 * hidden * (in + hidden)};
}

LayerCount count_gru(const std::string& name, int64_t in, int64_t hidden, int64_t steps) {
  return {fmt::format("{} {}->{} x{}", name, in, hidden, steps), 3 * hidden * (in + hidden) + 6 * hidden,
          2.0 * steps * 3 * hidden * (in + hidden)};
}

LayerCount count_conv1d(const std::string& name, int64_t in, int64_t out, int64_t kernel, int64_t steps) {
  // "same" padding: `steps` output positions, each a dot product of in * kernel values per filter.
  return {fmt::format("{} {}->{} k{} x{}", name, in, out, kernel, steps), out * in * kernel + out,
          2.0 * steps * in * kernel * out};
}

LayerCount count_attention(const std::string& name, int64_t d, int64_t tokens) {
  // Q, K, V projections and the output projection (d x d each, per token); scores Q K^T and the
  // weighted sum of V (tokens x tokens x d each; the heads split d, not the count).
  const double proj = 2.0 * tokens * d * d * 4;
  const double mix = 2.0 * tokens * tokens * d * 2;
  return {fmt::format("{} d{} x{}", name, d, tokens), 4 * d * d + 4 * d, proj + mix};
}

ModelCount count_model(const std::string& name, const models::ModelSpec& spec) {
  ModelCount c;
  c.model = name;
  if (name == "lstm") c.layers = stacked_lstm(spec);
  else if (name == "gru") c.layers = residual_gru(spec);
  else if (name == "cnn_lstm") c.layers = cnn_lstm(spec);
  else if (name == "spike") c.layers = spike_detector(spec);
  else if (name == "rule") c.layers = rule_lstm(spec);
  else if (name == "linear") c.layers = dlinear(spec);
  else if (name == "patchtst") c.layers = patch_tst(spec);
  else if (name == "repeat_last" || name == "seasonal_naive") c.layers = {};
  else if (name == "ensemble") c.layers = ensemble(spec);
  else throw ConfigError("model", "no FLOP count for '" + name + "'");
  return c;
}

double epoch_train_flops(const std::vector<ModelCount>& models, int64_t windows) {
  double f = 0;
  for (const auto& m : models) f += m.train_flops() * static_cast<double>(windows);
  return f;
}

}  // namespace spikecast::bench
