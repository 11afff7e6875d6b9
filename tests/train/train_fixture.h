// Small generator data and a config for training tests: seconds on 2 CPU cores.
#pragma once

#include "core/config.h"
#include "data/generator.h"
#include "train/dataset.h"
#include "train/device_data.h"

namespace spikecast::train::testing {

inline Config small_config() {
  Config c;
  c.generator.rows = 1500;
  c.generator.seed = 7;
  c.window.input_length = 24;
  c.window.horizon = 4;
  c.train.batch_size = 32;
  c.train.epochs = 3;
  c.train.max_batches_per_epoch = 8;
  c.train.patience = 100;
  c.train.seed = 3;
  c.train.lr = 3e-3;
  return c;
}

inline Dataset small_dataset(const Config& c) {
  GeneratedData g = generate(c.generator);
  return prepare_dataset(std::move(g.table), c);
}

inline DeviceData device_data(const Dataset& d, const Config& c, torch::Device device = torch::kCPU) {
  return DeviceData(d.table, d.scaler.mean(), d.scaler.stddev(), d.spike_labels, c.window.input_length,
                    c.window.horizon, device);
}

}  // namespace spikecast::train::testing
