// Training speed, memory and accuracy-per-second of one member, measured through the product's own
// trainer (train/member_trainer.h train_member): the same gather-by-index step, AdamW, schedule,
// clipping and autocast that `spikecast train` runs. Nothing here re-implements a training step.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "bench/bench_options.h"
#include "bench/memory_probe.h"
#include "tensor/context.h"

namespace spikecast::bench {

struct ThroughputResult {
  std::string member;
  int64_t parameters = 0;
  int64_t batch = 0;
  int64_t steps = 0;            // timed optimizer steps
  double samples_per_s = 0;     // windows per second over the timed epoch
  double users_epoch_s = 0;     // kUsersWindows / samples_per_s
  double train_loss = 0;        // mean loss of the timed steps (finite: the step really trained)
  MemoryReading memory;         // over warm-up and timed steps; the baseline holds the dataset

  nlohmann::json to_json() const;
};

// Two epochs of `steps` optimizer steps each over a random sample of batch * steps training
// windows: the first warms up (allocator, cuDNN plans, autocast caches), the second is timed by the
// trainer itself (EpochRecord::samples_per_s, which ends with a host read of the loss and so
// includes every queued kernel). No validation windows, so no evaluation is timed.
// `spec_override`: build the member from this spec instead of data.spec(member) (plan's widths).
// `cuda_graphs`: the trainer's train.cuda_graphs (captured steps on CUDA).
ThroughputResult measure_training(const std::string& member, const BenchData& data, int64_t batch, int64_t steps,
                                  const Context& ctx, uint64_t seed,
                                  const models::ModelSpec* spec_override = nullptr, bool cuda_graphs = true);

struct TogetherResult {
  std::vector<std::string> members;
  int64_t batch = 0;
  int64_t steps = 0;            // timed optimizer steps of each member
  double seconds = 0;           // wall time of the timed run, device synchronised
  double users_epoch_s = 0;     // one epoch of every member at kUsersWindows, side by side
  MemoryReading memory;         // all members at once

  nlohmann::json to_json() const;
};

// Every member at once, as `spikecast train` trains them on CUDA (train.member_schedule): each on
// its own host thread and CUDA stream through train_member. One untimed run of `steps` steps per
// member warms up, then a second is timed by the wall clock until every member has finished.
// Steps run eagerly: members on threads never capture CUDA graphs (src/train/training_run.cc).
TogetherResult measure_training_together(const std::vector<std::string>& members, const BenchData& data,
                                         int64_t batch, int64_t steps, const Context& ctx, uint64_t seed);

struct BudgetPoint {
  double seconds = 0;  // since the member's training began (validation passes included)
  double val_loss = 0;
  int64_t samples = 0;
};

struct BudgetResult {
  std::string member;
  int64_t batch = 0;
  double budget_s = 0;
  double best_val_loss = 0;     // MSE, scaled target, over the validation subset
  double seconds = 0;
  int64_t samples = 0;          // training windows seen
  double target_loss = 0;       // 0: none asked
  double time_to_target_s = -1; // first validation pass at or under target_loss; -1: not reached
  std::vector<BudgetPoint> curve;

  nlohmann::json to_json() const;
};

// Trains `member` from scratch for `options.budget_s` seconds of wall time at
// `options.budget_batch` (constant learning rate, no warm-up: a run that a deadline ends must
// not spend its time warming up), scoring `options.budget_val_windows` validation windows every
// `options.budget_eval_steps` steps. Fixed time, not a fixed target: see docs/performance.md.
BudgetResult measure_budget(const std::string& member, const BenchData& data, const BenchOptions& options,
                            const Context& ctx);

}  // namespace spikecast::bench
