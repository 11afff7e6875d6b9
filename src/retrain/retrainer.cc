#include "retrain/retrainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_system.h"
#include "core/timestamp.h"
#include "data/csv_reader.h"
#include "data/scaler_json.h"
#include "data/spike_labels.h"
#include "models/model_bundle.h"
#include "registry/atomic_file.h"
#include "registry/model_registry.h"
#include "retrain/retrain_split.h"
#include "store/data_store.h"
#include "store/drift.h"
#include "train/dataset.h"
#include "train/member_trainer.h"
#include "train/model_evaluation.h"
#include "train/training_run.h"

namespace spikecast::retrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A timestamp the champion's manifest records: extra.retrain.<key> (bundles written by a retrain),
// else `fallback` (a path into extra.lineage, for bundles written by `spikecast train`).
TimestampMs champion_marker(const models::BundleManifest& m, const std::string& key, const json::json_pointer& fallback,
                            const std::string& dir) {
  std::string text;
  if (m.extra.contains("retrain") && m.extra["retrain"].contains(key)) text = m.extra["retrain"][key].get<std::string>();
  else if (m.extra.contains("lineage") && m.extra["lineage"].contains(fallback)) text = m.extra["lineage"][fallback].get<std::string>();
  const auto t = parse_timestamp(text);
  if (!t) throw ModelError("bundle '" + dir + "' records no " + key + " (extra.retrain or extra.lineage)");
  return *t;
}

json drift_json(const std::vector<store::ChannelDrift>& drift) {
  json out = json::array();
  for (const auto& d : drift)
    out.push_back({{"channel", d.channel}, {"psi", d.psi}, {"level", d.level},
                   {"reference", {{"mean", d.reference_mean}, {"std", d.reference_std}, {"count", d.reference_count}}},
                   {"new", {{"mean", d.new_mean}, {"std", d.new_std}, {"count", d.new_count}}}});
  return out;
}

json scores_json(const train::Evaluation& ev) {
  const ForecastMetrics& m = ev.scores.front().metrics;
  return {{"model", ev.scores.front().name}, {"windows", m.windows}, {"mse", m.mse}, {"mae", m.mae},
          {"mse_original", m.mse_original}, {"mae_original", m.mae_original}, {"skill", ev.scores.front().skill}};
}

json epochs_json(const train::MemberResult& r) {
  json epochs = json::array();
  for (const auto& e : r.history)
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss}, {"lr", e.lr},
                      {"seconds", e.seconds}});
  return {{"model", r.model}, {"best_val_loss", r.best_val_loss}, {"best_epoch", r.best_epoch},
          {"epochs_run", r.epochs_run}, {"stopped_by_deadline", r.stopped_by_deadline}, {"seconds", r.seconds},
          {"epochs", epochs}};
}

// <dir>/retrain-YYYYMMDDTHHMMSSZ[-n].json, never overwriting an earlier report.
std::string report_path(const std::string& dir) {
  std::string stamp;
  for (char ch : format_utc_now())
    if (ch != '-' && ch != ':') stamp += ch;
  std::string path = (fs::path(dir) / ("retrain-" + stamp + ".json")).string();
  for (int n = 2; fs::exists(path); ++n) path = (fs::path(dir) / fmt::format("retrain-{}-{}.json", stamp, n)).string();
  return path;
}

}  // namespace

const char* to_string(RetrainMode mode) { return mode == RetrainMode::kWarm ? "warm" : "full"; }
const char* to_string(ScalerPolicy policy) { return policy == ScalerPolicy::kKeep ? "keep" : "refit"; }

void RetrainOptions::validate() const {
  if (store_dir.empty()) throw ConfigError("retrain.store", "no store: pass --store DIR");
  if (registry_dir.empty()) throw ConfigError("retrain.registry", "no registry: pass --registry DIR");
  if (holdout_rows < 1) throw ConfigError("retrain.holdout_rows", fmt::format("must be >= 1, got {}", holdout_rows));
  if (val_rows < 1) throw ConfigError("retrain.val_rows", fmt::format("must be >= 1, got {}", val_rows));
  if (replay_windows < 0) throw ConfigError("retrain.replay", fmt::format("must be >= 0, got {}", replay_windows));
  if (warm_epochs < 1) throw ConfigError("retrain.warm_epochs", fmt::format("must be >= 1, got {}", warm_epochs));
  if (!(warm_lr > 0)) throw ConfigError("retrain.warm_lr", fmt::format("must be > 0, got {}", warm_lr));
  // A negative margin tolerates a challenger worse by that share (-1: promote whenever the challenger's MSE is
  // finite and below twice the champion's), for a forced roll-forward or a deterministic test.
  if (!(margin >= -1 && margin < 1))
    throw ConfigError("retrain.margin", fmt::format("must be in [-1, 1), got {}", margin));
  if (psi_bins < 2) throw ConfigError("retrain.psi_bins", fmt::format("must be >= 2, got {}", psi_bins));
  screen.validate();
}

RetrainOutcome run_retrain(const RetrainOptions& o, Config config, train::Progress& progress) {
  o.validate();
  const auto t0 = Clock::now();
  const Context ctx = make_context(config.train.device, config.train.precision);
  const std::string reports_dir = o.reports_dir.empty() ? (fs::path(o.store_dir) / "reports").string() : o.reports_dir;
  const std::string work_dir = o.work_dir.empty() ? (fs::path(o.store_dir) / ".retrain-work").string() : o.work_dir;
  RetrainMode mode = o.mode;  // a warm start turns full when members join (below)
  ScalerPolicy scaler_policy = mode == RetrainMode::kFull ? ScalerPolicy::kRefit : o.scaler;

  RetrainOutcome out;
  json& report = out.report;
  report = {{"started_at", format_utc_now()}, {"mode", to_string(mode)}, {"scaler", to_string(scaler_policy)},
            {"store", fs::absolute(o.store_dir).string()}, {"registry", fs::absolute(o.registry_dir).string()},
            {"device", ctx.device.str()}};
  const auto finish = [&](std::string decision, std::string reason) {
    out.decision = std::move(decision);
    out.reason = std::move(reason);
    report["decision"] = {{"action", out.decision}, {"reason", out.reason}, {"champion", out.champion},
                          {"challenger", out.challenger}, {"margin", o.margin}};
    report["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    fs::create_directories(reports_dir);
    out.report_path = report_path(reports_dir);
    write_file_atomic(out.report_path, report.dump(2) + "\n");
    progress.event("retrain", out.decision + ": " + out.reason + " (report " + out.report_path + ")");
    return out;
  };

  // The champion, and what it was built from.
  ModelRegistry registry(o.registry_dir);
  std::optional<models::LoadedBundle> champion;
  TimestampMs data_end = 0, trained_through = 0;
  if (const auto v = registry.current()) {
    out.champion = *v;
    const std::string dir = registry.version_dir(*v);
    champion = models::load_bundle(dir, ctx.device);
    if (!champion->manifest.extra.contains("data_settings"))
      throw ModelError("bundle '" + dir + "' has no data settings (extra.data_settings in manifest.json)");
    train::apply_data_settings(champion->manifest.extra.at("data_settings"), config);
    data_end = champion_marker(champion->manifest, "data_end", json::json_pointer("/time_end"), dir);
    trained_through =
        champion_marker(champion->manifest, "trained_through", json::json_pointer("/splits/0/train/to"), dir);
    report["champion"] = {{"version", *v}, {"data_end", format_timestamp(data_end)},
                          {"trained_through", format_timestamp(trained_through)}};
  } else if (mode == RetrainMode::kWarm) {
    throw ModelError("registry '" + o.registry_dir + "' has no current version to warm-start from; bootstrap with --full");
  }
  const int64_t L = config.window.input_length, H = config.window.horizon;

  // The data: every committed row of the store; "new" rows are those after the champion's data.
  store::DataStore data_store(o.store_dir);
  LoadReport load_report;
  std::string store_sha;
  Table table = data_store.load(&load_report, &store_sha);
  if (champion && table.channels != champion->manifest.channel_names)
    throw DataError(table.source, 0, "", "the store's channels differ from the champion's");
  const int64_t first_new = champion ? first_row_after(table, data_end) : 0;
  const RowRange fresh{first_new, table.rows()};
  report["data"] = {{"store_rows", table.rows()}, {"store_sha256", store_sha}, {"new_rows", fresh.size()}};
  if (!fresh.empty())
    report["data"]["new_time_range"] = {format_timestamp(table.time[fresh.begin]), format_timestamp(table.time.back())};
  if (champion && fresh.empty()) return finish("skipped", "no rows after " + format_timestamp(data_end));

  // Refusal rules and drift of the new rows against everything before them.
  if (champion && first_new > 0) {
    const RowRange history{0, first_new};
    report["drift"] = drift_json(store::channel_drift(table, history, fresh, o.psi_bins));
    try {
      store::screen_new_rows(table, fresh, store::profile_channels(table, history, o.screen.max_discrete_levels),
                             o.screen);
    } catch (const DataError& e) {
      return finish("refused", e.what());
    }
  }

  // The split: the newest rows held out, validation before them, training before that.
  train::Dataset data;
  data.split = holdout_split(table, o.holdout_rows, o.val_rows, L + H);
  data.windows = make_windows(table, data.split, config.window);
  if (data.windows.train.empty() || data.windows.val.empty() || data.windows.test.empty())
    throw DataError(table.source, 0, "", "the retrain split leaves a slice without a complete window");
  data.spike_labels = label_spikes(table, config.spikes);
  data.file_sha256 = store_sha;
  data.report = load_report;
  data.table = std::move(table);
  const Table& t = data.table;
  const TimestampMs new_trained_through = t.time[data.split.series[0].train.end - 1];
  report["split"] = {{"train_rows", data.split.train_rows()}, {"val_rows", data.split.val_rows()},
                     {"holdout_rows", data.split.test_rows()},
                     {"holdout_range", {format_timestamp(t.time[data.split.series[0].test.begin]), format_timestamp(t.time.back())}},
                     {"windows", {{"train", data.windows.train.size()}, {"val", data.windows.val.size()},
                                  {"test", data.windows.test.size()}}}};
  // Members the data has grown enough to add (train.join) that the champion lacks. A warm start
  // keeps the champion's members, so the retrain runs in full instead (the whole recipe, which
  // trains them), unless keep_members: then the report only names them.
  std::vector<std::string> to_join;
  if (champion)
    for (const std::string& name : train::joining_members(config.train, data.windows.train.size()))
      if (std::find(champion->manifest.members.begin(), champion->manifest.members.end(), name) ==
          champion->manifest.members.end())
        to_join.push_back(name);
  report["members_to_join"] = to_join;
  if (mode == RetrainMode::kWarm && !to_join.empty()) {
    const std::string why = fmt::format("{} joins: {} training windows >= train.join_min_windows ({})", join_names(to_join),
                                        data.windows.train.size(), config.train.join_min_windows);
    if (o.keep_members) {
      progress.event("retrain", why + "; a warm start keeps the champion's members: retrain with --full to add it");
    } else {
      mode = RetrainMode::kFull;
      scaler_policy = ScalerPolicy::kRefit;
      report["mode"] = to_string(mode);
      report["scaler"] = to_string(scaler_policy);
      report["mode_reason"] = why;
      progress.event("retrain", why + ": a full retrain instead of a warm start");
    }
  }

  StandardScaler champion_scaler;
  if (champion) from_json(champion->manifest.scaler, champion_scaler);
  if (scaler_policy == ScalerPolicy::kKeep) data.scaler = champion_scaler;
  else data.scaler.fit_train(data.table, data.split);

  // The challenger.
  models::Forecaster challenger{nullptr};
  json history;
  const auto train_start = Clock::now();
  if (mode == RetrainMode::kWarm) {
    const WarmWindows windows = warm_windows(t, data.windows.train, L, H, trained_through, o.replay_windows,
                                             config.train.seed);
    report["training"] = {{"fresh_windows", windows.fresh.size()}, {"replay_windows", windows.replay.size()}};
    if (windows.fresh.empty())
      return finish("skipped", "no training window after " + format_timestamp(trained_through) +
                                   " outside the validation and held-out slices");
    challenger = models::load_bundle(registry.version_dir(out.champion), ctx.device).model;  // its own weights
    if (o.hooks.before_training) o.hooks.before_training(*challenger);
    const train::DeviceData device_data(t, data.scaler.mean(), data.scaler.stddev(), data.spike_labels, L, H,
                                        ctx.device);
    TrainConfig tc = config.train;
    tc.epochs = o.warm_epochs;
    tc.lr = o.warm_lr;
    tc.warmup_fraction = 0;
    seed_everything(tc.seed);
    const train::Deadline deadline = tc.time_budget_s > 0 ? train::Deadline(tc.time_budget_s) : train::Deadline();
    train::MemberResult r = train::train_member(*challenger, device_data, windows.all(), data.windows.val, tc, ctx,
                                                progress, "", deadline);
    r.model = "warm start";
    challenger->eval();
    history = {{"warm_start", epochs_json(r)}};
  } else {
    report["training"] = {{"train_windows", data.windows.train.size()}};
    train::TrainRunOptions run_options;
    run_options.work_dir = work_dir;
    seed_everything(config.train.seed);
    train::TrainRun run = train::run_training(data, config, ctx, progress, run_options);
    challenger = run.ensemble.ptr();
    history = run.history();
  }
  report["training"]["seconds"] = std::chrono::duration<double>(Clock::now() - train_start).count();
  if (champion) {
    json shift = json::array();
    for (int64_t c = 0; c < t.num_channels(); ++c)
      shift.push_back({{"channel", t.channels[c]},
                       {"mean_shift_in_champion_stds", (data.scaler.mean()[c] - champion_scaler.mean()[c]) / champion_scaler.stddev()[c]},
                       {"std_ratio", data.scaler.stddev()[c] / champion_scaler.stddev()[c]}});
    report["scaler_change"] = shift;
  }

  // Both on the held-out slice, each with its own scaler; compared in the target's units.
  const train::Evaluation chal_eval = train::evaluate_model(*challenger, data, config, ctx);
  report["metrics"] = {{"challenger", scores_json(chal_eval)}};
  std::optional<train::Evaluation> champ_eval;
  if (champion) {
    train::Dataset champ_data = data;
    champ_data.scaler = champion_scaler;
    champ_eval = train::evaluate_model(*champion->model, champ_data, config, ctx);
    report["metrics"]["champion"] = scores_json(*champ_eval);
  }
  const double chal_mse = chal_eval.scores.front().metrics.mse_original;
  const double champ_mse = champ_eval ? champ_eval->scores.front().metrics.mse_original : 0;
  if (!std::isfinite(chal_mse)) return finish("kept", "the challenger's held-out MSE is not finite");
  if (champ_eval && !(chal_mse < (1 - o.margin) * champ_mse))
    return finish("kept", fmt::format("challenger MSE {:.6g} is not below (1 - {}) x champion MSE {:.6g} on the {} "
                                      "held-out windows",
                                      chal_mse, o.margin, champ_mse, chal_eval.windows.size()));

  // Promote: bundle, registry, then the `current` pointer (servers polling it pick it up).
  models::BundleInfo info;
  info.channel_names = t.channels;
  info.scaler = json(data.scaler);
  info.extra = {{"history", history},
                {"lineage", data.lineage()},
                {"data_settings", train::data_settings_json(config)},
                {"metrics", chal_eval.to_json()},
                {"retrain", {{"mode", to_string(mode)}, {"scaler", to_string(scaler_policy)},
                             {"champion", out.champion}, {"data_end", format_timestamp(t.time.back())},
                             {"trained_through", format_timestamp(new_trained_through)}}}};
  const std::string bundle_dir = (fs::path(work_dir) / "challenger").string();
  fs::create_directories(work_dir);
  models::save_bundle(bundle_dir, *challenger, info);
  out.challenger = registry.add(bundle_dir);
  remove_tree(bundle_dir);
  if (o.hooks.before_promote) o.hooks.before_promote(out.challenger);
  registry.promote(out.challenger);
  return finish("promoted", champ_eval ? fmt::format("challenger MSE {:.6g} < (1 - {}) x champion MSE {:.6g} on the {} "
                                                     "held-out windows",
                                                     chal_mse, o.margin, champ_mse, chal_eval.windows.size())
                                       : "first model of the registry (bootstrap)");
}

}  // namespace spikecast::retrain
