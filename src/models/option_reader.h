// Reads a model's options from JSON with the project's rules: every key optional (defaults stay),
// a wrong type or an unknown key is a ConfigError naming the dotted field ("models.lstm.dropout").
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace spikecast::models {

class OptionReader {
 public:
  // `options` may be null (all defaults) or an object; `prefix` names it in errors.
  OptionReader(const nlohmann::json& options, std::string prefix);

  // Copies options[key] into out when present; ConfigError when it has the wrong type.
  template <class T>
  void read(const std::string& key, T& out) {
    const nlohmann::json* v = take(key);
    if (!v) return;
    try {
      out = v->get<T>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(field(key), "wrong type: got " + v->dump());
    }
  }
  // The raw value (nullptr when absent), marked as consumed.
  const nlohmann::json* take(const std::string& key);
  // ConfigError for the first key nobody read, listing the keys that were read.
  void finish() const;

  std::string field(const std::string& key) const { return prefix_ + "." + key; }
  const std::string& prefix() const { return prefix_; }

 private:
  const nlohmann::json& options_;
  std::string prefix_;
  std::set<std::string> known_;
};

// Validation helpers shared by the models' Options::validate().
void check_widths(const std::string& field, const std::vector<int64_t>& widths, bool allow_empty = false);
void check_probability(const std::string& field, double p);  // 0 <= p < 1
void check_positive(const std::string& field, int64_t value);

}  // namespace spikecast::models
