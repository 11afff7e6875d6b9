#include "retrain/retrainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/data_test_util.h"
#include "models/model_bundle.h"
#include "registry/model_registry.h"
#include "store/data_store.h"
#include "store/store_fixture.h"

namespace spikecast::retrain {
namespace {

using spikecast::testing::TempDir;
using store::testing::GeneratedLines;

constexpr int64_t kHistory = 1200;
constexpr int64_t kDay = 24;

// A store holding kHistory generated rows and a registry whose champion a full retrain made.
class RetrainTest : public ::testing::Test {
 protected:
  RetrainTest() : gen(kHistory + 3 * kDay) {
    config.window.input_length = 24;
    config.window.horizon = 4;
    config.train.members = {"linear", "repeat_last"};
    config.train.epochs = 2;
    config.train.batch_size = 32;
    config.train.max_batches_per_epoch = 8;
    config.train.gate_epochs = 20;
    config.train.device = "cpu";
    config.train.seed = 5;
    options.store_dir = dir.file("store");
    options.registry_dir = dir.file("registry");
    options.holdout_rows = 48;
    options.val_rows = 48;
    options.replay_windows = 64;
    options.warm_epochs = 1;
    ingest("history.csv", gen.rows(0, kHistory));
    RetrainOptions full = options;
    full.mode = RetrainMode::kFull;
    const RetrainOutcome boot = run_retrain(full, config, quiet);
    EXPECT_EQ(boot.decision, "promoted") << boot.reason;
    champion = boot.challenger;
  }
  int64_t ingest(const std::string& name, const std::string& text, store::IngestOptions o = {}) {
    return store::DataStore(options.store_dir).ingest(dir.write(name, text), o).rows_added;
  }
  std::string day(int k) const { return gen.rows(kHistory + k * kDay, kHistory + (k + 1) * kDay); }
  std::optional<std::string> current() const { return ModelRegistry(options.registry_dir).current(); }

  TempDir dir;
  GeneratedLines gen;
  Config config;
  RetrainOptions options;
  train::Progress quiet{train::Progress::Mode::kQuiet};
  std::string champion;
};

TEST_F(RetrainTest, AWarmStartBeginsFromTheChampionsWeightsAndReportsDriftAndBothModels) {
  ASSERT_EQ(ingest("day1.csv", day(0)), kDay);
  const models::LoadedBundle champ = models::load_bundle(ModelRegistry(options.registry_dir).version_dir(champion));
  int64_t compared = 0;
  options.hooks.before_training = [&](models::ForecasterImpl& challenger) {
    const auto want = models::model_tensors(*champ.model);
    const auto got = models::model_tensors(challenger);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first);
      EXPECT_TRUE(torch::equal(got[i].second.cpu(), want[i].second.cpu())) << got[i].first;
      ++compared;
    }
  };
  options.margin = 0;
  const RetrainOutcome r = run_retrain(options, config, quiet);
  EXPECT_GT(compared, 0);
  EXPECT_TRUE(r.decision == "promoted" || r.decision == "kept") << r.decision << ": " << r.reason;
  const auto& rep = r.report;
  EXPECT_EQ(rep.at("data").at("new_rows"), kDay);
  EXPECT_EQ(rep.at("drift").size(), gen.table().channels.size());
  EXPECT_TRUE(rep.at("metrics").contains("champion"));
  EXPECT_TRUE(rep.at("metrics").contains("challenger"));
  EXPECT_EQ(rep.at("training").at("fresh_windows"), kDay);  // the day's windows, one per new target row
  EXPECT_EQ(rep.at("training").at("replay_windows"), 64);
  EXPECT_TRUE(std::filesystem::exists(r.report_path));
  const double champ_mse = rep.at("metrics").at("champion").at("mse_original");
  const double chal_mse = rep.at("metrics").at("challenger").at("mse_original");
  EXPECT_EQ(r.decision == "promoted", chal_mse < champ_mse);
  if (r.decision == "promoted") {
    EXPECT_EQ(current(), r.challenger);
    // The scaler was kept.
    const models::LoadedBundle promoted = models::load_bundle(ModelRegistry(options.registry_dir).version_dir(r.challenger));
    EXPECT_EQ(promoted.manifest.scaler, champ.manifest.scaler);
  } else {
    EXPECT_EQ(current(), champion);
  }
}

TEST_F(RetrainTest, WhenTheDataHasGrownEnoughForAMemberToJoinTheRetrainRunsInFullAndAddsIt) {
  ASSERT_EQ(ingest("day1.csv", day(0)), kDay);
  config.train.join = {"seasonal_naive"};
  config.train.join_min_windows = 1;
  // Asked to keep the champion's members, a warm start only names the member.
  options.keep_members = true;
  const RetrainOutcome kept = run_retrain(options, config, quiet);
  EXPECT_EQ(kept.report.at("mode"), "warm");
  EXPECT_EQ(kept.report.at("members_to_join"), nlohmann::json::array({"seasonal_naive"}));
  EXPECT_TRUE(kept.report.at("training").contains("fresh_windows"));  // it trained warm
  // By default the warm start becomes a full retrain, which trains the member.
  ASSERT_EQ(ingest("day2.csv", day(1)), kDay);
  options.keep_members = false;
  options.margin = -1;  // promote any finite challenger below twice the champion's MSE
  const RetrainOutcome grown = run_retrain(options, config, quiet);
  EXPECT_EQ(grown.report.at("mode"), "full");
  EXPECT_EQ(grown.report.at("scaler"), "refit");
  EXPECT_NE(grown.report.at("mode_reason").get<std::string>().find("seasonal_naive joins"), std::string::npos);
  ASSERT_EQ(grown.decision, "promoted") << grown.reason;
  const models::LoadedBundle bundle = models::load_bundle(ModelRegistry(options.registry_dir).version_dir(grown.challenger));
  EXPECT_EQ(bundle.manifest.members, (std::vector<std::string>{"linear", "repeat_last", "seasonal_naive"}));
  // The next retrain finds the member in the champion: warm again.
  ASSERT_EQ(ingest("day3.csv", day(2)), kDay);
  const RetrainOutcome after = run_retrain(options, config, quiet);
  EXPECT_EQ(after.report.at("mode"), "warm");
  EXPECT_TRUE(after.report.at("members_to_join").empty());
}

TEST_F(RetrainTest, ANegativeMarginDownToMinusOneIsATolerance) {
  options.margin = -1;  // promote unless the challenger's MSE is twice the champion's or worse
  EXPECT_NO_THROW(options.validate());
  options.margin = -1.5;
  EXPECT_THROW(options.validate(), ConfigError);
  options.margin = 1;
  EXPECT_THROW(options.validate(), ConfigError);
}

TEST_F(RetrainTest, AWorseChallengerIsRejectedAndTheChampionStaysLive) {
  ASSERT_EQ(ingest("day1.csv", day(0)), kDay);
  // A learning rate that wrecks the weights in one epoch.
  options.warm_lr = 50;
  config.train.clip_norm = 0;
  const RetrainOutcome r = run_retrain(options, config, quiet);
  EXPECT_EQ(r.decision, "kept") << r.reason;
  EXPECT_EQ(current(), champion);
  EXPECT_EQ(ModelRegistry(options.registry_dir).list().size(), 1u);
  EXPECT_EQ(r.report.at("decision").at("action"), "kept");
}

TEST_F(RetrainTest, BadNewDataIsRefusedBeforeTrainingAndTheLiveModelIsUntouched) {
  // Rows that slipped into the store with the scale check off at ingest: target in W, not kW.
  store::IngestOptions lax;
  lax.screen.max_scale_jump = 0;
  const int64_t b = kHistory, e = kHistory + kDay;
  ASSERT_EQ(ingest("day1.csv", gen.edited_rows(b, e, [&](Table& t) {
              for (int64_t r = b; r < e; ++r) t.values[r * t.num_channels()] *= 1000.0f;
            }), lax), kDay);
  bool trained = false;
  options.hooks.before_training = [&](models::ForecasterImpl&) { trained = true; };
  const RetrainOutcome r = run_retrain(options, config, quiet);
  EXPECT_EQ(r.decision, "refused");
  EXPECT_NE(r.reason.find("column 'target'"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("scale jump"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("data.csv:"), std::string::npos) << r.reason;
  EXPECT_FALSE(trained);
  EXPECT_EQ(current(), champion);
  EXPECT_TRUE(std::filesystem::exists(r.report_path));
}

TEST_F(RetrainTest, ACrashBeforePromotionLeavesTheChampionLiveAndTheNextRetrainWorks) {
  // A registry whose champion is barely trained, so that a full retrain is surely better.
  options.registry_dir = dir.file("weak-registry");
  options.mode = RetrainMode::kFull;
  Config weak = config;
  weak.train.members = {"lstm"};  // without its frame and barely trained: noise
  weak.model_options["lstm"] = R"({"linear_skip": false, "window_norm": "none"})";
  weak.train.lr = 1e-7;
  weak.train.epochs = 1;
  weak.train.max_batches_per_epoch = 1;
  const std::string weak_champion = run_retrain(options, weak, quiet).challenger;
  ASSERT_EQ(ingest("day1.csv", day(0)), kDay);
  config.train.members = {"linear", "seasonal_naive"};  // trained on every window: a real model
  config.train.max_batches_per_epoch = 0;
  config.train.epochs = 4;
  config.train.lr = 3e-3;
  options.hooks.before_promote = [](const std::string&) { throw std::runtime_error("killed"); };
  try {
    const RetrainOutcome r = run_retrain(options, config, quiet);
    ADD_FAILURE() << "the hook did not run: " << r.decision << ": " << r.reason;
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "killed");
  }
  ModelRegistry reg(options.registry_dir);
  EXPECT_EQ(reg.current(), weak_champion);
  for (const auto& v : reg.list()) EXPECT_NO_THROW(reg.verify(v.version));
  options.hooks.before_promote = nullptr;
  const RetrainOutcome again = run_retrain(options, config, quiet);
  EXPECT_EQ(again.decision, "promoted") << again.reason;
  EXPECT_EQ(reg.current(), again.challenger);
}

TEST_F(RetrainTest, NoNewRowsIsASkipAndAWarmStartNeedsAChampion) {
  const RetrainOutcome r = run_retrain(options, config, quiet);
  EXPECT_EQ(r.decision, "skipped");
  EXPECT_EQ(current(), champion);
  RetrainOptions empty = options;
  empty.registry_dir = dir.file("empty-registry");
  EXPECT_THROW(run_retrain(empty, config, quiet), ModelError);
}

}  // namespace
}  // namespace spikecast::retrain
