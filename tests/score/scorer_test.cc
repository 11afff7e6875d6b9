#include "score/scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/csv_loader.h"
#include "data/csv_reader.h"
#include "score/bundle_scorer.h"
#include "score/score_progress.h"
#include "score_fixture.h"
#include "serve/bundle_predictor.h"

namespace spikecast::score {
namespace {

using testing::fixture;
using testing::read_text;
using testing::write_text;

std::string out_path(const std::string& name) { return fixture().dir + "/" + name; }

ScoreOptions options_for(const std::string& output, int64_t batch = 64) {
  ScoreOptions o;
  o.input = fixture().csv;
  o.output = output;
  o.batch = batch;
  o.device = "cpu";
  return o;
}

std::unique_ptr<serve::Predictor>& cpu_predictor() {
  static std::unique_ptr<serve::Predictor> p = serve::make_bundle_predictor(fixture().bundle, "cpu", 0.5);
  return p;
}

ScoreReport score(const ScoreOptions& o, const std::string& input = "") {
  ScoreOptions opts = o;
  if (!input.empty()) opts.input = input;
  return score_csv(*cpu_predictor(), fixture().data, fixture().bundle_sha, opts);
}

// The oracle: every origin of the in-memory table (load_csv with the bundle's settings), its
// window predicted in one batch. Key: (series, timestamp text).
struct Oracle {
  std::map<std::pair<std::string, std::string>, std::vector<float>> rows;  // forecast then members
  int64_t skipped = 0;
};

const Oracle& oracle() {
  static const Oracle o = [] {
    Oracle out;
    DataConfig d = fixture().data;
    d.path = fixture().csv;
    LoadOptions lo;
    lo.constant_columns = ConstantPolicy::kWarn;
    const Table t = load_csv(d, lo);
    const int64_t L = fixture().input_length, C = t.num_channels();
    serve::PredictInput in;
    in.length = L;
    in.channels = t.channels;
    std::vector<std::pair<std::string, std::string>> keys;
    for (const SeriesRange& s : t.series)
      for (int64_t end = s.begin + L; end <= s.end; ++end) {
        bool nan = false;
        int64_t filled = 0;
        for (int64_t r = end - L; r < end; ++r) {
          filled += t.filled[static_cast<size_t>(r)];
          for (int64_t c = 0; c < C; ++c) nan |= std::isnan(t.at(r, c));
        }
        if (nan) {
          ++out.skipped;
          continue;
        }
        in.values.insert(in.values.end(), t.values.begin() + (end - L) * C, t.values.begin() + end * C);
        in.filled_fraction.push_back(static_cast<float>(filled) / static_cast<float>(L));
        ++in.windows;
        keys.emplace_back(s.name, format_timestamp(t.time[static_cast<size_t>(end - 1)]));
      }
    const serve::PredictOutput p = cpu_predictor()->predict(in);
    const int64_t H = p.horizon, M = p.num_members();
    for (int64_t i = 0; i < in.windows; ++i) {
      std::vector<float> v(p.forecast.begin() + i * H, p.forecast.begin() + (i + 1) * H);
      v.insert(v.end(), p.member_forecasts.begin() + i * M * H, p.member_forecasts.begin() + (i + 1) * M * H);
      out.rows[keys[static_cast<size_t>(i)]] = v;
    }
    return out;
  }();
  return o;
}

TEST(Scorer, OneRowPerValidOriginWithThePredictorsValues) {
  const std::string out = out_path("plain.csv");
  const ScoreReport r = score(options_for(out));
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(std::filesystem::exists(progress_path(out)));
  EXPECT_EQ(r.rows, 1200);
  EXPECT_EQ(r.series, 2);
  const Oracle& o = oracle();
  EXPECT_EQ(r.skipped, o.skipped);
  EXPECT_GT(o.skipped, 20);  // the long, leading gaps
  EXPECT_EQ(r.windows, static_cast<int64_t>(o.rows.size()));

  const auto records = read_csv_records(read_text(out), out);
  ASSERT_EQ(static_cast<int64_t>(records.size()), r.windows + 1);
  const std::vector<std::string> header = records[0];
  const std::vector<std::string> want = {"series", "timestamp", "forecast_1", "forecast_2", "member_linear_1",
                                         "member_linear_2", "member_repeat_last_1", "member_repeat_last_2",
                                         "spike_probability", "spike_flag", "rules_fired"};
  EXPECT_EQ(header, want);
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& rec = records[i];
    ASSERT_EQ(rec.size(), header.size());
    const auto key = std::make_pair(rec[0], rec[1]);
    EXPECT_TRUE(seen.insert(key).second) << "duplicate row " << rec[0] << " " << rec[1];
    const auto it = o.rows.find(key);
    ASSERT_NE(it, o.rows.end()) << "no such origin " << rec[0] << " " << rec[1];
    for (size_t k = 0; k < it->second.size(); ++k) {
      const float got = std::stof(rec[2 + k]), exp = it->second[k];
      EXPECT_NEAR(got, exp, 1e-5 * std::max(1.f, std::fabs(exp))) << header[2 + k] << " at " << rec[0] << " " << rec[1];
    }
    EXPECT_EQ(rec[8], "");  // no spike head
    EXPECT_EQ(rec[9], "");
  }
}

TEST(Scorer, JsonLinesParseAndCarryTheCsvNumbers) {
  const std::string csv = out_path("same.csv"), jsonl = out_path("same.jsonl");
  score(options_for(csv));
  ScoreOptions o = options_for(jsonl);
  o.format = OutputFormat::kJsonl;
  const ScoreReport r = score(o);
  const auto records = read_csv_records(read_text(csv), csv);
  std::istringstream lines(read_text(jsonl));
  std::string line;
  size_t i = 1;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_LT(i, records.size());
    EXPECT_EQ(j.at("series"), records[i][0]);
    EXPECT_EQ(j.at("timestamp"), records[i][1]);
    EXPECT_EQ(j.at("forecast").size(), 2u);
    EXPECT_EQ(j.at("forecast")[1].get<float>(), std::stof(records[i][3]));
    EXPECT_EQ(j.at("members").at("repeat_last")[0].get<float>(), std::stof(records[i][6]));
    EXPECT_TRUE(j.at("spike_probability").is_null());
    EXPECT_TRUE(j.at("rules_fired").is_array());
    ++i;
  }
  EXPECT_EQ(static_cast<int64_t>(i - 1), r.windows);
}

TEST(Scorer, ResumesAfterAKillWithTheBytesOfAnUninterruptedRun) {
  const std::string full = out_path("full.csv");
  score(options_for(full));
  const std::string expected = read_text(full);

  // Killed after 3 chunks, then again after 2 more; each rerun continues.
  const std::string out = out_path("killed.csv");
  ScoreOptions o = options_for(out);
  o.stop_after_chunks = 3;
  ScoreReport r = score(o);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.windows, 3 * 64);
  ASSERT_TRUE(std::filesystem::exists(progress_path(out)));
  EXPECT_EQ(read_text(out), expected.substr(0, read_text(out).size()));
  o.stop_after_chunks = 2;
  r = score(o);
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.resumed_windows, 3 * 64);
  EXPECT_EQ(r.windows, 5 * 64);
  // Killed in the middle of writing a chunk: a half row after the durable prefix.
  {
    std::string text = read_text(out);
    write_text(out, text + "S001,2024-01-0");
  }
  o.stop_after_chunks = 0;
  r = score(o);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.resumed_windows, 5 * 64);
  EXPECT_FALSE(std::filesystem::exists(progress_path(out)));
  EXPECT_EQ(read_text(out), expected);

}

TEST(Scorer, ResumeAfterTheLastChunkOnlyRemovesTheProgressFile) {
  const std::string full = out_path("full2.csv");
  score(options_for(full));
  const std::string expected = read_text(full);
  const std::string out = out_path("last.csv");
  score(options_for(out));
  // Recreate the state of a kill after the last chunk: the progress file of the finished run.
  ScoreProgress p;
  {
    // A fresh stopped run records what a finished one records, except the counts.
    ScoreOptions s = options_for(out_path("probe.csv"));
    s.stop_after_chunks = 1;
    score(s);
    p = read_progress(progress_path(out_path("probe.csv")));
  }
  p.output_bytes = expected.size();
  p.windows = oracle().rows.size();
  write_progress(progress_path(out), p);
  const ScoreReport r = score(options_for(out));
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.windows_this_run(), 0);
  EXPECT_EQ(read_text(out), expected);
  EXPECT_FALSE(std::filesystem::exists(progress_path(out)));
}

TEST(Scorer, RefusesToResumeWhenTheInputTheBundleOrTheOptionsChanged) {
  const std::string out = out_path("refuse.csv");
  ScoreOptions o = options_for(out);
  o.stop_after_chunks = 2;
  score(o);
  o.stop_after_chunks = 0;
  const auto expect_refusal = [&](const std::function<void()>& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "resumed despite: " << what;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("cannot resume"), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
      EXPECT_NE(msg.find(".progress"), std::string::npos) << msg;
    }
  };
  // Another input: one digit changed.
  std::string text = read_text(fixture().csv);
  text[text.size() - 3] = text[text.size() - 3] == '1' ? '2' : '1';
  const std::string changed = out_path("changed-input.csv");
  write_text(changed, text);
  expect_refusal([&] { score(o, changed); }, "input file changed");
  // Another bundle: a copy whose manifest differs.
  const std::string other = out_path("bundle-copy");
  std::filesystem::copy(fixture().bundle, other, std::filesystem::copy_options::recursive);
  write_text(other + "/manifest.json", read_text(other + "/manifest.json") + "\n");
  expect_refusal([&] { score_with_bundle(other, o); }, "model bundle changed");
  // Other options.
  ScoreOptions jsonl = o;
  jsonl.format = OutputFormat::kJsonl;
  expect_refusal([&] { score(jsonl); }, "--format");
  ScoreOptions batch = o;
  batch.batch = 32;
  expect_refusal([&] { score(batch); }, "--batch");
  // An output shorter than its recorded durable prefix.
  const std::string kept = read_text(out);
  write_text(out, kept.substr(0, kept.size() / 2));
  expect_refusal([&] { score(o); }, "fewer than");
  // With the same everything, the real bundle resumes and completes.
  write_text(out, kept);
  const ScoreReport r = score_with_bundle(fixture().bundle, o);
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.complete);
}

std::string small_csv(const std::string& bad_line_text, int bad_line) {
  const std::string text = read_text(fixture().csv);
  std::istringstream in(text);
  std::string line, out;
  int n = 0;
  while (std::getline(in, line) && n < 60) {
    ++n;
    out += (n == bad_line ? bad_line_text : line) + "\n";
  }
  return out;
}

TEST(Scorer, BadInputNamesFileLineAndColumn) {
  const std::string path = out_path("bad.csv");
  // Line 7 has a cell that is not a number in the target column.
  {
    std::string text = small_csv("", 0);
    std::istringstream in(text);
    std::string line, out;
    for (int n = 1; std::getline(in, line); ++n) {
      if (n == 7) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, ',')) cells.push_back(c);
        cells[2] = "abc";
        line.clear();
        for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + cells[i];
      }
      out += line + "\n";
    }
    write_text(path, out);
  }
  try {
    score(options_for(out_path("bad1.out")), path);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.row(), 7);
    EXPECT_EQ(e.column(), "target");
    EXPECT_NE(std::string(e.what()).find("not a number"), std::string::npos) << e.what();
  }
  // Line 9 repeats the timestamp of line 7 (same series).
  {
    std::string text = small_csv("", 0);
    std::istringstream in(text);
    std::string line, out, line7;
    for (int n = 1; std::getline(in, line); ++n) {
      if (n == 7) line7 = line;
      out += (n == 9 ? line7 : line) + "\n";
    }
    write_text(path, out);
  }
  // Nothing to resume after a data error: the progress file is gone.
  EXPECT_FALSE(std::filesystem::exists(progress_path(out_path("bad1.out"))));
  try {
    score(options_for(out_path("bad2.out")), path);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.row(), 9);
    EXPECT_EQ(e.column(), "timestamp");
    EXPECT_NE(std::string(e.what()).find("duplicate timestamp"), std::string::npos) << e.what();
  }
  // A missing channel column.
  write_text(path, "timestamp,series,target\n2024-01-01,S000,1\n");
  EXPECT_THROW(score(options_for(out_path("bad.out")), path), DataError);
  EXPECT_FALSE(std::filesystem::exists(out_path("bad.out")));
}

}  // namespace
}  // namespace spikecast::score
