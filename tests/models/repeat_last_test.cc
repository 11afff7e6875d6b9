// repeat_last: exact values, shapes, no parameters, save/load.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model_test_util.h"
#include "models/model_registry.h"

namespace spikecast::models::test {
namespace {

TEST(RepeatLastTest, RepeatsTheLastTarget) {
  Forecaster m = make_forecaster("repeat_last", {6, 4, 3, {}});
  EXPECT_EQ(count_parameters(*m), 0);
  torch::Tensor x = make_input(2, 6, 3);
  torch::Tensor y = m->forward(x).value;
  EXPECT_TRUE(torch::equal(y, x.select(1, 5).select(1, 0).unsqueeze(1).expand({2, 4})));
}

TEST(RepeatLastTest, Contract) {
  expect_shapes("repeat_last", {}, {{1, 1, 1}, {12, 7, 13}});
  expect_save_load_identical("repeat_last", {6, 2, 3, {}});
  expect_devices_match_cpu("repeat_last", {6, 2, 3, {}});
  EXPECT_THROW(make_forecaster("repeat_last", {6, 2, 3, {{"period", 3}}}), ConfigError);
}

}  // namespace
}  // namespace spikecast::models::test
