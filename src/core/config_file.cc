#include "core/config_file.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/error.h"

namespace spikecast {
namespace {

// Reads the keys of one TOML table into struct fields, remembering which keys were used so that
// finish() can reject the rest by name.
class Section {
 public:
  Section(const toml::table* table, std::string prefix) : table_(table), prefix_(std::move(prefix)) {}

  void read(const char* key, std::string& out) {
    if (auto* node = find(key)) {
      auto v = node->value<std::string>();
      if (!v || !node->is_string()) throw wrong_type(key, "a string");
      out = *v;
    }
  }
  void read(const char* key, int64_t& out) {
    if (auto* node = find(key)) {
      if (!node->is_integer()) throw wrong_type(key, "an integer");
      out = *node->value<int64_t>();
    }
  }
  void read(const char* key, uint64_t& out) {
    int64_t v = static_cast<int64_t>(out);
    read(key, v);
    if (v < 0) throw ConfigError(prefix_ + key, "must be >= 0");
    out = static_cast<uint64_t>(v);
  }
  void read(const char* key, double& out) {
    if (auto* node = find(key)) {
      if (!node->is_number()) throw wrong_type(key, "a number");
      out = *node->value<double>();
    }
  }
  void read(const char* key, bool& out) {
    if (auto* node = find(key)) {
      if (!node->is_boolean()) throw wrong_type(key, "true or false");
      out = *node->value<bool>();
    }
  }
  void read(const char* key, std::vector<std::string>& out) {
    if (auto* node = find(key)) {
      const toml::array* arr = node->as_array();
      if (!arr) throw wrong_type(key, "an array of strings");
      out.clear();
      for (const auto& item : *arr) {
        if (!item.is_string()) throw wrong_type(key, "an array of strings");
        out.push_back(*item.value<std::string>());
      }
    }
  }
  template <typename Enum>
  void read_enum(const char* key, Enum& out, std::initializer_list<std::pair<const char*, Enum>> choices) {
    std::string text;
    if (!find(key)) return;
    read(key, text);
    std::string allowed;
    for (const auto& [name, value] : choices) {
      if (text == name) {
        out = value;
        return;
      }
      allowed += allowed.empty() ? std::string("'") + name + "'" : std::string(", '") + name + "'";
    }
    throw ConfigError(prefix_ + key, "must be one of " + allowed + ", got '" + text + "'");
  }

  // Throws for the first key of the table that no read() asked for.
  void finish() const {
    if (!table_) return;
    for (const auto& [key, node] : *table_) {
      if (!used_.count(std::string(key.str())))
        throw ConfigError(prefix_ + std::string(key.str()), "unknown key");
    }
  }

 private:
  const toml::node* find(const char* key) {
    used_.insert(key);
    return table_ ? table_->get(key) : nullptr;
  }
  ConfigError wrong_type(const char* key, const char* expected) const {
    return ConfigError(prefix_ + key, std::string("must be ") + expected);
  }

  const toml::table* table_;
  std::string prefix_;
  std::set<std::string> used_;
};

const toml::table* sub_table(const toml::table& root, const char* name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (!node->is_table()) throw ConfigError(name, "must be a table ([" + std::string(name) + "])");
  return node->as_table();
}

void read_data(const toml::table* t, DataConfig& c) {
  Section s(t, "data.");
  s.read("path", c.path);
  s.read("time_column", c.time_column);
  s.read("target_column", c.target_column);
  s.read("feature_columns", c.feature_columns);
  s.read("series_column", c.series_column);
  s.read_enum("missing_policy", c.missing_policy,
              {{"fill", MissingPolicy::kFill}, {"reject", MissingPolicy::kReject}});
  s.read("max_fill_steps", c.max_fill_steps);
  s.finish();
}

void read_window(const toml::table* t, WindowConfig& c) {
  Section s(t, "window.");
  s.read("input_length", c.input_length);
  s.read("horizon", c.horizon);
  s.read("stride", c.stride);
  s.finish();
}

void read_split(const toml::table* t, SplitConfig& c) {
  Section s(t, "split.");
  s.read_enum("mode", c.mode, {{"fractions", SplitMode::kFractions}, {"ett", SplitMode::kEtt}});
  s.read("train", c.train);
  s.read("val", c.val);
  s.read("test", c.test);
  s.finish();
}

void read_generator(const toml::table* t, GeneratorConfig& c) {
  Section s(t, "generator.");
  s.read("rows", c.rows);
  s.read("series", c.series);
  s.read("seed", c.seed);
  s.read("step_seconds", c.step_seconds);
  s.read("spike_rate", c.spike_rate);
  s.read("start", c.start);
  s.finish();
}

void read_spikes(const toml::table* t, SpikeConfig& c) {
  Section s(t, "spikes.");
  s.read("look_back", c.look_back);
  s.read("threshold", c.threshold);
  s.finish();
}

void read_train(const toml::table* t, TrainConfig& c) {
  Section s(t, "train.");
  s.read("members", c.members);
  s.read("join", c.join);
  s.read("join_min_windows", c.join_min_windows);
  s.read("device", c.device);
  s.read("precision", c.precision);
  s.read("epochs", c.epochs);
  s.read("batch_size", c.batch_size);
  s.read("accumulation", c.accumulation);
  s.read("lr", c.lr);
  s.read("weight_decay", c.weight_decay);
  s.read("warmup_fraction", c.warmup_fraction);
  s.read("schedule", c.schedule);
  s.read("clip_norm", c.clip_norm);
  s.read("patience", c.patience);
  s.read("loss", c.loss);
  s.read("huber_delta", c.huber_delta);
  s.read("spike_loss_weight", c.spike_loss_weight);
  s.read("max_batches_per_epoch", c.max_batches_per_epoch);
  s.read("time_budget_s", c.time_budget_s);
  s.read("ensemble", c.ensemble);
  s.read("member_schedule", c.member_schedule);
  s.read("cuda_graphs", c.cuda_graphs);
  s.read("fused_optimizer", c.fused_optimizer);
  s.read("gate_epochs", c.gate_epochs);
  s.read("gate_lr", c.gate_lr);
  s.read("gate_weight_decay", c.gate_weight_decay);
  s.read("gate_holdout", c.gate_holdout);
  s.read("fine_tune_epochs", c.fine_tune_epochs);
  s.read("fine_tune_lr", c.fine_tune_lr);
  s.read("season_period", c.season_period);
  s.read("seed", c.seed);
  s.finish();
}

}  // namespace

void apply_config_text(const std::string& text, const std::string& origin, Config& config) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(origin + ":" + std::to_string(where.line) + ":" + std::to_string(where.column),
                      std::string(e.description()));
  }
  static const std::set<std::string> kSections = {"data", "window", "split", "generator", "spikes", "train", "models"};
  for (const auto& [key, node] : root)
    if (!kSections.count(std::string(key.str())))
      throw ConfigError(std::string(key.str()), "unknown section or key in " + origin);
  read_data(sub_table(root, "data"), config.data);
  read_window(sub_table(root, "window"), config.window);
  read_split(sub_table(root, "split"), config.split);
  read_generator(sub_table(root, "generator"), config.generator);
  read_train(sub_table(root, "train"), config.train);
  if (const toml::table* models = sub_table(root, "models")) {
    for (const auto& [name, node] : *models) {
      if (!node.is_table())
        throw ConfigError("models." + std::string(name.str()), "must be a table ([models." + std::string(name.str()) + "])");
      std::ostringstream json;
      json << toml::json_formatter(*node.as_table());
      config.model_options[std::string(name.str())] = json.str();
    }
  }
  read_spikes(sub_table(root, "spikes"), config.spikes);
}

void apply_config_file(const std::string& path, Config& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--config", "cannot open '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  apply_config_text(buf.str(), path, config);
}

}  // namespace spikecast
