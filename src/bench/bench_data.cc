#include "bench/bench_data.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "data/generator.h"
#include "train/training_run.h"

namespace spikecast::bench {

models::ModelSpec BenchData::spec(const std::string& name) const {
  return models::ModelSpec{config.window.input_length, config.window.horizon, channels(),
                           train::member_options(name, config, dataset)};
}

std::vector<int64_t> BenchData::spread(const std::vector<int64_t>& from, int64_t n) {
  const int64_t total = static_cast<int64_t>(from.size());
  if (n >= total) return from;
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(from[static_cast<size_t>(i * total / n)]);
  return out;
}

namespace {

// Keeps the target and the first `features` feature channels of `table`.
void keep_leading_features(Table& table, int64_t features) {
  const int64_t from = table.num_channels(), to = 1 + features;
  if (to >= from) return;
  std::vector<float> values(static_cast<size_t>(table.rows() * to));
  for (int64_t r = 0; r < table.rows(); ++r)
    std::copy_n(table.values.begin() + r * from, to, values.begin() + r * to);
  table.values = std::move(values);
  table.channels.resize(static_cast<size_t>(to));
}

}  // namespace

BenchData make_bench_data(const BenchDataOptions& o, torch::Device device) {
  if (o.features < 0 || o.features > kGeneratedFeatures)
    throw ConfigError("bench.features", "0..12 (the generator's features kept), got " + std::to_string(o.features));
  const auto t0 = std::chrono::steady_clock::now();
  BenchData d;
  d.config = o.base;
  d.config.generator.rows = o.rows;
  d.config.generator.seed = o.seed;
  d.config.window.input_length = o.input_length;
  d.config.window.horizon = o.horizon;
  d.config.generator.validate();
  d.config.window.validate();
  GeneratedData generated = generate(d.config.generator);
  keep_leading_features(generated.table, o.features);
  d.dataset = train::prepare_dataset(std::move(generated.table), d.config);
  d.device_data = std::make_unique<train::DeviceData>(d.dataset.table, d.dataset.scaler.mean(),
                                                      d.dataset.scaler.stddev(), d.dataset.spike_labels,
                                                      o.input_length, o.horizon, device);
  d.prepare_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

int64_t resident_dataset_bytes(int64_t rows, int64_t channels, int64_t train_windows) {
  // The series, the spike labels (one bit a row; data with gaps adds float32 prefix sums of the
  // filled rows) and one epoch's window order (int32).
  return rows * channels * 4 + (rows + 7) / 8 + train_windows * 4;
}

}  // namespace spikecast::bench
