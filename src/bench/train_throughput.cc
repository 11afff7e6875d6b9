#include "bench/train_throughput.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <limits>
#include <random>

#include "bench/budget_export.h"
#include "core/error.h"
#include "models/model_registry.h"
#include "tensor/compat.h"
#include "tensor/side_streams.h"
#include "train/member_trainer.h"

namespace spikecast::bench {
namespace {

// The run's training settings (a `--config` file's [train] table, else the defaults) at the bench's
// batch and seed.
TrainConfig base_config(const BenchData& data, int64_t batch, uint64_t seed) {
  TrainConfig c = data.config.train;
  c.batch_size = batch;
  c.seed = seed;
  c.patience = std::numeric_limits<int32_t>::max();  // never stop early: the run length is the bench's
  return c;
}

// A random sample of exactly n training windows (with repeats when the data is smaller), so each
// epoch is whole batches.
std::vector<int64_t> sample_windows(const BenchData& data, int64_t n, uint64_t seed) {
  const auto& all = data.dataset.windows.train;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, all.size() - 1);
  std::vector<int64_t> windows(static_cast<size_t>(n));
  for (auto& w : windows) w = all[pick(rng)];
  return windows;
}

}  // namespace

nlohmann::json ThroughputResult::to_json() const {
  return {{"member", member},         {"parameters", parameters},       {"batch", batch},
          {"steps", steps},           {"samples_per_s", samples_per_s}, {"users_epoch_s", users_epoch_s},
          {"train_loss", train_loss}, {"memory", memory.to_json()}};
}

ThroughputResult measure_training(const std::string& member, const BenchData& data, int64_t batch, int64_t steps,
                                  const Context& ctx, uint64_t seed, const models::ModelSpec* spec_override,
                                  bool cuda_graphs) {
  const std::vector<int64_t> windows = sample_windows(data, batch * steps, seed);

  TrainConfig config = base_config(data, batch, seed);
  config.cuda_graphs = cuda_graphs;
  config.epochs = 2;
  config.max_batches_per_epoch = steps;

  MemoryProbe probe(ctx.device);
  probe.reset();
  ThroughputResult r;
  {
    models::Forecaster model = models::make_forecaster(member, spec_override ? *spec_override : data.spec(member));
    r.parameters = models::count_parameters(*model);
    train::Progress quiet(train::Progress::Mode::kQuiet);
    const train::MemberResult result =
        train::train_member(*model, *data.device_data, windows, {}, config, ctx, quiet);
    r.memory = probe.read();
    if (result.history.size() < 2)
      throw Error("bench: " + member + " ran " + std::to_string(result.history.size()) + " of 2 epochs");
    const train::EpochRecord& timed = result.history[1];
    r.samples_per_s = timed.samples_per_s;
    r.train_loss = timed.train_loss;
  }
  r.member = member;
  r.batch = batch;
  r.steps = steps;
  r.users_epoch_s = static_cast<double>(kUsersWindows) / std::max(r.samples_per_s, 1e-9);
  return r;
}

nlohmann::json TogetherResult::to_json() const {
  return {{"members", members}, {"batch", batch},     {"steps", steps}, {"seconds", seconds},
          {"users_epoch_s", users_epoch_s}, {"samples_per_s", static_cast<double>(kUsersWindows) / users_epoch_s},
          {"memory", memory.to_json()}};
}

TogetherResult measure_training_together(const std::vector<std::string>& members, const BenchData& data,
                                         int64_t batch, int64_t steps, const Context& ctx, uint64_t seed) {
  const std::vector<int64_t> windows = sample_windows(data, batch * steps, seed);
  TrainConfig config = base_config(data, batch, seed);
  config.cuda_graphs = false;
  config.epochs = 1;
  config.max_batches_per_epoch = steps;
  MemoryProbe probe(ctx.device);
  probe.reset();
  std::vector<models::Forecaster> models;
  for (const auto& m : members) models.push_back(models::make_forecaster(m, data.spec(m)));
  train::Progress quiet(train::Progress::Mode::kQuiet);
  const auto run_all = [&] {
    std::vector<std::function<void()>> tasks;
    for (auto& model : models)
      tasks.emplace_back([&] {
        const train::MemberResult r = train::train_member(*model, *data.device_data, windows, {}, config, ctx, quiet);
        if (r.history.empty()) throw Error("bench: " + r.model + " ran no epoch side by side");
      });
    run_on_threads(ctx.device, tasks);
  };
  run_all();  // warm-up: allocator, cuDNN plans, autocast caches on every thread
  const auto t0 = std::chrono::steady_clock::now();
  run_all();
  compat::synchronize(ctx.device);
  TogetherResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.memory = probe.read();
  r.members = members;
  r.batch = batch;
  r.steps = steps;
  r.users_epoch_s = r.seconds * static_cast<double>(kUsersWindows) / static_cast<double>(batch * steps);
  return r;
}

nlohmann::json BudgetResult::to_json() const {
  nlohmann::json curve_json = nlohmann::json::array();
  for (const auto& p : curve) curve_json.push_back({p.seconds, p.val_loss, p.samples});
  nlohmann::json j = {{"member", member},   {"batch", batch},     {"budget_s", budget_s},
                      {"best_val_loss", best_val_loss}, {"seconds", seconds}, {"samples", samples},
                      {"curve", curve_json}, {"curve_columns", {"seconds", "val_loss", "samples"}}};
  if (target_loss > 0) {
    j["target_loss"] = target_loss;
    j["time_to_target_s"] = time_to_target_s >= 0 ? nlohmann::json(time_to_target_s) : nlohmann::json(nullptr);
  }
  return j;
}

BudgetResult measure_budget(const std::string& member, const BenchData& data, const BenchOptions& options,
                            const Context& ctx) {
  TrainConfig config = base_config(data, options.budget_batch, options.seed);
  config.epochs = 1 << 20;  // the deadline ends the run
  config.max_batches_per_epoch = options.budget_eval_steps;
  config.schedule = "constant";
  config.warmup_fraction = 0;
  const std::vector<int64_t> val = budget_validation_windows(data, options);

  models::Forecaster model = models::make_forecaster(member, data.spec(member));
  train::Progress quiet(train::Progress::Mode::kQuiet);
  const train::MemberResult result = train::train_member(*model, *data.device_data, data.dataset.windows.train, val,
                                                         config, ctx, quiet, "", train::Deadline(options.budget_s));
  BudgetResult r;
  r.member = member;
  r.batch = config.batch_size;
  r.budget_s = options.budget_s;
  r.best_val_loss = result.best_val_loss;
  r.seconds = result.seconds;
  r.target_loss = options.target_loss;
  double t = 0;
  for (const auto& rec : result.history) {
    t += rec.seconds;
    r.samples += static_cast<int64_t>(rec.samples_per_s * rec.seconds + 0.5);
    r.curve.push_back({t, rec.val_loss, r.samples});
    if (options.target_loss > 0 && r.time_to_target_s < 0 && rec.val_loss <= options.target_loss) r.time_to_target_s = t;
  }
  return r;
}

}  // namespace spikecast::bench
