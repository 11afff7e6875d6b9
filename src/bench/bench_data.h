// The data every bench phase uses: the seeded generator's series at the chosen scale, prepared as
// `spikecast train` prepares it (split, windows, scaler, spike labels) and made resident on the
// device once, as the trainer keeps it (train/device_data.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_options.h"
#include "core/config.h"
#include "models/forecaster.h"
#include "train/dataset.h"
#include "train/device_data.h"

namespace spikecast::bench {

struct BenchData {
  Config config;  // the settings the dataset was prepared with (window, split, spikes)
  train::Dataset dataset;
  std::unique_ptr<train::DeviceData> device_data;
  double prepare_s = 0;  // generate + prepare + copy to the device

  int64_t channels() const { return dataset.table.num_channels(); }
  // The spec (L, H, C, options) of member `name` as `spikecast train` would build it.
  models::ModelSpec spec(const std::string& name) const;
  // Up to `n` windows spread evenly over `from` (deterministic).
  static std::vector<int64_t> spread(const std::vector<int64_t>& from, int64_t n);
};

// What the bench data is made of. `base` carries the model options and training settings the
// members are built and trained with (a `--config` file); rows, seed and window are set from here.
struct BenchDataOptions {
  int64_t rows = 0;                         // generated rows
  int64_t features = kGeneratedFeatures;    // features kept as inputs besides the target, 0..12
  int64_t input_length = 100;               // L
  int64_t horizon = 1;                      // H
  uint64_t seed = 1;
  Config base;
};

// Generates the rows and prepares them for windows of L x H on `device`. With `features` below 12
// only the first `features` feature channels are kept: 11 gives the peer's windows of 100 x 12 (its
// target is one of its 12 channels), where the users' 12 features plus the target make 13.
BenchData make_bench_data(const BenchDataOptions& options, torch::Device device);

// Bytes the trainer keeps resident on the device for `rows` rows of `channels` channels and
// `train_windows` training windows: the scaled matrix (float32), the spike labels (one bit a row;
// data with gaps adds float32 prefix sums of the filled rows, rows + 1; data without labels drops the
// bits) and one epoch's order of start rows (int32). train/device_data.h + member_trainer.cc.
int64_t resident_dataset_bytes(int64_t rows, int64_t channels, int64_t train_windows);

}  // namespace spikecast::bench
