// The fixed-budget run's data for another trainer: the scaled series and the start rows of the
// training and validation windows exactly as measure_budget() uses them, so that the PyTorch peer
// (bench/peer_budget.py) trains and validates on the same windows, bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "bench/bench_options.h"

namespace spikecast::bench {

// The validation windows of the budget run: `options.budget_val_windows` spread evenly over the
// validation split.
std::vector<int64_t> budget_validation_windows(const BenchData& data, const BenchOptions& options);

// Writes into `dir` (created if missing):
//   series.f32  the scaled series, rows x channels float32, row-major, little-endian; channel 0 is
//               the target (the training split's scaler applied, as the trainer holds it)
//   train.i64   start rows of the training windows (int64), the budget run's training pool
//   val.i64     start rows of its validation windows (int64)
//   meta.json   rows, channels, channel names, input_length, horizon, the counts above and the
//               budget run's settings (budget_s, batch, eval_steps)
// A window starting at s has inputs rows [s, s + L) and targets rows [s + L, s + L + H) of channel 0.
// Error naming the file when one cannot be written.
void export_budget_windows(const BenchData& data, const BenchOptions& options, const std::string& dir);

}  // namespace spikecast::bench
