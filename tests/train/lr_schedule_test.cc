#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace spikecast::train {
namespace {

TEST(LrSchedule, WarmsUpLinearlyThenDecaysByCosineToTheFloor) {
  LrSchedule s("cosine", 1e-3, 1000, 0.1, 0.05);
  EXPECT_NEAR(s.lr_at(0), 1e-3 / 100, 1e-12);
  EXPECT_NEAR(s.lr_at(49), 1e-3 * 50 / 100, 1e-12);
  EXPECT_NEAR(s.lr_at(99), 1e-3, 1e-12);
  EXPECT_NEAR(s.lr_at(100), 1e-3, 1e-12);
  // Half-way through the decay: floor + (peak - floor) / 2.
  EXPECT_NEAR(s.lr_at(550), 0.05e-3 + 0.5 * 0.95e-3, 1e-9);
  EXPECT_NEAR(s.lr_at(1000), 0.05e-3, 1e-12);
  for (int64_t t = 101; t < 1000; ++t) EXPECT_LE(s.lr_at(t), s.lr_at(t - 1) + 1e-15);
}

TEST(LrSchedule, PlateauHalvesAfterPatienceRunsOut) {
  LrSchedule s("plateau", 1.0, 100, 0.0, 0.05, /*patience=*/2, /*factor=*/0.5);
  s.on_epoch_end(1.0);
  s.on_epoch_end(1.0);
  s.on_epoch_end(1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);
  s.on_epoch_end(1.0);  // third epoch without improvement
  EXPECT_DOUBLE_EQ(s.lr_at(10), 0.5);
  s.on_epoch_end(0.5);  // improvement resets the count
  s.on_epoch_end(0.6);
  s.on_epoch_end(0.6);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 0.5);
}

TEST(LrSchedule, ConstantStaysAtPeak) {
  LrSchedule s("constant", 0.01, 100, 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.lr_at(99), 0.01);
}

}  // namespace
}  // namespace spikecast::train
