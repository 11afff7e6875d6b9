// Everything the standard protocol needs from a CSV, prepared once: the table, its chronological
// split, the windows of each split, the scaler fitted on the training rows only, spike labels, and
// the data lineage recorded in model bundles (file hash, rows, time range, split boundaries).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config.h"
#include "data/csv_loader.h"
#include "data/scaler.h"
#include "data/split.h"
#include "data/table.h"
#include "data/windows.h"

namespace spikecast::train {

struct Dataset {
  Table table;
  LoadReport report;
  Split split;
  Windows windows;
  StandardScaler scaler;
  std::vector<uint8_t> spike_labels;  // [rows] from the data (data/spike_labels.h)
  std::string file_sha256;

  // {file, sha256, rows, series, channels, time range, step, split boundaries per series, windows}.
  nlohmann::json lineage() const;
};

// Loads config.data.path and prepares it. DataError when a split has no window.
Dataset load_dataset(const Config& config);
// Same, for a table already in memory (e.g. the generator's).
Dataset prepare_dataset(Table table, const Config& config, LoadReport report = {});

// The settings a bundle needs to read data as it was trained on (data columns, missing policy,
// window, split, spike definition), stored in its manifest and applied by evaluate/score/serve.
nlohmann::json data_settings_json(const Config& config);
// Applies stored settings over `config`, except the data path.
void apply_data_settings(const nlohmann::json& settings, Config& config);

// The seasonal-naive period for a sampling step: one day of steps for sub-daily data, 7 for
// daily data, 1 otherwise (or when the step is unknown).
int64_t default_season_period(int64_t step_ms);

}  // namespace spikecast::train
