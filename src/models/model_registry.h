// The one explicit registry: model name -> constructor from a ModelSpec (L, H, C, options JSON).
// A saved bundle stores (name, spec) and rebuilds its model through here.
//   "lstm" "gru" "cnn_lstm" "spike" "rule" "patchtst"   deep members (forecast frame inside)
//   "linear" "repeat_last" "seasonal_naive"             simple forecasters / baselines
//   "ensemble"                                           DynamicEnsemble over registry members
#pragma once

#include <string>
#include <vector>

#include "models/forecaster.h"

namespace spikecast::models {

// Builds the named model; ConfigError on an unknown name (listing the known ones) or bad options.
Forecaster make_forecaster(const std::string& name, const ModelSpec& spec);

// Rebuilds a model of the same type and options (fresh parameters).
inline Forecaster rebuild(const ForecasterImpl& model) { return make_forecaster(model.type_name(), model.spec()); }

// Every registered name, in registry order.
std::vector<std::string> forecaster_names();

// The users' five ensemble members, in their order.
std::vector<std::string> user_member_names();

}  // namespace spikecast::models
