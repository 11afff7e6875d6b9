#include "eval/html_report.h"

#include <cmath>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_system.h"
#include "eval/report_assets.h"

namespace spikecast {
namespace {

using nlohmann::json;

// ---- document access and validation ----

// The member, or nullptr when absent or null (optional sections).
const json* find(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error("report document: '" + path + "' " + what);
}

// An array of numbers or nulls (gaps); returns its length.
size_t check_series(const json& v, const std::string& path) {
  if (!v.is_array()) bad(path, "must be an array of numbers, got " + std::string(v.type_name()));
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number() && !v[i].is_null() && !v[i].is_boolean()) {
      bad(path + "[" + std::to_string(i) + "]", "must be a number or null, got " +
                                                    std::string(v[i].type_name()));
    }
  }
  return v.size();
}

void check_same_length(const json& obj, const char* key, size_t n, const std::string& path) {
  if (const json* v = find(obj, key)) {
    const size_t m = check_series(*v, path + "." + key);
    if (m != n) bad(path + "." + key, "has " + std::to_string(m) + " values, expected " + std::to_string(n));
  }
}

// members: [{name, values}] each with n values.
void check_members(const json& obj, size_t n, const std::string& path) {
  const json* members = find(obj, "members");
  if (!members) return;
  if (!members->is_array()) bad(path + ".members", "must be an array of {name, values}");
  for (size_t i = 0; i < members->size(); ++i) {
    const std::string p = path + ".members[" + std::to_string(i) + "]";
    const json& m = (*members)[i];
    if (!find(m, "name") || !m["name"].is_string()) bad(p + ".name", "must be a string");
    if (!find(m, "values")) bad(p + ".values", "is missing");
    check_same_length(m, "values", n, p);
  }
}

bool has_training_chart(const json& doc) {
  const json* t = find(doc, "training");
  if (!t) return false;
  if (!t->is_array()) bad("training", "must be an array of {model, epoch, train_loss, val_loss}");
  for (size_t i = 0; i < t->size(); ++i) {
    const std::string p = "training[" + std::to_string(i) + "]";
    const json& m = (*t)[i];
    if (!find(m, "model") || !m["model"].is_string()) bad(p + ".model", "must be a string");
    if (!find(m, "epoch")) bad(p + ".epoch", "is missing");
    const size_t n = check_series(m["epoch"], p + ".epoch");
    check_same_length(m, "train_loss", n, p);
    check_same_length(m, "val_loss", n, p);
  }
  return !t->empty();
}

// A time-indexed section (forecast, ensemble_weights) draws when its time array is non-empty.
bool has_time_chart(const json& doc, const char* section, bool is_forecast) {
  const json* s = find(doc, section);
  if (!s) return false;
  const std::string p = section;
  if (!s->is_object()) bad(p, "must be an object");
  if (!find(*s, "time")) bad(p + ".time", "is missing");
  const size_t n = check_series((*s)["time"], p + ".time");
  if (is_forecast) {
    if (!find(*s, "actual")) bad(p + ".actual", "is missing");
    for (const char* key : {"actual", "forecast", "spike_flags", "spike_labels"}) {
      check_same_length(*s, key, n, p);
    }
  }
  check_members(*s, n, p);
  return n > 0;
}

// ---- HTML helpers ----

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Any JSON value as table text: strings as-is, numbers formatted, null/NaN as a dash.
std::string cell(const json* v, const char* number_format = "{:.5g}") {
  if (!v || v->is_null()) return "&ndash;";
  if (v->is_string()) return escape_html(v->get<std::string>());
  if (v->is_number_integer() || v->is_number_unsigned()) return fmt::format("{}", v->get<int64_t>());
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d)) return "&ndash;";
    return fmt::format(fmt::runtime(number_format), d);
  }
  if (v->is_boolean()) return v->get<bool>() ? "yes" : "no";
  return escape_html(v->dump());
}

std::string cell(const json& obj, const char* key, const char* number_format = "{:.5g}") {
  return cell(find(obj, key), number_format);
}

// The document as a JSON text that cannot end the <script> element it sits in: '<', '>' and '&'
// only occur inside JSON strings, where \u escapes mean the same characters.
std::string embeddable_json(const json& doc) {
  const std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

constexpr std::string_view kStyle = R"css(
:root { --fg:#1d2330; --muted:#5c6577; --line:#e3e6ec; --bg:#f6f7f9; --accent:#1f77b4; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--fg); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:20px 32px; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header .meta { color:var(--muted); margin-top:4px; }
main { max-width:1180px; margin:0 auto; padding:16px 32px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin:16px 0; }
section h2 { margin:0 0 10px; font-size:17px; font-weight:600; }
section h3 { margin:14px 0 6px; font-size:14px; font-weight:600; color:var(--muted); }
section p.note { color:var(--muted); margin:4px 0 10px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { background:#fafbfc; font-weight:600; color:var(--muted); }
th:first-child, td:first-child { text-align:left; }
tbody tr:nth-child(even) { background:#fbfcfd; }
tr.baseline td:first-child { font-style:italic; color:var(--muted); }
td.best { font-weight:700; color:var(--accent); }
table.kv { width:auto; } table.kv th, table.kv td { text-align:left; }
table.nab td:nth-child(2), table.nab th:nth-child(2) { text-align:left; }
.chart { width:100%; min-height:200px; }
.chart .error { color:#b00020; }
.uplot { font-family:inherit; }
)css";

// Draws one chart per [data-chart] element from the embedded document; see docs/report.md.
constexpr std::string_view kScript = R"js(
(function () {
  var drawn = 0, errors = [], charts = [];
  var palette = ['#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#aec7e8'];
  var color = function (i) { return palette[i % palette.length]; };
  var width = function (el) { return Math.max(320, el.clientWidth || 900); };
  var nums = function (a) { return (a || []).map(function (v) { return v === null || v === undefined ? null : +v; }); };
  var onlyPoints = function (stroke, fill, size) {
    return { stroke: stroke, width: 0, paths: function () { return null; },
             points: { show: true, size: size, stroke: stroke, fill: fill, width: 2 } };
  };
  var doc = {};
  try { doc = JSON.parse(document.getElementById('report-data').textContent); }
  catch (e) { errors.push('data: ' + e.message); }

  function draw(name, build) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el) return;
    try {
      var spec = build();
      spec.opts.width = width(el);
      spec.opts.height = spec.opts.height || 340;
      charts.push({ el: el, plot: new uPlot(spec.opts, spec.data, el) });
      drawn++;
    } catch (e) {
      errors.push(name + ': ' + (e && e.message ? e.message : String(e)));
      var msg = document.createElement('p');
      msg.className = 'error';
      msg.textContent = 'Chart could not be drawn: ' + (e && e.message ? e.message : String(e));
      el.appendChild(msg);
    }
  }

  draw('training', function () {
    var seen = {}, models = doc.training;
    models.forEach(function (m) { m.epoch.forEach(function (e) { seen[e] = true; }); });
    var xs = Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs], series = [{ label: 'epoch' }];
    models.forEach(function (m, i) {
      [['train_loss', 'train', null], ['val_loss', 'val', [6, 4]]].forEach(function (k) {
        if (!m[k[0]]) return;
        var by = {};
        m.epoch.forEach(function (e, j) { by[e] = m[k[0]][j]; });
        data.push(xs.map(function (e) { return by[e] === undefined ? null : by[e]; }));
        var s = { label: m.model + ' ' + k[1], stroke: i === 0 ? '#1f77b4' : color(i - 1), width: 2, spanGaps: true };
        if (k[2]) s.dash = k[2];
        series.push(s);
      });
    });
    return { data: data, opts: { scales: { x: { time: false } }, series: series,
             axes: [{ label: 'epoch' }, { label: doc.training_loss_label || 'loss' }] } };
  });

  draw('forecast', function () {
    var f = doc.forecast, actual = nums(f.actual);
    var data = [f.time.map(function (t) { return t / 1000; }), actual];
    var series = [{}, { label: 'actual', stroke: '#1d2330', width: 1.5 }];
    (f.members || []).forEach(function (m, i) {
      data.push(nums(m.values));
      series.push({ label: m.name, stroke: color(i), width: 1 });
    });
    if (f.forecast) {
      data.push(nums(f.forecast));
      series.push({ label: f.forecast_label || 'forecast', stroke: '#1f77b4', width: 2 });
    }
    var marks = function (flags) { return actual.map(function (v, j) { return flags[j] ? v : null; }); };
    if (f.spike_labels) { data.push(marks(f.spike_labels)); series.push(Object.assign({ label: 'true spike' }, onlyPoints('#d62728', 'rgba(0,0,0,0)', 11))); }
    if (f.spike_flags) { data.push(marks(f.spike_flags)); series.push(Object.assign({ label: 'flagged' }, onlyPoints('#ff7f0e', '#ff7f0e', 6))); }
    return { data: data, opts: { series: series, height: 380,
             axes: [{}, { label: f.units || 'value', size: 60 }] } };
  });

  draw('ensemble_weights', function () {
    var w = doc.ensemble_weights;
    var data = [w.time.map(function (t) { return t / 1000; })], series = [{}];
    (w.members || []).forEach(function (m, i) {
      data.push(nums(m.values));
      series.push({ label: m.name, stroke: color(i), width: 2 });
    });
    return { data: data, opts: { series: series, axes: [{}, { label: 'weight' }] } };
  });

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.plot.setSize({ width: width(c.el), height: c.plot.height }); });
  });
  document.body.dataset.chartsDrawn = String(drawn);
  if (errors.length) document.body.dataset.chartErrors = errors.join('; ');
})();
)js";

void add_chart(std::string& out, const char* name) {
  out += fmt::format("<div class=\"chart\" data-chart=\"{}\"></div>\n", name);
}

void render_data_section(std::string& out, const json& d) {
  out += "<section id=\"data\"><h2>Data</h2>\n<table class=\"kv\"><tbody>\n";
  auto row = [&](const char* label, const std::string& value) {
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", label, value);
  };
  if (find(d, "source")) row("Source", cell(d, "source"));
  if (find(d, "rows")) row("Rows", cell(d, "rows"));
  if (const json* ch = find(d, "channels"); ch && ch->is_array()) {
    std::string names;
    for (size_t i = 0; i < ch->size(); ++i) {
      names += (i ? ", " : "") + cell(&(*ch)[i]);
    }
    row("Channels", fmt::format("{} &mdash; {}", ch->size(), names));
  }
  if (find(d, "target")) row("Target", cell(d, "target"));
  if (find(d, "time_start") || find(d, "time_end")) {
    row("Time range", cell(d, "time_start") + " &rarr; " + cell(d, "time_end"));
  }
  if (find(d, "step")) row("Step", cell(d, "step"));
  out += "</tbody></table>\n";
  if (const json* splits = find(d, "splits"); splits && splits->is_array() && !splits->empty()) {
    out += "<h3>Splits</h3>\n<table><thead><tr><th>Split</th><th>Rows</th><th>Start</th><th>End</th>"
           "</tr></thead><tbody>\n";
    for (const auto& s : *splits) {
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", cell(s, "name"),
                         cell(s, "rows"), cell(s, "start"), cell(s, "end"));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";
}

void render_metrics_section(std::string& out, const json& m) {
  const json* rows = find(m, "rows");
  if (!rows || !rows->is_array()) bad("metrics.rows", "must be an array of metric rows");
  const std::string reference = find(m, "reference") ? cell(m, "reference") : "reference";
  // Bold the best (lowest) value of each error column.
  const char* columns[] = {"mse", "mae", "mse_original", "mae_original"};
  double best[4];
  for (int c = 0; c < 4; ++c) {
    best[c] = INFINITY;
    for (const auto& r : *rows) {
      const json* v = find(r, columns[c]);
      if (v && v->is_number()) best[c] = std::fmin(best[c], v->get<double>());
    }
  }
  out += "<section id=\"metrics\"><h2>Forecast metrics (test split)</h2>\n";
  if (find(m, "note")) out += "<p class=\"note\">" + cell(m, "note") + "</p>\n";
  out += "<table><thead><tr><th>Model</th><th>MSE (normalised)</th><th>MAE (normalised)</th>"
         "<th>MSE (original)</th><th>MAE (original)</th><th>Skill vs " + reference +
         "</th></tr></thead><tbody>\n";
  for (const auto& r : *rows) {
    const bool baseline = find(r, "kind") && r["kind"] == "baseline";
    out += baseline ? "<tr class=\"baseline\">" : "<tr>";
    out += "<td>" + cell(r, "model") + (baseline ? " (baseline)" : "") + "</td>";
    for (int c = 0; c < 4; ++c) {
      const json* v = find(r, columns[c]);
      const bool is_best = v && v->is_number() && v->get<double>() == best[c];
      out += (is_best ? "<td class=\"best\">" : "<td>") + cell(v) + "</td>";
    }
    out += "<td>" + cell(r, "skill", "{:.4f}") + "</td></tr>\n";
  }
  out += "</tbody></table>\n</section>\n";
}

void render_spike_section(std::string& out, const json& s) {
  out += "<section id=\"spikes\"><h2>Spike detection</h2>\n";
  if (const json* ev = find(s, "event"); ev && ev->is_array()) {
    out += "<h3>Event-level";
    if (find(s, "tolerance")) out += " (tolerance " + cell(s, "tolerance") + " rows)";
    out += "</h3>\n<table><thead><tr><th>Detector</th><th>Precision</th><th>Recall</th><th>F1</th>"
           "<th>Events detected</th><th>Alarms on an event</th></tr></thead><tbody>\n";
    for (const auto& r : *ev) {
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td></tr>\n",
          cell(r, "detector"), cell(r, "precision", "{:.4f}"), cell(r, "recall", "{:.4f}"),
          cell(r, "f1", "{:.4f}"), cell(r, "detected_events"), cell(r, "true_events"),
          cell(r, "true_flagged_runs"), cell(r, "flagged_runs"));
    }
    out += "</tbody></table>\n";
  }
  if (const json* nab = find(s, "nab"); nab && nab->is_array()) {
    out += "<h3>NAB score (0 = null detector, 100 = perfect)</h3>\n"
           "<table class=\"nab\"><thead><tr><th>Detector</th><th>Profile</th><th>Score</th><th>Threshold</th>"
           "<th>TP rows</th><th>FP rows</th><th>FN rows</th><th>Windows detected</th></tr></thead><tbody>\n";
    for (const auto& r : *nab) {
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td></tr>\n",
          cell(r, "detector"), cell(r, "profile"), cell(r, "score", "{:.2f}"),
          cell(r, "threshold", "{:.4g}"), cell(r, "tp"), cell(r, "fp"), cell(r, "fn"),
          cell(r, "windows_detected"), cell(r, "windows"));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";
}

}  // namespace

int count_report_charts(const nlohmann::json& doc) {
  if (!doc.is_object()) throw Error("report document: must be a JSON object");
  return (has_training_chart(doc) ? 1 : 0) + (has_time_chart(doc, "forecast", true) ? 1 : 0) +
         (has_time_chart(doc, "ensemble_weights", false) ? 1 : 0);
}

std::string render_report(const nlohmann::json& doc) {
  const int expected = count_report_charts(doc);  // validates the chart sections
  const std::string title = find(doc, "title") && doc["title"].is_string()
                                ? doc["title"].get<std::string>()
                                : std::string("spikecast report");
  std::string out;
  out.reserve(96 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + escape_html(title) + "</title>\n<style>\n";
  out += report_assets::uplot_css();
  out += kStyle;
  out += "</style>\n</head>\n";
  out += fmt::format("<body data-charts-expected=\"{}\">\n<header><h1>{}</h1>", expected,
                     escape_html(title));
  std::string meta;
  if (find(doc, "generated_at")) meta += "Generated " + cell(doc, "generated_at");
  if (find(doc, "version")) meta += (meta.empty() ? "" : " &middot; ") + std::string("spikecast ") + cell(doc, "version");
  if (!meta.empty()) out += "<div class=\"meta\">" + meta + "</div>";
  out += "</header>\n<main>\n";

  if (const json* d = find(doc, "data")) render_data_section(out, *d);
  if (has_training_chart(doc)) {
    out += "<section id=\"training\"><h2>Training curves</h2>\n"
           "<p class=\"note\">Solid: training loss; dashed: validation loss.</p>\n";
    add_chart(out, "training");
    out += "</section>\n";
  }
  if (has_time_chart(doc, "forecast", true)) {
    out += "<section id=\"forecast\"><h2>Forecast vs actual (test split)</h2>\n";
    if (const json* note = find(doc["forecast"], "note")) out += "<p class=\"note\">" + cell(note) + "</p>\n";
    add_chart(out, "forecast");
    out += "</section>\n";
  }
  if (has_time_chart(doc, "ensemble_weights", false)) {
    out += "<section id=\"ensemble_weights\"><h2>Ensemble weights over time</h2>\n";
    add_chart(out, "ensemble_weights");
    out += "</section>\n";
  }
  if (const json* m = find(doc, "metrics")) render_metrics_section(out, *m);
  if (const json* s = find(doc, "spike_metrics")) render_spike_section(out, *s);
  out += "</main>\n";

  out += "<script type=\"application/json\" id=\"report-data\">";
  out += embeddable_json(doc);
  out += "</script>\n<script>\n";
  out += report_assets::uplot_js();
  out += "\n</script>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

void write_report(const nlohmann::json& doc, const std::string& path) {
  const std::string html = render_report(doc);
  write_file(path, html.data(), html.size(), "report file");
}

}  // namespace spikecast
