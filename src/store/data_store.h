// The ingest store: one append-only CSV file and a small JSON manifest that says how much of it
// is committed.
//
//   <root>/data.csv     rows as the loader produced them (time, features..., target), header first;
//                       bytes past `committed_bytes` are the torn tail of an interrupted ingest:
//                       readers ignore them, the next ingest truncates them
//   <root>/store.json   {"format", "channels", "max_fill_steps", "committed_bytes", "rows",
//                        "time_begin", "time_end", "step_ms", "ingests": [...]}, replaced only by
//                       write-temp + fsync + rename + fsync(dir) (registry/atomic_file.h)
//   <root>/.lock        flock(2) serializing ingests
//
// An ingest appends and fsyncs the new rows, then replaces store.json: a kill at any point leaves
// the rows either committed or not, never half. Ingesting rows already stored adds nothing; a row
// whose timestamp is stored with other values, or that would land before the store's last row,
// is refused (the store only appends). Single-series data only.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/csv_loader.h"
#include "data/table.h"
#include "store/data_screen.h"

namespace spikecast::store {

struct IngestOptions {
  // How to read the incoming file: time/target/feature columns, missing-value policy. Once the
  // store exists its channels decide the target and features (the names must be in the file).
  DataConfig data;
  ScreenOptions screen;
  // Called after each stage ("loaded", "appended", "committed"); tests kill the process here.
  std::function<void(const std::string& stage)> after_stage;
};

struct IngestResult {
  std::string file;
  int64_t rows_in_file = 0;
  int64_t rows_added = 0;
  int64_t rows_already_stored = 0;  // identical rows found in the store (idempotent re-ingest)
  TimestampMs added_begin = 0, added_end = 0;  // time range of the rows added (when any)
  int64_t store_rows = 0;           // rows in the store afterwards
  std::vector<std::string> warnings;
};

// What store.json holds.
struct StoreState {
  std::vector<std::string> channels;  // [0] the target
  int64_t max_fill_steps = 0;
  int64_t committed_bytes = 0;
  int64_t rows = 0;
  TimestampMs time_begin = 0, time_end = 0;
  int64_t step_ms = 0;
  nlohmann::json ingests = nlohmann::json::array();  // one object per ingest that added rows
};

class DataStore {
 public:
  // Nothing is created until the first ingest.
  explicit DataStore(std::string root);

  const std::string& root() const { return root_; }
  bool exists() const;  // store.json is there
  // DataError naming store.json when it is missing or malformed.
  StoreState state() const;

  // Loads, validates, screens (data_screen.h) and appends the new rows of `file`. DataError
  // naming the file, line and column when the file is refused; the store is then unchanged.
  IngestResult ingest(const std::string& file, const IngestOptions& options);

  // Every committed row, read with the loader (forward-fill as at the first ingest). `sha256`
  // gets the SHA-256 of the committed bytes when given.
  Table load(LoadReport* report = nullptr, std::string* sha256 = nullptr) const;

  std::string data_path() const;  // <root>/data.csv
  // How data.csv is read.
  DataConfig data_config(const StoreState& state) const;

 private:
  std::string root_;
};

}  // namespace spikecast::store
