#include "models/model_bundle.h"
#include "core/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/sha256.h"
#include "core/version.h"
#include "models/dynamic_ensemble.h"
#include "models/model_registry.h"
#include "tensor/compat.h"
#include "tensor/safetensors.h"

namespace spikecast::models {
namespace fs = std::filesystem;
namespace {

constexpr const char* kManifest = "manifest.json";

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_file_synced(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ModelError(path + ": cannot create: " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = errno;
      ::close(fd);
      throw ModelError(path + ": write failed: " + std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw ModelError(path + ": fsync failed: " + std::strerror(err));
  }
  ::close(fd);
}

void fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse directory fds
  ::fsync(fd);
  ::close(fd);
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(std::time(nullptr));
}

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) throw ModelError(source + ": manifest lacks '" + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ModelError(source + ": manifest field '" + key + "' has the wrong type: " + it->dump());
  }
}

}  // namespace

nlohmann::json BundleManifest::to_json() const {
  return {{"format_version", format_version},
          {"architecture", architecture},
          {"options", options},
          {"members", members},
          {"input_length", input_length},
          {"horizon", horizon},
          {"channels", channels},
          {"channel_names", channel_names},
          {"target", target},
          {"scaler", scaler},
          {"libtorch_version", libtorch_version},
          {"spikecast_version", spikecast_version},
          {"spikecast_commit", spikecast_commit},
          {"weights_file", weights_file},
          {"weights_sha256", weights_sha256},
          {"created_utc", created_utc},
          {"extra", extra}};
}

BundleManifest BundleManifest::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw ModelError(source + ": manifest is not a JSON object");
  BundleManifest m;
  m.format_version = field<int>(j, "format_version", source);
  if (m.format_version != kBundleFormatVersion)
    throw ModelError(source + ": bundle format version " + std::to_string(m.format_version) +
                     " is not supported (this build reads version " + std::to_string(kBundleFormatVersion) + ")");
  m.architecture = field<std::string>(j, "architecture", source);
  m.options = field<nlohmann::json>(j, "options", source);
  m.members = field<std::vector<std::string>>(j, "members", source);
  m.input_length = field<int64_t>(j, "input_length", source);
  m.horizon = field<int64_t>(j, "horizon", source);
  m.channels = field<int64_t>(j, "channels", source);
  m.channel_names = field<std::vector<std::string>>(j, "channel_names", source);
  m.target = field<std::string>(j, "target", source);
  m.scaler = field<nlohmann::json>(j, "scaler", source);
  m.libtorch_version = field<std::string>(j, "libtorch_version", source);
  m.spikecast_version = field<std::string>(j, "spikecast_version", source);
  m.spikecast_commit = field<std::string>(j, "spikecast_commit", source);
  m.weights_file = field<std::string>(j, "weights_file", source);
  m.weights_sha256 = field<std::string>(j, "weights_sha256", source);
  m.created_utc = field<std::string>(j, "created_utc", source);
  m.extra = field<nlohmann::json>(j, "extra", source);
  if (m.weights_file.empty() || m.weights_file.find('/') != std::string::npos)
    throw ModelError(source + ": weights_file must be a plain file name, got '" + m.weights_file + "'");
  return m;
}

std::vector<std::pair<std::string, torch::Tensor>> model_tensors(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

void save_bundle(const std::string& dir, ForecasterImpl& model, const BundleInfo& info) {
  if (!info.channel_names.empty() && static_cast<int64_t>(info.channel_names.size()) != model.channels())
    throw ConfigError("bundle.channel_names", "has " + std::to_string(info.channel_names.size()) +
                                                  " names but the model reads " + std::to_string(model.channels()) +
                                                  " channels");
  BundleManifest m;
  m.architecture = model.type_name();
  m.options = model.options_json();
  if (auto* ens = dynamic_cast<DynamicEnsembleImpl*>(&model))
    for (const auto& member : ens->members()) m.members.push_back(member->type_name());
  m.input_length = model.input_length();
  m.horizon = model.horizon();
  m.channels = model.channels();
  m.channel_names = info.channel_names;
  m.target = info.channel_names.empty() ? "" : info.channel_names.front();
  m.scaler = info.scaler;
  m.libtorch_version = compat::torch_version();
  m.spikecast_version = SPIKECAST_VERSION;
  m.spikecast_commit = SPIKECAST_GIT_COMMIT;
  m.created_utc = utc_now();
  m.extra = info.extra;

  std::string weights;
  {
    torch::NoGradGuard no_grad;
    weights = serialize_safetensors(model_tensors(model), {{"format", "pt"}, {"architecture", m.architecture}});
  }
  m.weights_sha256 = sha256_hex(weights);

  fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  const fs::path parent = target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  const fs::path tmp = parent / ("." + target.filename().string() + ".tmp-" + unique_suffix());
  if (!fs::create_directory(tmp, ec)) throw ModelError(tmp.string() + ": cannot create directory: " + ec.message());
  try {
    write_file_synced((tmp / m.weights_file).string(), weights);
    write_file_synced((tmp / kManifest).string(), m.to_json().dump(2) + "\n");
    fsync_dir(tmp.string());
    fs::path old;
    if (fs::exists(target)) {
      old = parent / ("." + target.filename().string() + ".old-" + unique_suffix());
      fs::rename(target, old);
    }
    fs::rename(tmp, target);
    fsync_dir(parent.string());
    if (!old.empty()) remove_tree(old.string());
  } catch (const fs::filesystem_error& e) {
    remove_tree(tmp.string());
    throw ModelError(target.string() + ": cannot write bundle: " + e.what());
  } catch (...) {
    remove_tree(tmp.string());
    throw;
  }
}

BundleManifest read_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kManifest).string();
  std::ifstream in(path);
  if (!in) throw ModelError(path + ": missing or unreadable (not a model bundle?)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path + ": not valid JSON: " + e.what());
  }
  return BundleManifest::from_json(j, path);
}

LoadedBundle load_bundle(const std::string& dir, torch::Device device) {
  LoadedBundle out;
  out.manifest = read_manifest(dir);
  const BundleManifest& m = out.manifest;
  const std::string manifest_path = (fs::path(dir) / kManifest).string();
  const std::string weights_path = (fs::path(dir) / m.weights_file).string();

  std::ifstream in(weights_path, std::ios::binary);
  if (!in) throw ModelError(weights_path + ": missing or unreadable");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string digest = sha256_hex(bytes);
  if (digest != m.weights_sha256)
    throw ModelError(weights_path + ": SHA-256 mismatch (manifest " + m.weights_sha256 + ", file " + digest +
                     "): the weights are corrupt or do not belong to this manifest");
  SafetensorsData data = parse_safetensors(bytes, weights_path);

  try {
    out.model = make_forecaster(m.architecture, m.spec());
  } catch (const ConfigError& e) {
    throw ModelError(manifest_path + ": cannot rebuild '" + m.architecture + "': " + e.what());
  }
  auto expected = model_tensors(*out.model);
  if (expected.size() != data.tensors.size()) {
    for (const auto& [name, t] : data.tensors) {
      bool known = false;
      for (const auto& e : expected) known = known || e.first == name;
      if (!known) throw ModelError(weights_path + ": unexpected tensor '" + name + "' for " + m.architecture);
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : expected) {
      torch::Tensor src = data.find(name);
      if (!src.defined()) throw ModelError(weights_path + ": missing tensor '" + name + "'");
      if (src.sizes() != target.sizes())
        throw ModelError(weights_path + ": tensor '" + name + "' has shape " + c10::str(src.sizes()) +
                         ", the model expects " + c10::str(target.sizes()));
      target.copy_(src);
    }
  }
  out.model->to(device);
  out.model->eval();
  return out;
}

}  // namespace spikecast::models
