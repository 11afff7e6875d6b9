#include "score/scorer.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/sha256.h"
#include "registry/atomic_file.h"
#include "score/score_progress.h"
#include "score/window_stream.h"

namespace spikecast::score {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw Error("cannot " + what + " '" + path + "': " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("write", path);
    }
    done += static_cast<size_t>(n);
  }
}

void sync(int fd, const std::string& path) {
  if (fsync(fd) != 0) io_error("fsync", path);
}

std::string parent_dir(const std::string& path) {
  const std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

// Closes the output on every exit path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

void ScoreOptions::validate() const {
  if (input.empty()) throw ConfigError("score.input", "no input file given");
  if (output.empty()) throw ConfigError("score.output", "no output file given (-o)");
  if (batch < 1 || batch > (1 << 20))
    throw ConfigError("score.batch", "must be in [1, 1048576], got " + std::to_string(batch));
  if (!(spike_threshold >= 0 && spike_threshold <= 1))
    throw ConfigError("score.spike_threshold", "must be in [0, 1], got " + std::to_string(spike_threshold));
  if (stop_after_chunks < 0) throw ConfigError("score.stop_after_chunks", "must be >= 0");
}

DataConfig data_config_from_settings(const nlohmann::json& extra, const std::string& bundle_dir) {
  if (!extra.contains("data_settings"))
    throw ModelError("bundle '" + bundle_dir + "' has no data settings (extra.data_settings in manifest.json)");
  const nlohmann::json& s = extra.at("data_settings");
  DataConfig d;
  try {
    d.time_column = s.at("time_column").get<std::string>();
    d.target_column = s.at("target_column").get<std::string>();
    d.feature_columns = s.at("feature_columns").get<std::vector<std::string>>();
    d.series_column = s.at("series_column").get<std::string>();
    d.missing_policy = s.at("missing_policy").get<std::string>() == "reject" ? MissingPolicy::kReject : MissingPolicy::kFill;
    d.max_fill_steps = s.at("max_fill_steps").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("bundle '" + bundle_dir + "': data settings are incomplete: " + e.what());
  }
  return d;
}

ScoreReport score_csv(serve::Predictor& predictor, const DataConfig& data, const std::string& bundle_sha256,
                      const ScoreOptions& options) {
  options.validate();
  const auto start = Clock::now();
  const serve::ModelInfo& info = predictor.info();
  const RowFormatter formatter(options.format, info);

  ScoreProgress now;
  {
    struct stat st {};
    if (stat(options.input.c_str(), &st) != 0)
      throw DataError(options.input, 0, "", std::string("cannot open: ") + std::strerror(errno));
    now.input_bytes = static_cast<uint64_t>(st.st_size);
  }
  now.input_sha256 = sha256_file_hex(options.input);
  now.bundle_sha256 = bundle_sha256;
  now.format = to_string(options.format);
  now.batch = options.batch;
  now.spike_threshold = options.spike_threshold;
  now.device = options.device;
  now.precision = options.precision;

  // Open the stream first: a bad header fails before the output is touched.
  WindowStream stream(options.input, data, info.input_length, info.channels);

  ScoreReport report;
  const std::string& out_path = options.output;
  const std::string prog_path = progress_path(out_path);
  Fd out;
  uint64_t offset = 0;
  if (std::filesystem::exists(prog_path)) {
    const ScoreProgress recorded = read_progress(prog_path);
    const std::string why = ScoreProgress::mismatch(recorded, now);
    const std::string refuse = "cannot resume scoring into '" + out_path + "': ";
    const std::string hint = "; delete '" + prog_path + "' to start over";
    if (!why.empty()) throw Error(refuse + why + hint);
    out.fd = open(out_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (out.fd < 0) throw Error(refuse + "the output file is gone (" + std::strerror(errno) + ")" + hint);
    struct stat st {};
    if (fstat(out.fd, &st) != 0) io_error("stat", out_path);
    if (static_cast<uint64_t>(st.st_size) < recorded.output_bytes)
      throw Error(refuse + "the output has " + std::to_string(st.st_size) + " bytes, fewer than the " +
                  std::to_string(recorded.output_bytes) + " recorded as written" + hint);
    // Drop whatever follows the durable prefix (a chunk being written when the run died).
    if (ftruncate(out.fd, static_cast<off_t>(recorded.output_bytes)) != 0) io_error("truncate", out_path);
    sync(out.fd, out_path);
    if (lseek(out.fd, 0, SEEK_END) < 0) io_error("seek", out_path);
    offset = recorded.output_bytes;
    report.resumed = true;
    report.resumed_windows = recorded.windows;
    const int64_t replayed = stream.next(nullptr, recorded.windows);
    if (replayed != recorded.windows)
      throw Error(refuse + "the input yields " + std::to_string(replayed) + " windows, fewer than the " +
                  std::to_string(recorded.windows) + " recorded" + hint);
  } else {
    out.fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out.fd < 0) io_error("create", out_path);
    const std::string header = formatter.header();
    write_all(out.fd, header, out_path);
    sync(out.fd, out_path);
    offset = header.size();
    now.output_bytes = offset;
    write_progress(prog_path, now);  // also makes the output's directory entry durable
  }

  WindowBatch batch;
  std::string text;
  int64_t done = report.resumed_windows;
  int64_t chunks = 0;
  for (;;) {
    batch.clear();
    int64_t n = 0;
    try {
      n = stream.next(&batch, options.batch);
    } catch (const DataError&) {
      // The same input fails at the same line again: nothing to resume. The rows written so far
      // stay; a rerun (after fixing the input) starts over.
      std::remove(prog_path.c_str());
      throw;
    }
    if (n == 0) break;
    const auto t0 = Clock::now();
    const serve::PredictOutput result = predictor.predict(batch.input);
    report.predict_seconds += seconds_since(t0);
    serve::check_output(info, batch.input, result);
    text.clear();
    for (int64_t i = 0; i < n; ++i)
      formatter.append(text, stream.series_name(batch.series[static_cast<size_t>(i)]),
                       batch.origin[static_cast<size_t>(i)], result, i);
    write_all(out.fd, text, out_path);
    sync(out.fd, out_path);
    offset += text.size();
    done += n;
    now.output_bytes = offset;
    now.windows = done;
    now.input_line = stream.line();
    write_progress(prog_path, now);
    ++chunks;
    if (options.stop_after_chunks > 0 && chunks >= options.stop_after_chunks && n == options.batch) {
      report.windows = done;
      report.rows = stream.rows();
      report.series = stream.series_count();
      report.skipped = stream.skipped();
      report.seconds = seconds_since(start);
      return report;  // as if killed: the progress file stays
    }
  }
  close(out.fd);
  out.fd = -1;
  if (std::remove(prog_path.c_str()) != 0) io_error("remove", prog_path);
  fsync_directory(parent_dir(out_path));
  report.windows = done;
  report.rows = stream.rows();
  report.series = stream.series_count();
  report.skipped = stream.skipped();
  report.seconds = seconds_since(start);
  report.complete = true;
  return report;
}

}  // namespace spikecast::score
