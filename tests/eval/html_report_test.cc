#include "eval/html_report.h"
#include "core/file_system.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace spikecast {
namespace {

using nlohmann::json;

// A title that would end the data <script> and run its own if the JSON were embedded raw.
constexpr const char* kHostileTitle =
    "Synthetic </script><script>document.body.dataset.injected=1</script> & <b>report</b>";

// A report document with every section (docs/report.md), values from a known generator.
json synthetic_document(int points = 300) {
  json doc;
  doc["title"] = kHostileTitle;
  doc["generated_at"] = "2024-03-01 12:00:00";
  doc["version"] = "0.1.0";
  doc["data"] = {{"source", "generator:42"}, {"rows", 2000}, {"channels", {"target", "load", "temp"}},
                 {"target", "target"}, {"time_start", "2024-01-01 00:00:00"},
                 {"time_end", "2024-03-24 07:00:00"}, {"step", "1h"},
                 {"splits", {{{"name", "train"}, {"rows", 1400}, {"start", "2024-01-01 00:00:00"}, {"end", "2024-02-28 07:00:00"}},
                             {{"name", "val"}, {"rows", 200}, {"start", "2024-02-28 08:00:00"}, {"end", "2024-03-07 15:00:00"}},
                             {{"name", "test"}, {"rows", 400}, {"start", "2024-03-07 16:00:00"}, {"end", "2024-03-24 07:00:00"}}}}};
  json training = json::array();
  for (int m = 0; m < 2; ++m) {
    json t = {{"model", m == 0 ? "patch_tst" : "lstm"}};
    const int epochs = m == 0 ? 20 : 14;
    for (int e = 1; e <= epochs; ++e) {
      t["epoch"].push_back(e);
      t["train_loss"].push_back(1.0 / (e + m) + 0.05);
      t["val_loss"].push_back(1.1 / (e + m) + 0.08 + 0.002 * e);
    }
    training.push_back(t);
  }
  doc["training"] = training;

  const int64_t t0 = 1709827200000;  // 2024-03-07 16:00:00 UTC
  json f = {{"units", "MW"}, {"forecast_label", "ensemble"}, {"note", "1-step-ahead forecasts"}};
  json w = json::object();
  json m0 = {{"name", "patch_tst"}}, m1 = {{"name", "lstm"}}, w0 = {{"name", "patch_tst"}}, w1 = {{"name", "lstm"}};
  for (int i = 0; i < points; ++i) {
    const double base = 50 + 10 * std::sin(i * 2 * M_PI / 24);
    const bool spike = i % 97 == 40;
    const double actual = base + (spike ? 25 : 0);
    f["time"].push_back(t0 + int64_t{i} * 3600000);
    f["actual"].push_back(actual);
    m0["values"].push_back(base + 1.5 * std::sin(i * 0.7));
    m1["values"].push_back(base - 1.0 * std::cos(i * 0.3));
    f["forecast"].push_back(base + 0.5 * std::sin(i * 0.7));
    f["spike_labels"].push_back(spike ? 1 : 0);
    f["spike_flags"].push_back(spike || i % 131 == 7 ? 1 : 0);
    w["time"].push_back(t0 + int64_t{i} * 3600000);
    const double a = 0.5 + 0.3 * std::sin(i / 40.0);
    w0["values"].push_back(a);
    w1["values"].push_back(1 - a);
  }
  f["members"] = {m0, m1};
  w["members"] = {w0, w1};
  doc["forecast"] = f;
  doc["ensemble_weights"] = w;
  doc["metrics"] = {{"reference", "seasonal_naive"},
                    {"rows", {{{"model", "ensemble"}, {"kind", "model"}, {"mse", 0.0812}, {"mae", 0.2011},
                               {"mse_original", 8.12}, {"mae_original", 2.011}, {"skill", 0.61}},
                              {{"model", "patch_tst"}, {"kind", "model"}, {"mse", 0.0923}, {"mae", 0.2154},
                               {"mse_original", 9.23}, {"mae_original", 2.154}, {"skill", 0.55}},
                              {{"model", "seasonal_naive"}, {"kind", "baseline"}, {"mse", 0.2051}, {"mae", 0.3311},
                               {"mse_original", 20.51}, {"mae_original", 3.311}, {"skill", 0.0}}}}};
  doc["spike_metrics"] = {
      {"tolerance", 2},
      {"event", {{{"detector", "residual_z"}, {"precision", 0.75}, {"recall", 1.0}, {"f1", 0.857},
                  {"true_events", 3}, {"detected_events", 3}, {"flagged_runs", 4}, {"true_flagged_runs", 3}}}},
      {"nab", {{{"detector", "residual_z"}, {"profile", "standard"}, {"score", 71.3}, {"threshold", 0.62},
                {"tp", 3}, {"fp", 1}, {"fn", 30}, {"windows_detected", 3}, {"windows", 3}},
               {{"detector", "residual_z"}, {"profile", "reward_low_FP_rate"}, {"score", 65.2},
                {"threshold", 0.7}, {"tp", 3}, {"fp", 1}, {"fn", 30}, {"windows_detected", 3}, {"windows", 3}},
               {{"detector", "residual_z"}, {"profile", "reward_low_FN_rate"}, {"score", 78.9},
                {"threshold", 0.55}, {"tp", 3}, {"fp", 1}, {"fn", 30}, {"windows_detected", 3}, {"windows", 3}}}}};
  return doc;
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

TEST(HtmlReport, SelfContainedAndEscaped) {
  const json doc = synthetic_document();
  const std::string html = render_report(doc);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count_report_charts(doc), 3);
  EXPECT_NE(html.find("data-charts-expected=\"3\""), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"chart\" data-chart=\""), 3u);
  // Offline: nothing is loaded from elsewhere.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("uPlot"), std::string::npos);  // the library is inline
  // The hostile title appears only escaped: as HTML text and as \u003c-escaped JSON.
  EXPECT_EQ(html.find("<script>document.body.dataset.injected"), std::string::npos);
  EXPECT_NE(html.find("Synthetic &lt;/script&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("Synthetic \\u003c/script\\u003e"), std::string::npos);
  // Exactly the three <script> elements we wrote, each closed once.
  EXPECT_EQ(count(html, "</script>"), 3u);
  // Tables.
  EXPECT_NE(html.find("seasonal_naive (baseline)"), std::string::npos);
  EXPECT_NE(html.find("reward_low_FN_rate"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"best\">0.0812</td>"), std::string::npos);
}

TEST(HtmlReport, ChartsCountFollowsSections) {
  json doc = synthetic_document(10);
  doc.erase("ensemble_weights");
  EXPECT_EQ(count_report_charts(doc), 2);
  doc["training"] = json::array();
  EXPECT_EQ(count_report_charts(doc), 1);
  EXPECT_EQ(count_report_charts(json{{"title", "empty"}}), 0);
  const std::string html = render_report(json{{"title", "empty"}});
  EXPECT_NE(html.find("data-charts-expected=\"0\""), std::string::npos);
}

TEST(HtmlReport, RejectsMalformedSections) {
  json doc = synthetic_document(10);
  doc["forecast"]["actual"].erase(0);
  try {
    render_report(doc);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'forecast.actual' has 9 values, expected 10"), std::string::npos) << e.what();
  }
  doc = synthetic_document(10);
  doc["training"][1]["val_loss"][2] = "x";
  EXPECT_THROW(render_report(doc), Error);
  doc = synthetic_document(10);
  doc["ensemble_weights"]["members"][0].erase("name");
  EXPECT_THROW(render_report(doc), Error);
  EXPECT_THROW(render_report(json::array()), Error);
}

// ---- the page in a real browser ----

std::string find_chromium() {
  if (const char* env = std::getenv("SPIKECAST_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(HtmlReport, HeadlessChromiumDrawsEveryChart) {
  if (const char* no = std::getenv("SPIKECAST_NO_BROWSER"); no && std::string(no) == "1") {
    GTEST_SKIP() << "SPIKECAST_NO_BROWSER=1: the headless-browser check of the HTML report is skipped";
  }
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium not found in PATH: the HTML report test needs Debian's chromium. Run "
         "scripts/setup.sh (apt-get install chromium), or set SPIKECAST_NO_BROWSER=1 to skip.";

  char tmpl[] = "/tmp/spikecast_report_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir(tmpl);
  const json doc = synthetic_document();
  write_report(doc, (dir / "report.html").string());

  const std::string cmd =
      "timeout 120 '" + chromium +
      "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " --user-data-dir='" + (dir / "profile").string() + "' --virtual-time-budget=5000 --dump-dom"
      " 'file://" + (dir / "report.html").string() + "' > '" + (dir / "dom.html").string() +
      "' 2> '" + (dir / "chromium.log").string() + "'";
  const int rc = std::system(cmd.c_str());
  const std::string dom = read_file(dir / "dom.html");
  ASSERT_EQ(rc, 0) << cmd << "\n" << read_file(dir / "chromium.log");

  const int expected = count_report_charts(doc);
  EXPECT_NE(dom.find("data-charts-drawn=\"" + std::to_string(expected) + "\""), std::string::npos)
      << "charts drawn attribute missing or wrong; body starts: " << dom.substr(dom.find("<body"), 200);
  EXPECT_EQ(dom.find("data-chart-errors"), std::string::npos)
      << dom.substr(dom.find("data-chart-errors"), 300);
  EXPECT_EQ(dom.find("data-injected"), std::string::npos) << "the hostile title ran as script";
  EXPECT_GE(count(dom, "<canvas"), static_cast<size_t>(expected));
  EXPECT_GE(count(dom, "class=\"uplot"), static_cast<size_t>(expected));
  remove_tree(dir);
}

}  // namespace
}  // namespace spikecast
