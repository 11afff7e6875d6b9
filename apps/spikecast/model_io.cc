#include "model_io.h"

#include "core/error.h"
#include "data/scaler_json.h"

namespace spikecast::app {

void save_run_bundle(const std::string& dir, train::TrainRun& run, const train::Dataset& data,
                     const Config& config, const train::Evaluation& evaluation) {
  models::BundleInfo info;
  info.channel_names = data.table.channels;
  info.scaler = nlohmann::json(data.scaler);
  info.extra = {{"history", run.history()},
                {"lineage", data.lineage()},
                {"data_settings", train::data_settings_json(config)},
                {"metrics", evaluation.to_json()}};
  models::save_bundle(dir, *run.ensemble, info);
}

models::LoadedBundle load_model_bundle(const std::string& dir, Config& config, torch::Device device) {
  models::LoadedBundle bundle = models::load_bundle(dir, device);
  if (!bundle.manifest.extra.contains("data_settings"))
    throw ModelError("bundle '" + dir + "' has no data settings (extra.data_settings in manifest.json)");
  train::apply_data_settings(bundle.manifest.extra.at("data_settings"), config);
  return bundle;
}

train::Dataset dataset_for_bundle(const models::LoadedBundle& bundle, const Config& config) {
  train::Dataset data = train::load_dataset(config);
  if (data.table.channels != bundle.manifest.channel_names) {
    std::string want, got;
    for (const auto& c : bundle.manifest.channel_names) want += (want.empty() ? "" : ",") + c;
    for (const auto& c : data.table.channels) got += (got.empty() ? "" : ",") + c;
    throw DataError(config.data.path, 0, "", "the model reads channels [" + want + "], the file gives [" + got + "]");
  }
  StandardScaler scaler;
  from_json(bundle.manifest.scaler, scaler);
  data.scaler = scaler;
  return data;
}

BundleEvaluation evaluate_bundle(const std::string& model_dir, Config& config, const Context& ctx) {
  models::LoadedBundle bundle = load_model_bundle(model_dir, config, ctx.device);
  if (config.data.path.empty())
    config.data.path = bundle.manifest.extra.value("lineage", nlohmann::json::object()).value("file", "");
  if (config.data.path.empty()) throw ConfigError("data.path", "no data: pass --data FILE");
  train::Dataset data = dataset_for_bundle(bundle, config);
  train::Evaluation evaluation = train::evaluate_model(*bundle.model, data, config, ctx);
  return {std::move(bundle), std::move(data), std::move(evaluation)};
}

}  // namespace spikecast::app
