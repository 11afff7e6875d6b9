#include "bench/bench_options.h"

#include <algorithm>

#include "core/error.h"
#include "models/model_registry.h"

namespace spikecast::bench {

int64_t BenchOptions::resolved_rows() const { return rows > 0 ? rows : kUsersWindows + input_length + horizon - 1; }

bool BenchOptions::has_phase(const std::string& phase) const {
  return std::find(phases.begin(), phases.end(), phase) != phases.end();
}

void BenchOptions::validate() const {
  if (members.empty()) throw ConfigError("bench.members", "at least one member");
  const auto known = models::forecaster_names();
  for (const auto& m : members)
    if (m == "ensemble" || std::find(known.begin(), known.end(), m) == known.end())
      throw ConfigError("bench.members", "unknown member '" + m + "'");
  if (batches.empty()) throw ConfigError("bench.batches", "at least one batch size");
  for (int64_t b : batches)
    if (b < 1 || b > (1 << 20)) throw ConfigError("bench.batches", "each in 1..1048576, got " + std::to_string(b));
  if (input_length < 2 || horizon < 1) throw ConfigError("bench.window", "L >= 2 and H >= 1");
  // The split needs complete windows in train, validation and test (70/10/20).
  const int64_t min_rows = 10 * (input_length + horizon) + 100;
  if (rows != 0 && rows < min_rows)
    throw ConfigError("bench.rows", "at least " + std::to_string(min_rows) + " (or 0 for the users' scale), got " +
                                        std::to_string(rows));
  if (features < 0 || features > kGeneratedFeatures)
    throw ConfigError("bench.features", "0.." + std::to_string(kGeneratedFeatures) + ", got " + std::to_string(features));
  if (steps < 1) throw ConfigError("bench.steps", "at least 1");
  if (budget_s < 0) throw ConfigError("bench.budget_s", "0 (skip) or more");
  if (budget_batch < 1) throw ConfigError("bench.budget_batch", "at least 1");
  if (budget_eval_steps < 1) throw ConfigError("bench.budget_eval_steps", "at least 1");
  if (budget_val_windows < 1) throw ConfigError("bench.budget_val_windows", "at least 1");
  if (target_loss < 0) throw ConfigError("bench.target_loss", "0 (none) or more");
  for (int64_t b : latency_batches)
    if (b < 1) throw ConfigError("bench.latency_batches", "each at least 1");
  for (int64_t b : throughput_batches)
    if (b < 1) throw ConfigError("bench.throughput_batches", "each at least 1");
  if (latency_runs < 1) throw ConfigError("bench.latency_runs", "at least 1");
  if (matmul_size < 16) throw ConfigError("bench.matmul_size", "at least 16");
  static const std::vector<std::string> kPhases = {"matmul", "train", "budget", "latency"};
  for (const auto& p : phases)
    if (std::find(kPhases.begin(), kPhases.end(), p) == kPhases.end())
      throw ConfigError("bench.phases", "unknown phase '" + p + "' (matmul, train, budget, latency)");
}

}  // namespace spikecast::bench
