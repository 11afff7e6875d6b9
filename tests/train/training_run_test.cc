#include "train/training_run.h"
#include "train/combination_choice.h"
#include "train/model_evaluation.h"
#include "core/file_system.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "train_fixture.h"

namespace spikecast::train {
namespace {

using testing::device_data;
using testing::small_config;
using testing::small_dataset;

TEST(TrainingRun, MembersThenGateGiveAnEnsembleNoWorseThanEqualWeightsOnTheHoldout) {
  Config config = small_config();
  config.train.members = {"linear", "repeat_last", "gru"};
  config.train.epochs = 2;
  const Dataset data = small_dataset(config);
  Progress quiet(Progress::Mode::kQuiet);
  TrainRun run = run_training(data, config, Context{}, quiet);
  ASSERT_EQ(run.members.size(), 3u);
  EXPECT_EQ(run.members[0].model, "linear");
  EXPECT_EQ(run.members[2].epochs_run, 2);
  ASSERT_TRUE(run.ensemble);
  EXPECT_EQ(run.ensemble->members().size(), 3u);
  const std::string mode = run.gate.mode;
  // The rule (train/combination_choice.h), read back from the statistics it recorded: the average
  // of the members not significantly worse than the best member, unless learned weights were
  // significantly better than it on the holdout.
  if (mode.rfind("set", 0) == 0) {
    const std::vector<std::string>& averaged = run.gate.averages.at(mode);
    EXPECT_EQ(mode, "set" + std::to_string(averaged.size()) + "-mean");
    for (const std::string& member : config.train.members) {
      const bool in = std::find(averaged.begin(), averaged.end(), member) != averaged.end();
      EXPECT_EQ(in, run.gate.dm_statistic.at("member:" + member) < kSignificantDM) << member;
    }
  } else {
    ASSERT_TRUE(mode == "static" || mode == "gated") << mode;
    EXPECT_LT(run.gate.dm_statistic.at(mode), -kSignificantDM);
  }
  // The ensemble forecasts every test window with finite values.
  const DeviceData dd = device_data(data, config);
  const double test_mse = validation_mse(*run.ensemble, dd, data.windows.test, Context{});
  EXPECT_TRUE(std::isfinite(test_mse));
  // The test MSE of each fixed average (a diagnostic): the top-1 average is the member ranked
  // first, and the plain average is the mean of the three members' forecasts.
  TrainRun scored = std::move(run);
  const Evaluation evaluation = evaluate_model(*scored.ensemble, data, config, Context{});
  record_test_mse(scored.gate, evaluation.member_preds, evaluation.member_names, evaluation.y);
  ASSERT_EQ(scored.gate.ranking.size(), 3u);
  EXPECT_NEAR(scored.gate.test_mse.at("top1-mean"), evaluation.score(scored.gate.ranking[0]).metrics.mse, 1e-6);
  const torch::Tensor mean3 = evaluation.member_preds.to(torch::kFloat64).mean(1);
  EXPECT_NEAR(scored.gate.test_mse.at("equal"),
              (mean3 - evaluation.y.to(torch::kFloat64)).pow(2).mean().item<double>(), 1e-9);
  const auto h = scored.history();
  EXPECT_EQ(h.at("members").size(), 3u);
  EXPECT_EQ(h.at("gate").at("mode"), mode);
  EXPECT_EQ(h.at("gate").at("test_mse").size(), scored.gate.test_mse.size());
}

TEST(TrainingRun, AMemberJoinsOnceTheTrainingWindowsReachTheThreshold) {
  Config config = small_config();
  config.train.members = {"linear", "repeat_last"};
  config.train.join = {"patchtst"};
  config.train.epochs = 1;
  config.train.max_batches_per_epoch = 2;
  const Dataset data = small_dataset(config);
  const size_t windows = data.windows.train.size();
  ASSERT_GT(windows, 1u);
  config.train.join_min_windows = static_cast<int64_t>(windows) + 1;
  EXPECT_EQ(members_for(config.train, windows), config.train.members);
  config.train.join_min_windows = static_cast<int64_t>(windows);
  EXPECT_EQ(members_for(config.train, windows), (std::vector<std::string>{"linear", "repeat_last", "patchtst"}));

  Progress quiet(Progress::Mode::kQuiet);
  const TrainRun grown = run_training(data, config, Context{}, quiet);
  ASSERT_EQ(grown.members.size(), 3u);
  EXPECT_EQ(grown.members[2].model, "patchtst");
  EXPECT_EQ(grown.members[2].epochs_run, 1);
  ASSERT_EQ(grown.ensemble->members().size(), 3u);
  EXPECT_EQ(grown.ensemble->members()[2]->type_name(), "patchtst");
  EXPECT_EQ(grown.joined, (std::vector<std::string>{"patchtst"}));
  EXPECT_EQ(grown.history().at("joined"), nlohmann::json::array({"patchtst"}));

  config.train.join_min_windows = static_cast<int64_t>(windows) + 1;
  const TrainRun small = run_training(data, config, Context{}, quiet);
  EXPECT_EQ(small.members.size(), 2u);
  EXPECT_EQ(small.ensemble->members().size(), 2u);
  EXPECT_TRUE(small.joined.empty());
}

TEST(TrainingRun, AskedForThePlainAverageTheEnsembleIsInEqualMode) {
  // train.ensemble = equal: the plain average itself (1/M, no parameters), not static weights that
  // happen to be equal; no learned candidate is fitted.
  Config config = small_config();
  config.train.members = {"linear", "repeat_last"};
  config.train.epochs = 1;
  config.train.ensemble = "equal";
  const Dataset data = small_dataset(config);
  Progress quiet(Progress::Mode::kQuiet);
  const TrainRun run = run_training(data, config, Context{}, quiet);
  EXPECT_EQ(run.gate.mode, "equal");
  EXPECT_EQ(run.ensemble->options().mode, "equal");
  EXPECT_TRUE(run.ensemble->gate_parameters().empty());
  EXPECT_EQ(run.gate.holdout_mse.count("static"), 0u);
  EXPECT_EQ(run.gate.holdout_mse.count("gated"), 0u);
}

TEST(TrainingRun, AGateFittedOnValidationTurnsAwayFromAUselessMember) {
  // repeat-last is a fair forecaster; an lstm without its frame, barely trained, is noise. Fitted
  // on validation predictions, static weights must beat both the noise and the plain average.
  Config config = small_config();
  config.train.members = {"repeat_last", "lstm"};
  config.train.epochs = 1;
  config.train.max_batches_per_epoch = 1;
  config.train.lr = 1e-6;
  config.model_options["lstm"] = R"({"linear_skip": false, "window_norm": "none"})";
  config.train.ensemble = "static";
  const Dataset data = small_dataset(config);
  Progress quiet(Progress::Mode::kQuiet);
  const TrainRun run = run_training(data, config, Context{}, quiet);
  EXPECT_EQ(run.gate.mode, "static");
  EXPECT_LT(run.gate.holdout_mse.at("static"), run.gate.holdout_mse.at("member:lstm"));
  EXPECT_LT(run.gate.holdout_mse.at("static"), 0.5 * run.gate.holdout_mse.at("member:lstm") +
                                                   0.5 * run.gate.holdout_mse.at("member:repeat_last"));
}

TEST(TrainingRun, MembersSideBySideTrainAsTheyDoInTurn) {
  // train.member_schedule = together runs each member on its own thread (on CUDA, its own stream).
  // Without dropout nothing random is shared between members, so each must reach what it reaches
  // when the members train one after another.
  Config config = small_config();
  config.train.members = {"linear", "gru", "repeat_last"};
  config.train.epochs = 2;
  config.model_options["gru"] = R"({"dropout": 0.0})";
  const Dataset data = small_dataset(config);
  Progress quiet(Progress::Mode::kQuiet);
  config.train.member_schedule = "in_turn";
  const TrainRun in_turn = run_training(data, config, Context{}, quiet);
  config.train.member_schedule = "together";
  const TrainRun together = run_training(data, config, Context{}, quiet);
  ASSERT_EQ(together.members.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(config.train.members[i]);
    EXPECT_EQ(together.members[i].model, in_turn.members[i].model);
    EXPECT_EQ(together.members[i].epochs_run, in_turn.members[i].epochs_run);
    EXPECT_NEAR(together.members[i].best_val_loss, in_turn.members[i].best_val_loss,
                1e-4 * std::abs(in_turn.members[i].best_val_loss));
  }
  EXPECT_EQ(together.members[1].epochs_run, 2);
  EXPECT_EQ(together.gate.mode, in_turn.gate.mode);
}

TEST(TrainingRun, ResumeReloadsFinishedMembers) {
  Config config = small_config();
  config.train.members = {"linear", "gru"};
  config.train.epochs = 2;
  const Dataset data = small_dataset(config);
  const std::string dir = (std::filesystem::temp_directory_path() / ("spikecast-run-" + std::to_string(::getpid()))).string();
  Progress quiet(Progress::Mode::kQuiet);
  TrainRunOptions opts;
  opts.work_dir = dir;
  const TrainRun first = run_training(data, config, Context{}, quiet, opts);
  opts.resume = true;
  const TrainRun again = run_training(data, config, Context{}, quiet, opts);
  ASSERT_EQ(again.members.size(), 2u);
  EXPECT_TRUE(again.members[0].resumed);
  EXPECT_TRUE(again.members[1].resumed);
  EXPECT_DOUBLE_EQ(again.members[1].best_val_loss, first.members[1].best_val_loss);
  const auto pa = first.ensemble->parameters(), pb = again.ensemble->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-6, 1e-6));
  remove_tree(dir);
}

}  // namespace
}  // namespace spikecast::train
