#include "store/data_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/sha256.h"
#include "core/timestamp.h"
#include "data/csv_reader.h"
#include "data/csv_writer.h"
#include "registry/atomic_file.h"
#include "registry/writer_lock.h"

namespace spikecast::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kStoreFormat = 1;
constexpr const char* kStateFile = "store.json";
constexpr const char* kDataFile = "data.csv";
constexpr const char* kLockFile = ".lock";
constexpr const char* kTimeColumn = "timestamp";

// Rows [begin, end) of a single-series table as a table of their own.
Table slice_rows(const Table& t, int64_t begin, int64_t end) {
  Table out;
  out.source = t.source;
  out.channels = t.channels;
  out.step_ms = t.step_ms;
  const int64_t C = t.num_channels();
  out.values.assign(t.values.begin() + begin * C, t.values.begin() + end * C);
  out.time.assign(t.time.begin() + begin, t.time.begin() + end);
  out.source_line.assign(t.source_line.begin() + begin, t.source_line.begin() + end);
  out.filled.assign(t.filled.begin() + begin, t.filled.begin() + end);
  out.series.push_back({t.series.empty() ? "" : t.series.front().name, 0, end - begin});
  return out;
}

// Appends `text` at byte `offset` of `path` (dropping anything after it: a torn tail) and fsyncs.
void append_durable(const std::string& path, int64_t offset, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  bool ok = ::ftruncate(fd, offset) == 0 && ::lseek(fd, offset, SEEK_SET) == offset;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? "" : std::strerror(errno);
  ::close(fd);
  if (!ok) throw Error("cannot append to '" + path + "': " + why);
}

bool same_cell(float stored, float incoming) {
  // A missing cell in the incoming file matches whatever the store holds there (the store may
  // have forward-filled it from an earlier ingest).
  if (std::isnan(incoming)) return true;
  return !std::isnan(stored) && stored == incoming;
}

json state_json(const StoreState& s) {
  return {{"format", kStoreFormat},
          {"channels", s.channels},
          {"max_fill_steps", s.max_fill_steps},
          {"committed_bytes", s.committed_bytes},
          {"rows", s.rows},
          {"time_begin", format_timestamp(s.time_begin)},
          {"time_end", format_timestamp(s.time_end)},
          {"step_ms", s.step_ms},
          {"ingests", s.ingests}};
}

}  // namespace

DataStore::DataStore(std::string root) : root_(std::move(root)) {}

bool DataStore::exists() const { return fs::exists(fs::path(root_) / kStateFile); }

std::string DataStore::data_path() const { return (fs::path(root_) / kDataFile).string(); }

StoreState DataStore::state() const {
  const std::string path = (fs::path(root_) / kStateFile).string();
  if (!fs::exists(path)) throw DataError(path, 0, "", "no data store here (ingest a file first)");
  try {
    const json j = json::parse(read_file(path));
    if (j.at("format").get<int>() != kStoreFormat)
      throw DataError(path, 0, "format", "unsupported store format " + j.at("format").dump());
    StoreState s;
    s.channels = j.at("channels").get<std::vector<std::string>>();
    s.max_fill_steps = j.at("max_fill_steps").get<int64_t>();
    s.committed_bytes = j.at("committed_bytes").get<int64_t>();
    s.rows = j.at("rows").get<int64_t>();
    s.time_begin = parse_timestamp(j.at("time_begin").get<std::string>()).value_or(0);
    s.time_end = parse_timestamp(j.at("time_end").get<std::string>()).value_or(0);
    s.step_ms = j.at("step_ms").get<int64_t>();
    s.ingests = j.at("ingests");
    return s;
  } catch (const json::exception& e) {
    throw DataError(path, 0, "", std::string("malformed store manifest: ") + e.what());
  }
}

DataConfig DataStore::data_config(const StoreState& s) const {
  DataConfig c;
  c.path = data_path();
  c.time_column = kTimeColumn;
  c.target_column = s.channels.at(0);
  c.feature_columns.assign(s.channels.begin() + 1, s.channels.end());
  c.missing_policy = MissingPolicy::kFill;
  c.max_fill_steps = s.max_fill_steps;
  return c;
}

Table DataStore::load(LoadReport* report, std::string* sha256) const {
  const StoreState s = state();
  std::string text = read_text_file(data_path());
  if (static_cast<int64_t>(text.size()) < s.committed_bytes)
    throw DataError(data_path(), 0, "", fmt::format("holds {} bytes, the manifest commits {}: the store is damaged",
                                                    text.size(), s.committed_bytes));
  text.resize(static_cast<size_t>(s.committed_bytes));
  if (sha256) *sha256 = sha256_hex(text);
  LoadOptions lo;
  lo.constant_columns = ConstantPolicy::kWarn;
  return load_csv_text(std::move(text), data_path(), data_config(s), lo, report);
}

IngestResult DataStore::ingest(const std::string& file, const IngestOptions& options) {
  options.screen.validate();
  fs::create_directories(root_);
  WriterLock lock((fs::path(root_) / kLockFile).string());
  const bool first = !exists();
  StoreState st = first ? StoreState{} : state();

  DataConfig in_config = options.data;
  in_config.path = file;
  if (!in_config.series_column.empty())
    throw ConfigError("data.series_column", "the ingest store holds single-series data only");
  if (!first) {
    in_config.target_column = st.channels.front();
    in_config.feature_columns.assign(st.channels.begin() + 1, st.channels.end());
  }
  LoadOptions lo;
  lo.constant_columns = first ? ConstantPolicy::kReject : ConstantPolicy::kWarn;
  LoadReport report;
  Table in = load_csv(in_config, lo, &report);
  if (in.series.size() > 1) throw DataError(file, 0, "", "the ingest store holds single-series data only");

  IngestResult result;
  result.file = file;
  result.rows_in_file = in.rows();
  result.warnings = report.warnings;

  // Rows already stored must be identical; new rows start after the store's last one.
  int64_t first_new = 0;
  std::vector<ChannelProfile> history;
  if (!first) {
    const Table stored = load();
    const int64_t C = stored.num_channels();
    const TimestampMs last = stored.rows() > 0 ? stored.time.back() : 0;
    while (first_new < in.rows() && stored.rows() > 0 && in.time[first_new] <= last) {
      const int64_t r = first_new;
      const auto it = std::lower_bound(stored.time.begin(), stored.time.end(), in.time[r]);
      if (it == stored.time.end() || *it != in.time[r])
        throw DataError(file, in.source_line[r], in_config.time_column,
                        "'" + format_timestamp(in.time[r]) + "' is before the store's last row ('" +
                            format_timestamp(last) + "') and not stored; the store only appends");
      const int64_t s = it - stored.time.begin();
      for (int64_t c = 0; c < C; ++c)
        if (!same_cell(stored.at(s, c), in.at(r, c)))
          throw DataError(file, in.source_line[r], in.channels[c],
                          fmt::format("the row for '{}' is stored with {} = {}, the file has {}; the store only "
                                      "appends",
                                      format_timestamp(in.time[r]), in.channels[c], stored.at(s, c), in.at(r, c)));
      ++first_new;
    }
    history = profile_channels(stored, {0, stored.rows()}, options.screen.max_discrete_levels);
  }
  result.rows_already_stored = first_new;
  // The file is loaded on its own, so the loader cannot see a gap between the store's last row and
  // the file's first new one (a missing day): warn as the loader warns about gaps inside a file.
  if (!first && first_new < in.rows() && st.rows > 0 && st.step_ms > 0 && in.time[first_new] - st.time_end > st.step_ms)
    result.warnings.push_back(
        fmt::format("{}:{}: time gap: {} steps missing between the store's last row ('{}') and this row ('{}')", file,
                    in.source_line[first_new], (in.time[first_new] - st.time_end) / st.step_ms - 1,
                    format_timestamp(st.time_end), format_timestamp(in.time[first_new])));
  screen_new_rows(in, {first_new, in.rows()}, history, options.screen);
  if (options.after_stage) options.after_stage("loaded");
  if (first_new == in.rows()) {
    result.store_rows = st.rows;
    return result;
  }

  const Table added = slice_rows(in, first_new, in.rows());
  std::string text = to_csv(added);
  if (!first) text.erase(0, text.find('\n') + 1);  // the store's header is already there
  append_durable(data_path(), st.committed_bytes, text);
  if (first) fsync_directory(root_);
  if (options.after_stage) options.after_stage("appended");

  if (first) {
    st.channels = in.channels;
    st.max_fill_steps = in_config.max_fill_steps;
    st.time_begin = added.time.front();
    st.step_ms = in.step_ms;
  }
  const int64_t byte_begin = st.committed_bytes;
  st.committed_bytes += static_cast<int64_t>(text.size());
  st.rows += added.rows();
  st.time_end = added.time.back();
  st.ingests.push_back({{"sequence", st.ingests.size() + 1},
                        {"ingested_at", format_utc_now()},
                        {"source", fs::absolute(file).string()},
                        {"source_sha256", sha256_file_hex(file)},
                        {"rows", added.rows()},
                        {"rows_already_stored", first_new},
                        {"bytes", {byte_begin, st.committed_bytes}},
                        {"time_begin", format_timestamp(added.time.front())},
                        {"time_end", format_timestamp(added.time.back())}});
  write_file_atomic((fs::path(root_) / kStateFile).string(), state_json(st).dump(2) + "\n");
  if (options.after_stage) options.after_stage("committed");

  result.rows_added = added.rows();
  result.added_begin = added.time.front();
  result.added_end = added.time.back();
  result.store_rows = st.rows;
  return result;
}

}  // namespace spikecast::store
