// Floating-point operations of one forward pass per window, counted from the real layer sizes of
// each model (its Options as make_forecaster would build them), and parameter counts from the same
// sizes (the tests check them against the built module, so the sizes cannot drift from src/models).
// Counted: the matrix products that dominate (LSTM/GRU gate projections, input and recurrent;
// convolutions; attention projections, scores and weighted sums; dense layers), 2 FLOPs per
// multiply-add. Not counted: element-wise work (gate non-linearities, normalisation, softmax,
// rules), which is memory-bound and small beside the products.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "models/forecaster.h"

namespace spikecast::bench {

struct LayerCount {
  std::string layer;          // e.g. "lstm1 13->128 x100"
  int64_t parameters = 0;
  double forward_flops = 0;   // per window
};

struct ModelCount {
  std::string model;
  std::vector<LayerCount> layers;

  int64_t parameters() const;
  double forward_flops() const;                                // per window
  double train_flops() const { return 3.0 * forward_flops(); } // forward + backward (~2x forward)
  nlohmann::json to_json() const;
};

// Building blocks (per window), exposed for the tests' hand counts.
LayerCount count_linear(const std::string& name, int64_t in, int64_t out, int64_t rows);
LayerCount count_lstm(const std::string& name, int64_t in, int64_t hidden, int64_t steps, bool bidirectional = false);
LayerCount count_gru(const std::string& name, int64_t in, int64_t hidden, int64_t steps);
LayerCount count_conv1d(const std::string& name, int64_t in, int64_t out, int64_t kernel, int64_t steps);
LayerCount count_attention(const std::string& name, int64_t d_model, int64_t tokens);

// The registry name's count for `spec`: lstm, gru, cnn_lstm, spike, rule, patchtst, linear,
// repeat_last, seasonal_naive, ensemble. ConfigError for a name it does not know.
ModelCount count_model(const std::string& name, const models::ModelSpec& spec);

// FLOPs of one training epoch over `windows` windows: sum over models of train_flops * windows.
double epoch_train_flops(const std::vector<ModelCount>& models, int64_t windows);

}  // namespace spikecast::bench
