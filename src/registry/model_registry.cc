#include "registry/model_registry.h"
#include "core/file_system.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/timestamp.h"
#include "registry/atomic_file.h"
#include "registry/bundle_check.h"
#include "registry/writer_lock.h"

namespace spikecast {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kCurrentFile = "current";
constexpr const char* kHistoryFile = "history.jsonl";
constexpr const char* kStagingDir = ".staging";
constexpr const char* kLockFile = ".lock";
constexpr const char* kRecordFile = "registry.json";
constexpr size_t kMaxPrevious = 100;  // rollback depth kept in `current`

// "000003-9f86d081"
bool is_version_name(const std::string& s) {
  if (s.size() != 15 || s[6] != '-') return false;
  for (size_t i = 0; i < 6; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  for (size_t i = 7; i < 15; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}


void fsync_tree(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw Error("cannot open '" + e.path().string() + "': " + std::strerror(errno));
      ::fsync(fd);
      ::close(fd);
    } else if (e.is_directory()) {
      fsync_directory(e.path().string());
    }
  }
  fsync_directory(dir.string());
}

}  // namespace

ModelRegistry::ModelRegistry(std::string root) : root_(fs::absolute(fs::path(std::move(root))).lexically_normal().string()) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string ModelRegistry::versions_dir() const { return (fs::path(root_) / "versions").string(); }

bool ModelRegistry::exists() const {
  std::error_code ec;
  return fs::is_directory(versions_dir(), ec);
}

void ModelRegistry::remove_leftovers() {
  // Called with the writer lock held: any staging copy or temp file now is from a dead writer.
  std::error_code ec;
  remove_tree((fs::path(root_) / kStagingDir).string());
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    if (e.path().filename().string().find(kTempInfix) != std::string::npos) fs::remove(e.path(), ec);
  }
}

std::string ModelRegistry::add(const std::string& bundle_dir) {
  // Verify the source first for a clear message naming it; the copy is verified again below.
  verify_bundle(bundle_dir);
  std::error_code ec;
  fs::create_directories(versions_dir(), ec);
  if (ec) throw Error("cannot create registry directory '" + versions_dir() + "': " + ec.message());
  WriterLock lock((fs::path(root_) / kLockFile).string());
  remove_leftovers();

  const fs::path staging = fs::path(root_) / kStagingDir / ("add-" + std::to_string(::getpid()));
  fs::create_directories(staging.parent_path());
  fs::copy(bundle_dir, staging, fs::copy_options::recursive, ec);
  if (ec) {
    remove_tree(staging.parent_path().string());
    throw Error("cannot copy bundle '" + bundle_dir + "' into the registry: " + ec.message());
  }
  BundleCheck check;
  try {
    check = verify_bundle(staging.string());
  } catch (const ModelError&) {
    remove_tree(staging.parent_path().string());
    throw ModelError("model bundle '" + bundle_dir + "' changed while being copied; not added");
  }
  int next = 1;
  for (const auto& e : fs::directory_iterator(versions_dir())) {
    const std::string name = e.path().filename().string();
    if (is_version_name(name)) next = std::max(next, std::stoi(name.substr(0, 6)) + 1);
  }
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%06d-", next);
  const std::string version = prefix + check.weights_sha256.substr(0, 8);
  json record = {{"version", version},
                 {"added_at", format_utc_now()},
                 {"source", fs::absolute(bundle_dir).lexically_normal().string()},
                 {"weights_sha256", check.weights_sha256}};
  write_file_atomic((staging / kRecordFile).string(), record.dump(2) + "\n");
  fsync_tree(staging);
  const fs::path dest = fs::path(versions_dir()) / version;
  if (::rename(staging.c_str(), dest.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    remove_tree(staging.parent_path().string());
    throw Error("cannot move the new version into '" + dest.string() + "': " + why);
  }
  fsync_directory(versions_dir());
  remove_tree(staging.parent_path().string());
  append_line_durable((fs::path(root_) / kHistoryFile).string(),
                      json{{"time", record["added_at"]}, {"action", "add"}, {"version", version}, {"from", ""}}.dump());
  return version;
}

std::vector<VersionInfo> ModelRegistry::list() const {
  std::vector<VersionInfo> out;
  std::error_code ec;
  if (!exists()) return out;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(versions_dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && is_version_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) out.push_back(show(n));
  return out;
}

std::string ModelRegistry::version_dir(const std::string& version) const {
  std::error_code ec;
  const fs::path dir = fs::path(versions_dir()) / version;
  if (!is_version_name(version) || !fs::is_directory(dir, ec)) {
    std::string known;
    if (exists()) {
      for (const auto& e : fs::directory_iterator(versions_dir(), ec)) {
        const std::string name = e.path().filename().string();
        if (is_version_name(name)) known += (known.empty() ? "" : ", ") + name;
      }
    }
    throw ModelError("unknown model version '" + version + "' in registry '" + root_ +
                     "' (known: " + (known.empty() ? "none" : known) + ")");
  }
  return dir.string();
}

VersionInfo ModelRegistry::show(const std::string& version) const {
  VersionInfo info;
  info.version = version;
  info.path = version_dir(version);
  const fs::path dir(info.path);
  std::error_code ec;
  if (fs::is_regular_file(dir / kRecordFile, ec)) {
    json rec = json::parse(read_file((dir / kRecordFile).string()), nullptr, false);
    if (rec.is_object()) {
      info.added_at = rec.value("added_at", "");
      info.source = rec.value("source", "");
      info.weights_sha256 = rec.value("weights_sha256", "");
    }
  }
  if (fs::is_regular_file(dir / kManifestFile, ec)) {
    json manifest = json::parse(read_file((dir / kManifestFile).string()), nullptr, false);
    if (manifest.is_object() && manifest.contains("extra") && manifest["extra"].is_object())
      info.extra = manifest["extra"];
  }
  if (info.extra.is_null()) info.extra = json::object();
  info.is_current = current() == version;
  return info;
}

ModelRegistry::State ModelRegistry::read_state() const {
  State s;
  const fs::path path = fs::path(root_) / kCurrentFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return s;
  json j = json::parse(read_file(path.string()), nullptr, false);
  // The file is only ever replaced whole, so a parse failure means outside tampering.
  if (!j.is_object() || !j.contains("version") || !j["version"].is_string())
    throw ModelError("registry pointer '" + path.string() + "' is corrupt (expected {\"version\": ...})");
  s.version = j["version"].get<std::string>();
  if (j.contains("previous") && j["previous"].is_array())
    for (const auto& v : j["previous"])
      if (v.is_string()) s.previous.push_back(v.get<std::string>());
  return s;
}

void ModelRegistry::write_state(const State& s) {
  json j = {{"version", s.version}, {"previous", s.previous}, {"updated_at", format_utc_now()}};
  write_file_atomic((fs::path(root_) / kCurrentFile).string(), j.dump(2) + "\n");
}

std::optional<std::string> ModelRegistry::current() const {
  State s = read_state();
  if (s.version.empty()) return std::nullopt;
  return s.version;
}

std::optional<std::string> ModelRegistry::previous() const {
  State s = read_state();
  if (s.previous.empty()) return std::nullopt;
  return s.previous.back();
}

void ModelRegistry::verify(const std::string& version) const { verify_bundle(version_dir(version)); }

void ModelRegistry::promote(const std::string& version) {
  verify(version);
  WriterLock lock((fs::path(root_) / kLockFile).string());
  remove_leftovers();
  State s = read_state();
  const std::string from = s.version;
  if (from == version) return;  // already live: nothing to record
  if (!from.empty()) s.previous.push_back(from);
  if (s.previous.size() > kMaxPrevious) s.previous.erase(s.previous.begin());
  s.version = version;
  write_state(s);
  append_line_durable((fs::path(root_) / kHistoryFile).string(),
                      json{{"time", format_utc_now()}, {"action", "promote"}, {"version", version}, {"from", from}}.dump());
}

std::string ModelRegistry::rollback() {
  if (!exists()) throw ModelError("registry '" + root_ + "' has no versions: nothing to roll back to");
  WriterLock lock((fs::path(root_) / kLockFile).string());
  remove_leftovers();
  State s = read_state();
  if (s.previous.empty())
    throw ModelError("registry '" + root_ + "': nothing to roll back to (current: " +
                     (s.version.empty() ? "none" : s.version) + ")");
  const std::string target = s.previous.back();
  verify(target);
  const std::string from = s.version;
  s.previous.pop_back();
  s.version = target;
  write_state(s);
  append_line_durable((fs::path(root_) / kHistoryFile).string(),
                      json{{"time", format_utc_now()}, {"action", "rollback"}, {"version", target}, {"from", from}}.dump());
  return target;
}

std::vector<HistoryEntry> ModelRegistry::history() const {
  std::vector<HistoryEntry> out;
  std::ifstream in(fs::path(root_) / kHistoryFile);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;  // a torn last line after a crash
    out.push_back({j.value("time", ""), j.value("action", ""), j.value("version", ""), j.value("from", "")});
  }
  return out;
}

}  // namespace spikecast
