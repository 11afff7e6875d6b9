// Shared by the subcommands that train or read model bundles: saving a trained run as a bundle,
// and loading a bundle with the data settings it was trained with.
#pragma once

#include <string>

#include "core/config.h"
#include "models/model_bundle.h"
#include "train/dataset.h"
#include "train/model_evaluation.h"
#include "train/training_run.h"

namespace spikecast::app {

// Writes the trained ensemble with its scaler, history, lineage, data settings and test metrics.
void save_run_bundle(const std::string& dir, train::TrainRun& run, const train::Dataset& data,
                     const Config& config, const train::Evaluation& evaluation);

// Loads a bundle and applies its stored data settings over `config` (the data path stays).
models::LoadedBundle load_model_bundle(const std::string& dir, Config& config, torch::Device device);

// The dataset for a bundle: `config.data.path` read with the bundle's settings, scaled by the
// bundle's own scaler (fitted on its training split).
train::Dataset dataset_for_bundle(const models::LoadedBundle& bundle, const Config& config);

// What evaluate and report share: the bundle, its data (`--data`, else the file it was trained
// on) and the test-split evaluation.
struct BundleEvaluation {
  models::LoadedBundle bundle;
  train::Dataset data;
  train::Evaluation evaluation;
};
BundleEvaluation evaluate_bundle(const std::string& model_dir, Config& config, const Context& ctx);

}  // namespace spikecast::app
