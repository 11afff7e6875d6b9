#include "models/forecaster.h"

#include "core/error.h"
#include "models/option_reader.h"

namespace spikecast::models {

void ModelSpec::validate(const std::string& model) const {
  const std::string p = "models." + model;
  if (input_length < 1 || input_length > 100000)
    throw ConfigError(p + ".input_length", "must be in 1..100000, got " + std::to_string(input_length));
  if (horizon < 1 || horizon > 10000)
    throw ConfigError(p + ".horizon", "must be in 1..10000, got " + std::to_string(horizon));
  if (channels < 1 || channels > 100000)
    throw ConfigError(p + ".channels", "must be in 1..100000, got " + std::to_string(channels));
  if (!options.is_null() && !options.is_object())
    throw ConfigError(p, "options must be a JSON object, got " + options.dump());
}

void ForecasterImpl::check_input(const torch::Tensor& x) const {
  if (!x.defined() || x.dim() != 3 || x.size(1) != input_length_ || x.size(2) != channels_) {
    std::string got = x.defined() ? c10::str(x.sizes()) : "undefined";
    throw ModelError(type_name() + ": input must be [batch, " + std::to_string(input_length_) + ", " +
                     std::to_string(channels_) + "], got " + got);
  }
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

OptionReader::OptionReader(const nlohmann::json& options, std::string prefix)
    : options_(options), prefix_(std::move(prefix)) {
  if (!options_.is_null() && !options_.is_object())
    throw ConfigError(prefix_, "must be a JSON object, got " + options_.dump());
}

const nlohmann::json* OptionReader::take(const std::string& key) {
  known_.insert(key);
  if (options_.is_null()) return nullptr;
  auto it = options_.find(key);
  return it == options_.end() ? nullptr : &*it;
}

void OptionReader::finish() const {
  if (options_.is_null()) return;
  for (auto it = options_.begin(); it != options_.end(); ++it) {
    if (known_.count(it.key())) continue;
    std::string allowed;
    for (const auto& k : known_) allowed += (allowed.empty() ? "" : ", ") + k;
    throw ConfigError(field(it.key()), "unknown option (known: " + allowed + ")");
  }
}

void check_widths(const std::string& field, const std::vector<int64_t>& widths, bool allow_empty) {
  if (widths.empty() && !allow_empty) throw ConfigError(field, "needs at least one width");
  for (int64_t w : widths)
    if (w < 1) throw ConfigError(field, "widths must be >= 1, got " + std::to_string(w));
}

void check_probability(const std::string& field, double p) {
  if (!(p >= 0.0 && p < 1.0)) throw ConfigError(field, "must be in [0, 1), got " + std::to_string(p));
}

void check_positive(const std::string& field, int64_t value) {
  if (value < 1) throw ConfigError(field, "must be >= 1, got " + std::to_string(value));
}

}  // namespace spikecast::models
