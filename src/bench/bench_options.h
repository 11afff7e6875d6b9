// What `spikecast bench` and `spikecast plan` measure, and at what scale. One struct, one
// validate() that names the bad field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace spikecast::bench {

// The users' scale: 781,163 windows of 100 steps x 12 features (+ the target channel; the peer's
// windows are 100 x 12 with its target among the 12: `features = 11`).
constexpr int64_t kUsersWindows = 781163;
constexpr int64_t kUsersInputLength = 100;
// The generator's features; the bench keeps the first `features` of them beside the target.
constexpr int64_t kGeneratedFeatures = 12;

struct BenchOptions {
  std::vector<std::string> members = {"lstm", "gru", "cnn_lstm", "spike", "rule"};
  std::vector<int64_t> batches = {32, 1024};  // training batch sizes
  int64_t rows = 0;               // generated rows; 0 = the users' scale (kUsersWindows + L + H - 1)
  int64_t input_length = kUsersInputLength;  // L
  int64_t horizon = 1;            // H
  int64_t features = kGeneratedFeatures;  // generated features kept as inputs besides the target, 0..12
  int64_t steps = 30;             // timed optimizer steps per (member, batch), after as many untimed
  double budget_s = 15;           // per member: training time of the fixed-budget validation run; 0 = skip
  int64_t budget_batch = 1024;    // batch size of that run
  int64_t budget_eval_steps = 200;   // optimizer steps between validation passes in that run
  int64_t budget_val_windows = 20000;  // validation windows scored per pass (evenly spaced subset)
  std::string budget_export;      // directory for that run's series and windows (budget_export.h); empty = none
  double target_loss = 0;         // also report when the validation MSE first reaches this; 0 = none
  std::vector<int64_t> latency_batches = {1, 32, 1000};
  int64_t latency_runs = 200;     // timed forwards per latency batch below 1000 (a tenth from 1000 up)
  std::vector<int64_t> throughput_batches = {8192};  // large-batch inference windows/s
  int64_t matmul_size = 8192;     // n of the n x n x n GEMM that measures the matrix rate
  std::vector<std::string> phases = {"matmul", "train", "budget", "latency"};
  uint64_t seed = 1;
  Config base;                    // model options and training settings (`--config FILE`)
  bool cuda_graphs = true;        // training steps captured as CUDA graphs, as `spikecast train` does

  // Rows the generator makes: `rows`, or the users' scale when 0.
  int64_t resolved_rows() const;
  bool has_phase(const std::string& phase) const;
  // ConfigError naming the field (e.g. "bench.batches") when a value is out of range.
  void validate() const;
};

}  // namespace spikecast::bench
