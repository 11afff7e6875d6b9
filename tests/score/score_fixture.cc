#include "score_fixture.h"
#include "core/file_system.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/generator.h"
#include "data/scaler_json.h"
#include "models/model_bundle.h"
#include "score/bundle_scorer.h"
#include "train/dataset.h"
#include "train/progress.h"
#include "train/training_run.h"

namespace spikecast::score::testing {
namespace {

std::string cell(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

// Whether row r of series s (0 or 1) of channel c is written as missing.
bool missing(int s, int64_t r, int64_t c, int64_t rows) {
  if (s == 0 && c == 0 && (r == 100 || r == 101)) return true;                // filled (2 <= 3)
  if (s == 0 && c == 1 && r >= 300 && r < 304) return true;                   // left (4 > 3)
  if (s == 1 && c == 2 && r >= 200 && r < 210) return true;                   // left (10 > 3)
  if (s == 1 && c == 3 && r == 0) return true;                                // leading: left
  if (s == 1 && c == 0 && r >= rows - 2) return true;                         // trailing: filled
  return false;
}

ScoreFixture build() {
  ScoreFixture f;
  f.dir = (std::filesystem::temp_directory_path() / ("spikecast-score-" + std::to_string(::getpid()))).string();
  remove_tree(f.dir);
  std::filesystem::create_directories(f.dir);
  f.bundle = f.dir + "/bundle";
  f.csv = f.dir + "/input.csv";

  Config config;
  config.generator.rows = 600;
  config.generator.series = 2;
  config.generator.seed = 11;
  config.data.series_column = "series";
  config.window.input_length = f.input_length;
  config.window.horizon = f.horizon;
  config.train.members = {"linear", "repeat_last"};
  config.train.epochs = 1;
  config.train.batch_size = 32;
  config.train.max_batches_per_epoch = 4;
  config.train.seed = 3;
  GeneratedData g = generate(config.generator);
  const Table table = g.table;
  const train::Dataset data = train::prepare_dataset(std::move(g.table), config);
  train::Progress quiet(train::Progress::Mode::kQuiet);
  train::TrainRun run = train::run_training(data, config, Context{}, quiet);
  models::BundleInfo info;
  info.channel_names = data.table.channels;
  info.scaler = nlohmann::json(data.scaler);
  info.extra = {{"data_settings", train::data_settings_json(config)}};
  models::save_bundle(f.bundle, *run.ensemble, info);
  f.bundle_sha = bundle_fingerprint(f.bundle);
  f.data = data_config_from_settings(models::read_manifest(f.bundle).extra, f.bundle);

  // The CSV: timestamp, series, channels; rows of the two series alternate.
  std::ostringstream out;
  out << "timestamp,series";
  for (const std::string& c : table.channels) out << ',' << c;
  out << '\n';
  const int64_t C = table.num_channels();
  const int64_t rows = table.series[0].size();
  for (int64_t r = 0; r < rows; ++r)
    for (int s = 0; s < 2; ++s) {
      const SeriesRange& range = table.series[static_cast<size_t>(s)];
      const int64_t row = range.begin + r;
      out << format_timestamp(table.time[static_cast<size_t>(row)]) << ',' << range.name;
      for (int64_t c = 0; c < C; ++c) out << ',' << (missing(s, r, c, rows) ? (c == 2 ? "NA" : "") : cell(table.at(row, c)));
      out << '\n';
    }
  write_text(f.csv, out.str());
  return f;
}

struct Cleanup {
  std::string dir;
  ~Cleanup() {
    if (!dir.empty()) remove_tree(dir);
  }
};

}  // namespace

const ScoreFixture& fixture() {
  static const ScoreFixture f = build();
  static const Cleanup cleanup{f.dir};
  return f;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace spikecast::score::testing
