// spikecast train: the users' recipe on a CSV, written as a model bundle.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "model_io.h"
#include "train/ensemble_trainer.h"
#include "train/progress.h"
#include "train/seed_summary.h"

namespace spikecast::app {
namespace {

struct TrainArgs {
  std::string data;
  std::string out = "spikecast-model";
  std::string work_dir;
  bool resume = false;
  std::string progress = "auto";
  int64_t seeds = 1;
};

train::Progress::Mode progress_mode(const std::string& s) {
  if (s == "auto") return train::Progress::Mode::kAuto;
  if (s == "bar") return train::Progress::Mode::kBar;
  if (s == "json") return train::Progress::Mode::kJson;
  if (s == "quiet") return train::Progress::Mode::kQuiet;
  throw ConfigError("--progress", "must be auto, bar, json or quiet, got '" + s + "'");
}

void run_train(const TrainArgs& args, const CommonOptions& common) {
  CommonOptions opts = common;
  if (!args.data.empty()) opts.data_path = args.data;
  Config config = opts.resolve();
  if (config.data.path.empty()) throw ConfigError("data.path", "no data: pass --data FILE or set [data] path");
  const Context ctx = make_context(config.train.device, config.train.precision);
  train::Progress progress(progress_mode(args.progress));
  progress.event("data", "loading " + config.data.path);
  const train::Dataset data = train::load_dataset(config);
  progress.event("data", std::to_string(data.table.rows()) + " rows, " + std::to_string(data.table.num_channels()) +
                             " channels; windows train " + std::to_string(data.windows.train.size()) + ", val " +
                             std::to_string(data.windows.val.size()) + ", test " +
                             std::to_string(data.windows.test.size()) + "; device " + ctx.device.str() + " " +
                             to_string(ctx.precision));
  const std::string work_dir = args.work_dir.empty() ? args.out + ".work" : args.work_dir;
  if (args.seeds < 1) throw ConfigError("--seeds", "must be >= 1, got " + std::to_string(args.seeds));
  // --seeds N: the whole run N times (seeds seed .. seed+N-1); every seed is evaluated on the test
  // split for the spread, and the bundle kept is the seed whose ensemble did best on validation.
  std::vector<train::SeedRun> seed_runs;
  std::optional<train::TrainRun> kept;
  std::optional<train::Evaluation> kept_eval;
  double kept_val = std::numeric_limits<double>::infinity();
  const int64_t base_seed = static_cast<int64_t>(config.train.seed);
  for (int64_t i = 0; i < args.seeds; ++i) {
    Config seed_config = config;
    seed_config.train.seed = static_cast<uint64_t>(base_seed + i);
    train::TrainRunOptions run_options;
    run_options.work_dir = args.seeds == 1 ? work_dir : work_dir + "/seed-" + std::to_string(base_seed + i);
    run_options.resume = args.resume;
    if (args.seeds > 1) progress.event("seeds", "seed " + std::to_string(base_seed + i) + " (" + std::to_string(i + 1) +
                                                    " of " + std::to_string(args.seeds) + ")");
    seed_everything(seed_config.train.seed);
    train::TrainRun run = train::run_training(data, seed_config, ctx, progress, run_options);
    train::Evaluation evaluation = train::evaluate_model(*run.ensemble, data, seed_config, ctx);
    train::record_test_mse(run.gate, evaluation.member_preds, evaluation.member_names, evaluation.y);
    const auto holdout = run.gate.holdout_mse.find(run.gate.mode);
    const double val = holdout == run.gate.holdout_mse.end() ? 0.0 : holdout->second;
    seed_runs.push_back({base_seed + i, val, evaluation.scores});
    if (!kept || val < kept_val) {
      kept_val = val;
      config.train.seed = seed_config.train.seed;
      kept.emplace(std::move(run));
      kept_eval.emplace(std::move(evaluation));
    }
  }
  save_run_bundle(args.out, *kept, data, config, *kept_eval);
  std::printf("%s", train::format_scores(*kept_eval).c_str());
  std::printf("ensemble mode: %s; trained in %.1fs%s; bundle written to %s\n", kept->gate.mode.c_str(), kept->seconds,
              kept->stopped_by_deadline ? " (time budget reached)" : "", args.out.c_str());
  if (args.seeds > 1) {
    const train::SeedSummary summary = train::summarize_seeds(seed_runs);
    std::printf("\n%s", train::format_seed_summary(summary).c_str());
    const std::string path = args.out + ".seeds.json";
    std::ofstream(path) << summary.to_json().dump(2) << "\n";
    std::printf("seed summary written to %s\n", path.c_str());
  }
}

}  // namespace

Command train_command() {
  return {"train", "train the ensemble (members in turn, then the gate) and write a model bundle",
          [](CLI::App& sub, CommonOptions& common) {
            auto args = std::make_shared<TrainArgs>();
            sub.add_option("--data", args->data, "CSV file to train on");
            sub.add_option("-o,--out", args->out, "bundle directory to write")->capture_default_str();
            sub.add_option("--work-dir", args->work_dir, "checkpoints (default: <out>.work)");
            sub.add_flag("--resume", args->resume, "continue from the checkpoints of an interrupted run");
            sub.add_option("--seeds", args->seeds,
                           "train N times (seeds seed..seed+N-1): test mean and spread; keeps the best on validation")
                ->capture_default_str();
            sub.add_option("--progress", args->progress, "auto (bar on a terminal, JSON lines otherwise), bar, json, quiet");
            common.add_config_flag(sub);
            common.add_data_flags(sub);
            common.add_window_flags(sub);
            common.add_train_flags(sub);
            sub.callback([args, &common] { run_train(*args, common); });
          }};
}

}  // namespace spikecast::app
