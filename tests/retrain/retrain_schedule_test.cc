#include "retrain/retrain_schedule.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"

namespace spikecast::retrain {
namespace {

TEST(RetrainSchedule, PeriodsAndTimesOfDayParseOrNameTheFlag) {
  EXPECT_EQ(parse_period("24h"), 86400);
  EXPECT_EQ(parse_period("1h30m"), 5400);
  EXPECT_EQ(parse_period("1d"), 86400);
  EXPECT_EQ(parse_period("45s"), 45);
  EXPECT_THROW(parse_period("24"), ConfigError);
  EXPECT_THROW(parse_period("0h"), ConfigError);
  EXPECT_THROW(parse_period("3w"), ConfigError);
  EXPECT_EQ(parse_time_of_day("03:00"), 180);
  EXPECT_EQ(parse_time_of_day("23:59"), 23 * 60 + 59);
  EXPECT_THROW(parse_time_of_day("3:00"), ConfigError);
  EXPECT_THROW(parse_time_of_day("24:00"), ConfigError);
}

TEST(RetrainSchedule, TheNextSlotIsTheFirstAtTheTimeOfDayAfterNow) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  const std::time_t day = 20000 * 86400;  // a midnight, UTC
  Schedule s;
  s.every_s = 86400;
  s.at_minute_of_day = 180;
  EXPECT_EQ(next_run(s, day + 3600, 0), day + 3 * 3600);               // 01:00 -> 03:00 today
  EXPECT_EQ(next_run(s, day + 3 * 3600, 0), day + 86400 + 3 * 3600);   // at 03:00 -> tomorrow
  EXPECT_EQ(next_run(s, day + 5 * 3600, 0), day + 86400 + 3 * 3600);   // 05:00 -> tomorrow
  s.every_s = 6 * 3600;
  EXPECT_EQ(next_run(s, day + 5 * 3600, 0), day + 9 * 3600);           // slots 03, 09, 15, 21
  EXPECT_EQ(next_run(s, day + 3600, 0), day + 3 * 3600);
  Schedule plain;
  plain.every_s = 600;
  EXPECT_EQ(next_run(plain, 1000 + 1250, 1000), 1000 + 1800);          // anchor + k * every
}

}  // namespace
}  // namespace spikecast::retrain
