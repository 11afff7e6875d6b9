// Test helpers: a scratch directory and a well-formed model bundle (weights + manifest with the
// weights' real SHA-256). Shared by the registry and serve tests.
#pragma once

#include <unistd.h>
#include "core/file_system.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/sha256.h"

namespace spikecast::testing {

// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("spikecast-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    remove_tree(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    remove_tree(path_);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Writes <dir>/weights.safetensors (`weights` bytes) and <dir>/manifest.json whose
// "weights_sha256" matches and whose "extra" is `extra`.
inline void make_bundle(const std::string& dir, const std::string& weights,
                        nlohmann::json extra = nlohmann::json::object()) {
  std::filesystem::create_directories(dir);
  write_text(dir + "/weights.safetensors", weights);
  nlohmann::json manifest = {{"format", "spikecast-bundle"},
                             {"weights_sha256", sha256_hex(weights)},
                             {"extra", std::move(extra)}};
  write_text(dir + "/manifest.json", manifest.dump(2));
}

}  // namespace spikecast::testing
