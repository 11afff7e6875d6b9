#include "command.h"
#include "core/config_file.h"
#include "core/error.h"

namespace spikecast::app {

void CommonOptions::add_config_flag(CLI::App& cmd) {
  cmd.add_option("-c,--config", config_path, "TOML configuration file (flags override it)");
}

void CommonOptions::add_data_flags(CLI::App& cmd) {
  cmd.add_option("--time-column", time_column, "name of the timestamp column");
  cmd.add_option("--target", target_column, "name of the target column");
  cmd.add_option("--features", feature_columns, "feature columns (default: all but time/series/target)")
      ->delimiter(',');
  cmd.add_option("--series-column", series_column, "optional series-id column (panel data)");
  cmd.add_option("--missing", missing_policy, "missing cells: fill (forward-fill) or reject");
  cmd.add_option("--max-fill", max_fill_steps, "longest gap forward-fill may bridge, in steps");
}

void CommonOptions::add_window_flags(CLI::App& cmd) {
  cmd.add_option("-L,--input-length", input_length, "input window length L");
  cmd.add_option("-H,--horizon", horizon, "forecast horizon H (1..720)");
  cmd.add_option("--split", split_mode, "chronological split: fractions (70/10/20) or ett (12/4/4 months)");
  cmd.add_option("--seed", seed, "random seed");
}

void CommonOptions::add_train_flags(CLI::App& cmd) {
  cmd.add_option("--members", members,
                 "ensemble members, in training order (default: all; given, no member joins as the data grows)")
      ->delimiter(',');
  cmd.add_option("--epochs", epochs, "maximum epochs per member");
  cmd.add_option("--batch-size", batch_size, "windows per optimizer step");
  cmd.add_option("--accumulation", accumulation, "micro-batches per optimizer step");
  cmd.add_option("--lr", lr, "peak learning rate");
  cmd.add_option("--time-budget", time_budget_s, "seconds for the whole run; ends gracefully with the best weights");
  cmd.add_option("--device", device, "auto, cpu or cuda[:N]");
  cmd.add_option("--precision", precision, "auto, fp32, bf16 or fp16 (CUDA autocast)");
  cmd.add_option("--ensemble", ensemble_mode, "auto (chosen on validation), gated, static or equal");
  cmd.add_option("--member-schedule", member_schedule,
                 "auto (members side by side on CUDA, in turn on the CPU), together or in_turn");
  cmd.add_flag("--no-cuda-graphs", no_cuda_graphs, "on CUDA, run every training step eagerly instead of a captured graph");
}

Config CommonOptions::resolve() const {
  Config c;
  if (!config_path.empty()) apply_config_file(config_path, c);
  if (data_path) c.data.path = *data_path;
  if (time_column) c.data.time_column = *time_column;
  if (target_column) c.data.target_column = *target_column;
  if (feature_columns) c.data.feature_columns = *feature_columns;
  if (series_column) c.data.series_column = *series_column;
  if (missing_policy) {
    if (*missing_policy == "fill") c.data.missing_policy = MissingPolicy::kFill;
    else if (*missing_policy == "reject") c.data.missing_policy = MissingPolicy::kReject;
    else throw ConfigError("--missing", "must be 'fill' or 'reject', got '" + *missing_policy + "'");
  }
  if (max_fill_steps) c.data.max_fill_steps = *max_fill_steps;
  if (input_length) c.window.input_length = *input_length;
  if (horizon) c.window.horizon = *horizon;
  if (split_mode) {
    if (*split_mode == "fractions") c.split.mode = SplitMode::kFractions;
    else if (*split_mode == "ett") c.split.mode = SplitMode::kEtt;
    else throw ConfigError("--split", "must be 'fractions' or 'ett', got '" + *split_mode + "'");
  }
  if (seed) {
    c.generator.seed = *seed;
    c.train.seed = *seed;
  }
  if (members) {
    c.train.members = *members;
    c.train.join.clear();  // exactly the members asked for
  }
  if (epochs) c.train.epochs = *epochs;
  if (batch_size) c.train.batch_size = *batch_size;
  if (accumulation) c.train.accumulation = *accumulation;
  if (lr) c.train.lr = *lr;
  if (time_budget_s) c.train.time_budget_s = *time_budget_s;
  if (device) c.train.device = *device;
  if (precision) c.train.precision = *precision;
  if (ensemble_mode) c.train.ensemble = *ensemble_mode;
  if (member_schedule) c.train.member_schedule = *member_schedule;
  if (no_cuda_graphs) c.train.cuda_graphs = false;
  c.validate();
  return c;
}

}  // namespace spikecast::app
