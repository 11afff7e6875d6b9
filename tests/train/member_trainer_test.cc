#include "train/member_trainer.h"
#include "core/file_system.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "models/model_registry.h"
#include "train/checkpoint.h"
#include "train_fixture.h"

namespace spikecast::train {
namespace {

using testing::device_data;
using testing::small_config;
using testing::small_dataset;

models::Forecaster make(const std::string& name, const Config& c, nlohmann::json options = nlohmann::json::object()) {
  torch::manual_seed(11);
  return models::make_forecaster(name, models::ModelSpec{c.window.input_length, c.window.horizon, 13, options});
}

double max_abs_diff(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

struct SimulatedKill {};

class MemberTrainerTest : public ::testing::Test {
 protected:
  Config config = small_config();
  Dataset data = small_dataset(config);
  DeviceData dd = device_data(data, config);
  Context ctx;
  Progress quiet{Progress::Mode::kQuiet};
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("spikecast-train-" + std::to_string(::getpid()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                        .string();
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { remove_tree(dir); }
};

TEST_F(MemberTrainerTest, TrainingLowersValidationLoss) {
  auto model = make("gru", config);
  const double before = validation_mse(*model, dd, data.windows.val, ctx);
  const MemberResult r = train_member(*model, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
  const double after = validation_mse(*model, dd, data.windows.val, ctx);
  EXPECT_EQ(r.epochs_run, 3);
  EXPECT_LT(after, 0.9 * before) << "before " << before << " after " << after;
  EXPECT_NEAR(after, r.best_val_loss, 1e-5 * std::max(1.0, after));
}

TEST_F(MemberTrainerTest, EarlyStoppingRestoresTheBestWeights) {
  // A learning rate far too high makes the validation loss jump around, so the last epoch is
  // rarely the best; patience 1 stops after two epochs without improvement.
  config.train.lr = 0.2;
  config.train.epochs = 12;
  config.train.patience = 1;
  config.train.schedule = "constant";
  auto model = make("lstm", config);
  const MemberResult r = train_member(*model, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
  double best = 1e300;
  int64_t best_epoch = 0;
  for (const auto& e : r.history)
    if (e.val_loss < best) best = e.val_loss, best_epoch = e.epoch;
  EXPECT_TRUE(r.stopped_early || r.epochs_run == 12);
  EXPECT_EQ(r.best_epoch, best_epoch);
  EXPECT_NEAR(validation_mse(*model, dd, data.windows.val, ctx), best, 1e-6 * std::max(1.0, best));
}

TEST_F(MemberTrainerTest, ResumeAfterAKillReproducesTheUninterruptedRun) {
  config.train.epochs = 4;
  const std::string ckpt_a = dir + "/a.pt", ckpt_b = dir + "/b.pt";
  auto uninterrupted = make("cnn_lstm", config);
  train_member(*uninterrupted, dd, data.windows.train, data.windows.val, config.train, ctx, quiet, ckpt_a);

  auto killed = make("cnn_lstm", config);
  TrainHooks kill_after_2;
  kill_after_2.after_checkpoint = [](const std::string&, int64_t epoch) {
    if (epoch == 2) throw SimulatedKill{};
  };
  EXPECT_THROW(train_member(*killed, dd, data.windows.train, data.windows.val, config.train, ctx, quiet, ckpt_b,
                            Deadline(), kill_after_2),
               SimulatedKill);
  // A fresh process: a newly built model (other initial weights) resumes from the checkpoint.
  torch::manual_seed(999);
  auto resumed = models::make_forecaster("cnn_lstm", killed->spec());
  const MemberResult r = train_member(*resumed, dd, data.windows.train, data.windows.val, config.train, ctx, quiet, ckpt_b);
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.history.size(), 4u);
  EXPECT_LT(max_abs_diff(*uninterrupted, *resumed), 1e-6);
}

TEST_F(MemberTrainerTest, AccumulationEqualsOneLargeBatch) {
  config.train.epochs = 1;
  config.train.max_batches_per_epoch = 2;
  config.train.batch_size = 32;
  config.train.clip_norm = 0;
  const nlohmann::json no_dropout = {{"dropout", 0.0}};
  auto one = make("lstm", config, no_dropout);
  train_member(*one, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
  config.train.accumulation = 4;
  auto accumulated = make("lstm", config, no_dropout);
  train_member(*accumulated, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
  EXPECT_LT(max_abs_diff(*one, *accumulated), 2e-5);
  // And the two differ from an untrained model, so the comparison means something.
  auto untrained = make("lstm", config, no_dropout);
  EXPECT_GT(max_abs_diff(*one, *untrained), 1e-4);
}

TEST_F(MemberTrainerTest, TimeBudgetStopsTrainingWithTheBestWeights) {
  config.train.epochs = 100000;
  config.train.max_batches_per_epoch = 0;
  auto model = make("gru", config);
  const auto t0 = std::chrono::steady_clock::now();
  const MemberResult r = train_member(*model, dd, data.windows.train, data.windows.val, config.train, ctx, quiet, "",
                                      Deadline(1.0));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.stopped_by_deadline);
  EXPECT_LT(r.epochs_run, 100000);
  EXPECT_LT(seconds, 30.0);  // one validation pass past the deadline at most, not 100000 epochs
  if (r.best_epoch > 0)
    EXPECT_NEAR(validation_mse(*model, dd, data.windows.val, ctx), r.best_val_loss, 1e-6 * std::max(1.0, r.best_val_loss));
}

TEST_F(MemberTrainerTest, ModelsWithoutParametersOnlyReportTheirValidationLoss) {
  auto model = make("repeat_last", config);
  const MemberResult r = train_member(*model, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
  EXPECT_EQ(r.epochs_run, 0);
  EXPECT_NEAR(r.best_val_loss, validation_mse(*model, dd, data.windows.val, ctx), 1e-9);
}

TEST_F(MemberTrainerTest, DeviceDataGathersTheSameWindowsAsTheTable) {
  const std::vector<int64_t> starts = {data.windows.train.front(), data.windows.val.back(), data.windows.test[5]};
  const WindowBatch b = dd.gather(dd.index(starts));
  const int64_t L = config.window.input_length, H = config.window.horizon, C = data.table.num_channels();
  for (size_t i = 0; i < starts.size(); ++i) {
    for (int64_t t = 0; t < L; ++t)
      for (int64_t c = 0; c < C; ++c) {
        const double expect = (data.table.at(starts[i] + t, c) - data.scaler.mean()[c]) / data.scaler.stddev()[c];
        ASSERT_NEAR(b.x[static_cast<int64_t>(i)][t][c].item<double>(), expect, 1e-4);
      }
    int64_t spike = 0;
    for (int64_t h = 0; h < H; ++h) {
      const double expect = (data.table.at(starts[i] + L + h, 0) - data.scaler.mean()[0]) / data.scaler.stddev()[0];
      EXPECT_NEAR(b.y[static_cast<int64_t>(i)][h].item<double>(), expect, 1e-4);
      spike |= data.spike_labels[starts[i] + L + h];
    }
    EXPECT_EQ(b.spike[static_cast<int64_t>(i)].item<float>(), static_cast<float>(spike));
  }
}

// Without spike labels or filled rows the device keeps no prefix sums and every window counts 0; with
// them, each window's counts come from its own rows.
TEST(DeviceDataTest, CountsFilledRowsAndSpikesPerWindow) {
  Table t;
  t.channels = {"y", "x"};
  for (int64_t r = 0; r < 12; ++r) {
    t.values.push_back(static_cast<float>(r));
    t.values.push_back(static_cast<float>(2 * r));
    t.time.push_back(r * 1000);
  }
  t.source_line.assign(12, 0);
  t.filled.assign(12, 0);
  const std::vector<double> mean{0, 0}, stddev{1, 1};
  const DeviceData plain(t, mean, stddev, {}, 4, 2, torch::kCPU);
  const WindowBatch p = plain.gather(plain.index({0, 3, 6}));
  EXPECT_EQ(p.filled_fraction.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(p.filled_fraction.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(p.spike.abs().sum().item<double>(), 0.0);

  t.filled[1] = t.filled[2] = 1;       // inside the first window's input rows 0..3 only
  std::vector<uint8_t> spikes(12, 0);
  spikes[8] = 1;                       // the target rows of the window starting at 3 (7..8)
  const DeviceData marked(t, mean, stddev, spikes, 4, 2, torch::kCPU);
  const WindowBatch m = marked.gather(marked.index({0, 3, 6}));
  EXPECT_FLOAT_EQ(m.filled_fraction[0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(m.filled_fraction[1].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(m.spike[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(m.spike[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(m.spike[2].item<float>(), 0.0f);
}

// The spike labels are kept as one bit a row: every window's flag (any label among its H target rows)
// must be the one the labels give, across byte boundaries, and the device must hold the bits, not a
// float per row.
TEST(DeviceDataTest, SpikeBitsFlagEveryWindowLikeTheLabels) {
  Table t;
  t.channels = {"y", "a", "b"};
  const int64_t rows = 203, L = 5, H = 3;
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < 3; ++c) t.values.push_back(static_cast<float>(r * 3 + c));
    t.time.push_back(r * 1000);
  }
  t.source_line.assign(rows, 0);
  t.filled.assign(rows, 0);
  std::vector<uint8_t> spikes(rows, 0);
  uint64_t z = 12345;
  for (auto& s : spikes) {
    z = z * 6364136223846793005ULL + 1442695040888963407ULL;
    s = (z >> 60) == 0 ? 1 : 0;  // about 1 row in 16
  }
  spikes[7] = spikes[8] = 1;  // a byte boundary
  const std::vector<double> mean{0, 0, 0}, stddev{1, 1, 1};
  const DeviceData dd(t, mean, stddev, spikes, L, H, torch::kCPU);
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + L + H <= rows; ++s) starts.push_back(s);
  const WindowBatch b = dd.gather(dd.index(starts));
  int64_t flagged = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    int expect = 0;
    for (int64_t h = 0; h < H; ++h) expect |= spikes[static_cast<size_t>(starts[i] + L + h)];
    flagged += expect;
    ASSERT_EQ(b.spike[static_cast<int64_t>(i)].item<float>(), static_cast<float>(expect)) << "window " << starts[i];
  }
  EXPECT_GT(flagged, 10);
  EXPECT_LT(flagged, static_cast<int64_t>(starts.size()));
  // The series, the bits ((rows + 7) / 8 bytes) and the two int64 step ranges; no filled rows here.
  EXPECT_EQ(dd.resident_bytes(), rows * 3 * 4 + (rows + 7) / 8 + (L + H) * 8);
  const DeviceData none(t, mean, stddev, {}, L, H, torch::kCPU);
  EXPECT_EQ(none.resident_bytes(), rows * 3 * 4 + (L + H) * 8);
}

// The best-weights snapshot lives on the host and is a copy, not a view of the parameters.
TEST(CheckpointTest, SnapshotIsAHostCopy) {
  torch::manual_seed(3);
  torch::nn::Linear a(4, 3), b(4, 3);
  const StateDict s = snapshot(*a);
  for (const auto& [name, value] : s) EXPECT_TRUE(value.device().is_cpu()) << name;
  const torch::Tensor w = a->weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    a->weight.add_(1.0);
  }
  restore(*b, s);
  EXPECT_TRUE(torch::equal(b->weight, w));
  restore(*a, s);
  EXPECT_TRUE(torch::equal(a->weight, w));
}

}  // namespace
}  // namespace spikecast::train
