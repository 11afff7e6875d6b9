#include "core/config.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timestamp.h"

namespace spikecast {

void DataConfig::validate() const {
  if (time_column.empty()) throw ConfigError("data.time_column", "must not be empty");
  if (target_column.empty()) throw ConfigError("data.target_column", "must not be empty");
  if (max_fill_steps < 0)
    throw ConfigError("data.max_fill_steps", "must be >= 0, got " + std::to_string(max_fill_steps));
  for (size_t i = 0; i < feature_columns.size(); ++i) {
    if (feature_columns[i].empty())
      throw ConfigError("data.feature_columns", "entry " + std::to_string(i) + " is empty");
    for (size_t j = 0; j < i; ++j)
      if (feature_columns[j] == feature_columns[i])
        throw ConfigError("data.feature_columns", "'" + feature_columns[i] + "' listed twice");
    if (feature_columns[i] == time_column)
      throw ConfigError("data.feature_columns", "the time column '" + time_column +
                                                    "' cannot be a feature");
  }
}

void WindowConfig::validate() const {
  if (input_length < 1)
    throw ConfigError("window.input_length", "must be >= 1, got " + std::to_string(input_length));
  if (horizon < 1 || horizon > 720)
    throw ConfigError("window.horizon", "must be in 1..720, got " + std::to_string(horizon));
  if (stride < 1) throw ConfigError("window.stride", "must be >= 1, got " + std::to_string(stride));
}

void SplitConfig::validate() const {
  if (mode != SplitMode::kFractions) return;
  const auto check = [](const char* key, double v) {
    if (!(v >= 0.0 && v <= 1.0))
      throw ConfigError(std::string("split.") + key, "must be in [0, 1], got " + std::to_string(v));
  };
  check("train", train);
  check("val", val);
  check("test", test);
  if (train <= 0.0) throw ConfigError("split.train", "must be > 0");
  if (test <= 0.0) throw ConfigError("split.test", "must be > 0");
  if (std::fabs(train + val + test - 1.0) > 1e-9)
    throw ConfigError("split", "train + val + test must sum to 1, got " +
                                   std::to_string(train + val + test));
}

void GeneratorConfig::validate() const {
  if (rows < 1) throw ConfigError("generator.rows", "must be >= 1, got " + std::to_string(rows));
  if (series < 1 || series > 100000)
    throw ConfigError("generator.series", "must be in 1..100000, got " + std::to_string(series));
  if (step_seconds < 1)
    throw ConfigError("generator.step_seconds", "must be >= 1, got " + std::to_string(step_seconds));
  if (!(spike_rate >= 0.0 && spike_rate <= 0.1))
    throw ConfigError("generator.spike_rate", "must be in [0, 0.1], got " + std::to_string(spike_rate));
  if (!parse_timestamp(start))
    throw ConfigError("generator.start", "not a timestamp: '" + start + "'");
}

void SpikeConfig::validate() const {
  if (look_back < 3 || look_back > 100000)
    throw ConfigError("spikes.look_back", "must be in 3..100000, got " + std::to_string(look_back));
  if (!(threshold > 0.0 && threshold < 1e6))
    throw ConfigError("spikes.threshold", "must be > 0, got " + std::to_string(threshold));
}

void TrainConfig::validate() const {
  const auto positive = [](const char* key, int64_t v) {
    if (v < 1) throw ConfigError(std::string("train.") + key, "must be >= 1, got " + std::to_string(v));
  };
  const auto one_of = [](const char* key, const std::string& v, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += list.empty() ? std::string("'") + a + "'" : std::string(", '") + a + "'";
    }
    throw ConfigError(std::string("train.") + key, "must be one of " + list + ", got '" + v + "'");
  };
  if (members.empty()) throw ConfigError("train.members", "must name at least one model");
  for (const std::string& j : join)
    if (std::find(members.begin(), members.end(), j) != members.end())
      throw ConfigError("train.join", "'" + j + "' is already in train.members");
  positive("join_min_windows", join_min_windows);
  positive("epochs", epochs);
  positive("batch_size", batch_size);
  positive("accumulation", accumulation);
  if (batch_size % accumulation != 0)
    throw ConfigError("train.accumulation", "must divide train.batch_size (" + std::to_string(batch_size) +
                                                "), got " + std::to_string(accumulation));
  if (!(lr > 0 && lr < 1)) throw ConfigError("train.lr", "must be in (0, 1), got " + std::to_string(lr));
  if (!(weight_decay >= 0)) throw ConfigError("train.weight_decay", "must be >= 0");
  if (!(warmup_fraction >= 0 && warmup_fraction < 1))
    throw ConfigError("train.warmup_fraction", "must be in [0, 1)");
  one_of("schedule", schedule, {"cosine", "plateau", "constant"});
  one_of("member_schedule", member_schedule, {"auto", "together", "in_turn"});
  one_of("loss", loss, {"mse", "huber"});
  one_of("ensemble", ensemble, {"auto", "gated", "static", "equal"});
  if (!(clip_norm >= 0)) throw ConfigError("train.clip_norm", "must be >= 0");
  if (patience < 0) throw ConfigError("train.patience", "must be >= 0");
  if (!(huber_delta > 0)) throw ConfigError("train.huber_delta", "must be > 0");
  if (!(spike_loss_weight >= 0)) throw ConfigError("train.spike_loss_weight", "must be >= 0");
  if (max_batches_per_epoch < 0) throw ConfigError("train.max_batches_per_epoch", "must be >= 0");
  if (!(time_budget_s >= 0)) throw ConfigError("train.time_budget_s", "must be >= 0");
  if (gate_epochs < 0) throw ConfigError("train.gate_epochs", "must be >= 0");
  if (!(gate_lr > 0)) throw ConfigError("train.gate_lr", "must be > 0");
  if (!(gate_weight_decay >= 0)) throw ConfigError("train.gate_weight_decay", "must be >= 0");
  if (!(gate_holdout > 0 && gate_holdout < 1)) throw ConfigError("train.gate_holdout", "must be in (0, 1)");
  if (fine_tune_epochs < 0) throw ConfigError("train.fine_tune_epochs", "must be >= 0");
  if (!(fine_tune_lr > 0)) throw ConfigError("train.fine_tune_lr", "must be > 0");
  if (season_period < 0) throw ConfigError("train.season_period", "must be >= 0");
}

void Config::validate() const {
  data.validate();
  window.validate();
  split.validate();
  generator.validate();
  spikes.validate();
  train.validate();
}

const char* to_string(MissingPolicy p) { return p == MissingPolicy::kFill ? "fill" : "reject"; }
const char* to_string(SplitMode m) { return m == SplitMode::kEtt ? "ett" : "fractions"; }

}  // namespace spikecast
