// JSON form of StandardScaler, for model bundles:
// {"type": "standard", "channels": [...], "mean": [...], "std": [...]}.
// Kept apart from scaler.h so that only users of JSON pay for nlohmann/json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "data/scaler.h"

namespace spikecast {

void to_json(nlohmann::json& j, const StandardScaler& scaler);
// Throws ModelError for a malformed object (missing key, wrong type, mismatched sizes, std <= 0).
void from_json(const nlohmann::json& j, StandardScaler& scaler);

}  // namespace spikecast
