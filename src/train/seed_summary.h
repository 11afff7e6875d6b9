// Several seeds of the same training run: every model's test scores as mean and spread, so a
// difference between two models can be read against the seed-to-seed noise (`spikecast train
// --seeds N`). The bundle kept is the seed whose chosen ensemble scored best on the validation
// holdout: test scores never pick anything.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "train/model_evaluation.h"

namespace spikecast::train {

struct SeedRun {
  int64_t seed = 0;
  double validation_mse = 0;  // the chosen ensemble's holdout MSE (validation split)
  std::vector<ModelScore> scores;  // Evaluation::scores of this seed's bundle on the test split
};

struct SeedStat {
  double mean = 0, sd = 0, min = 0, max = 0;  // sd: sample standard deviation (0 for one seed)
};

struct SeedModelSummary {
  std::string name, kind;
  SeedStat mse, mae;
  int64_t best_count = 0;  // seeds in which this model had the lowest test MSE
};

struct SeedSummary {
  std::vector<int64_t> seeds;
  size_t chosen = 0;  // index into seeds of the bundle kept (lowest validation_mse)
  std::vector<SeedModelSummary> models;  // in the order of the first run's scores

  nlohmann::json to_json() const;
};

SeedStat seed_stat(const std::vector<double>& values);

// ModelError when runs is empty or the runs do not score the same models.
SeedSummary summarize_seeds(const std::vector<SeedRun>& runs);

// A terminal table: model, kind, test MSE mean ± sd [min, max], MAE mean ± sd, best in k of n.
std::string format_seed_summary(const SeedSummary& summary);

}  // namespace spikecast::train
