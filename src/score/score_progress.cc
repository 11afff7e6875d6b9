#include "score/score_progress.h"

#include <cstdio>

#include "core/error.h"
#include "registry/atomic_file.h"

namespace spikecast::score {

nlohmann::json ScoreProgress::to_json() const {
  return {{"version", kVersion},
          {"input", {{"sha256", input_sha256}, {"bytes", input_bytes}}},
          {"bundle_sha256", bundle_sha256},
          {"options", {{"format", format}, {"batch", batch}, {"spike_threshold", spike_threshold}, {"device", device}, {"precision", precision}}},
          {"output_bytes", output_bytes},
          {"windows", windows},
          {"input_line", input_line}};
}

ScoreProgress ScoreProgress::from_json(const nlohmann::json& j, const std::string& source) {
  ScoreProgress p;
  try {
    const int version = j.at("version").get<int>();
    if (version != kVersion)
      throw Error("progress file '" + source + "': version " + std::to_string(version) + ", expected " +
                  std::to_string(kVersion));
    p.input_sha256 = j.at("input").at("sha256").get<std::string>();
    p.input_bytes = j.at("input").at("bytes").get<uint64_t>();
    p.bundle_sha256 = j.at("bundle_sha256").get<std::string>();
    const auto& o = j.at("options");
    p.format = o.at("format").get<std::string>();
    p.batch = o.at("batch").get<int64_t>();
    p.spike_threshold = o.at("spike_threshold").get<double>();
    p.device = o.at("device").get<std::string>();
    p.precision = o.value("precision", std::string("fp32"));
    p.output_bytes = j.at("output_bytes").get<uint64_t>();
    p.windows = j.at("windows").get<int64_t>();
    p.input_line = j.at("input_line").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("progress file '" + source + "' is incomplete: " + e.what());
  }
  return p;
}

std::string ScoreProgress::mismatch(const ScoreProgress& r, const ScoreProgress& n) {
  const auto differs = [](const std::string& what, const std::string& was, const std::string& now) {
    return what + " changed (was " + was + ", now " + now + ")";
  };
  if (r.input_bytes != n.input_bytes || r.input_sha256 != n.input_sha256)
    return differs("the input file", std::to_string(r.input_bytes) + " bytes, sha256 " + r.input_sha256,
                   std::to_string(n.input_bytes) + " bytes, sha256 " + n.input_sha256);
  if (r.bundle_sha256 != n.bundle_sha256)
    return differs("the model bundle", "manifest sha256 " + r.bundle_sha256, n.bundle_sha256);
  if (r.format != n.format) return differs("--format", r.format, n.format);
  if (r.batch != n.batch) return differs("--batch", std::to_string(r.batch), std::to_string(n.batch));
  if (r.spike_threshold != n.spike_threshold)
    return differs("--spike-threshold", nlohmann::json(r.spike_threshold).dump(), nlohmann::json(n.spike_threshold).dump());
  if (r.device != n.device) return differs("--device", r.device, n.device);
  if (r.precision != n.precision) return differs("--precision", r.precision, n.precision);
  return "";
}

std::string progress_path(const std::string& output) { return output + ".progress"; }

void write_progress(const std::string& path, const ScoreProgress& progress) {
  write_file_atomic(path, progress.to_json().dump(2) + "\n");
}

ScoreProgress read_progress(const std::string& path) {
  const std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("progress file '" + path + "' is not valid JSON: " + e.what());
  }
  return ScoreProgress::from_json(j, path);
}

}  // namespace spikecast::score
