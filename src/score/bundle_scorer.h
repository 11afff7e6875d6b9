// Batch scoring with a model bundle: the LibTorch Predictor (serve/bundle_predictor.h) on
// options.device, the data settings the bundle was trained with, and the bundle's identity for
// resuming (SHA-256 of its manifest.json, which holds the weights' SHA-256). In the TORCH library
// spikecast_score_torch, so that spikecast_score itself stays LibTorch-free.
#pragma once

#include <string>

#include "score/scorer.h"

namespace spikecast::score {

// SHA-256 of <bundle_dir>/manifest.json; ModelError when it cannot be read.
std::string bundle_fingerprint(const std::string& bundle_dir);

// Loads the bundle (ModelError when it cannot be used) and runs score_csv.
ScoreReport score_with_bundle(const std::string& bundle_dir, const ScoreOptions& options);

}  // namespace spikecast::score
