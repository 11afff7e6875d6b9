// spikecast train: the users' recipe on a CSV, written as a model bundle.
#include <cstdio>
#include <filesystem>

#include "command.h"
#include "core/error.h"
#include "model_io.h"
#include "train/progress.h"

namespace spikecast::app {
namespace {

struct TrainArgs {
  std::string data;
  std::string out = "spikecast-model";
  std::string work_dir;
  bool resume = false;
  std::string progress = "auto";
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
  train::TrainRunOptions run_options;
  run_options.work_dir = args.work_dir.empty() ? args.out + ".work" : args.work_dir;
  run_options.resume = args.resume;
  seed_everything(config.train.seed);
  train::TrainRun run = train::run_training(data, config, ctx, progress, run_options);
  const train::Evaluation evaluation = train::evaluate_model(*run.ensemble, data, config, ctx);
  save_run_bundle(args.out, run, data, config, evaluation);
  std::printf("%s", train::format_scores(evaluation).c_str());
  std::printf("ensemble mode: %s; trained in %.1fs%s; bundle written to %s\n", run.gate.mode.c_str(), run.seconds,
              run.stopped_by_deadline ? " (time budget reached)" : "", args.out.c_str());
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
            sub.add_option("--progress", args->progress, "auto (bar on a terminal, JSON lines otherwise), bar, json, quiet");
            common.add_config_flag(sub);
            common.add_data_flags(sub);
            common.add_window_flags(sub);
            common.add_train_flags(sub);
            sub.callback([args, &common] { run_train(*args, common); });
          }};
}

}  // namespace spikecast::app
