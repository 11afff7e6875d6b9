#include "data/scaler_json.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace spikecast {

void to_json(nlohmann::json& j, const StandardScaler& scaler) {
  j = nlohmann::json{{"type", "standard"},
                     {"channels", scaler.channels()},
                     {"mean", scaler.mean()},
                     {"std", scaler.stddev()}};
}

void from_json(const nlohmann::json& j, StandardScaler& scaler) {
  try {
    if (!j.is_object()) throw ModelError("scaler: expected a JSON object");
    if (j.at("type").get<std::string>() != "standard")
      throw ModelError("scaler: unknown type '" + j.at("type").get<std::string>() + "'");
    auto channels = j.at("channels").get<std::vector<std::string>>();
    auto mean = j.at("mean").get<std::vector<double>>();
    auto sd = j.at("std").get<std::vector<double>>();
    if (channels.size() != mean.size() || mean.size() != sd.size())
      throw ModelError("scaler: channels, mean and std differ in length (" +
                       std::to_string(channels.size()) + ", " + std::to_string(mean.size()) + ", " +
                       std::to_string(sd.size()) + ")");
    scaler = StandardScaler(std::move(channels), std::move(mean), std::move(sd));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(std::string("scaler: ") + e.what());
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    throw ModelError(e.what());
  }
}

}  // namespace spikecast
