// `spikecast detect FILE`: a causal, label-free anomaly score in [0, 1] for every row of a CSV
// (detect/anomaly_detector.h), written as CSV; with labels, the NAB score (three profiles) and
// event-level precision/recall/F1 at a threshold. `spikecast detect --corpus DIR --labels-json F`
// scores a NAB-style corpus.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "command.h"
#include "core/error.h"
#include "data/csv_reader.h"
#include "detect/anomaly_detector.h"
#include "detect/nab_labels.h"
#include "detect/stream_csv.h"
#include "eval/event_metrics.h"
#include "eval/nab_scorer.h"

namespace spikecast::app {
namespace {

struct DetectFlags {
  std::string file;
  std::string output;
  std::optional<std::string> time_column;
  std::vector<std::string> columns;
  double probation = 0.15;
  double threshold = kDefaultDetectionThreshold;
  std::string labels;        // CSV of anomaly timestamps, or NAB labels JSON
  std::string label_column;  // 0/1 column in FILE (e.g. is_spike)
  std::string corpus;        // directory of a NAB-style corpus
  std::string labels_json;
  std::string scores_dir;    // --corpus: another detector's scores instead of ours
  bool quiet = false;
};

// A loaded file: the table (value channels first, the label channel last if any).
struct Loaded {
  Table table;
  std::vector<int64_t> value_channels;
  int64_t label_channel = -1;
};

std::vector<std::string> header_of(const std::string& path) {
  CsvReader reader = CsvReader::from_file(path);
  std::vector<std::string_view> fields;
  if (!reader.next(fields)) throw DataError(path, 0, "", "empty file: expected a header row");
  std::vector<std::string> out;
  for (auto f : fields) {
    std::string s(f);
    const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? std::string() : s.substr(b, e - b + 1));
  }
  return out;
}

Loaded load(const std::string& path, const std::optional<std::string>& time_column,
            const std::vector<std::string>& columns, const std::string& label_column) {
  const std::vector<std::string> header = header_of(path);
  auto has = [&](const std::string& c) { return std::find(header.begin(), header.end(), c) != header.end(); };
  const std::string time = time_column ? *time_column : (has("timestamp") ? "timestamp" : header.front());
  std::vector<std::string> values = columns;
  if (values.empty()) {
    for (const auto& h : header) {
      if (h != time && h != label_column) values.push_back(h);
    }
  }
  if (values.empty()) throw DataError(path, 1, "", "no value column besides the time column");
  std::vector<std::string> read = values;
  if (!label_column.empty()) {
    if (!has(label_column)) throw DataError(path, 1, label_column, "label column not found in the header");
    read.push_back(label_column);
  }
  Loaded out;
  out.table = load_stream_csv(path, time, read);
  for (size_t c = 0; c < values.size(); ++c) out.value_channels.push_back(static_cast<int64_t>(c));
  if (!label_column.empty()) out.label_channel = static_cast<int64_t>(values.size());
  return out;
}

std::string format_value(float v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

void write_scores(const std::string& path, const Loaded& data, const std::vector<float>& scores,
                  const std::string& time_column) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw DataError(path, 0, "", "cannot open for writing");
  out << time_column;
  for (int64_t c : data.value_channels) out << ',' << data.table.channels[static_cast<size_t>(c)];
  out << ",anomaly_score\n";
  char buf[32];
  for (int64_t r = 0; r < data.table.rows(); ++r) {
    out << format_timestamp(data.table.time[static_cast<size_t>(r)]);
    for (int64_t c : data.value_channels) out << ',' << format_value(data.table.at(r, c));
    std::snprintf(buf, sizeof buf, ",%.6f\n", static_cast<double>(scores[static_cast<size_t>(r)]));
    out << buf;
  }
  if (!out) throw DataError(path, 0, "", "write failed");
}

// Label timestamps from a CSV (first column, header optional) or a NAB labels JSON.
NabFileLabels read_labels(const std::string& path, const std::string& data_file) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    const auto all = read_nab_labels_json(path);
    const NabFileLabels* l = find_nab_labels(all, data_file);
    if (!l) throw DataError(path, 0, "", "no entry for '" + data_file + "'");
    return *l;
  }
  NabFileLabels out;
  const auto records = read_csv_records(read_text_file(path), path);
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].empty() || records[i][0].empty()) continue;
    const auto t = parse_timestamp(records[i][0]);
    if (!t) {
      if (i == 0) continue;  // a header
      throw DataError(path, static_cast<int64_t>(i + 1), "", "cannot parse timestamp '" + records[i][0] + "'");
    }
    out.labels.push_back(*t);
  }
  return out;
}

// NAB windows from labels or explicit windows (timestamps -> rows).
NabFile nab_file(const std::string& name, const Table& table, std::vector<float> scores, const NabFileLabels& labels) {
  NabFile f;
  f.name = name;
  f.anomaly_scores = std::move(scores);
  f.label_rows = rows_of_timestamps(table.time, labels.labels, name);
  for (const auto& [b, e] : labels.windows) {
    const auto rows = rows_of_timestamps(table.time, {b}, name);
    const int64_t end = last_row_at_or_before(table.time, e);
    if (end >= rows[0]) f.windows.push_back({rows[0], end});
  }
  return f;
}

void print_nab(const std::vector<NabFile>& files, double threshold, const NabOptions& options) {
  const NabReport report = score_nab(files, options);
  std::printf("NAB (%lld files, %lld windows)   best threshold      at threshold %.3f\n",
              static_cast<long long>(report.files), static_cast<long long>(report.windows), threshold);
  for (size_t i = 0; i < report.profiles.size(); ++i) {
    const NabProfileScore& best = report.profiles[i];
    const NabProfileScore at = score_nab_at_threshold(files, options.profiles[i], threshold, options);
    std::printf("  %-20s %7.2f (t=%.3f)     %7.2f  (%lld/%lld windows, %lld FP rows)\n", best.profile.c_str(),
                best.normalized_score, best.threshold, at.normalized_score,
                static_cast<long long>(at.counts.windows_detected),
                static_cast<long long>(at.counts.windows_detected + at.counts.windows_missed),
                static_cast<long long>(at.counts.fp));
  }
}

void print_events(const std::vector<uint8_t>& truth, const std::vector<float>& scores, double threshold) {
  std::vector<uint8_t> flags(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) flags[i] = scores[i] >= threshold;
  const EventMetrics m = compute_event_metrics(truth, flags);
  std::printf("events at threshold %.3f: %lld true, %lld detected, %lld alarms (%lld true): "
              "precision %.3f recall %.3f F1 %.3f\n",
              threshold, static_cast<long long>(m.true_events), static_cast<long long>(m.detected_events),
              static_cast<long long>(m.flagged_runs), static_cast<long long>(m.true_flagged_runs), m.precision,
              m.recall, m.f1);
}

DetectorOptions detector_options(const DetectFlags& f) {
  DetectorOptions o;
  o.probation_fraction = f.probation;
  o.validate();
  return o;
}

void run_file(const DetectFlags& f) {
  const DetectorOptions options = detector_options(f);
  const Loaded data = load(f.file, f.time_column, f.columns, f.label_column);
  const DetectionResult result = detect_anomalies(data.table, data.value_channels, options);
  const std::string time_name = f.time_column ? *f.time_column : "timestamp";
  if (!f.output.empty()) write_scores(f.output, data, result.scores, time_name);
  int64_t flagged = 0;
  for (float s : result.scores) flagged += s >= f.threshold;
  if (!f.quiet) {
    std::printf("%s: %lld rows, %zu columns, probation %lld rows, %lld rows >= %.3f%s%s\n", f.file.c_str(),
                static_cast<long long>(data.table.rows()), data.value_channels.size(),
                static_cast<long long>(result.probation.front()), static_cast<long long>(flagged), f.threshold,
                f.output.empty() ? "" : ", scores written to ", f.output.c_str());
  }
  if (f.label_column.empty() && f.labels.empty()) return;

  NabOptions nab;
  nab.probation_fraction = f.probation;
  NabFile file;
  std::vector<uint8_t> truth(static_cast<size_t>(data.table.rows()), 0);
  if (!f.label_column.empty()) {
    for (int64_t r = 0; r < data.table.rows(); ++r) {
      const float v = data.table.at(r, data.label_channel);
      truth[static_cast<size_t>(r)] = std::isfinite(v) && v != 0.0f;
    }
    file.name = f.file;
    file.anomaly_scores = result.scores;
    file.label_rows = anomaly_starts(truth);
  } else {
    file = nab_file(f.file, data.table, result.scores, read_labels(f.labels, f.file));
    // Events for the event metrics: NAB's windows.
    const auto windows = file.windows.empty()
                             ? nab_windows(file.label_rows, data.table.rows(), nab.window_fraction)
                             : file.windows;
    for (const NabWindow& w : windows) {
      for (int64_t r = w.begin; r <= w.end; ++r) truth[static_cast<size_t>(r)] = 1;
    }
  }
  print_nab({file}, f.threshold, nab);
  print_events(truth, result.scores, f.threshold);
}

// Another detector's anomaly_score column for corpus file `key` ("dir/name.csv"), from `dir/name.csv`
// under `scores_dir` or, as NAB lays out results/<detector>/, `dir/<detector>_name.csv`; one score
// per row of the data file, in its order.
std::vector<float> scores_from(const std::string& scores_dir, const std::string& key, const Table& data) {
  namespace fs = std::filesystem;
  const fs::path root(scores_dir), k(key);
  fs::path path = root / k;
  if (!fs::exists(path)) {
    fs::path dir = root.lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();  // "results/numenta/"
    const std::string detector = dir.filename().string();
    path = root / k.parent_path() / (detector + "_" + k.filename().string());
  }
  if (!fs::exists(path)) throw DataError(path.string(), 0, "", "no scores for '" + key + "' (tried dir/name.csv and dir/<detector>_name.csv)");
  const Loaded s = load(path.string(), std::nullopt, {"anomaly_score"}, "");
  if (s.table.rows() != data.rows())
    throw DataError(path.string(), 0, "anomaly_score", std::to_string(s.table.rows()) + " rows, the data file has " +
                                                          std::to_string(data.rows()));
  std::vector<float> out(static_cast<size_t>(s.table.rows()));
  for (int64_t r = 0; r < s.table.rows(); ++r) {
    if (s.table.time[static_cast<size_t>(r)] != data.time[static_cast<size_t>(r)])
      throw DataError(path.string(), r + 2, "timestamp", "differs from the data file's row " + std::to_string(r + 2));
    const float v = s.table.at(r, 0);
    out[static_cast<size_t>(r)] = std::isfinite(v) ? v : 0.0f;
  }
  return out;
}

void run_corpus(const DetectFlags& f) {
  namespace fs = std::filesystem;
  const DetectorOptions options = detector_options(f);
  const auto labels = read_nab_labels_json(f.labels_json);
  std::vector<NabFile> files;
  int64_t rows = 0;
  for (const auto& [key, entry] : labels) {
    const fs::path path = fs::path(f.corpus) / key;
    if (!fs::exists(path)) throw DataError(path.string(), 0, "", "listed in " + f.labels_json + " but not found");
    const Loaded data = load(path.string(), f.time_column, f.columns, "");
    std::vector<float> scores = f.scores_dir.empty() ? detect_anomalies(data.table, data.value_channels, options).scores
                                                     : scores_from(f.scores_dir, key, data.table);
    if (!f.output.empty()) {
      const fs::path out = fs::path(f.output) / key;
      fs::create_directories(out.parent_path());
      write_scores(out.string(), data, scores, f.time_column ? *f.time_column : "timestamp");
    }
    rows += data.table.rows();
    files.push_back(nab_file(key, data.table, std::move(scores), entry));
  }
  if (files.empty()) throw DataError(f.labels_json, 0, "", "no files listed");
  std::printf("corpus %s: %zu files, %lld rows\n", f.corpus.c_str(), files.size(), static_cast<long long>(rows));
  NabOptions nab;
  nab.probation_fraction = f.probation;
  print_nab(files, f.threshold, nab);
}

}  // namespace

Command detect_command() {
  return {"detect", "score every row of a CSV for anomalies (causal, label-free); NAB score with labels",
          [](CLI::App& sub, CommonOptions&) {
            auto f = std::make_shared<DetectFlags>();
            sub.add_option("file", f->file, "CSV file with a timestamp and one or more value columns");
            sub.add_option("-o,--output", f->output, "CSV to write (timestamp, values, anomaly_score); a directory with --corpus");
            sub.add_option("--time-column", f->time_column, "timestamp column (default: 'timestamp', else the first)");
            sub.add_option("--columns", f->columns, "value columns (default: every other column)")->delimiter(',');
            sub.add_option("--probation", f->probation, "probationary fraction of each file, scored 0 (default 0.15, at most 750 rows)")
                ->check(CLI::Range(0.0, 0.99));
            sub.add_option("--threshold", f->threshold, "score at or above which a row is a detection (default 0.42)")
                ->check(CLI::Range(0.0, 1.1));
            auto* labels = sub.add_option("--labels", f->labels, "anomaly timestamps: a CSV (first column) or NAB labels JSON");
            auto* label_col = sub.add_option("--label-column", f->label_column, "0/1 ground-truth column in FILE (e.g. is_spike)");
            labels->excludes(label_col);
            sub.add_option("--corpus", f->corpus, "score a corpus: directory holding the files named in --labels-json");
            sub.add_option("--labels-json", f->labels_json, "NAB labels JSON {\"dir/file.csv\": [timestamps]} for --corpus");
            sub.add_option("--scores-dir", f->scores_dir,
                           "with --corpus: score another detector's anomaly_score columns instead of running ours "
                           "(DIR/dir/name.csv or NAB's DIR/dir/<detector>_name.csv)");
            sub.add_flag("-q,--quiet", f->quiet, "no summary line");
            sub.callback([f] {
              if (!f->corpus.empty()) {
                if (f->labels_json.empty()) throw CLI::ValidationError("--corpus", "needs --labels-json");
                if (!f->file.empty()) throw CLI::ValidationError("--corpus", "takes no FILE");
              } else if (!f->scores_dir.empty()) {
                throw CLI::ValidationError("--scores-dir", "needs --corpus");
              }
              if (!f->corpus.empty()) {
                run_corpus(*f);
              } else {
                if (f->file.empty()) throw CLI::ValidationError("file", "a CSV file (or --corpus DIR) is required");
                run_file(*f);
              }
            });
          }};
}

}  // namespace spikecast::app
