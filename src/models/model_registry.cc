#include "models/model_registry.h"

#include <functional>
#include <utility>

#include "core/error.h"
#include "models/cnn_lstm.h"
#include "models/dlinear.h"
#include "models/dynamic_ensemble.h"
#include "models/patch_tst.h"
#include "models/repeat_last.h"
#include "models/residual_gru.h"
#include "models/rule_lstm.h"
#include "models/seasonal_naive.h"
#include "models/spike_detector.h"
#include "models/stacked_lstm.h"

namespace spikecast::models {
namespace {

using Factory = std::function<Forecaster(const ModelSpec&)>;

template <class Impl, class Options>
Factory factory() {
  return [](const ModelSpec& spec) -> Forecaster { return std::make_shared<Impl>(Options::from_spec(spec)); };
}

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> kRegistry = {
      {"lstm", factory<StackedLstmImpl, StackedLstmOptions>()},
      {"gru", factory<ResidualGruImpl, ResidualGruOptions>()},
      {"cnn_lstm", factory<CnnLstmImpl, CnnLstmOptions>()},
      {"spike", factory<SpikeDetectorImpl, SpikeDetectorOptions>()},
      {"rule", factory<RuleLstmImpl, RuleLstmOptions>()},
      {"patchtst", factory<PatchTstImpl, PatchTstOptions>()},
      {"linear", factory<DLinearImpl, DLinearOptions>()},
      {"repeat_last", factory<RepeatLastImpl, RepeatLastOptions>()},
      {"seasonal_naive", factory<SeasonalNaiveImpl, SeasonalNaiveOptions>()},
      {"ensemble", factory<DynamicEnsembleImpl, DynamicEnsembleOptions>()},
  };
  return kRegistry;
}

}  // namespace

Forecaster make_forecaster(const std::string& name, const ModelSpec& spec) {
  for (const auto& [n, f] : registry())
    if (n == name) return f(spec);
  std::string known;
  for (const auto& [n, f] : registry()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("models.name", "unknown model '" + name + "' (known: " + known + ")");
}

std::vector<std::string> forecaster_names() {
  std::vector<std::string> names;
  for (const auto& [n, f] : registry()) names.push_back(n);
  return names;
}

std::vector<std::string> user_member_names() { return {"lstm", "gru", "cnn_lstm", "spike", "rule"}; }

}  // namespace spikecast::models
