#include "detect/nab_labels.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace spikecast {
namespace {

TimestampMs parse_stamp(const nlohmann::json& v, const std::string& name, const std::string& key) {
  if (!v.is_string()) throw DataError(name, 0, key, "expected a timestamp string, got " + v.dump());
  const auto t = parse_timestamp(v.get<std::string>());
  if (!t) throw DataError(name, 0, key, "cannot parse timestamp '" + v.get<std::string>() + "'");
  return *t;
}

}  // namespace

std::map<std::string, NabFileLabels> parse_nab_labels_json(const std::string& text, const std::string& name) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw DataError(name, 0, "", std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw DataError(name, 0, "", "expected a JSON object {\"file.csv\": [timestamps]}");
  std::map<std::string, NabFileLabels> out;
  for (const auto& [key, list] : doc.items()) {
    if (!list.is_array()) throw DataError(name, 0, key, "expected an array of timestamps or [begin, end] pairs");
    NabFileLabels& entry = out[key];
    for (const auto& item : list) {
      if (item.is_array()) {
        if (item.size() != 2) throw DataError(name, 0, key, "a window must be [begin, end], got " + item.dump());
        entry.windows.emplace_back(parse_stamp(item[0], name, key), parse_stamp(item[1], name, key));
      } else {
        entry.labels.push_back(parse_stamp(item, name, key));
      }
    }
  }
  return out;
}

std::map<std::string, NabFileLabels> read_nab_labels_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, 0, "", "cannot open labels file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_nab_labels_json(ss.str(), path);
}

const NabFileLabels* find_nab_labels(const std::map<std::string, NabFileLabels>& labels, const std::string& file) {
  if (auto it = labels.find(file); it != labels.end()) return &it->second;
  // Longest key that is a path suffix of `file` (or whose basename equals file's basename).
  const NabFileLabels* best = nullptr;
  size_t best_len = 0;
  for (const auto& [key, value] : labels) {
    const bool suffix = file.size() > key.size() && file.compare(file.size() - key.size(), key.size(), key) == 0 &&
                        file[file.size() - key.size() - 1] == '/';
    if (suffix && key.size() > best_len) {
      best = &value;
      best_len = key.size();
    }
  }
  if (best) return best;
  const auto base = [](const std::string& p) { return p.substr(p.find_last_of('/') + 1); };
  for (const auto& [key, value] : labels) {
    if (base(key) == base(file)) return &value;
  }
  return nullptr;
}

std::vector<int64_t> rows_of_timestamps(const std::vector<TimestampMs>& time, const std::vector<TimestampMs>& stamps,
                                        const std::string& name) {
  const bool sorted = std::is_sorted(time.begin(), time.end());
  std::vector<int64_t> rows;
  for (TimestampMs t : stamps) {
    // The first row at or after t: by bisection in time order, else by a scan in file order.
    const auto it = sorted ? std::lower_bound(time.begin(), time.end(), t)
                           : std::find_if(time.begin(), time.end(), [t](TimestampMs v) { return v >= t; });
    if (it == time.end()) {
      throw DataError(name, 0, "", "label " + format_timestamp(t) + " is after the last row" +
                                       (time.empty() ? std::string() : " (" + format_timestamp(time.back()) + ")"));
    }
    rows.push_back(static_cast<int64_t>(it - time.begin()));
  }
  return rows;
}

int64_t last_row_at_or_before(const std::vector<TimestampMs>& time, TimestampMs t) {
  if (std::is_sorted(time.begin(), time.end()))
    return static_cast<int64_t>(std::upper_bound(time.begin(), time.end(), t) - time.begin()) - 1;
  int64_t last = -1;
  for (size_t r = 0; r < time.size(); ++r)
    if (time[r] <= t) last = static_cast<int64_t>(r);
  return last;
}

std::vector<int64_t> anomaly_starts(const std::vector<uint8_t>& flags) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] && (i == 0 || !flags[i - 1])) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace spikecast
