#include "models/rules_layer.h"

#include <cmath>

#include "core/error.h"
#include "models/option_reader.h"

namespace spikecast::models {
namespace {

struct TypeName { RuleType type; const char* name; };
constexpr TypeName kTypes[] = {{RuleType::kClamp, "clamp"},
                               {RuleType::kMaxStepChange, "max_step_change"},
                               {RuleType::kMaxRelativeChange, "max_relative_change"},
                               {RuleType::kGapFallback, "gap_fallback"},
                               {RuleType::kNonFiniteFallback, "non_finite_fallback"}};

// JSON has no infinity: an absent bound is written as null.
nlohmann::json bound_json(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

std::string Rule::name() const {
  for (const auto& t : kTypes)
    if (t.type == type) return t.name;
  return "?";
}

Rule Rule::from_json(const nlohmann::json& j, const std::string& field) {
  if (!j.is_object()) throw ConfigError(field, "a rule must be a JSON object, got " + j.dump());
  OptionReader r(j, field);
  std::string type;
  r.read("type", type);
  Rule rule;
  bool found = false;
  std::string known;
  for (const auto& t : kTypes) {
    known += (known.empty() ? "" : ", ") + std::string(t.name);
    if (type == t.name) rule.type = t.type, found = true;
  }
  if (!found) throw ConfigError(field + ".type", "unknown rule type '" + type + "' (known: " + known + ")");
  std::string units = "original";
  r.read("units", units);
  if (units != "original" && units != "scaled")
    throw ConfigError(field + ".units", "must be 'original' or 'scaled', got '" + units + "'");
  rule.original_units = units == "original";
  auto read_bound = [&](const char* key, double& out) {
    const nlohmann::json* v = r.take(key);
    if (!v || v->is_null()) return;
    if (!v->is_number()) throw ConfigError(r.field(key), "must be a number, got " + v->dump());
    out = v->get<double>();
  };
  switch (rule.type) {
    case RuleType::kClamp:
      read_bound("min", rule.min);
      read_bound("max", rule.max);
      if (!(rule.min <= rule.max)) throw ConfigError(field, "clamp needs min <= max");
      break;
    case RuleType::kMaxStepChange:
      r.read("max_change", rule.max_change);
      if (!(rule.max_change >= 0)) throw ConfigError(field + ".max_change", "must be >= 0");
      break;
    case RuleType::kMaxRelativeChange:
      r.read("fraction", rule.fraction);
      if (!(rule.fraction >= 0)) throw ConfigError(field + ".fraction", "must be >= 0");
      break;
    case RuleType::kGapFallback:
      r.read("max_filled_fraction", rule.max_filled_fraction);
      if (!(rule.max_filled_fraction >= 0 && rule.max_filled_fraction <= 1))
        throw ConfigError(field + ".max_filled_fraction", "must be in [0, 1]");
      break;
    case RuleType::kNonFiniteFallback: break;
  }
  r.finish();
  return rule;
}

nlohmann::json Rule::to_json() const {
  nlohmann::json j = {{"type", name()}};
  switch (type) {
    case RuleType::kClamp: j["min"] = bound_json(min); j["max"] = bound_json(max); break;
    case RuleType::kMaxStepChange: j["max_change"] = max_change; break;
    case RuleType::kMaxRelativeChange: j["fraction"] = fraction; break;
    case RuleType::kGapFallback: j["max_filled_fraction"] = max_filled_fraction; break;
    case RuleType::kNonFiniteFallback: break;
  }
  if (type != RuleType::kGapFallback && type != RuleType::kNonFiniteFallback)
    j["units"] = original_units ? "original" : "scaled";
  return j;
}

void RulesLayerOptions::validate(const std::string& prefix) const {
  if (!(target_std > 0) || !std::isfinite(target_std))
    throw ConfigError(prefix + ".target_std", "must be a finite number > 0, got " + std::to_string(target_std));
  if (!std::isfinite(target_mean)) throw ConfigError(prefix + ".target_mean", "must be finite");
}

RulesLayerImpl::RulesLayerImpl(const RulesLayerOptions& options) : options_(options) {
  options_.validate("models.rule");
}

RulesResult RulesLayerImpl::forward(const torch::Tensor& y_in, const torch::Tensor& last_in,
                                    const torch::Tensor& filled_fraction) {
  const double mean = options_.target_mean, std = options_.target_std;
  const int64_t batch = y_in.size(0), horizon = y_in.size(1);
  torch::Tensor y = y_in;
  torch::Tensor last = last_in.unsqueeze(1);  // [B, 1]
  // Steps ahead 1..H, for the per-step change limits: [1, H].
  torch::Tensor steps = torch::arange(1, horizon + 1, y.options()).unsqueeze(0);
  std::vector<torch::Tensor> fired;
  for (const Rule& rule : options_.rules) {
    // A value in the rule's units expressed in scaled units (a level, or a change when !level).
    auto to_scaled = [&](double v, bool level) {
      if (!rule.original_units) return v;
      return level ? (v - mean) / std : v / std;
    };
    torch::Tensor hit;
    switch (rule.type) {
      case RuleType::kClamp: {
        torch::Tensor lo = torch::full_like(y, std::isfinite(rule.min) ? to_scaled(rule.min, true) : -INFINITY);
        torch::Tensor hi = torch::full_like(y, std::isfinite(rule.max) ? to_scaled(rule.max, true) : INFINITY);
        hit = ((y < lo) | (y > hi)).any(1);
        y = torch::minimum(torch::maximum(y, lo), hi);
        break;
      }
      case RuleType::kMaxStepChange:
      case RuleType::kMaxRelativeChange: {
        torch::Tensor limit;  // [B, H] allowed |y - last| in scaled units
        if (rule.type == RuleType::kMaxStepChange) {
          limit = (to_scaled(rule.max_change, false) * steps).expand({batch, horizon});
        } else {
          // Relative to the last value in original units: |mean + std * last| * f / std per step.
          torch::Tensor level = (mean + std * last).abs();
          limit = level * rule.fraction / std * steps;
        }
        torch::Tensor lo = last - limit, hi = last + limit;
        hit = ((y < lo) | (y > hi)).any(1);
        y = torch::minimum(torch::maximum(y, lo), hi);
        break;
      }
      case RuleType::kGapFallback: {
        if (!filled_fraction.defined()) {
          hit = torch::zeros({batch}, y.options().dtype(torch::kBool));
          break;
        }
        hit = filled_fraction.to(y.device()) > rule.max_filled_fraction;  // [B]
        y = torch::where(hit.unsqueeze(1), last.expand_as(y), y);
        break;
      }
      case RuleType::kNonFiniteFallback: {
        torch::Tensor bad = ~torch::isfinite(y);  // [B, H]
        hit = bad.any(1);
        y = torch::where(bad, last.expand_as(y), y);
        break;
      }
    }
    fired.push_back(hit);
  }
  RulesResult out;
  out.value = y;
  out.fired = fired.empty() ? torch::zeros({batch, 0}, y.options().dtype(torch::kBool))
                            : torch::stack(fired, 1);
  return out;
}

}  // namespace spikecast::models
