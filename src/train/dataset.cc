#include "train/dataset.h"

#include "core/error.h"
#include "core/sha256.h"
#include "data/scaler_json.h"
#include "data/spike_labels.h"

namespace spikecast::train {

int64_t default_season_period(int64_t step_ms) {
  constexpr int64_t kDay = 86400000;
  if (step_ms <= 0) return 1;
  if (step_ms < kDay && kDay % step_ms == 0) return kDay / step_ms;
  if (step_ms == kDay) return 7;
  return 1;
}

Dataset prepare_dataset(Table table, const Config& config, LoadReport report) {
  Dataset d;
  d.table = std::move(table);
  d.report = std::move(report);
  d.split = split_table(d.table, config.split);
  d.windows = make_windows(d.table, d.split, config.window);
  const std::string& name = d.table.source;
  if (d.windows.train.empty())
    throw DataError(name, 0, "", "the train split has no complete window of L + H = " +
                                     std::to_string(config.window.input_length + config.window.horizon) +
                                     " rows; use more data or a shorter window");
  if (d.windows.val.empty())
    throw DataError(name, 0, "", "the validation split has no complete window; use more data, a shorter "
                                 "horizon or a larger split.val");
  if (d.windows.test.empty())
    throw DataError(name, 0, "", "the test split has no complete window; use more data or a shorter horizon");
  d.scaler.fit_train(d.table, d.split);
  d.spike_labels = label_spikes(d.table, config.spikes);
  return d;
}

Dataset load_dataset(const Config& config) {
  LoadReport report;
  Table table = load_csv(config.data, config.window, &report);
  const std::string hash = sha256_file_hex(config.data.path);
  Dataset d = prepare_dataset(std::move(table), config, std::move(report));
  d.file_sha256 = hash;
  return d;
}

nlohmann::json data_settings_json(const Config& c) {
  return {{"time_column", c.data.time_column},
          {"target_column", c.data.target_column},
          {"feature_columns", c.data.feature_columns},
          {"series_column", c.data.series_column},
          {"missing_policy", to_string(c.data.missing_policy)},
          {"max_fill_steps", c.data.max_fill_steps},
          {"input_length", c.window.input_length},
          {"horizon", c.window.horizon},
          {"split", {{"mode", to_string(c.split.mode)}, {"train", c.split.train}, {"val", c.split.val}, {"test", c.split.test}}},
          {"spikes", {{"look_back", c.spikes.look_back}, {"threshold", c.spikes.threshold}}}};
}

void apply_data_settings(const nlohmann::json& s, Config& c) {
  try {
    c.data.time_column = s.at("time_column").get<std::string>();
    c.data.target_column = s.at("target_column").get<std::string>();
    c.data.feature_columns = s.at("feature_columns").get<std::vector<std::string>>();
    c.data.series_column = s.at("series_column").get<std::string>();
    c.data.missing_policy = s.at("missing_policy").get<std::string>() == "reject" ? MissingPolicy::kReject : MissingPolicy::kFill;
    c.data.max_fill_steps = s.at("max_fill_steps").get<int64_t>();
    c.window.input_length = s.at("input_length").get<int64_t>();
    c.window.horizon = s.at("horizon").get<int64_t>();
    const auto& sp = s.at("split");
    c.split.mode = sp.at("mode").get<std::string>() == "ett" ? SplitMode::kEtt : SplitMode::kFractions;
    c.split.train = sp.at("train").get<double>();
    c.split.val = sp.at("val").get<double>();
    c.split.test = sp.at("test").get<double>();
    c.spikes.look_back = s.at("spikes").at("look_back").get<int64_t>();
    c.spikes.threshold = s.at("spikes").at("threshold").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(std::string("bundle data settings are incomplete: ") + e.what());
  }
}

nlohmann::json Dataset::lineage() const {
  nlohmann::json splits = nlohmann::json::array();
  for (size_t i = 0; i < split.series.size(); ++i) {
    const SeriesSplit& s = split.series[i];
    const auto boundary = [&](const RowRange& r) {
      nlohmann::json j = {{"rows", r.size()}};
      if (!r.empty()) {
        j["from"] = format_timestamp(table.time[r.begin]);
        j["to"] = format_timestamp(table.time[r.end - 1]);
      }
      return j;
    };
    splits.push_back({{"series", table.series[i].name},
                      {"train", boundary(s.train)},
                      {"val", boundary(s.val)},
                      {"test", boundary(s.test)}});
  }
  nlohmann::json j = {{"file", table.source},
                      {"sha256", file_sha256},
                      {"rows", table.rows()},
                      {"series", static_cast<int64_t>(table.series.size())},
                      {"channels", table.channels},
                      {"step_ms", table.step_ms},
                      {"splits", splits},
                      {"windows", {{"train", windows.train.size()}, {"val", windows.val.size()},
                                   {"test", windows.test.size()}}},
                      {"scaler", nlohmann::json(scaler)}};
  if (table.rows() > 0) {
    j["time_begin"] = format_timestamp(report.time_begin ? report.time_begin : table.time.front());
    j["time_end"] = format_timestamp(report.time_end ? report.time_end : table.time.back());
  }
  return j;
}

}  // namespace spikecast::train
