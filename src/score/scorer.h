// Batch scoring: a CSV file in, one output row per forecast origin out (CSV or JSON lines, see
// row_formatter.h), streaming in constant memory and resumable after a kill.
//
// The input is read incrementally (window_stream.h); windows are batched `batch` at a time into
// Predictor::predict and each batch's rows are written, fsync'ed, and then recorded in the progress
// file (score_progress.h). A rerun that finds the progress file checks that the input, the bundle
// and the options are the same, truncates the output to the recorded durable prefix, re-reads the
// input from the start (parsing only; the recorded windows are not predicted again), and goes on
// with the same batches, so the output has the bytes of an uninterrupted run. On completion the
// progress file is removed. Torch-free: the model comes in as a serve::Predictor
// (bundle_scorer.h builds the LibTorch one from a bundle).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/config.h"
#include "score/row_formatter.h"
#include "serve/predictor.h"

namespace spikecast::score {

struct ScoreOptions {
  std::string input;                       // CSV file to score
  std::string output;                      // output file; progress in "<output>.progress"
  OutputFormat format = OutputFormat::kCsv;
  int64_t batch = 4096;                    // windows per predict call and per durable chunk
  std::string device = "auto";             // recorded for resume checks; the predictor owns it
  double spike_threshold = 0.5;            // recorded for resume checks; the predictor applies it
  std::string precision = "fp32";          // fp32 or bf16 (CUDA autocast); recorded for resume checks
  bool cuda_graphs = true;                 // on CUDA, replay one captured graph per batch
  // Tests: return after this many chunks as if killed (no cleanup, progress file kept); 0: never.
  int64_t stop_after_chunks = 0;

  // ConfigError naming the field ("score.batch", ...).
  void validate() const;
};

struct ScoreReport {
  int64_t rows = 0;              // input data rows
  int64_t series = 0;
  int64_t windows = 0;           // output rows, over all runs
  int64_t resumed_windows = 0;   // output rows already durable when this run started
  int64_t skipped = 0;           // origins whose window touches an unfilled gap
  double seconds = 0;            // this run, wall clock
  double predict_seconds = 0;    // this run, inside Predictor::predict
  bool resumed = false;
  bool complete = false;         // false only when stopped by stop_after_chunks

  int64_t windows_this_run() const { return windows - resumed_windows; }
  double windows_per_second() const { return seconds > 0 ? windows_this_run() / seconds : 0; }
};

// The data settings a bundle was trained with (manifest.extra.data_settings: time_column,
// target_column, feature_columns, series_column, missing_policy, max_fill_steps). ModelError
// naming `bundle_dir` when they are missing or incomplete.
DataConfig data_config_from_settings(const nlohmann::json& manifest_extra, const std::string& bundle_dir);

// Scores options.input with `predictor`, reading it with `data`. `bundle_sha256` identifies the
// model in the progress file. Throws DataError for bad input (file, line, column), Error when a
// progress file exists that this run cannot resume (it names what changed).
ScoreReport score_csv(serve::Predictor& predictor, const DataConfig& data, const std::string& bundle_sha256,
                      const ScoreOptions& options);

}  // namespace spikecast::score
