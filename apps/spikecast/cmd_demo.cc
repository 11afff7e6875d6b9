// `spikecast demo`: the whole pipeline on generated data, in seconds. Each step is a function over
// one DemoRun so that later steps (training, scoring) slot in after the data steps.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "data/csv_loader.h"
#include "data/csv_writer.h"
#include "data/generator.h"
#include "data/inspect.h"
#include "data/split.h"
#include "data/windows.h"
#include "eval/html_report.h"
#include "model_io.h"
#include "train/progress.h"

namespace spikecast::app {
namespace {

struct DemoRun {
  std::string out_dir = "spikecast-demo";
  Config config;
  std::string data_path;    // generated CSV (target + 12 features)
  std::string labels_path;  // ground-truth spike labels of the same rows
  Table table;              // loaded back through the loader
  Split split;
  Windows windows;
  std::string model_dir;    // the trained bundle
};

// Step 1: generate the default data set and write it (and its labels) under out_dir.
void demo_generate(DemoRun& run) {
  std::filesystem::create_directories(run.out_dir);
  run.data_path = (std::filesystem::path(run.out_dir) / "data.csv").string();
  run.labels_path = (std::filesystem::path(run.out_dir) / "labels.csv").string();
  const GeneratedData data = generate(run.config.generator);
  write_csv(data.table, run.data_path);
  // The labels go to their own file so that data.csv's columns are all model inputs.
  Table labels;
  labels.channels = {"is_spike"};
  labels.time = data.table.time;
  labels.series = data.table.series;
  labels.values.assign(data.is_spike.begin(), data.is_spike.end());
  write_csv(labels, run.labels_path);
  std::printf("demo: generated %s (%lld rows, seed %llu) and %s\n", run.data_path.c_str(),
              static_cast<long long>(data.table.rows()),
              static_cast<unsigned long long>(run.config.generator.seed), run.labels_path.c_str());
}

// Step 2: load it back through the validating loader and summarise it.
void demo_load(DemoRun& run) {
  run.config.data.path = run.data_path;
  run.config.data.time_column = "timestamp";
  run.config.data.target_column = "target";
  if (run.config.generator.series > 1) run.config.data.series_column = "series";
  run.table = load_csv(run.config.data, run.config.window);
  InspectOptions options;
  options.target_column = run.config.data.target_column;
  options.series_column = run.config.data.series_column;
  std::fputs(format_inspection(inspect_csv(run.data_path, options)).c_str(), stdout);
}

// Step 3: chronological split and window counts.
void demo_windows(DemoRun& run) {
  run.split = split_table(run.table, run.config.split);
  run.windows = make_windows(run.table, run.split, run.config.window);
  std::printf("\n");
  std::fputs(format_split_summary(run.split, run.windows).c_str(), stdout);
}

// Step 4: train the ensemble (members in turn, then the gate) within the demo's time budget, and
// write the bundle; the test split's scores are printed.
void demo_train(DemoRun& run) {
  const Context ctx = make_context(run.config.train.device, run.config.train.precision);
  std::printf("\ndemo: training %zu members on %s within %.0f s (use --time-budget to change)\n",
              run.config.train.members.size(), ctx.device.str().c_str(), run.config.train.time_budget_s);
  const train::Dataset data = train::load_dataset(run.config);
  train::Progress progress;
  seed_everything(run.config.train.seed);
  train::TrainRunOptions options;
  options.work_dir = run.model_dir + ".work";
  train::TrainRun trained = train::run_training(data, run.config, ctx, progress, options);
  const train::Evaluation ev = train::evaluate_model(*trained.ensemble, data, run.config, ctx);
  save_run_bundle(run.model_dir, trained, data, run.config, ev);
  std::printf("\n%s", train::format_scores(ev).c_str());
  std::printf("ensemble: %s; trained in %.0f s; bundle %s\n", trained.gate.mode.c_str(), trained.seconds,
              run.model_dir.c_str());
  // Step 5: the HTML report.
  const std::string report = (std::filesystem::path(run.out_dir) / "report.html").string();
  write_report(train::report_document(ev, data, trained.history(), "spikecast demo: generated data"), report);
  std::printf("demo: report %s\n", report.c_str());
}

void run_demo(DemoRun& run) {
  demo_generate(run);
  demo_load(run);
  demo_windows(run);
  demo_train(run);
}

}  // namespace

Command demo_command() {
  return {"demo", "the main job on the embedded data: generate, inspect, train, evaluate, report",
          [](CLI::App& sub, CommonOptions& common) {
            auto out = std::make_shared<std::string>("spikecast-demo");
            sub.add_option("--out", *out, "output directory (default spikecast-demo/)");
            common.add_config_flag(sub);
            common.add_window_flags(sub);
            common.add_train_flags(sub);
            sub.callback([out, &common] {
              DemoRun run;
              run.out_dir = *out;
              // Sized for a few minutes on 2 CPU cores unless the flags say otherwise.
              CommonOptions demo = common;
              if (!demo.time_budget_s) demo.time_budget_s = 90;
              if (!demo.epochs) demo.epochs = 8;
              run.config = demo.resolve();
              if (common.config_path.empty()) run.config.generator.rows = 8000;  // a year of hourly rows
              if (!common.batch_size) run.config.train.batch_size = 128;
              if (run.config.train.max_batches_per_epoch == 0) run.config.train.max_batches_per_epoch = 40;
              run.model_dir = (std::filesystem::path(run.out_dir) / "model").string();
              run_demo(run);
            });
          }};
}

}  // namespace spikecast::app
