// The registry: every name builds, unknown names are ConfigErrors, options round-trip as JSON.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

TEST(ModelRegistryTest, EveryNameBuildsAndRebuildsFromItsOwnOptions) {
  for (const std::string& name : forecaster_names()) {
    SCOPED_TRACE(name);
    Forecaster m = make_forecaster(name, {32, 2, 3, {}});
    EXPECT_EQ(m->type_name(), name);
    nlohmann::json options = m->options_json();
    EXPECT_TRUE(options.is_object());
    Forecaster again = rebuild(*m);
    EXPECT_EQ(again->options_json(), options);
    EXPECT_EQ(count_parameters(*again), count_parameters(*m));
  }
}

TEST(ModelRegistryTest, UnknownNameIsConfigErrorListingTheKnownOnes) {
  try {
    make_forecaster("prophet", {32, 1, 3, {}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("prophet"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("patchtst"), std::string::npos);
  }
}

TEST(ModelRegistryTest, ZeroHorizonIsConfigErrorForEveryModel) {
  for (const std::string& name : forecaster_names()) EXPECT_THROW(make_forecaster(name, {32, 0, 3, {}}), ConfigError) << name;
}

TEST(ModelRegistryTest, OptionsMustBeAnObject) {
  EXPECT_THROW(make_forecaster("lstm", {32, 1, 3, nlohmann::json::array()}), ConfigError);
  EXPECT_NO_THROW(make_forecaster("lstm", {32, 1, 3, nullptr}));
}

}  // namespace
}  // namespace spikecast::models::test
