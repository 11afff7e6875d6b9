// The LibTorch-backed Predictor: loads a model bundle (weights.safetensors + manifest.json) through
// the model layer, which verifies it and throws ModelError when it cannot be used.
// Defined in bundle_predictor.cc, in the TORCH library spikecast_serve_torch, so that the server
// itself stays LibTorch-free; `spikecast score` uses the same predictor for batch scoring.
#pragma once

#include <memory>
#include <string>

#include "serve/predictor.h"

namespace spikecast::serve {

// Throws ModelError (missing file, checksum mismatch, incompatible manifest). device: "auto"
// (CUDA when available), "cpu" or "cuda[:N]". The spike flag is probability >= spike_threshold.
std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir, const std::string& device = "auto",
                                                 double spike_threshold = 0.5);

}  // namespace spikecast::serve
