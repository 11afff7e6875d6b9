// The LibTorch-backed Predictor: loads a model bundle (weights.safetensors + manifest.json) through
// the model layer, which verifies it and throws ModelError when it cannot be used.
// Defined in bundle_predictor.cc, in the TORCH library spikecast_serve_torch, so that the server
// itself stays LibTorch-free; `spikecast score` uses the same predictor for batch scoring.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "serve/predictor.h"

namespace spikecast::serve {

struct BundlePredictorOptions {
  std::string device = "auto";      // "auto" (CUDA when available), "cpu" or "cuda[:N]"
  std::string precision = "fp32";   // "fp32", or "bf16" (autocast, CUDA only)
  double spike_threshold = 0.5;     // the spike flag is probability >= threshold
  // On CUDA: the batch sizes to capture the whole forward for as CUDA graphs, at load time (a batch
  // is padded up to the next one; larger batches run eagerly). Empty: always eager. Ignored on the
  // CPU and in builds without CUDA. GraphedCall::power_of_two_buckets(max) suits a server.
  std::vector<int64_t> graph_batches;
};

// Throws ModelError (missing file, checksum mismatch, incompatible manifest) or ConfigError.
std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir, const BundlePredictorOptions& options);

inline std::unique_ptr<Predictor> make_bundle_predictor(const std::string& bundle_dir, const std::string& device = "auto",
                                                        double spike_threshold = 0.5) {
  BundlePredictorOptions o;
  o.device = device;
  o.spike_threshold = spike_threshold;
  return make_bundle_predictor(bundle_dir, o);
}

}  // namespace spikecast::serve
