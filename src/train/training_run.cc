#include "train/training_run.h"
#include "core/file_system.h"

#include <chrono>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "data/csv_reader.h"
#include "models/model_registry.h"
#include "tensor/side_streams.h"
#include "train/captured_step.h"
#include "train/checkpoint.h"

namespace spikecast::train {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSideBySideMinBatch = 4096;
using Clock = std::chrono::steady_clock;

nlohmann::json member_json(const MemberResult& r) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochRecord& e : r.history)
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss}, {"lr", e.lr},
                      {"seconds", e.seconds}, {"samples_per_s", e.samples_per_s}});
  return {{"model", r.model},         {"best_val_loss", r.best_val_loss}, {"best_epoch", r.best_epoch},
          {"epochs_run", r.epochs_run}, {"stopped_early", r.stopped_early}, {"stopped_by_deadline", r.stopped_by_deadline},
          {"seconds", r.seconds},     {"epochs", epochs}};
}

// A finished member's weights and result, so that a resumed run skips it.
void save_finished(const std::string& path, models::ForecasterImpl& model, const MemberResult& r) {
  torch::serialize::OutputArchive out;
  write_state(out, "model", snapshot(model));
  const std::string text = member_json(r).dump();
  out.write("result", torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                                       torch::kUInt8).clone());
  atomic_save(out, path);
}

MemberResult load_finished(const std::string& path, models::ForecasterImpl& model, const Context& ctx) {
  torch::serialize::InputArchive in;
  in.load_from(path, ctx.device);
  restore(model, read_state(in, "model", model));
  torch::Tensor t;
  in.read("result", t);
  t = t.to(torch::kCPU).contiguous();
  const auto j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()),
                                                   static_cast<size_t>(t.numel())));
  MemberResult r;
  r.model = j.at("model").get<std::string>();
  r.best_val_loss = j.at("best_val_loss").get<double>();
  r.best_epoch = j.at("best_epoch").get<int64_t>();
  r.epochs_run = j.at("epochs_run").get<int64_t>();
  r.stopped_early = j.at("stopped_early").get<bool>();
  r.stopped_by_deadline = j.at("stopped_by_deadline").get<bool>();
  r.seconds = j.at("seconds").get<double>();
  for (const auto& e : j.at("epochs")) {
    EpochRecord rec;
    rec.model = r.model;
    rec.epoch = e.at("epoch").get<int64_t>();
    rec.train_loss = e.at("train_loss").get<double>();
    rec.val_loss = e.at("val_loss").get<double>();
    rec.lr = e.at("lr").get<double>();
    rec.seconds = e.at("seconds").get<double>();
    rec.samples_per_s = e.at("samples_per_s").get<double>();
    r.history.push_back(rec);
  }
  r.resumed = true;
  return r;
}

}  // namespace

nlohmann::json member_options(const std::string& name, const Config& config, const Dataset& data) {
  nlohmann::json options = nlohmann::json::object();
  const auto it = config.model_options.find(name);
  if (it != config.model_options.end()) options = nlohmann::json::parse(it->second);
  if (name == "seasonal_naive" && !options.contains("period")) {
    const int64_t period = config.train.season_period > 0 ? config.train.season_period
                                                          : default_season_period(data.table.step_ms);
    options["period"] = std::min<int64_t>(period, config.window.input_length);
  }
  if (name == "rule") {
    options["target_mean"] = data.scaler.mean().at(0);
    options["target_std"] = data.scaler.stddev().at(0);
  }
  return options;
}

std::vector<std::string> joining_members(const TrainConfig& tc, size_t train_windows) {
  return static_cast<int64_t>(train_windows) >= tc.join_min_windows ? tc.join : std::vector<std::string>{};
}

std::vector<std::string> members_for(const TrainConfig& tc, size_t train_windows) {
  std::vector<std::string> names = tc.members;
  const std::vector<std::string> joining = joining_members(tc, train_windows);
  names.insert(names.end(), joining.begin(), joining.end());
  return names;
}

nlohmann::json TrainRun::history() const {
  nlohmann::json members_json = nlohmann::json::array();
  for (const MemberResult& r : members) members_json.push_back(member_json(r));
  nlohmann::json gate_json = {{"mode", gate.mode}, {"holdout_mse", gate.holdout_mse},
                              {"dm_statistic", gate.dm_statistic}, {"ranking", gate.ranking},
                              {"averages", gate.averages},
                              {"test_mse", gate.test_mse},
                              {"fit_windows", gate.fit_windows}, {"holdout_windows", gate.holdout_windows},
                              {"epochs", gate.epochs}};
  nlohmann::json j = {{"members", members_json}, {"gate", gate_json}, {"seconds", seconds},
                      {"stopped_by_deadline", stopped_by_deadline}, {"joined", joined}};
  if (fine_tune.epochs_run > 0) j["fine_tune"] = member_json(fine_tune);
  return j;
}

TrainRun run_training(const Dataset& data, const Config& config, const Context& ctx, Progress& progress,
                      const TrainRunOptions& options) {
  const auto t0 = Clock::now();
  const TrainConfig& tc = config.train;
  const int64_t L = config.window.input_length, H = config.window.horizon, C = data.table.num_channels();
  const DeviceData device_data(data.table, data.scaler.mean(), data.scaler.stddev(), data.spike_labels, L, H,
                               ctx.device);
  const Deadline deadline(tc.time_budget_s);
  std::string ckpt_dir;
  if (!options.work_dir.empty()) {
    ckpt_dir = (fs::path(options.work_dir) / "checkpoints").string();
    if (!options.resume && fs::exists(ckpt_dir)) remove_tree(ckpt_dir);
    fs::create_directories(ckpt_dir);
  }

  TrainRun run;
  std::vector<models::Forecaster> members;
  models::DynamicEnsembleOptions ens_options;
  ens_options.input_length = L;
  ens_options.horizon = H;
  ens_options.channels = C;
  ens_options.members.clear();
  ens_options.mode = "equal";
  const std::vector<std::string> names = members_for(tc, data.windows.train.size());
  run.joined = joining_members(tc, data.windows.train.size());
  if (!run.joined.empty()) {
    progress.event("train", join_names(run.joined) + " joins: " + std::to_string(data.windows.train.size()) +
                                " training windows >= train.join_min_windows (" + std::to_string(tc.join_min_windows) + ")");
  }
  const size_t n_members = names.size();
  // Build every member first (each from its own seed, in order: the same initial weights whichever
  // way they train), reloading those a resumed run already finished.
  std::vector<std::string> stems(n_members);
  std::vector<MemberResult> results(n_members);
  std::vector<size_t> pending;
  for (size_t i = 0; i < n_members; ++i) {
    const std::string& name = names[i];
    seed_everything(tc.seed + i);
    const nlohmann::json opts = member_options(name, config, data);
    models::Forecaster model = models::make_forecaster(name, models::ModelSpec{L, H, C, opts});
    model->to(ctx.device);
    stems[i] = ckpt_dir.empty() ? "" : (fs::path(ckpt_dir) / (std::to_string(i) + "-" + name)).string();
    if (!stems[i].empty() && options.resume && fs::exists(stems[i] + ".final.pt")) {
      results[i] = load_finished(stems[i] + ".final.pt", *model, ctx);
      progress.event("resume", name + " already trained; reloaded");
    } else {
      pending.push_back(i);
    }
    members.push_back(model);
    ens_options.members.push_back({name, model->options_json()});
  }
  // Members side by side cannot capture their steps as CUDA graphs: a capture must not overlap
  // another thread's use of the shared CUDA random generator (dropout). On CUDA, "auto" therefore
  // trains in turn with captured steps below batch 4096 and side by side (eager) from 4096, which
  // is what measured fastest on the H200 with the training kernels of recurrent_sequence_cuda.h
  // (docs/performance.md, session 11: batch 1024 13.5 s in turn against 15.8 s side by side,
  // batch 4096 6.2 s against 5.5 s; before them the switch was at 1024).
  const bool together = tc.member_schedule == "together" ||
                        (tc.member_schedule == "auto" && ctx.is_cuda() &&
                         (!CapturedStep::usable(tc, ctx) || tc.batch_size >= kSideBySideMinBatch));
  TrainConfig member_config = tc;
  if (together) member_config.cuda_graphs = false;
  const auto train_one = [&](size_t i, const Deadline& member_deadline) {
    progress.event("train", names[i] + " (" + std::to_string(models::count_parameters(*members[i])) + " parameters)");
    results[i] = train_member(*members[i], device_data, data.windows.train, data.windows.val, member_config, ctx,
                              progress, stems[i].empty() ? "" : stems[i] + ".pt", member_deadline, options.hooks);
    if (!stems[i].empty()) save_finished(stems[i] + ".final.pt", *members[i], results[i]);
  };
  if (together && pending.size() > 1) {
    // Side by side: each member on its own host thread (and CUDA stream), all sharing the budget.
    progress.event("train", std::to_string(pending.size()) + " members side by side");
    std::vector<std::function<void()>> tasks;
    for (size_t i : pending) tasks.emplace_back([&, i] { train_one(i, deadline); });
    run_on_threads(ctx.device, tasks);
  } else {
    for (size_t k = 0; k < pending.size(); ++k) {
      // Members share what is left of the budget evenly (the gate needs little).
      const double share = deadline.active() ? deadline.remaining_s() / static_cast<double>(pending.size() - k) : 0;
      train_one(pending[k], deadline.active() ? Deadline(std::max(share, 1e-3)) : Deadline());
    }
  }
  for (const MemberResult& result : results) {
    run.stopped_by_deadline = run.stopped_by_deadline || result.stopped_by_deadline;
    run.members.push_back(result);
  }

  seed_everything(tc.seed + 7919);  // the gate's initial weights and dropout: same with or without resume
  models::DynamicEnsemble base(ens_options, members);
  base->to(ctx.device);
  run.ensemble = fit_ensemble(*base, device_data, data.windows.val, tc, ctx, progress, run.gate);

  if (tc.fine_tune_epochs > 0 && !deadline.expired()) {
    TrainConfig ft = tc;
    ft.epochs = tc.fine_tune_epochs;
    ft.lr = tc.fine_tune_lr;
    ft.warmup_fraction = 0;
    run.fine_tune = train_member(*run.ensemble, device_data, data.windows.train, data.windows.val, ft, ctx,
                                 progress, "", deadline, options.hooks);
    run.fine_tune.model = "ensemble (fine-tune)";
  }
  run.ensemble->eval();
  run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return run;
}

}  // namespace spikecast::train
