#include "bench/budget_export.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_system.h"

namespace spikecast::bench {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <typename T>
std::vector<T> read_array(const std::string& path) {
  const std::string bytes = read_file(path);
  EXPECT_EQ(bytes.size() % sizeof(T), 0u) << path;
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

// What bench/peer_budget.py reads is what the budget run trains and validates on: the resident
// series bit for bit, the training pool, the validation subset, and a window's target where the
// format says (rows [s + L, s + L + H) of channel 0).
TEST(BudgetExport, WritesTheSeriesAndWindowsTheBudgetRunUses) {
  BenchDataOptions d;
  d.rows = 700;
  d.features = 3;
  d.input_length = 24;
  d.horizon = 2;
  const BenchData data = make_bench_data(d, torch::kCPU);
  BenchOptions o;
  o.budget_val_windows = 20;
  o.budget_s = 4;
  o.budget_batch = 64;
  char tmpl[] = "/tmp/spikecast-budget-export-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/windows";  // created by the export
  export_budget_windows(data, o, dir);

  const nlohmann::json meta = nlohmann::json::parse(read_file(dir + "/meta.json"));
  const int64_t rows = meta["rows"], channels = meta["channels"];
  EXPECT_EQ(rows, 700);
  EXPECT_EQ(channels, 4);  // the target and 3 features
  EXPECT_EQ(meta["channel_names"].size(), 4u);
  EXPECT_EQ(meta["input_length"], 24);
  EXPECT_EQ(meta["horizon"], 2);
  EXPECT_EQ(meta["batch"], 64);
  EXPECT_EQ(meta["budget_s"], 4.0);

  const std::vector<float> series = read_array<float>(dir + "/series.f32");
  ASSERT_EQ(static_cast<int64_t>(series.size()), rows * channels);
  const torch::Tensor resident = data.device_data->values().contiguous();
  EXPECT_EQ(std::memcmp(series.data(), resident.data_ptr<float>(), series.size() * sizeof(float)), 0);

  const std::vector<int64_t> train = read_array<int64_t>(dir + "/train.i64");
  const std::vector<int64_t> val = read_array<int64_t>(dir + "/val.i64");
  EXPECT_EQ(train, data.dataset.windows.train);
  EXPECT_EQ(val, budget_validation_windows(data, o));
  ASSERT_EQ(val.size(), 20u);
  EXPECT_EQ(meta["train_windows"], train.size());
  EXPECT_EQ(meta["val_windows"], 20);

  const int64_t s = val[7];
  const train::WindowBatch batch = data.device_data->gather(data.device_data->index({s}));
  for (int64_t h = 0; h < 2; ++h)
    EXPECT_EQ(batch.y[0][h].item<float>(), series[static_cast<size_t>((s + 24 + h) * channels)]);
  EXPECT_EQ(batch.x[0][3][1].item<float>(), series[static_cast<size_t>((s + 3) * channels + 1)]);
  remove_tree(tmpl);
}

TEST(BudgetExport, ADirectoryThatCannotBeMadeIsAnErrorNamingIt) {
  BenchDataOptions d;
  d.rows = 300;
  d.input_length = 12;
  const BenchData data = make_bench_data(d, torch::kCPU);
  try {
    export_budget_windows(data, BenchOptions{}, "/nonexistent-spikecast-dir/windows");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-spikecast-dir/windows"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace spikecast::bench
