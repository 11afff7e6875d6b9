// The subcommand table: each subcommand lives in its own cmd_*.cc and registers itself here.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace spikecast::app {

// Flags shared by the subcommands that read data. Values given on the command line override the
// config file, which overrides the defaults.
struct CommonOptions {
  std::string config_path;
  std::optional<std::string> data_path;
  std::optional<std::string> time_column;
  std::optional<std::string> target_column;
  std::optional<std::vector<std::string>> feature_columns;
  std::optional<std::string> series_column;
  std::optional<std::string> missing_policy;
  std::optional<int64_t> max_fill_steps;
  std::optional<int64_t> input_length;
  std::optional<int64_t> horizon;
  std::optional<std::string> split_mode;
  std::optional<uint64_t> seed;
  // Training (train, retrain, demo).
  std::optional<std::vector<std::string>> members;
  std::optional<int64_t> epochs;
  std::optional<int64_t> batch_size;
  std::optional<int64_t> accumulation;
  std::optional<double> lr;
  std::optional<double> time_budget_s;
  std::optional<std::string> device;
  std::optional<std::string> precision;
  std::optional<std::string> ensemble_mode;
  std::optional<std::string> member_schedule;
  bool no_cuda_graphs = false;

  // Adds the flags to a subcommand (only those it uses).
  void add_config_flag(CLI::App& cmd);
  void add_data_flags(CLI::App& cmd);
  void add_window_flags(CLI::App& cmd);
  void add_train_flags(CLI::App& cmd);

  // defaults < --config file < flags; then Config::validate().
  Config resolve() const;
};

struct Command {
  const char* name;
  const char* help;
  // Adds the subcommand's flags and its callback; `common` outlives the parse.
  std::function<void(CLI::App& sub, CommonOptions& common)> setup;
};

// Every subcommand, in the order `spikecast --help` lists them.
const std::vector<Command>& commands();

// Registration functions, one per cmd_*.cc.
Command demo_command();
Command data_command();
Command train_command();
Command evaluate_command();
Command report_command();
Command models_command();
Command detect_command();
// cmd_serve.cc: compiled once serve/bundle_predictor.cc (the LibTorch Predictor) exists.
Command serve_command();
// cmd_score.cc: batch scoring (score/scorer.h).
Command score_command();
// cmd_ingest.cc, cmd_retrain.cc: the data store and daily retraining (src/store, src/retrain).
Command ingest_command();
Command retrain_command();
// cmd_bench.cc, cmd_plan.cc: measurements and the capacity planner (src/bench).
Command bench_command();
Command plan_command();

}  // namespace spikecast::app
