// `spikecast data generate | inspect | check`: synthetic data, a config-free look at a CSV, and a
// dry run of the configured load -> split -> windows pipeline.
#include <cstdio>
#include <memory>

#include "command.h"
#include "data/csv_loader.h"
#include "data/csv_writer.h"
#include "data/generator.h"
#include "data/inspect.h"
#include "data/split.h"
#include "data/windows.h"

namespace spikecast::app {
namespace {

struct GenerateFlags {
  std::string output;
  std::optional<int64_t> rows, series, step_seconds;
  std::optional<double> spike_rate;
  std::optional<std::string> start;
  bool labels = false;
};

void run_generate(const GenerateFlags& f, const CommonOptions& common) {
  Config config = common.resolve();
  GeneratorConfig& g = config.generator;
  if (f.rows) g.rows = *f.rows;
  if (f.series) g.series = *f.series;
  if (f.step_seconds) g.step_seconds = *f.step_seconds;
  if (f.spike_rate) g.spike_rate = *f.spike_rate;
  if (f.start) g.start = *f.start;
  const GeneratedData data = generate(g);
  CsvWriteOptions options;
  if (f.labels) options.labels = &data.is_spike;
  write_csv(data.table, f.output, options);
  int64_t spikes = 0;
  for (uint8_t s : data.is_spike) spikes += s;
  std::printf("wrote %s: %lld rows x %lld series, 14%s columns, seed %llu, %lld spike rows\n",
              f.output.c_str(), static_cast<long long>(g.rows), static_cast<long long>(g.series),
              f.labels ? "+1" : "", static_cast<unsigned long long>(g.seed), static_cast<long long>(spikes));
}

struct InspectFlags {
  std::string file;
  bool json = false;
  InspectOptions options;
};

void run_inspect(const InspectFlags& f) {
  const Inspection ins = inspect_csv(f.file, f.options);
  if (f.json) std::printf("%s\n", inspection_json(ins).c_str());
  else std::fputs(format_inspection(ins).c_str(), stdout);
}

void run_check(const std::string& file, CommonOptions& common) {
  if (!file.empty()) common.data_path = file;
  const Config config = common.resolve();
  LoadReport report;
  const Table table = load_csv(config.data, config.window, &report);
  const Split split = split_table(table, config.split);
  const Windows windows = make_windows(table, split, config.window);
  std::printf("file     %s\nrows     %lld (%zu series), %lld channels, target '%s'\n", table.source.c_str(),
              static_cast<long long>(table.rows()), table.series.size(),
              static_cast<long long>(table.num_channels()), table.target().c_str());
  std::printf("time     %s .. %s (step %s)\n", format_timestamp(report.time_begin).c_str(),
              format_timestamp(report.time_end).c_str(), format_duration(report.step_ms).c_str());
  std::printf("split    mode %s\n", to_string(config.split.mode));
  std::fputs(format_split_summary(split, windows).c_str(), stdout);
  for (const std::string& w : report.warnings) std::printf("warning: %s\n", w.c_str());
}

}  // namespace

Command data_command() {
  return {"data", "generate synthetic data, inspect a CSV, check a data config",
          [](CLI::App& sub, CommonOptions& common) {
            sub.require_subcommand(1);

            auto gen = std::make_shared<GenerateFlags>();
            CLI::App* g = sub.add_subcommand("generate", "write the synthetic data set (12 features + target) as CSV");
            common.add_config_flag(*g);
            g->add_option("-o,--output", gen->output, "CSV file to write")->required();
            g->add_option("--rows", gen->rows, "rows per series (default 20000)");
            g->add_option("--series", gen->series, "number of series (default 1)");
            g->add_option("--seed", common.seed, "random seed (default 42)");
            g->add_option("--step", gen->step_seconds, "seconds between rows (default 3600)");
            g->add_option("--spike-rate", gen->spike_rate, "injected spike bursts per row (default 0.004)");
            g->add_option("--start", gen->start, "first timestamp (default 2024-01-01 00:00:00)");
            g->add_flag("--labels", gen->labels, "add the ground-truth column is_spike");
            g->callback([gen, &common] { run_generate(*gen, common); });

            auto ins = std::make_shared<InspectFlags>();
            CLI::App* i = sub.add_subcommand("inspect", "schema, time range, missing cells, statistics and problems of a CSV");
            i->add_option("file", ins->file, "CSV file")->required();
            i->add_flag("--json", ins->json, "print JSON instead of a table");
            i->add_option("--time-column", ins->options.time_column, "timestamp column (default: detected)");
            i->add_option("--target", ins->options.target_column, "target column (default: last numeric)");
            i->add_option("--series-column", ins->options.series_column, "series-id column (panel data)");
            i->add_option("--max-fill", ins->options.max_fill_steps, "forward-fill limit used to count fillable cells");
            i->callback([ins] { run_inspect(*ins); });

            auto file = std::make_shared<std::string>();
            CLI::App* c = sub.add_subcommand("check", "load a CSV with the data config, split it and count windows");
            c->add_option("file", *file, "CSV file (or [data] path in the config)");
            common.add_config_flag(*c);
            common.add_data_flags(*c);
            common.add_window_flags(*c);
            c->callback([file, &common] { run_check(*file, common); });
          }};
}

}  // namespace spikecast::app
