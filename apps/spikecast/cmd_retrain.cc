// spikecast retrain: one daily cycle (retrain/retrainer.h), or a long-running schedule with
// --every/--at. A refusal of bad new data exits 4 (data) with the live model untouched.
#include <csignal>
#include <map>
#include <cstdio>
#include <ctime>
#include <thread>

#include "command.h"
#include "core/error.h"
#include "retrain/retrain_schedule.h"
#include "retrain/retrainer.h"

namespace spikecast::app {

std::string default_store_dir();  // cmd_ingest.cc

namespace {

struct RetrainArgs {
  retrain::RetrainOptions options;
  bool full = false;
  std::string scaler = "keep";
  std::string every;
  std::string at;
  train::Progress::Mode progress = train::Progress::Mode::kAuto;
};

class RetrainRefused : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kData; }
};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

retrain::RetrainOutcome run_once(const RetrainArgs& args, const Config& config) {
  retrain::RetrainOptions o = args.options;
  o.mode = args.full ? retrain::RetrainMode::kFull : retrain::RetrainMode::kWarm;
  if (args.scaler == "keep") o.scaler = retrain::ScalerPolicy::kKeep;
  else if (args.scaler == "refit") o.scaler = retrain::ScalerPolicy::kRefit;
  else throw ConfigError("--scaler", "must be keep or refit, got '" + args.scaler + "'");
  train::Progress progress(args.progress);
  const retrain::RetrainOutcome r = retrain::run_retrain(o, config, progress);
  std::printf("%s: %s\n  report: %s\n", r.decision.c_str(), r.reason.c_str(), r.report_path.c_str());
  if (!r.challenger.empty() && r.decision == "promoted")
    std::printf("  current: %s (was %s)\n", r.challenger.c_str(), r.champion.empty() ? "none" : r.champion.c_str());
  std::fflush(stdout);
  return r;
}

void run_retrain_command(const RetrainArgs& args, const CommonOptions& common) {
  const Config config = common.resolve();
  if (args.every.empty() && args.at.empty()) {
    const retrain::RetrainOutcome r = run_once(args, config);
    if (r.decision == "refused") throw RetrainRefused("new data refused, the live model is unchanged: " + r.reason);
    return;
  }
  retrain::Schedule schedule;
  schedule.every_s = retrain::parse_period(args.every.empty() ? "24h" : args.every);
  if (!args.at.empty()) schedule.at_minute_of_day = retrain::parse_time_of_day(args.at);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const std::time_t anchor = std::time(nullptr);
  // Without --at the first run is now; with it, at the next slot.
  std::time_t next = schedule.at_minute_of_day ? retrain::next_run(schedule, anchor, anchor) : anchor;
  while (!g_stop) {
    char when[64];
    std::tm tm{};
    localtime_r(&next, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
    std::printf("next retrain at %s\n", when);
    std::fflush(stdout);
    while (!g_stop && std::time(nullptr) < next) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (g_stop) break;
    try {
      run_once(args, config);
    } catch (const Error& e) {  // one bad night must not end the schedule
      std::fprintf(stderr, "spikecast: retrain failed: %s\n", e.what());
    }
    next = retrain::next_run(schedule, std::time(nullptr), anchor);
  }
  std::printf("stopped\n");
}

}  // namespace

Command retrain_command() {
  return {"retrain", "daily retraining: warm start (or --full) from the registry's champion, promote if better",
          [](CLI::App& sub, CommonOptions& common) {
            auto args = std::make_shared<RetrainArgs>();
            retrain::RetrainOptions& o = args->options;
            o.store_dir = default_store_dir();
            sub.add_option("--store", o.store_dir, "data store directory ($SPIKECAST_STORE)")->capture_default_str();
            sub.add_option("--registry", o.registry_dir, "model registry directory")->required();
            sub.add_flag("--full", args->full, "retrain from scratch (scaler refitted) instead of warm-starting");
            sub.add_flag("--keep-members", o.keep_members,
                         "stay warm when the data has grown enough for members to join (train.join); by default "
                         "the retrain then runs in full, which trains them");
            sub.add_option("--scaler", args->scaler, "warm start: keep the champion's scaler or refit it")
                ->capture_default_str();
            sub.add_option("--holdout-rows", o.holdout_rows, "newest rows both models are scored on")->capture_default_str();
            sub.add_option("--val-rows", o.val_rows, "rows before them for early stopping")->capture_default_str();
            sub.add_option("--replay", o.replay_windows, "older training windows replayed in a warm start")
                ->capture_default_str();
            sub.add_option("--warm-epochs", o.warm_epochs, "epochs of a warm start")->capture_default_str();
            sub.add_option("--warm-lr", o.warm_lr, "peak learning rate of a warm start")->capture_default_str();
            sub.add_option("--margin", o.margin,
                           "promote when MSE(challenger) < (1 - margin) MSE(champion); negative (>= -1) tolerates a "
                           "worse one")
                ->capture_default_str();
            sub.add_option("--max-scale-jump", o.screen.max_scale_jump, "refusal factor for new rows (0: off)")
                ->capture_default_str();
            sub.add_option("--max-discrete-levels", o.screen.max_discrete_levels,
                           "a column with at most this many distinct values may be constant over new rows")
                ->capture_default_str();
            sub.add_option("--reports", o.reports_dir, "report directory (default: <store>/reports)");
            sub.add_option("--work-dir", o.work_dir, "challenger bundle and checkpoints (default: <store>/.retrain-work)");
            sub.add_option("--every", args->every, "run as a long-running process, every period (e.g. 24h)");
            sub.add_option("--at", args->at, "first run at this local time, HH:MM (e.g. 03:00)");
            const std::map<std::string, train::Progress::Mode> modes = {
                {"auto", train::Progress::Mode::kAuto}, {"bar", train::Progress::Mode::kBar},
                {"json", train::Progress::Mode::kJson}, {"quiet", train::Progress::Mode::kQuiet}};
            sub.add_option("--progress", args->progress, "auto (bar on a terminal, JSON lines otherwise), bar, json, quiet")
                ->transform(CLI::CheckedTransformer(modes));
            common.add_config_flag(sub);
            common.add_window_flags(sub);
            common.add_train_flags(sub);
            sub.callback([args, &common] { run_retrain_command(*args, common); });
          }};
}

}  // namespace spikecast::app
