#include "eval/event_metrics.h"

#include <random>

#include <gtest/gtest.h>

#include "core/error.h"

namespace spikecast {
namespace {

std::vector<uint8_t> bits(const std::string& s) {
  std::vector<uint8_t> out;
  for (char c : s) out.push_back(c == '1');
  return out;
}

TEST(EventMetrics, FindRuns) {
  const auto runs = find_runs(bits("0110001011"));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].begin, 1); EXPECT_EQ(runs[0].end, 3);
  EXPECT_EQ(runs[1].begin, 6); EXPECT_EQ(runs[1].end, 7);
  EXPECT_EQ(runs[2].begin, 8); EXPECT_EQ(runs[2].end, 10);
  EXPECT_TRUE(find_runs(bits("0000")).empty());
}

TEST(EventMetrics, HandBuiltCase) {
  //                         events:    [2,5)        [10,12)       [16,17)
  const auto labels = bits("00111000001100001000");
  //                         alarms: [3,5) on event 1; [7,8) false; [16,18) on event 3
  const auto flags  = bits("00011001000000001100");
  const EventMetrics m = compute_event_metrics(labels, flags);
  EXPECT_EQ(m.true_events, 3);
  EXPECT_EQ(m.detected_events, 2);
  EXPECT_EQ(m.flagged_runs, 3);
  EXPECT_EQ(m.true_flagged_runs, 2);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
}

TEST(EventMetrics, ToleranceWidensEvents) {
  const auto labels = bits("0000110000");
  const auto flags  = bits("0001000100");  // row 3: one row before [4,6); row 7: two rows after
  EXPECT_EQ(compute_event_metrics(labels, flags).detected_events, 0);
  const EventMetrics t1 = compute_event_metrics(labels, flags, {1});
  EXPECT_EQ(t1.detected_events, 1);       // row 3 is within 1 row of the event, row 7 is not
  EXPECT_EQ(t1.true_flagged_runs, 1);
  const EventMetrics t2 = compute_event_metrics(labels, flags, {2});
  EXPECT_EQ(t2.true_flagged_runs, 2);
  EXPECT_DOUBLE_EQ(t2.precision, 1.0);
  EXPECT_DOUBLE_EQ(t2.recall, 1.0);
}

TEST(EventMetrics, EmptyCasesAreZero) {
  const EventMetrics none = compute_event_metrics(bits("0000"), bits("0000"));
  EXPECT_EQ(none.precision, 0.0);
  EXPECT_EQ(none.recall, 0.0);
  EXPECT_EQ(none.f1, 0.0);
  EXPECT_THROW(compute_event_metrics(bits("00"), bits("000")), Error);
  EXPECT_THROW(compute_event_metrics(bits("00"), bits("00"), {-1}), Error);
}

// The prefix-sum implementation against a direct one on random sequences.
TEST(EventMetrics, MatchesBruteForce) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 80);
    const int64_t tol = rng() % 4;
    std::vector<uint8_t> labels(n), flags(n);
    for (int i = 0; i < n; ++i) {
      labels[i] = rng() % 5 == 0;
      flags[i] = rng() % 6 == 0;
    }
    int64_t detected = 0, true_runs = 0;
    const auto events = find_runs(labels), alarms = find_runs(flags);
    for (const auto& e : events) {
      bool hit = false;
      for (int64_t i = e.begin - tol; i < e.end + tol; ++i) hit |= i >= 0 && i < n && flags[i];
      detected += hit;
    }
    for (const auto& a : alarms) {
      bool hit = false;
      for (const auto& e : events) hit |= a.begin < e.end + tol && e.begin - tol < a.end;
      true_runs += hit;
    }
    const EventMetrics m = compute_event_metrics(labels, flags, {tol});
    ASSERT_EQ(m.detected_events, detected) << "trial " << trial;
    ASSERT_EQ(m.true_flagged_runs, true_runs) << "trial " << trial;
    ASSERT_EQ(m.true_events, static_cast<int64_t>(events.size()));
    ASSERT_EQ(m.flagged_runs, static_cast<int64_t>(alarms.size()));
  }
}

}  // namespace
}  // namespace spikecast
