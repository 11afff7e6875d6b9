#include "store/drift.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

#include "data/generator.h"
#include "store/data_screen.h"

namespace spikecast::store {
namespace {

std::vector<float> normal(int64_t n, double mean, double stddev, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> out(n);
  for (auto& v : out) v = static_cast<float>(mean + stddev * rng.normal());
  return out;
}

TEST(Drift, TheSameDistributionIsStableAndAShiftedOneIsSignificant) {
  const auto ref = normal(20000, 5, 2, 1);
  const double same = population_stability_index(ref, normal(2000, 5, 2, 2), 10);
  EXPECT_LT(same, 0.02);
  EXPECT_STREQ(drift_level(same), "stable");
  const double shifted = population_stability_index(ref, normal(2000, 7, 2, 3), 10);  // one std
  EXPECT_GT(shifted, 0.25);
  EXPECT_STREQ(drift_level(shifted), "significant");
  // Larger shifts drift more.
  EXPECT_GT(population_stability_index(ref, normal(2000, 9, 2, 3), 10), shifted);
}

TEST(Drift, AFlagColumnGetsOneBinPerValue) {
  std::vector<float> ref(1000, 0.0f);
  for (int i = 0; i < 100; ++i) ref[i] = 1.0f;  // 10% ones
  std::vector<float> fresh(100, 0.0f);
  for (int i = 0; i < 50; ++i) fresh[i] = 1.0f;  // 50% ones
  // Two bins: (0.5 - 0.1) ln 5 + (0.5 - 0.9) ln(5/9).
  const double expected = 0.4 * std::log(5.0) - 0.4 * std::log(5.0 / 9.0);
  EXPECT_NEAR(population_stability_index(ref, fresh, 10), expected, 1e-9);
}

TEST(Drift, PerChannelOverTableRows) {
  GeneratorConfig g;
  g.rows = 3000;
  const Table t = generate(g).table;
  const auto drift = channel_drift(t, {0, 2000}, {2000, 3000});
  ASSERT_EQ(drift.size(), t.channels.size());
  for (const ChannelDrift& d : drift) {
    EXPECT_GE(d.psi, 0) << d.channel;
    EXPECT_EQ(d.new_count, 1000) << d.channel;
  }
  EXPECT_EQ(drift[0].channel, "target");
}

TEST(DataScreen, TheScaleCheckIsOffAtZeroAndProfilesCountDistinctValuesUpToTheCap) {
  GeneratorConfig g;
  g.rows = 600;
  Table t = generate(g).table;
  const auto history = profile_channels(t, {0, 500}, 10);
  EXPECT_EQ(history.back().name, "is_holiday");
  EXPECT_LE(history.back().distinct, 2);
  EXPECT_EQ(history[0].distinct, 11);  // capped at cap + 1
  for (int64_t r = 500; r < 600; ++r) t.values[r * t.num_channels()] *= 1000.0f;
  ScreenOptions off;
  off.max_scale_jump = 0;
  EXPECT_NO_THROW(screen_new_rows(t, {500, 600}, history, off));
  EXPECT_THROW(screen_new_rows(t, {500, 600}, history, ScreenOptions{}), DataError);
  ScreenOptions bad;
  bad.max_scale_jump = 0.5;
  EXPECT_THROW(bad.validate(), ConfigError);
}

}  // namespace
}  // namespace spikecast::store
