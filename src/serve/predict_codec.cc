#include "serve/predict_codec.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "serve/predict_request_reader.h"

namespace spikecast::serve {

using nlohmann::json;

namespace {

struct TooDeep {};

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

std::string expected_channels(const ModelInfo& info) {
  std::string s;
  for (const auto& c : info.channels) s += (s.empty() ? "" : ", ") + c;
  return s;
}

float to_value(const json& v, const std::string& field) {
  if (!v.is_number()) throw BadRequest(field, "expected a number, got " + type_name(v));
  const double d = v.get<double>();
  const float f = static_cast<float>(d);
  if (!std::isfinite(d) || !std::isfinite(f))
    throw BadRequest(field, "value " + fmt::format("{}", d) + " is not a finite float32");
  return f;
}

// The window's (keyed-by-name) members -> values [L, C] appended to `values`.
void parse_window(const json& w, const std::string& path, const ModelInfo& info, std::vector<float>& values,
                  float& filled) {
  if (!w.is_object()) throw BadRequest(path, "expected an object with 'rows' or 'columns', got " + type_name(w));
  for (auto it = w.begin(); it != w.end(); ++it) {
    const std::string& k = it.key();
    if (k != "rows" && k != "columns" && k != "filled_fraction" && k != "id")
      throw BadRequest(path + "." + k, "unknown key (expected rows, columns, filled_fraction, id)");
  }
  const bool has_rows = w.contains("rows"), has_cols = w.contains("columns");
  if (has_rows == has_cols) throw BadRequest(path, "expected exactly one of 'rows' or 'columns'");
  const int64_t L = info.input_length, C = static_cast<int64_t>(info.channels.size());
  std::unordered_map<std::string, int64_t> index;
  for (int64_t c = 0; c < C; ++c) index.emplace(info.channels[c], c);
  const size_t base = values.size();
  values.resize(base + static_cast<size_t>(L * C));
  float* out = values.data() + base;

  auto check_keys = [&](const json& obj, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!index.count(it.key()))
        throw BadRequest(where, "unknown feature '" + it.key() + "' (expected: " + expected_channels(info) + ")");
    if (static_cast<int64_t>(obj.size()) != C)
      for (const auto& c : info.channels)
        if (!obj.contains(c))
          throw BadRequest(where, "missing feature '" + c + "' (expected " + std::to_string(C) +
                                      " features: " + expected_channels(info) + ")");
  };

  if (has_rows) {
    const json& rows = w["rows"];
    const std::string rp = path + ".rows";
    if (!rows.is_array()) throw BadRequest(rp, "expected an array of rows, got " + type_name(rows));
    if (static_cast<int64_t>(rows.size()) != L)
      throw BadRequest(rp, "expected " + std::to_string(L) + " rows (the model's input length), got " +
                               std::to_string(rows.size()));
    for (int64_t t = 0; t < L; ++t) {
      const json& row = rows[t];
      const std::string where = rp + "[" + std::to_string(t) + "]";
      if (!row.is_object()) throw BadRequest(where, "expected an object {feature: value}, got " + type_name(row));
      check_keys(row, where);
      for (auto it = row.begin(); it != row.end(); ++it)
        out[t * C + index[it.key()]] = to_value(it.value(), where + "." + it.key());
    }
  } else {
    const json& cols = w["columns"];
    const std::string cp = path + ".columns";
    if (!cols.is_object()) throw BadRequest(cp, "expected an object {feature: [values]}, got " + type_name(cols));
    check_keys(cols, cp);
    for (auto it = cols.begin(); it != cols.end(); ++it) {
      const std::string where = cp + "." + it.key();
      const json& col = it.value();
      if (!col.is_array()) throw BadRequest(where, "expected an array of values, got " + type_name(col));
      if (static_cast<int64_t>(col.size()) != L)
        throw BadRequest(where, "expected " + std::to_string(L) + " values (the model's input length), got " +
                                    std::to_string(col.size()));
      const int64_t c = index[it.key()];
      for (int64_t t = 0; t < L; ++t) out[t * C + c] = to_value(col[t], where + "[" + std::to_string(t) + "]");
    }
  }
  filled = 0.0f;
  if (w.contains("filled_fraction")) {
    filled = to_value(w["filled_fraction"], path + ".filled_fraction");
    if (filled < 0.0f || filled > 1.0f)
      throw BadRequest(path + ".filled_fraction", "must be in [0, 1], got " + fmt::format("{}", filled));
  }
}

// The windows of a request: the "windows" array, or the body itself when it is one bare window.
const json* windows_of(const json& body, json& holder) {
  if (body.contains("windows")) return &body["windows"];
  holder = json::array({body});
  return &holder;
}

// Shortest decimal that round-trips the float ("0.1", not "0.10000000149011612").
json number(float f) { return std::strtod(fmt::format("{}", f).c_str(), nullptr); }

json float_array(const float* p, int64_t n) {
  json a = json::array();
  for (int64_t i = 0; i < n; ++i) a.push_back(number(p[i]));
  return a;
}

}  // namespace

json parse_json_limited(const std::string& body, int max_depth) {
  if (body.empty()) throw BadRequest("body", "empty (expected a JSON object)");
  json j;
  try {
    j = json::parse(body, [max_depth](int depth, json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth >= max_depth)
        throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    throw BadRequest("body", "JSON nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw BadRequest("body", std::string("invalid JSON: ") + e.what());
  }
  return j;
}

PredictInput parse_predict_request(const std::string& body, const ModelInfo& info, const PredictLimits& limits,
                                   std::vector<json>* ids) {
  // The streaming pass takes plain, valid requests; the document below explains what is wrong with
  // the others (or takes the rare valid forms the streaming pass leaves to it).
  PredictInput streamed;
  if (read_predict_request(body, info, limits, streamed, ids)) return streamed;
  const json j = parse_json_limited(body, limits.max_json_depth);
  if (!j.is_object()) throw BadRequest("body", "expected a JSON object, got " + type_name(j));
  if (j.contains("windows")) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "windows")
        throw BadRequest(it.key(), "unknown key next to 'windows' (per-window keys go inside each window)");
  } else if (!j.contains("rows") && !j.contains("columns")) {
    throw BadRequest("windows", "missing (expected an array of windows, or one window's 'rows' or 'columns')");
  }
  json holder;
  const json& ws = *windows_of(j, holder);
  const bool bare = !j.contains("windows");
  if (!ws.is_array()) throw BadRequest("windows", "expected an array of windows, got " + type_name(ws));
  if (ws.empty()) throw BadRequest("windows", "empty (expected at least one window)");
  if (static_cast<int64_t>(ws.size()) > limits.max_windows)
    throw BadRequest("windows", std::to_string(ws.size()) + " windows exceed the limit of " +
                                    std::to_string(limits.max_windows) + " per request");
  PredictInput in;
  in.windows = static_cast<int64_t>(ws.size());
  in.length = info.input_length;
  in.channels = info.channels;
  in.values.reserve(static_cast<size_t>(in.windows * in.length * in.num_channels()));
  in.filled_fraction.resize(static_cast<size_t>(in.windows));
  for (int64_t b = 0; b < in.windows; ++b) {
    const std::string path = bare ? std::string("body") : "windows[" + std::to_string(b) + "]";
    parse_window(ws[b], path, info, in.values, in.filled_fraction[b]);
    if (ids) ids->push_back(ws[b].contains("id") ? ws[b]["id"] : json());
  }
  return in;
}

std::string encode_predict_response(const PredictOutput& out, const ModelInfo& info, const std::string& version,
                                    const std::vector<json>& ids, int64_t batch_windows, double time_ms) {
  const int64_t h = out.horizon, m = out.num_members();
  json preds = json::array();
  for (int64_t b = 0; b < out.windows; ++b) {
    json p = json::object();
    if (b < static_cast<int64_t>(ids.size()) && !ids[b].is_null()) p["id"] = ids[b];
    p["forecast"] = float_array(out.forecast.data() + b * h, h);
    if (m > 0) {
      json members = json::object(), weights = json::object();
      for (int64_t k = 0; k < m; ++k) {
        members[out.member_names[k]] = float_array(out.member_forecasts.data() + (b * m + k) * h, h);
        weights[out.member_names[k]] = float_array(out.weights.data() + (b * m + k) * h, h);
      }
      p["members"] = std::move(members);
      p["weights"] = std::move(weights);
    }
    if (!out.spike_probability.empty()) {
      p["spike_probability"] = number(out.spike_probability[b]);
      p["spike"] = out.spike[b] != 0;
    }
    json rules = json::array();
    if (!out.rules_fired.empty())
      for (const auto& r : out.rules_fired[b]) rules.push_back(r);
    p["rules_fired"] = std::move(rules);
    preds.push_back(std::move(p));
  }
  json resp = {{"model_version", version},
               {"model", info.name},
               {"target", info.channels.empty() ? "" : info.channels.front()},
               {"horizon", h},
               {"members", out.member_names},
               {"predictions", std::move(preds)},
               {"batch_windows", batch_windows},
               {"time_ms", std::round(time_ms * 1000.0) / 1000.0}};
  return resp.dump();
}

}  // namespace spikecast::serve
