// Scores the generator corpus and the synthetic NAB-like corpus with `spikecast detect`'s default
// detector and prints JSON: NAB scores per profile per corpus, per-kind standard scores, rows/s.
// Options may be overridden for experiments: detect_bench key=value ... (e.g. suppress_factor=0.5);
// seed=N picks another synthetic corpus (the defaults were chosen on seed 7); length=F makes its files
// F times longer with the same anomalies, length=1,4 scores both lengths as one corpus; generator=0
// skips the generator corpora; dump=DIR writes each synthetic file's rows (value, surprise, score,
// label) to DIR/<name>.csv for diagnosis (with nab=, each NAB file's value, surprise, score).
// nab=DIR labels=JSON [threshold=T] scores instead the files of a NAB labels JSON (paths relative to
// DIR, e.g. NAB's data/): best threshold and threshold T per profile, and each category's best
// standard threshold (how well one threshold transfers across kinds of series).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detect/anomaly_detector.h"
#include "detect/nab_labels.h"
#include "detect/stream_csv.h"
#include "detect/synthetic_corpus.h"
#include "eval/nab_scorer.h"

using namespace spikecast;

namespace {

void set_option(DetectorOptions& o, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos) throw std::runtime_error("expected key=value, got " + kv);
  const std::string k = kv.substr(0, eq);
  const double v = std::stod(kv.substr(eq + 1));
  std::map<std::string, double*> d = {{"probation_fraction", &o.probation_fraction},
                                      {"season_ratio", &o.season_ratio},
                                      {"tail_fraction", &o.tail_fraction},
                                      {"learn_cap_decades", &o.learn_cap_decades},
                                      {"extreme_weight", &o.extreme_weight},
                                      {"recurrence_tolerance", &o.recurrence_tolerance},
                                      {"recurrence_margin", &o.recurrence_margin},
                                      {"seasonal_phase_ratio", &o.seasonal_phase_ratio},
                                      {"seasonal_phase_jitter", &o.seasonal_phase_jitter},
                                      {"volatility_flat_discount", &o.volatility_flat_discount},
                                      {"scale_floor", &o.scale_floor},
                                      {"volatility_floor", &o.volatility_floor},
                                      {"alarm_decades", &o.alarm_decades},
                                      {"suppress_margin", &o.suppress_margin},
                                      {"suppress_factor", &o.suppress_factor},
                                      {"suppress_extend_decades", &o.suppress_extend_decades},
                                      {"score_decades", &o.score_decades}};
  std::map<std::string, int64_t*> i = {{"probation_max_rows", &o.probation_max_rows},
                                       {"short_window", &o.short_window},
                                       {"long_window", &o.long_window},
                                       {"change_window", &o.change_window},
                                       {"shift_recent", &o.shift_recent},
                                       {"shift_window", &o.shift_window},
                                       {"volatility_recent", &o.volatility_recent},
                                       {"volatility_window", &o.volatility_window},
                                       {"max_period", &o.max_period},
                                       {"residual_window", &o.residual_window},
                                       {"min_history", &o.min_history},
                                       {"suppress_rows", &o.suppress_rows},
                                       {"recurrence_length", &o.recurrence_length},
                                       {"recurrence_history", &o.recurrence_history},
                                       {"range_history", &o.range_history},
                                       {"context_levels", &o.context_levels},
                                       {"context_order", &o.context_order},
                                       {"context_max_entries", &o.context_max_entries},
                                       {"context_detrend", &o.context_detrend},
                                       {"context_detrend_rows", &o.context_detrend_rows},
                                       {"context_detrend_split", &o.context_detrend_split},
                                       {"length_rows", &o.length_rows}};
  std::map<std::string, bool*> b = {{"use_level", &o.use_level},       {"use_change", &o.use_change},
                                    {"use_shift", &o.use_shift},       {"use_volatility", &o.use_volatility},
                                    {"use_seasonal", &o.use_seasonal},
                                    {"use_recurrence", &o.use_recurrence},
                                    {"use_range", &o.use_range},
                                    {"use_context", &o.use_context},
                                    {"context_fusion", &o.context_fusion},
                                    {"context_rarity_on_entry", &o.context_rarity_on_entry},
                                    {"length_whole_file", &o.length_whole_file},
                                    {"learn_probation_in_full", &o.learn_probation_in_full},
                                    {"median_excess", &o.median_excess},
                                    {"seasonal_phase_gate", &o.seasonal_phase_gate},
                                    {"volatility_flat_above_gate", &o.volatility_flat_above_gate}};
  if (d.count(k)) *d[k] = v;
  else if (i.count(k)) *i[k] = static_cast<int64_t>(v);
  else if (b.count(k)) *b[k] = v != 0.0;
  else throw std::runtime_error("unknown option " + k);
}

nlohmann::json report_json(const NabReport& r) {
  nlohmann::json j;
  j["files"] = r.files;
  j["windows"] = r.windows;
  for (const auto& p : r.profiles) {
    j["profiles"][p.profile] = {{"score", p.normalized_score},
                                {"threshold", p.threshold},
                                {"windows_detected", p.counts.windows_detected},
                                {"windows_missed", p.counts.windows_missed},
                                {"fp_rows", p.counts.fp}};
  }
  return j;
}

// The standard score at thresholds 0.30, 0.305, ..., 0.60: how a fixed threshold (the CLI's) fares
// on each corpus, so one can be chosen for several at once.
nlohmann::json threshold_curve(const std::vector<NabFile>& files) {
  nlohmann::json curve = nlohmann::json::array();
  for (int i = 0; i <= 60; ++i) {
    const double t = 0.30 + 0.005 * i;
    curve.push_back({t, score_nab_at_threshold(files, nab_profiles()[0], t).normalized_score});
  }
  return curve;
}

std::string g_dump_dir;  // dump=DIR (empty: none)

void dump_rows(const LabelledSeries& s, const DetectionResult& d) {
  const std::string path = g_dump_dir + "/" + s.name + ".csv";
  FILE* fp = std::fopen(path.c_str(), "w");
  if (!fp) throw std::runtime_error("cannot write " + path);
  std::fprintf(fp, "value,surprise,score,label\n");
  for (int64_t r = 0; r < s.rows(); ++r) {
    const bool label = std::find(s.label_rows.begin(), s.label_rows.end(), r) != s.label_rows.end();
    std::fprintf(fp, "%.9g,%.4f,%.6f,%d\n", s.values[static_cast<size_t>(r)], d.surprise[static_cast<size_t>(r)],
                 d.scores[static_cast<size_t>(r)], label ? 1 : 0);
  }
  std::fclose(fp);
}

nlohmann::json run_corpus(const std::vector<LabelledSeries>& corpus, const DetectorOptions& options,
                          bool per_kind) {
  std::vector<NabFile> files;
  std::map<std::string, std::vector<NabFile>> by_kind;
  int64_t rows = 0;
  double seconds = 0.0;
  for (int rep = 0; rep < 2; ++rep) {  // the first pass warms up; the second is timed
    files.clear();
    by_kind.clear();
    rows = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const LabelledSeries& s : corpus) {
      DetectionResult d = detect_anomalies(s.values, s.rows(), 1, s.step_ms, options);
      if (!g_dump_dir.empty() && rep == 0) dump_rows(s, d);
      NabFile f;
      f.name = s.name;
      f.anomaly_scores = std::move(d.scores);
      f.label_rows = s.label_rows;
      by_kind[s.kind].push_back(f);
      files.push_back(std::move(f));
      rows += s.rows();
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  nlohmann::json j = report_json(score_nab(files));
  j["standard_by_threshold"] = threshold_curve(files);
  j["rows"] = rows;
  j["rows_per_second"] = static_cast<double>(rows) / seconds;
  if (per_kind) {
    for (const auto& [kind, kf] : by_kind) {
      NabOptions o;
      o.profiles = {nab_profiles()[0]};
      const NabReport r = score_nab(kf, o);
      // Files without labels have no windows: report their false-positive rows at the corpus threshold.
      const double t = j["profiles"]["standard"]["threshold"].get<double>();
      const NabProfileScore at = score_nab_at_threshold(kf, nab_profiles()[0], t);
      j["per_kind_standard"][kind] = {{"best", r.profiles[0].normalized_score},
                                      {"at_corpus_threshold", at.normalized_score},
                                      {"fp_rows", at.counts.fp},
                                      {"detected", at.counts.windows_detected},
                                      {"missed", at.counts.windows_missed}};
    }
  }
  return j;
}

nlohmann::json run_nab(const std::string& dir, const std::string& labels_path, const DetectorOptions& options,
                       double threshold) {
  std::vector<NabFile> files;
  std::map<std::string, std::vector<NabFile>> by_category;
  for (const auto& [key, entry] : read_nab_labels_json(labels_path)) {
    const Table table = load_nab_file((std::filesystem::path(dir) / key).string());
    NabFile f;
    f.name = key;
    const DetectionResult d = detect_anomalies(table, {0}, options);
    f.anomaly_scores = d.scores;
    f.label_rows = rows_of_timestamps(table.time, entry.labels, key);
    if (!g_dump_dir.empty()) {  // dump=DIR: DIR/<category>_<file>.csv: value, surprise, score
      std::string name = key;
      std::replace(name.begin(), name.end(), '/', '_');
      const std::string path = g_dump_dir + "/" + name;
      FILE* fp = std::fopen(path.c_str(), "w");
      if (!fp) throw std::runtime_error("cannot write " + path);
      std::fprintf(fp, "value,surprise,score\n");
      for (int64_t r = 0; r < table.rows(); ++r) {
        std::fprintf(fp, "%.9g,%.4f,%.6f\n", table.at(r, 0), d.surprise[static_cast<size_t>(r)],
                     d.scores[static_cast<size_t>(r)]);
      }
      std::fclose(fp);
    }
    by_category[key.substr(0, key.find('/'))].push_back(f);
    files.push_back(std::move(f));
  }
  nlohmann::json j = report_json(score_nab(files));
  for (const NabProfile& p : nab_profiles()) {
    const NabProfileScore at = score_nab_at_threshold(files, p, threshold);
    j["at_threshold"][p.name] = {{"score", at.normalized_score},
                                 {"windows_detected", at.counts.windows_detected},
                                 {"fp_rows", at.counts.fp}};
  }
  j["threshold"] = threshold;
  j["standard_by_threshold"] = threshold_curve(files);
  NabOptions standard;
  standard.profiles = {nab_profiles()[0]};
  for (const auto& [category, cf] : by_category) {
    const NabProfileScore best = score_nab(cf, standard).profiles[0];
    j["per_category_standard"][category] = {{"best", best.normalized_score}, {"threshold", best.threshold}};
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    DetectorOptions options;
    uint64_t seed = 7;  // the synthetic corpus' seed (8, 9, ... are held out from tuning)
    std::string nab_dir, nab_labels;
    std::vector<int64_t> length_factors = {1};  // length=F[,G...]: synthetic files F times longer, same
                                                // anomalies (several: the corpora of each, scored as one)
    bool generator = true;      // generator=0: the synthetic corpus only
    double threshold = kDefaultDetectionThreshold;
    for (int a = 1; a < argc; ++a) {
      const std::string arg = argv[a];
      if (arg.rfind("seed=", 0) == 0) seed = std::stoull(arg.substr(5));
      else if (arg.rfind("nab=", 0) == 0) nab_dir = arg.substr(4);
      else if (arg.rfind("length=", 0) == 0) {
        length_factors.clear();
        std::string list = arg.substr(7);
        for (size_t pos = 0; pos <= list.size();) {
          const size_t comma = std::min(list.find(',', pos), list.size());
          length_factors.push_back(std::stoll(list.substr(pos, comma - pos)));
          pos = comma + 1;
        }
      }
      else if (arg.rfind("dump=", 0) == 0) g_dump_dir = arg.substr(5);
      else if (arg.rfind("generator=", 0) == 0) generator = arg.substr(10) != "0";
      else if (arg.rfind("labels=", 0) == 0) nab_labels = arg.substr(7);
      else if (arg.rfind("threshold=", 0) == 0) threshold = std::stod(arg.substr(10));
      else set_option(options, arg);
    }
    options.validate();
    nlohmann::json out;
    if (!nab_dir.empty()) {
      if (nab_labels.empty()) throw std::runtime_error("nab=DIR needs labels=JSON");
      out["nab"] = run_nab(nab_dir, nab_labels, options, threshold);
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    out["benchmark"] = "detect";
    if (generator) {
      out["generator"] = run_corpus(generator_corpus({1, 2, 3, 4, 5}, 20000), options, false);
      out["generator_low_rate"] = run_corpus(generator_corpus({11, 12, 13}, 8000, 0.0005), options, false);
    }
    out["synthetic_seed"] = seed;
    out["synthetic_length_factor"] = length_factors;
    std::vector<LabelledSeries> synthetic;
    for (int64_t f : length_factors) {
      for (LabelledSeries& s : synthetic_corpus(seed, 4, f)) {
        if (length_factors.size() > 1) s.name += "_x" + std::to_string(f);
        synthetic.push_back(std::move(s));
      }
    }
    out["synthetic"] = run_corpus(synthetic, options, true);
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detect_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
