// TailCalibrator: p-values against a known distribution, monotonicity, degenerate histories.
#include "detect/tail_calibrator.h"

#include <cmath>

#include <gtest/gtest.h>

#include "data/generator.h"

namespace spikecast::detect {
namespace {

TEST(TailCalibrator, NoOpinionBeforeMinCount) {
  TailCalibrator cal;
  for (int i = 0; i < 47; ++i) cal.add(1.0);
  EXPECT_EQ(cal.p_value(1000.0), 1.0);
}

TEST(TailCalibrator, MatchesTheEmpiricalTailOfAHalfNormal) {
  Rng rng(3);
  TailCalibrator cal;
  for (int i = 0; i < 20000; ++i) cal.add(std::fabs(rng.normal()));
  // P(|N(0,1)| >= z): 1 -> 0.3173, 2 -> 0.0455.
  EXPECT_NEAR(cal.p_value(1.0), 0.3173, 0.02);
  EXPECT_NEAR(cal.p_value(2.0), 0.0455, 0.006);
  // Beyond the data the exponential extrapolation is conservative (p above the Gaussian tail)
  // but still tiny.
  const double p6 = cal.p_value(6.0);
  EXPECT_GT(p6, 2e-9);
  EXPECT_LT(p6, 1e-4);
}

TEST(TailCalibrator, PValueIsMonotone) {
  Rng rng(5);
  TailCalibrator cal;
  for (int i = 0; i < 3000; ++i) cal.add(std::exp(rng.normal()));
  double prev = 1.0;
  for (double z = 0.0; z < 200.0; z += 0.37) {
    const double p = cal.p_value(z);
    EXPECT_LE(p, prev + 1e-12) << "z = " << z;
    EXPECT_GE(p, 1e-12);
    prev = p;
  }
}

TEST(TailCalibrator, AllZeroHistoryMakesAnyChangeExtreme) {
  TailCalibrator cal;
  for (int i = 0; i < 500; ++i) cal.add(0.0);
  EXPECT_GT(cal.p_value(0.0), 0.5);
  EXPECT_LT(cal.p_value(5.0), 1e-6);
}

TEST(TailCalibrator, OftenSeenDiscreteValuesAreNotRare) {
  // 97% zeros, 3% the value 9: a 9 is seen every 33 rows and must not look rare.
  TailCalibrator cal;
  for (int i = 0; i < 3000; ++i) cal.add(i % 33 == 0 ? 9.0 : 0.0);
  EXPECT_GT(cal.p_value(9.0), 0.01);
}

TEST(TailCalibrator, ZeroWeightValuesAreNotLearned) {
  TailCalibrator a, b;
  Rng rng(9);
  for (int i = 0; i < 2000; ++i) {
    const double z = std::fabs(rng.normal());
    a.add(z);
    b.add(z);
  }
  for (int i = 0; i < 200; ++i) b.add(50.0, 0.0);
  EXPECT_DOUBLE_EQ(a.p_value(50.0), b.p_value(50.0));
}

}  // namespace
}  // namespace spikecast::detect
