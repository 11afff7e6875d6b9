// Ensemble inference: latency at small batches (p50/p99 over many synchronised runs after warm-up)
// and throughput at large ones, through the model's own forward under no-grad and the context's
// autocast, as the server and the scorer call it. Also the device's matrix rate (one big GEMM).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "bench/bench_data.h"
#include "bench/memory_probe.h"
#include "models/forecaster.h"
#include "tensor/context.h"

namespace spikecast::bench {

struct LatencyResult {
  int64_t batch = 0;
  int64_t runs = 0;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0, min_ms = 0;
  double windows_per_s = 0;  // batch / p50
  MemoryReading memory;      // inference peak; the baseline holds the dataset and the weights

  nlohmann::json to_json() const;
};

// The ensemble of `members` (gated, as `spikecast train` builds it) over the data's shape.
models::Forecaster make_bench_ensemble(const std::vector<std::string>& members, const BenchData& data);

// Times `runs` forwards of `batch` validation windows (warm-up runs / 10 + 3 first). Each run is
// bracketed by device synchronisation. `graphed` (CUDA): the forward is captured once as a CUDA
// graph and each run replays it and copies the forecast to the host, as `serve` does
// (tensor/graphed_call.h).
LatencyResult measure_latency(models::ForecasterImpl& model, const BenchData& data, int64_t batch, int64_t runs,
                              const Context& ctx, bool graphed = false);

// Percentile q in [0, 1] of `values` (nearest rank, as the peer computes it).
double percentile(std::vector<double> values, double q);

struct MatmulRate {
  int64_t n = 0;
  std::string dtype;
  double tflops = 0;  // 2 n^3 / seconds, median of the timed runs
};
// bf16 on CUDA (fp32 when the context is fp32), fp32 on the CPU.
MatmulRate measure_matmul(const Context& ctx, int64_t n);

}  // namespace spikecast::bench
