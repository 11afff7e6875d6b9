#include "train/seed_summary.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spikecast::train {
namespace {

SeedRun run(int64_t seed, double val, std::vector<std::pair<std::string, double>> mse) {
  SeedRun r;
  r.seed = seed;
  r.validation_mse = val;
  for (const auto& [name, v] : mse) {
    ModelScore s;
    s.name = name;
    s.kind = name == "ensemble" ? "ensemble" : "member";
    s.metrics.mse = v;
    s.metrics.mae = v / 2;
    r.scores.push_back(s);
  }
  return r;
}

TEST(SeedSummary, MeanSpreadAndTheBundleChosenByValidation) {
  const std::vector<SeedRun> runs{run(1, 0.30, {{"ensemble", 0.10}, {"lstm", 0.20}}),
                                  run(2, 0.20, {{"ensemble", 0.30}, {"lstm", 0.10}}),
                                  run(3, 0.25, {{"ensemble", 0.20}, {"lstm", 0.30}})};
  const SeedSummary s = summarize_seeds(runs);
  EXPECT_EQ(s.seeds, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(s.chosen, 1u) << "lowest validation MSE, not lowest test MSE";
  ASSERT_EQ(s.models.size(), 2u);
  EXPECT_NEAR(s.models[0].mse.mean, 0.20, 1e-12);
  EXPECT_NEAR(s.models[0].mse.sd, 0.10, 1e-12);  // sample sd of .1, .3, .2
  EXPECT_DOUBLE_EQ(s.models[0].mse.min, 0.10);
  EXPECT_DOUBLE_EQ(s.models[0].mse.max, 0.30);
  EXPECT_NEAR(s.models[1].mae.mean, 0.10, 1e-12);
  EXPECT_EQ(s.models[0].best_count, 2);  // seeds 1 and 3
  EXPECT_EQ(s.models[1].best_count, 1);
  const nlohmann::json j = s.to_json();
  EXPECT_EQ(j.at("chosen_seed"), 2);
  EXPECT_NEAR(j.at("models").at(1).at("test_mse").at("mean").get<double>(), 0.20, 1e-12);
  const std::string table = format_seed_summary(s);
  EXPECT_NE(table.find("0.2000 ± 0.1000 [0.1000, 0.3000]"), std::string::npos) << table;
}

TEST(SeedSummary, OneSeedHasNoSpread) {
  const SeedSummary s = summarize_seeds({run(7, 0.1, {{"ensemble", 0.4}})});
  EXPECT_DOUBLE_EQ(s.models[0].mse.sd, 0.0);
  EXPECT_DOUBLE_EQ(s.models[0].mse.mean, 0.4);
}

TEST(SeedSummary, RefusesRunsThatScoredDifferentModels) {
  EXPECT_THROW(summarize_seeds({}), ModelError);
  EXPECT_THROW(summarize_seeds({run(1, 0.1, {{"ensemble", 0.1}}), run(2, 0.1, {{"ensemble", 0.1}, {"lstm", 0.2}})}),
               ModelError);
  EXPECT_THROW(summarize_seeds({run(1, 0.1, {{"ensemble", 0.1}}), run(2, 0.1, {{"lstm", 0.1}})}), ModelError);
}

}  // namespace
}  // namespace spikecast::train
