// The progress file of a resumable scoring run, "<output>.progress": what the run reads (input
// size and SHA-256, the bundle's manifest SHA-256), the options that change the output bytes, and
// how far the output is durable (bytes, windows). Written atomically (temp file, fsync, rename)
// after each output chunk is fsync'ed, so after a kill at any moment the output holds at least
// `output_bytes` bytes, the first `windows` rows of the uninterrupted run.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace spikecast::score {

struct ScoreProgress {
  static constexpr int kVersion = 1;
  std::string input_sha256;
  uint64_t input_bytes = 0;
  std::string bundle_sha256;     // of the bundle's manifest.json, which holds the weights' SHA-256
  std::string format;            // "csv" or "jsonl"
  int64_t batch = 0;             // windows per predict call (and per chunk)
  double spike_threshold = 0.5;
  std::string device;            // as requested ("auto", "cpu", "cuda:0")
  std::string precision = "fp32";  // fp32 or bf16: bf16 forecasts differ in the last digits
  uint64_t output_bytes = 0;     // durable prefix of the output
  int64_t windows = 0;           // rows in that prefix (each row one window)
  int64_t input_line = 0;        // last input line read when the chunk was written (informational)

  nlohmann::json to_json() const;
  // Error naming `source` when a field is missing or mistyped.
  static ScoreProgress from_json(const nlohmann::json& j, const std::string& source);

  // Empty when this run may resume `recorded`, else one line saying what differs.
  static std::string mismatch(const ScoreProgress& recorded, const ScoreProgress& now);
};

std::string progress_path(const std::string& output);

// Atomic replace. Throws Error naming the path.
void write_progress(const std::string& path, const ScoreProgress& progress);
// Throws Error naming the path when it cannot be read or parsed.
ScoreProgress read_progress(const std::string& path);

}  // namespace spikecast::score
