// The file-level check of a model bundle, shared by the registry and the server: manifest.json
// parses as a JSON object and its "weights_sha256" matches the SHA-256 of weights.safetensors.
// It does not load the model (the model layer's loader does, and checks again).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace spikecast {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kWeightsFile = "weights.safetensors";

struct BundleCheck {
  std::string weights_sha256;  // lower-case hex, as computed (and as recorded)
  nlohmann::json manifest;     // the whole manifest
  nlohmann::json extra;        // manifest["extra"] (metrics, data lineage, ...), {} when absent
};

// Throws ModelError naming the bundle and the failing file or field: missing directory or file,
// manifest not JSON or not an object, "weights_sha256" absent or not 64 hex digits, checksum
// mismatch (expected vs got), "extra" present but not an object.
BundleCheck verify_bundle(const std::string& bundle_dir);

}  // namespace spikecast
