// `spikecast plan`: measures each member and the ensemble on the present device (training speed and
// peak memory at the given batch sizes, inference memory and speed), at the present widths and at
// widths that bring the five members to given parameter totals, then projects the measurements to
// given record counts. What scales with records: time (linearly: an epoch is one pass over the
// windows) and the resident dataset (counted byte by byte, bench_data.h). What does not: the
// model's own memory (weights, gradients, optimizer state, activations at a batch size).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "core/config.h"
#include "tensor/context.h"

namespace spikecast::bench {

struct PlanOptions {
  std::vector<std::string> members = {"lstm", "gru", "cnn_lstm", "spike", "rule"};
  std::vector<int64_t> batches = {32, 1024};          // training batch sizes
  int64_t infer_batch = 1000;                          // inference batch size
  std::vector<int64_t> records = {781163, 1000000, 1500000};
  std::vector<int64_t> parameter_totals = {0, 2500000, 3000000};  // five-member totals; 0 = as built
  int64_t epochs_per_retrain = 10;  // a daily retrain: this many epochs over the training split
  double train_fraction = 0.7;      // of the records (the default 70/10/20 split)
  double val_fraction = 0.1;        // scored once per epoch during a retrain
  int64_t steps = 10;               // timed optimizer steps per measurement
  int64_t infer_runs = 30;          // timed forwards per inference measurement
  // Members that join the ensemble once the training split holds join_min_windows windows
  // (train.join, docs/models.md; PatchTST by default): measured at their built widths beside every
  // parameter total, and counted in the ensemble's rows at the record counts where they join.
  std::vector<std::string> join = TrainConfig{}.join;
  int64_t join_min_windows = TrainConfig{}.join_min_windows;

  void validate() const;
};

// The members' options scaled so that their parameters sum to `total` (bisection over one width
// multiplier shared by every member; widths rounded to multiples of 8). `total` 0: unchanged.
struct ScaledMembers {
  double width_scale = 1.0;
  std::vector<models::ModelSpec> specs;  // one per member, in order
  int64_t parameters = 0;                // their sum, as built
};
ScaledMembers scale_members(const std::vector<std::string>& members, const std::vector<models::ModelSpec>& specs,
                            int64_t total);
// One member's options with every width multiplied by `scale` (rounded to a multiple of 8, >= 8).
nlohmann::json scale_widths(const std::string& member, const nlohmann::json& options, double scale);

struct Measurement {
  std::string model;           // a member or "ensemble"
  int64_t parameter_total = 0; // the five-member total this row belongs to (as built)
  int64_t parameters = 0;      // this model's
  double width_scale = 1.0;
  int64_t batch = 0;           // training batch (0 for inference-only rows)
  double train_samples_per_s = 0;
  int64_t train_model_bytes = 0;  // training peak minus the resident dataset
  double infer_windows_per_s = 0;   // at PlanOptions::infer_batch
  int64_t infer_bytes = 0;          // weights + input batch + activations at that batch
  std::string memory_kind;          // "cuda_allocated" | "cpu_peak_rss" | "unavailable"
  bool joins = false;               // a member of PlanOptions::join; "ensemble": the one with them
};

struct PlanRow {
  std::string model;
  int64_t parameter_total = 0, parameters = 0, records = 0, batch = 0;
  int64_t train_memory_bytes = 0;  // model + resident dataset at `records`
  int64_t infer_memory_bytes = 0;
  double epoch_s = 0;              // one pass over `records` windows
  double retrain_s = 0;            // epochs_per_retrain x (training split + a validation pass)
  std::vector<std::string> joined;  // ensemble rows: the members of PlanOptions::join it includes
};

// Pure arithmetic over measurements (tested on its own). Members' rows, then for each
// (parameter total, batch) an "ensemble" row: members trained in turn (memory: the largest member;
// time: the sum), inference memory and speed of the ensemble as measured. At a record count whose
// training split holds join_min_windows windows (rows - L - H + 1) the joining members count in
// the ensemble's row and its inference figures are those measured with them.
std::vector<PlanRow> project(const std::vector<Measurement>& measured, const PlanOptions& options, int64_t channels,
                             int64_t input_length, int64_t horizon);

struct Plan {
  std::vector<Measurement> measured;
  std::vector<PlanRow> rows;
  nlohmann::json to_json(const PlanOptions& options, const Context& ctx) const;
};

// Measures on `ctx`'s device over `data` (the bench's generated data) and projects.
Plan make_plan(const BenchData& data, const PlanOptions& options, const Context& ctx);

}  // namespace spikecast::bench
