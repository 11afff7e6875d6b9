// A directory of immutable, versioned model bundles and an atomically switched `current` pointer.
//
//   <root>/versions/<version>/   a verified copy of the bundle (manifest.json, weights.safetensors,
//                                any other files) plus registry.json (added_at, source, sha256);
//                                <version> = 6-digit sequence number + '-' + first 8 hex of the
//                                weights' SHA-256, e.g. "000003-9f86d081". Never modified after add.
//   <root>/current               JSON {"version", "previous": [...], "updated_at"}: the live version
//                                and the stack that rollback() pops. Replaced only by
//                                write-temp + fsync + rename + fsync(dir), so a concurrent reader
//                                sees the old or the new state, never a partial one.
//   <root>/history.jsonl         append-only log of add/promote/rollback (audit; not the truth).
//   <root>/.staging/, *.tmp.*    leftovers of an interrupted writer; ignored, removed by the next one.
//   <root>/.lock                 flock(2) serializing writers (CLI and server admin routes).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace spikecast {

struct VersionInfo {
  std::string version;
  std::string path;            // absolute directory of the bundle inside the registry
  std::string weights_sha256;  // as verified at add()
  std::string added_at;        // UTC, ISO 8601
  std::string source;          // the directory it was added from
  nlohmann::json extra;        // manifest.json "extra": metrics, data lineage, ... ({} when absent)
  bool is_current = false;
};

struct HistoryEntry {
  std::string time;     // UTC, ISO 8601
  std::string action;   // "add", "promote" or "rollback"
  std::string version;  // the version added, or the new current
  std::string from;     // the previous current ("" for add or when there was none)
};

class ModelRegistry {
 public:
  // Nothing is created until the first add(); reading an absent registry gives an empty one.
  explicit ModelRegistry(std::string root);

  const std::string& root() const { return root_; }
  // Whether <root>/versions exists.
  bool exists() const;

  // Copies the bundle in, verifies the copy (checksum, manifest), returns the new version.
  // ModelError when the bundle does not verify; nothing is added then.
  std::string add(const std::string& bundle_dir);

  // Every version, oldest first.
  std::vector<VersionInfo> list() const;
  // ModelError when the version is unknown.
  VersionInfo show(const std::string& version) const;
  // The bundle directory of a version (ModelError when unknown).
  std::string version_dir(const std::string& version) const;

  // The live version, or nullopt when nothing was ever promoted.
  std::optional<std::string> current() const;
  // What rollback() would switch to, or nullopt.
  std::optional<std::string> previous() const;

  // Verifies the version, then makes it current. ModelError when it does not verify.
  void promote(const std::string& version);
  // Switches back to the version that was current before the current one; returns it.
  // ModelError when there is none or it no longer verifies.
  std::string rollback();
  // Re-checks the stored bundle's checksum and manifest (ModelError when it fails).
  void verify(const std::string& version) const;

  std::vector<HistoryEntry> history() const;

 private:
  struct State {
    std::string version;
    std::vector<std::string> previous;
  };
  State read_state() const;
  void write_state(const State& s);
  void remove_leftovers();
  std::string versions_dir() const;

  std::string root_;
};

}  // namespace spikecast
