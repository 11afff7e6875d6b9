// A model bundle: a directory that rebuilds a trained model from its files alone.
//   <dir>/weights.safetensors  every parameter and buffer, named as in named_parameters()/named_buffers()
//   <dir>/manifest.json        what the model is and how to feed it (BundleManifest below)
// save_bundle writes into a temporary sibling directory, fsyncs, then renames it into place, so a
// reader sees the old bundle or the new one, never half of one. load_bundle verifies the weights'
// SHA-256 before reading them and throws ModelError naming the file on any problem.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "models/forecaster.h"

namespace spikecast::models {

constexpr int kBundleFormatVersion = 1;

// What the caller knows and the model does not.
struct BundleInfo {
  std::vector<std::string> channel_names;              // input channels; [0] is the target
  nlohmann::json scaler = nlohmann::json::object();    // opaque: the data layer's scaler state
  nlohmann::json extra = nlohmann::json::object();     // opaque: training history, lineage, metrics
};

struct BundleManifest {
  int format_version = kBundleFormatVersion;
  std::string architecture;                          // registry name ("ensemble", "lstm", ...)
  nlohmann::json options = nlohmann::json::object(); // the model's resolved options
  std::vector<std::string> members;                  // ensemble member names (empty otherwise)
  int64_t input_length = 0;                          // L
  int64_t horizon = 0;                               // H
  int64_t channels = 0;                              // C
  std::vector<std::string> channel_names;
  std::string target;                                // channel_names[0]
  nlohmann::json scaler = nlohmann::json::object();
  std::string libtorch_version;
  std::string spikecast_version;
  std::string spikecast_commit;
  std::string weights_file = "weights.safetensors";
  std::string weights_sha256;
  std::string created_utc;                           // "YYYY-MM-DDTHH:MM:SSZ"
  nlohmann::json extra = nlohmann::json::object();

  nlohmann::json to_json() const;
  // ModelError naming `source` on a missing or mistyped field or an unsupported format version.
  static BundleManifest from_json(const nlohmann::json& j, const std::string& source);
  ModelSpec spec() const { return {input_length, horizon, channels, options}; }
};

struct LoadedBundle {
  Forecaster model;  // in eval mode, on the requested device
  BundleManifest manifest;
};

// Writes (or atomically replaces) the bundle directory `dir`. Tensors are saved as they are
// (normally F32) from whichever device the model is on. ModelError on I/O failure; ConfigError
// when channel_names is non-empty and its size differs from the model's C.
void save_bundle(const std::string& dir, ForecasterImpl& model, const BundleInfo& info);

// Reads manifest.json only (no checksum, no weights).
BundleManifest read_manifest(const std::string& dir);

// Reads, verifies and rebuilds. ModelError on: missing/corrupt manifest, checksum mismatch,
// unreadable weights, a missing, unexpected or mis-shaped tensor.
LoadedBundle load_bundle(const std::string& dir, torch::Device device = torch::kCPU);

// The tensors a bundle stores: parameters then buffers, by their module path.
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(torch::nn::Module& model);

}  // namespace spikecast::models
