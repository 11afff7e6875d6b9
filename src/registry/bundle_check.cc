#include "registry/bundle_check.h"

#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/sha256.h"
#include "registry/atomic_file.h"

namespace spikecast {

namespace fs = std::filesystem;

BundleCheck verify_bundle(const std::string& bundle_dir) {
  const fs::path dir(bundle_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ModelError("model bundle '" + bundle_dir + "': not a directory");
  const fs::path manifest_path = dir / kManifestFile;
  const fs::path weights_path = dir / kWeightsFile;
  if (!fs::is_regular_file(manifest_path, ec))
    throw ModelError("model bundle '" + bundle_dir + "': missing " + kManifestFile);
  if (!fs::is_regular_file(weights_path, ec))
    throw ModelError("model bundle '" + bundle_dir + "': missing " + kWeightsFile);

  BundleCheck out;
  std::string text;
  try {
    text = read_file(manifest_path.string());
  } catch (const Error& e) {
    throw ModelError("model bundle '" + bundle_dir + "': " + e.what());
  }
  out.manifest = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.manifest.is_discarded())
    throw ModelError("model bundle '" + bundle_dir + "': " + kManifestFile + " is not valid JSON");
  if (!out.manifest.is_object())
    throw ModelError("model bundle '" + bundle_dir + "': " + kManifestFile + " must be a JSON object");
  auto it = out.manifest.find("weights_sha256");
  if (it == out.manifest.end() || !it->is_string())
    throw ModelError("model bundle '" + bundle_dir + "': " + kManifestFile +
                     " has no string field 'weights_sha256'");
  std::string expected = it->get<std::string>();
  bool hex = expected.size() == 64;
  for (char& c : expected) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  }
  if (!hex)
    throw ModelError("model bundle '" + bundle_dir + "': " + kManifestFile +
                     " field 'weights_sha256' must be 64 hex digits, got '" + it->get<std::string>() + "'");
  try {
    out.weights_sha256 = sha256_file_hex(weights_path.string());
  } catch (const Error& e) {
    throw ModelError("model bundle '" + bundle_dir + "': " + e.what());
  }
  if (out.weights_sha256 != expected)
    throw ModelError("model bundle '" + bundle_dir + "': checksum mismatch for " + kWeightsFile +
                     ": manifest says " + expected + ", file has " + out.weights_sha256);
  auto extra = out.manifest.find("extra");
  if (extra != out.manifest.end() && !extra->is_null()) {
    if (!extra->is_object())
      throw ModelError("model bundle '" + bundle_dir + "': " + kManifestFile + " field 'extra' must be an object");
    out.extra = *extra;
  } else {
    out.extra = nlohmann::json::object();
  }
  return out;
}

}  // namespace spikecast
