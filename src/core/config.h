// Configuration: plain structs with defaults, one validate() that names the bad field.
// Precedence: defaults < TOML file (core/config_file.h) < command-line flags (apps/).
// Each section's TOML table has the same name as its member here, keys the same as fields.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spikecast {

// What to do with missing cells (empty, NA, NaN, null) in feature and target columns.
enum class MissingPolicy {
  kFill,    // forward-fill up to max_fill_steps; windows touching a longer gap are dropped
  kReject,  // any missing cell is an error naming its row and column
};

struct DataConfig {
  std::string path;                          // CSV file to read (`--data`)
  std::string time_column = "timestamp";     // parsed by core/timestamp.h
  std::string target_column = "target";      // the forecast target; input channel 0
  std::vector<std::string> feature_columns;  // empty: every column but time, series and target
  std::string series_column;                 // optional panel id; windows never cross series
  MissingPolicy missing_policy = MissingPolicy::kFill;
  int64_t max_fill_steps = 3;                // longest gap forward-fill may bridge

  void validate() const;
};

struct WindowConfig {
  int64_t input_length = 100;  // L: steps the model sees
  int64_t horizon = 1;         // H: steps forecast, 1..720
  int64_t stride = 1;          // step between consecutive training windows

  void validate() const;
};

enum class SplitMode {
  kFractions,  // train/val/test fractions of each series' rows, in time order
  kEtt,        // ETT convention: 12/4/4 months of hourly rows (8640/2880/2880)
};

struct SplitConfig {
  SplitMode mode = SplitMode::kFractions;
  double train = 0.7;
  double val = 0.1;
  double test = 0.2;

  void validate() const;
};

struct GeneratorConfig {
  int64_t rows = 20000;          // rows per series
  int64_t series = 1;            // number of series (panel data when > 1)
  uint64_t seed = 42;            // same seed, same bytes
  int64_t step_seconds = 3600;   // sampling interval
  double spike_rate = 0.004;     // expected injected spikes per row
  std::string start = "2024-01-01 00:00:00";

  void validate() const;
};

// Spike labels from data (data/spike_labels.h): the target deviates from a causal rolling median
// of the previous look_back rows by more than threshold * 1.4826 * MAD.
struct SpikeConfig {
  int64_t look_back = 48;  // W: rows in the causal baseline window, 3..100000
  double threshold = 4.0;  // k: scaled MADs, > 0

  void validate() const;
};

// The training recipe (src/train): members in turn, then the ensemble gate on out-of-sample
// (validation) predictions with the members frozen, then an optional short joint fine-tune.
struct TrainConfig {
  // Ensemble members, trained in this order. The simple forecasters (linear, repeat_last,
  // seasonal_naive) are members too, so the ensemble can fall back on them.
  std::vector<std::string> members = {"lstm", "gru", "cnn_lstm", "spike", "rule",
                                      "linear", "repeat_last", "seasonal_naive"};
  // Members that join once the data has grown: each of `join` trains after `members` when the
  // training split holds at least `join_min_windows` windows. The users' design adds PatchTST as
  // their data grows (781,163 records today: 546,784 training windows at the default split; about
  // 700,000 at 1M records, three months on); the combination rule then weighs it like any member.
  std::vector<std::string> join = {"patchtst"};
  int64_t join_min_windows = 600000;
  std::string device = "auto";        // auto | cpu | cuda[:N]
  std::string precision = "auto";     // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
  int64_t epochs = 30;                // upper bound per member; early stopping usually ends sooner
  int64_t batch_size = 256;           // windows per optimizer step (split over `accumulation`)
  int64_t accumulation = 1;           // micro-batches per optimizer step
  double lr = 1e-3;                   // peak learning rate (AdamW)
  double weight_decay = 1e-4;         // AdamW decoupled weight decay
  double warmup_fraction = 0.05;      // share of the scheduled steps spent warming up linearly
  std::string schedule = "cosine";    // cosine | plateau | constant
  double clip_norm = 1.0;             // gradient-norm clip (0 = off)
  int64_t patience = 4;               // epochs without validation improvement before stopping
  std::string loss = "mse";           // mse | huber (values); the spike head uses weighted BCE
  double huber_delta = 1.0;
  double spike_loss_weight = 0.2;     // weight of the spike BCE in the spike member's loss
  int64_t max_batches_per_epoch = 0;  // 0 = every training window each epoch
  double time_budget_s = 0;           // whole run; 0 = none. Ends gracefully, best weights kept
  std::string ensemble = "auto";      // auto (chosen on validation) | gated | static | equal
  // How members train: side by side (each on its own host thread and CUDA stream: one member
  // alone leaves most of the card idle) or in turn. "auto": on CUDA in turn with captured steps
  // (cuda_graphs) below batch 4096, side by side (eager) from 4096; in turn on the CPU.
  // "together" or "in_turn" forces one. Side by side is not bitwise reproducible (the members
  // share the random generator) and never captures steps.
  std::string member_schedule = "auto";
  // On CUDA, capture each member's training step as a CUDA graph after a few eager steps (one
  // launch per step instead of thousands; train/captured_step.h). Needs accumulation 1, not fp16.
  bool cuda_graphs = true;
  // On CUDA (LibTorch 2.2+), the AdamW update of a step as one fused multi-tensor kernel, in eager
  // and captured steps (train/captured_step.h); off: a few element-wise ops a parameter.
  bool fused_optimizer = true;
  int64_t gate_epochs = 300;          // full-batch epochs fitting the gate on validation predictions
  double gate_lr = 3e-3;
  double gate_weight_decay = 1e-3;
  double gate_holdout = 0.3;          // last share of validation windows held out to choose the mode
  int64_t fine_tune_epochs = 0;       // optional joint fine-tune of members + gate
  double fine_tune_lr = 1e-4;
  int64_t season_period = 0;          // seasonal-naive period in steps; 0 = from the data's step
  uint64_t seed = 1;

  void validate() const;
};

struct Config {
  DataConfig data;
  WindowConfig window;
  SplitConfig split;
  GeneratorConfig generator;
  SpikeConfig spikes;
  TrainConfig train;
  // Per-model options from [models.<name>] tables, as JSON text (models/ parses them), e.g.
  // [models.rule] rules = [{type = "clamp", min = 0}] or [models.lstm] dropout = 0.2.
  std::map<std::string, std::string> model_options;

  void validate() const;
};

const char* to_string(MissingPolicy p);
const char* to_string(SplitMode m);

}  // namespace spikecast
