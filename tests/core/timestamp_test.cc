#include "core/timestamp.h"

#include <gtest/gtest.h>

#include <ctime>

namespace spikecast {
namespace {

// Oracle: the C library's timegm for a broken-down UTC time.
int64_t oracle_ms(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

TEST(Timestamp, ParsesCommonFormatsAgainstTimegm) {
  EXPECT_EQ(parse_timestamp("2016-07-01 00:00:00"), oracle_ms(2016, 7, 1, 0, 0, 0));
  EXPECT_EQ(parse_timestamp("2018-06-26 19:00:00"), oracle_ms(2018, 6, 26, 19, 0, 0));
  EXPECT_EQ(parse_timestamp("2020-02-29T23:59:59Z"), oracle_ms(2020, 2, 29, 23, 59, 59));
  EXPECT_EQ(parse_timestamp("2021/03/04 05:06"), oracle_ms(2021, 3, 4, 5, 6, 0));
  EXPECT_EQ(parse_timestamp("1999-12-31"), oracle_ms(1999, 12, 31, 0, 0, 0));
  EXPECT_EQ(parse_timestamp(" 2021-01-01 00:00:00 "), oracle_ms(2021, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_timestamp("1600000000"), int64_t{1600000000} * 1000);
}

TEST(Timestamp, FractionsAndOffsets) {
  EXPECT_EQ(parse_timestamp("2021-01-01 00:00:00.250"), oracle_ms(2021, 1, 1, 0, 0, 0) + 250);
  EXPECT_EQ(parse_timestamp("2021-01-01T00:00:00.5Z"), oracle_ms(2021, 1, 1, 0, 0, 0) + 500);
  EXPECT_EQ(parse_timestamp("2021-01-01T02:00:00+02:00"), oracle_ms(2021, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_timestamp("2021-01-01T00:00:00-0130"), oracle_ms(2021, 1, 1, 1, 30, 0));
}

TEST(Timestamp, RejectsGarbageAndImpossibleDates) {
  for (const char* bad : {"", "abc", "2021-13-01", "2021-02-30 00:00:00", "2019-02-29",
                          "2021-01-01 24:00:00", "2021-01-01 12:60", "2021-01-01X", "2021-1-1",
                          "2021-01-01 00:00:00.", "-5", "12.5"})
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
}

TEST(Timestamp, FormatRoundTripsOverFourCenturies) {
  // Every 997 hours from 1900 to 2300, format -> parse gives the same instant.
  for (int64_t t = oracle_ms(1900, 1, 1, 0, 0, 0); t < oracle_ms(2300, 1, 1, 0, 0, 0);
       t += int64_t{997} * 3600 * 1000) {
    const auto back = parse_timestamp(format_timestamp(t));
    ASSERT_TRUE(back.has_value()) << format_timestamp(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(format_timestamp(oracle_ms(2016, 7, 1, 0, 0, 0) + 7), "2016-07-01 00:00:00.007");
}

TEST(Timestamp, FormatsDurations) {
  EXPECT_EQ(format_duration(3600000), "1h");
  EXPECT_EQ(format_duration(90061000), "1d 1h 1min 1s");
  EXPECT_EQ(format_duration(15 * 60000), "15min");
}

}  // namespace
}  // namespace spikecast
