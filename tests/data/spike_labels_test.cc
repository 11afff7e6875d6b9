#include "data/spike_labels.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/config_file.h"
#include "core/error.h"
#include "data/generator.h"

namespace spikecast {
namespace {

std::vector<uint8_t> labels_of(const std::vector<float>& v, int64_t W, double k) {
  SpikeConfig c;
  c.look_back = W;
  c.threshold = k;
  return label_spikes(v.data(), static_cast<int64_t>(v.size()), 1, c);
}

TEST(SpikeLabels, DefinitionOnASmallSeries) {
  // Look-back 5 of {0, 1, 2, 3, 4}: median 2, MAD 1, scaled MAD 1.4826; k = 2 -> threshold 2.9652.
  std::vector<float> v = {0, 1, 2, 3, 4, 4.96f, 2};
  auto l = labels_of(v, 5, 2.0);
  EXPECT_EQ(l[5], 0);  // |4.96 - 2| = 2.96 <= 2.9652
  v[5] = 4.97f;
  l = labels_of(v, 5, 2.0);
  EXPECT_EQ(l[5], 1);  // 2.97 > 2.9652
  v[5] = -0.97f;
  EXPECT_EQ(labels_of(v, 5, 2.0)[5], 1);  // negative spikes too
  for (int i = 0; i < 5; ++i) EXPECT_EQ(l[i], 0);  // no full look-back yet
}

TEST(SpikeLabels, IsCausal) {
  // A huge value after row t must not change row t's label.
  std::vector<float> v(100);
  for (int i = 0; i < 100; ++i) v[i] = std::sin(i * 0.3f);
  const auto before = labels_of(v, 20, 4.0);
  v[60] = 1000;
  const auto after = labels_of(v, 20, 4.0);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(before[i], after[i]) << i;
  EXPECT_EQ(after[60], 1);
}

TEST(SpikeLabels, FlatLookBackFallsBack) {
  std::vector<float> v(10, 5.0f);
  v[8] = 5.5f;
  EXPECT_EQ(labels_of(v, 5, 4.0)[8], 1);  // MAD and mean deviation 0: any change
  EXPECT_EQ(labels_of(v, 5, 4.0)[7], 0);
  // MAD 0 but mean absolute deviation > 0: the fallback scale applies.
  std::vector<float> w = {0, 0, 0, 0, 10, 0.5f};
  EXPECT_EQ(labels_of(w, 5, 4.0)[5], 0);  // scale 1.2533 * 2 = 2.5, |0.5 - 0| small
}

TEST(SpikeLabels, NaNRowsAndShortLookBacksAreZero) {
  std::vector<float> v = {1, 2, 1, 2, 1, NAN, 100, 2, 1};
  const auto l = labels_of(v, 5, 4.0);
  EXPECT_EQ(l[5], 0);
  EXPECT_EQ(l[6], 0);  // only 4 non-NaN values in its look-back
}

TEST(SpikeLabels, RecoverTheGeneratorsGroundTruth) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    GeneratorConfig g;
    g.rows = 20000;
    g.series = 2;
    g.seed = seed;
    const GeneratedData d = generate(g);
    SpikeConfig c;  // defaults: W = 48, k = 4
    const auto labels = label_spikes(d.table, c);
    // Compare outside each series' first W rows (no baseline there).
    std::vector<uint8_t> pred, truth;
    for (const auto& s : d.table.series)
      for (int64_t r = s.begin + c.look_back; r < s.end; ++r) {
        pred.push_back(labels[r]);
        truth.push_back(d.is_spike[r]);
      }
    const LabelAgreement a = compare_labels(pred, truth);
    EXPECT_GT(a.true_positives, 200) << seed;
    EXPECT_GE(a.recall(), 0.95) << "seed " << seed << " fn " << a.false_negatives;
    EXPECT_GE(a.precision(), 0.95) << "seed " << seed << " fp " << a.false_positives;
  }
}

TEST(SpikeLabels, PerSeriesLookBackDoesNotCrossSeries) {
  Table t;
  t.channels = {"y"};
  for (int i = 0; i < 20; ++i) t.values.push_back(i < 10 ? 0.0f + (i % 2) : 100.0f + (i % 2));
  t.time.resize(20);
  t.series = {{"a", 0, 10}, {"b", 10, 20}};
  SpikeConfig c;
  c.look_back = 5;
  const auto l = label_spikes(t, c);
  // Row 10 starts series b: no look-back, not a spike although it jumps by 100.
  for (int i = 10; i < 15; ++i) EXPECT_EQ(l[i], 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(l[i], 0);
}

TEST(SpikeLabels, ConfigSectionAndValidation) {
  Config cfg;
  apply_config_text("[spikes]\nlook_back = 24\nthreshold = 3.5\n", "t.toml", cfg);
  EXPECT_EQ(cfg.spikes.look_back, 24);
  EXPECT_DOUBLE_EQ(cfg.spikes.threshold, 3.5);
  EXPECT_NO_THROW(cfg.validate());
  try {
    apply_config_text("[spikes]\nwindow = 3\n", "t.toml", cfg);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "spikes.window");
  }
  SpikeConfig bad;
  bad.look_back = 2;
  try {
    bad.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "spikes.look_back");
  }
  bad = SpikeConfig{};
  bad.threshold = 0;
  EXPECT_THROW(bad.validate(), ConfigError);
}

}  // namespace
}  // namespace spikecast
