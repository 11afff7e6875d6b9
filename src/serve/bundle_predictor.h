// The LibTorch-backed Predictor: loads a model bundle (weights.safetensors + manifest.json) through
// the model layer, which verifies it and throws ModelError when it cannot be used.
// Declared here so that `spikecast serve` can name it; the definition (bundle_predictor.cc, a
// TORCH library) lands with the model layer's loader.
#pragma once

#include <memory>
#include <string>

#include "serve/predictor.h"

namespace spikecast::serve {

// Throws ModelError (missing file, checksum mismatch, incompatible manifest).
std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir);

}  // namespace spikecast::serve
