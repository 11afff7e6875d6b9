#include "score/row_formatter.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace spikecast::score {
namespace {

void append_float(std::string& out, float v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  out.append(buf, static_cast<size_t>(n));
}

// A CSV cell, quoted when it holds a comma, quote or line end.
void append_csv_cell(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_json_string(std::string& out, const std::string& s) { 
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

OutputFormat parse_output_format(const std::string& name) {
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "jsonl") return OutputFormat::kJsonl;
  throw ConfigError("score.format", "must be csv or jsonl, got '" + name + "'");
}

const char* to_string(OutputFormat format) { return format == OutputFormat::kCsv ? "csv" : "jsonl"; }

RowFormatter::RowFormatter(OutputFormat format, const serve::ModelInfo& info) : format_(format), info_(info) {}

std::string RowFormatter::header() const {
  if (format_ == OutputFormat::kJsonl) return "";
  std::string out = "series,timestamp";
  for (int64_t h = 1; h <= info_.horizon; ++h) out += ",forecast_" + std::to_string(h);
  for (const std::string& m : info_.member_names)
    for (int64_t h = 1; h <= info_.horizon; ++h) {
      out += ',';
      append_csv_cell(out, "member_" + m + "_" + std::to_string(h));
    }
  return out + ",spike_probability,spike_flag,rules_fired\n";
}

void RowFormatter::append(std::string& out, const std::string& series, TimestampMs origin,
                          const serve::PredictOutput& o, int64_t i) const {
  const int64_t H = o.horizon, M = o.num_members();
  const size_t bi = static_cast<size_t>(i);
  const bool spike = !o.spike_probability.empty();
  std::string rules;
  for (const std::string& r : o.rules_fired[bi]) rules += (rules.empty() ? "" : ";") + r;
  if (format_ == OutputFormat::kCsv) {
    append_csv_cell(out, series);
    out += ',';
    out += format_timestamp(origin);
    for (int64_t h = 0; h < H; ++h) {
      out += ',';
      append_float(out, o.forecast[static_cast<size_t>(i * H + h)]);
    }
    for (int64_t m = 0; m < M; ++m)
      for (int64_t h = 0; h < H; ++h) {
        out += ',';
        append_float(out, o.member_forecasts[static_cast<size_t>((i * M + m) * H + h)]);
      }
    out += ',';
    if (spike) append_float(out, o.spike_probability[bi]);
    out += ',';
    if (spike) out += o.spike[bi] ? '1' : '0';
    out += ',';
    append_csv_cell(out, rules);
    out += '\n';
    return;
  }
  out += "{\"series\":";
  append_json_string(out, series);
  out += ",\"timestamp\":\"" + format_timestamp(origin) + "\",\"forecast\":[";
  for (int64_t h = 0; h < H; ++h) {
    if (h) out += ',';
    append_float(out, o.forecast[static_cast<size_t>(i * H + h)]);
  }
  out += "],\"members\":{";
  for (int64_t m = 0; m < M; ++m) {
    if (m) out += ',';
    append_json_string(out, o.member_names[static_cast<size_t>(m)]);
    out += ":[";
    for (int64_t h = 0; h < H; ++h) {
      if (h) out += ',';
      append_float(out, o.member_forecasts[static_cast<size_t>((i * M + m) * H + h)]);
    }
    out += ']';
  }
  out += "},\"spike_probability\":";
  if (spike) append_float(out, o.spike_probability[bi]);
  else out += "null";
  out += ",\"spike_flag\":";
  out += spike ? (o.spike[bi] ? "true" : "false") : "null";
  out += ",\"rules_fired\":[";
  for (size_t r = 0; r < o.rules_fired[bi].size(); ++r) {
    if (r) out += ',';
    append_json_string(out, o.rules_fired[bi][r]);
  }
  out += "]}\n";
}

}  // namespace spikecast::score
