#include "core/config.h"

#include <gtest/gtest.h>

#include "core/config_file.h"
#include "core/error.h"

namespace spikecast {
namespace {

// Expects `f` to throw ConfigError whose field is `field`.
template <typename F>
void expect_config_error(F f, const std::string& field) {
  try {
    f();
    FAIL() << "no ConfigError for " << field;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(Config, DefaultsValidate) { EXPECT_NO_THROW(Config{}.validate()); }

TEST(Config, FileOverridesDefaults) {
  Config c;
  apply_config_text(R"(
[data]
time_column = "date"
target_column = "OT"
feature_columns = ["HUFL", "HULL"]
missing_policy = "reject"
[window]
input_length = 96
horizon = 24
[split]
mode = "ett"
)", "test.toml", c);
  c.validate();
  EXPECT_EQ(c.data.time_column, "date");
  EXPECT_EQ(c.data.target_column, "OT");
  EXPECT_EQ(c.data.feature_columns, (std::vector<std::string>{"HUFL", "HULL"}));
  EXPECT_EQ(c.data.missing_policy, MissingPolicy::kReject);
  EXPECT_EQ(c.window.input_length, 96);
  EXPECT_EQ(c.window.horizon, 24);
  EXPECT_EQ(c.window.stride, 1);  // untouched default
  EXPECT_EQ(c.split.mode, SplitMode::kEtt);
}

TEST(Config, UnknownKeysAndSectionsNameTheKey) {
  Config c;
  expect_config_error([&] { apply_config_text("[window]\nhorizn = 3\n", "t", c); }, "window.horizn");
  expect_config_error([&] { apply_config_text("[windw]\nhorizon = 3\n", "t", c); }, "windw");
  expect_config_error([&] { apply_config_text("stray = 1\n", "t", c); }, "stray");
}

TEST(Config, WrongTypesAndEnumsNameTheKey) {
  Config c;
  expect_config_error([&] { apply_config_text("[window]\nhorizon = \"3\"\n", "t", c); }, "window.horizon");
  expect_config_error([&] { apply_config_text("[split]\nmode = \"random\"\n", "t", c); }, "split.mode");
  expect_config_error([&] { apply_config_text("[data]\nfeature_columns = [1]\n", "t", c); },
                      "data.feature_columns");
  expect_config_error([&] { apply_config_text("[data]\npath = \n", "t", c); }, "t:2:8");
}

TEST(Config, ValidateNamesTheBadField) {
  Config c;
  c.window.horizon = 0;
  expect_config_error([&] { c.validate(); }, "window.horizon");
  c = Config{};
  c.window.horizon = 721;
  expect_config_error([&] { c.validate(); }, "window.horizon");
  c = Config{};
  c.split.train = 0.8;
  expect_config_error([&] { c.validate(); }, "split");
  c = Config{};
  c.data.feature_columns = {"a", "a"};
  expect_config_error([&] { c.validate(); }, "data.feature_columns");
  c = Config{};
  c.generator.start = "yesterday";
  expect_config_error([&] { c.validate(); }, "generator.start");
}

TEST(Config, PatchTstJoinsAsTheDataGrowsByDefaultAndTheRuleIsConfigurable) {
  const Config defaults;
  EXPECT_EQ(defaults.train.join, (std::vector<std::string>{"patchtst"}));
  EXPECT_EQ(defaults.train.join_min_windows, 600000);
  Config c;
  apply_config_text("[train]\njoin = []\njoin_min_windows = 10\n", "t.toml", c);
  c.validate();
  EXPECT_TRUE(c.train.join.empty());
  EXPECT_EQ(c.train.join_min_windows, 10);
  c = Config{};
  c.train.join = {"linear"};  // already a member
  expect_config_error([&] { c.validate(); }, "train.join");
  c = Config{};
  c.train.join_min_windows = 0;
  expect_config_error([&] { c.validate(); }, "train.join_min_windows");
  expect_config_error([&] { apply_config_text("[train]\njoin = \"patchtst\"\n", "t", c); }, "train.join");
}

}  // namespace
}  // namespace spikecast
