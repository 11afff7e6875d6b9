#include "bench/bench_run.h"

#include <gtest/gtest.h>

#include <cmath>

#include "bench/memory_probe.h"
#include "core/config_file.h"
#include "core/error.h"

namespace spikecast::bench {
namespace {

// A tiny CPU run of every phase: the document has every section, each figure is positive and
// finite, and the training really trained (finite loss), in a few seconds.
TEST(BenchRun, TinyCpuRunFillsEveryPhase) {
  BenchOptions o;
  o.members = {"rule", "lstm"};
  o.batches = {8};
  o.rows = 1500;
  o.input_length = 24;
  o.steps = 2;
  o.budget_s = 0.3;
  o.budget_batch = 16;
  o.budget_eval_steps = 5;
  o.budget_val_windows = 50;
  o.target_loss = 100;  // reached at the first validation pass
  o.latency_batches = {1, 4};
  o.latency_runs = 5;
  o.throughput_batches = {32};
  o.matmul_size = 64;
  const nlohmann::json d = run_bench(o, Context{}, nullptr);
  EXPECT_TRUE(d["errors"].empty()) << d["errors"].dump();
  EXPECT_EQ(d["device"], "cpu");
  ASSERT_EQ(d["train"].size(), 2u);
  for (const auto& r : d["train"]) {
    EXPECT_GT(r["samples_per_s"].get<double>(), 0);
    EXPECT_TRUE(std::isfinite(r["train_loss"].get<double>()));
    EXPECT_EQ(r["memory"]["kind"], "cpu_peak_rss");
    EXPECT_NEAR(r["users_epoch_s"].get<double>() * r["samples_per_s"].get<double>(), kUsersWindows, 1.0);
  }
  const double sum = d["train"][0]["users_epoch_s"].get<double>() + d["train"][1]["users_epoch_s"].get<double>();
  EXPECT_NEAR(d["train_all_members"]["8"]["users_epoch_s"].get<double>(), sum, 1e-9 * sum);
  ASSERT_EQ(d["budget"].size(), 2u);
  for (const auto& r : d["budget"]) {
    EXPECT_GT(r["samples"].get<int64_t>(), 0);
    EXPECT_FALSE(r["curve"].empty());
    EXPECT_FALSE(r["time_to_target_s"].is_null());
  }
  ASSERT_EQ(d["latency"].size(), 2u);
  EXPECT_LE(d["latency"][0]["p50_ms"].get<double>(), d["latency"][0]["p99_ms"].get<double>());
  EXPECT_GT(d["throughput"][0]["windows_per_s"].get<double>(), 0);
  EXPECT_GT(d["matmul_tflops"]["tflops"].get<double>(), 0);
  EXPECT_GT(d["flops"]["floor_epoch_s_users"].get<double>(), 0);
  const std::string table = bench_table(d);
  EXPECT_NE(table.find("members in turn"), std::string::npos);
  EXPECT_NE(table.find("(RSS)"), std::string::npos);
}

// The peer's window shape (its target among 12 channels) and a model configuration from a file: the
// data keeps the target and the first 11 features, and the members are built with the file's
// options (a dropout-free lstm has the same parameters but trains to a different loss).
TEST(BenchRun, FeaturesAndConfigShapeWhatIsMeasured) {
  BenchOptions o;
  o.members = {"lstm"};
  o.batches = {8};
  o.rows = 1500;
  o.input_length = 24;
  o.steps = 2;
  o.phases = {"train"};
  o.features = 11;
  const nlohmann::json with_dropout = run_bench(o, Context{}, nullptr);
  EXPECT_EQ(with_dropout["data"]["channels"], 12);
  EXPECT_EQ(with_dropout["data"]["features"], 11);
  o.features = 12;
  EXPECT_EQ(run_bench(o, Context{}, nullptr)["data"]["channels"], 13);
  o.features = 11;
  apply_config_text("[models.lstm]\ndropout = 0.0\n", "test", o.base);
  const nlohmann::json without = run_bench(o, Context{}, nullptr);
  EXPECT_EQ(without["model_options"]["lstm"], o.base.model_options.at("lstm"));
  EXPECT_EQ(without["train"][0]["parameters"], with_dropout["train"][0]["parameters"]);
  EXPECT_NE(without["train"][0]["train_loss"].get<double>(), with_dropout["train"][0]["train_loss"].get<double>());
  o.features = 13;
  EXPECT_THROW(o.validate(), ConfigError);
}

TEST(BenchRun, OptionsNameTheBadField) {
  BenchOptions o;
  o.members = {"nope"};
  try {
    o.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "bench.members");
  }
  o = BenchOptions();
  o.phases = {"train", "warp"};
  EXPECT_THROW(o.validate(), ConfigError);
  o = BenchOptions();
  o.rows = 50;
  EXPECT_THROW(o.validate(), ConfigError);
}

TEST(MemoryProbe, CpuPeakRssSeesAnAllocation) {
  MemoryProbe probe(torch::kCPU);
  probe.reset();
  {
    torch::Tensor t = torch::ones({64 << 20}, torch::kUInt8);  // 64 MiB, touched
    EXPECT_EQ(t.sum().item<int64_t>(), 64 << 20);
  }
  const MemoryReading r = probe.read();
  ASSERT_EQ(r.kind, "cpu_peak_rss");
  EXPECT_FALSE(r.peak_is_lifetime);
  EXPECT_GE(r.phase_bytes(), 60 << 20);
}

}  // namespace
}  // namespace spikecast::bench
