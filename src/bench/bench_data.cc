#include "bench/bench_data.h"

#include <chrono>

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

BenchData make_bench_data(int64_t rows, int64_t input_length, int64_t horizon, uint64_t seed, torch::Device device) {
  const auto t0 = std::chrono::steady_clock::now();
  BenchData d;
  d.config.generator.rows = rows;
  d.config.generator.seed = seed;
  d.config.window.input_length = input_length;
  d.config.window.horizon = horizon;
  d.config.generator.validate();
  d.config.window.validate();
  GeneratedData generated = generate(d.config.generator);
  d.dataset = train::prepare_dataset(std::move(generated.table), d.config);
  d.device_data = std::make_unique<train::DeviceData>(d.dataset.table, d.dataset.scaler.mean(),
                                                      d.dataset.scaler.stddev(), d.dataset.spike_labels,
                                                      input_length, horizon, device);
  d.prepare_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

int64_t resident_dataset_bytes(int64_t rows, int64_t channels, int64_t train_windows) {
  // The series, the spike labels (one bit a row; data with gaps adds float32 prefix sums of the
  // filled rows) and one epoch's window order (int32).
  return rows * channels * 4 + (rows + 7) / 8 + train_windows * 4;
}

}  // namespace spikecast::bench
