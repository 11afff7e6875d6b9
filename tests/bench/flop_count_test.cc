#include "bench/flop_count.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "models/model_registry.h"

namespace spikecast::bench {
namespace {

TEST(FlopCount, LstmLayerMatchesAHandCount) {
  // LSTM 3 -> 2 over 5 steps: each step 4 gates x 2 units, each a dot product over 3 inputs and
  // 2 recurrent values: 8 * (3 + 2) = 40 multiply-adds = 80 FLOPs; 5 steps = 400.
  const LayerCount l = count_lstm("l", 3, 2, 5);
  EXPECT_DOUBLE_EQ(l.forward_flops, 400.0);
  // W_ih [8, 3] + W_hh [8, 2] + two biases [8]
  EXPECT_EQ(l.parameters, 24 + 16 + 16);
  EXPECT_EQ(torch::nn::LSTM(torch::nn::LSTMOptions(3, 2)).ptr()->parameters().size(), 4u);
  int64_t n = 0;
  for (const auto& p : torch::nn::LSTM(torch::nn::LSTMOptions(3, 2))->parameters()) n += p.numel();
  EXPECT_EQ(l.parameters, n);
  EXPECT_DOUBLE_EQ(count_lstm("b", 3, 2, 5, true).forward_flops, 800.0);
}

TEST(FlopCount, SmallLayersMatchHandCounts) {
  EXPECT_DOUBLE_EQ(count_linear("d", 4, 3, 2).forward_flops, 2.0 * 2 * 4 * 3);  // 2 rows of 4x3
  EXPECT_EQ(count_linear("d", 4, 3, 2).parameters, 15);
  EXPECT_DOUBLE_EQ(count_conv1d("c", 2, 3, 5, 7).forward_flops, 2.0 * 7 * 2 * 5 * 3);
  EXPECT_DOUBLE_EQ(count_gru("g", 3, 2, 5).forward_flops, 300.0);  // 3 gates instead of 4
  // Attention over 4 tokens of width 2: projections 4 * (2x2) per token, scores and mix 2 * 4x4x2.
  EXPECT_DOUBLE_EQ(count_attention("a", 2, 4).forward_flops, 2.0 * 4 * 4 * 4 + 2.0 * 2 * 16 * 2);
}

// The counter's layer sizes are the models' own: its parameter count equals the built module's,
// at the default widths and at other widths.
TEST(FlopCount, ParametersMatchTheBuiltModels) {
  for (const std::string name : {"lstm", "gru", "cnn_lstm", "spike", "rule", "linear", "repeat_last"}) {
    for (const nlohmann::json& opts : {nlohmann::json::object(), nlohmann::json{{"head", {40, 24}}}}) {
      if (!opts.empty() && (name == "linear" || name == "repeat_last")) continue;
      const models::ModelSpec spec{100, 3, 13, opts};
      const models::Forecaster m = models::make_forecaster(name, spec);
      EXPECT_EQ(count_model(name, spec).parameters(), models::count_parameters(*m)) << name << " " << opts.dump();
    }
  }
  const models::ModelSpec ens{100, 1, 13, nlohmann::json::object()};
  EXPECT_EQ(count_model("ensemble", ens).parameters(),
            models::count_parameters(*models::make_forecaster("ensemble", ens)));
  EXPECT_THROW(count_model("tcn", ens), ConfigError);
}

// PatchTST's count is its built module's parameters, with and without channel mixing, and its
// FLOPs scale with the series it encodes: the target alone, or every channel.
TEST(FlopCount, PatchTstMatchesTheBuiltModelAndScalesWithTheSeriesItEncodes) {
  const nlohmann::json small = {{"d_model", 64}, {"heads", 8}, {"d_ff", 96}, {"layers", 2}};
  nlohmann::json mixed = small;
  mixed["channel_mix"] = true;
  for (const nlohmann::json& opts : {nlohmann::json::object(), small, mixed}) {
    const models::ModelSpec spec{100, 24, 13, opts};
    EXPECT_EQ(count_model("patchtst", spec).parameters(),
              models::count_parameters(*models::make_forecaster("patchtst", spec)))
        << opts.dump();
  }
  const double one = count_model("patchtst", models::ModelSpec{100, 24, 13, small}).forward_flops();
  const double all = count_model("patchtst", models::ModelSpec{100, 24, 13, mixed}).forward_flops();
  const double skip = 2.0 * 100 * 24;  // the frame's Linear(L -> H), once a window
  EXPECT_DOUBLE_EQ(all - skip - 2.0 * 13 * 24, 13 * (one - skip));
  // By hand at the default widths (N = 12 patches of 16, d 128, d_ff 256, 3 layers, H = 1): the
  // embedding, per layer the attention (4 projections, scores and mix) and the feed-forward pair,
  // the head and the skip.
  const double n = 12, d = 128;
  const double layer = 2 * n * d * d * 4 + 2 * n * n * d * 2 + 2 * n * (d * 256) * 2;
  EXPECT_DOUBLE_EQ(count_model("patchtst", models::ModelSpec{100, 1, 13, nlohmann::json::object()}).forward_flops(),
                   2 * n * 16 * d + 3 * layer + 2 * n * d * 1 + 2 * 100 * 1);
}

TEST(FlopCount, EpochFlopsAreThreeForwardsPerWindow) {
  const ModelCount rule = count_model("rule", models::ModelSpec{100, 1, 13, nlohmann::json::object()});
  EXPECT_GT(rule.forward_flops(), 0);
  EXPECT_DOUBLE_EQ(epoch_train_flops({rule, rule}, 10), 2 * 10 * 3 * rule.forward_flops());
}

}  // namespace
}  // namespace spikecast::bench
