// NAB scores computed by hand. The common setup, unless a test says otherwise:
//   100 rows, one label at row 50.
//   Window length = int(0.10 * 100 / 1) = 10, half = 5  ->  window [45, 55], width 11.
//   Probationary period = min(floor(0.15 * 100), 0.15 * 5000) = 15 rows (rows 0..14 unscored).
//   sigma(y) = 2 / (1 + e^{5y}) - 1;  maxTP = sigma(-1) = 0.98661429815.
//   A detection at row i in the window scores A_TP * sigma(-(55 - i + 1) / 11) / maxTP.
//   A detection at row i after the window scores A_FP * sigma((i - 55) / (11 - 1)); before any
//   window it scores A_FP * sigma(3) = -A_FP.
//   Null score = -A_FN * windows, perfect = A_TP * windows, normalised = 100 (raw - null) / (perfect - null).
#include "eval/nab_scorer.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"

namespace spikecast {
namespace {

const NabProfile& profile(const std::string& name) {
  for (const auto& p : nab_profiles()) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no profile " + name);
}

// 100 rows, label at 50, detections (score 1) at the given rows.
NabFile file_with_detections(std::vector<int64_t> rows, int64_t length = 100) {
  NabFile f;
  f.name = "hand";
  f.anomaly_scores.assign(static_cast<size_t>(length), 0.0f);
  for (int64_t r : rows) f.anomaly_scores[r] = 1.0f;
  f.label_rows = {50};
  return f;
}

double standard_at_one(const std::vector<int64_t>& detections, double* normalized = nullptr,
                       NabCounts* counts = nullptr) {
  const NabProfileScore s =
      score_nab_at_threshold({file_with_detections(detections)}, profile("standard"), 1.0);
  if (normalized) *normalized = s.normalized_score;
  if (counts) *counts = s.counts;
  return s.raw_score;
}

TEST(NabScorer, PublishedProfiles) {
  const auto& p = nab_profiles();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "standard");
  EXPECT_EQ(p[0].cost.tp_weight, 1.0); EXPECT_EQ(p[0].cost.fp_weight, 0.11);
  EXPECT_EQ(p[0].cost.fn_weight, 1.0); EXPECT_EQ(p[0].cost.tn_weight, 1.0);
  EXPECT_EQ(p[1].name, "reward_low_FP_rate");
  EXPECT_EQ(p[1].cost.tp_weight, 1.0); EXPECT_EQ(p[1].cost.fp_weight, 0.22);
  EXPECT_EQ(p[1].cost.fn_weight, 1.0);
  EXPECT_EQ(p[2].name, "reward_low_FN_rate");
  EXPECT_EQ(p[2].cost.tp_weight, 1.0); EXPECT_EQ(p[2].cost.fp_weight, 0.11);
  EXPECT_EQ(p[2].cost.fn_weight, 2.0);
}

TEST(NabScorer, ScaledSigmoid) {
  EXPECT_NEAR(nab_scaled_sigmoid(-1.0), 0.98661429815, 1e-10);  // 2/(1+e^-5) - 1
  EXPECT_NEAR(nab_scaled_sigmoid(-0.5), 0.84828363995, 1e-10);  // 2/(1+e^-2.5) - 1
  EXPECT_EQ(nab_scaled_sigmoid(0.0), 0.0);
  EXPECT_NEAR(nab_scaled_sigmoid(1.0), -0.98661429815, 1e-10);
  EXPECT_EQ(nab_scaled_sigmoid(3.0), -1.0);
  EXPECT_EQ(nab_scaled_sigmoid(7.0), -1.0);
}

TEST(NabScorer, Windows) {
  const auto w = nab_windows({50}, 100);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].begin, 45); EXPECT_EQ(w[0].end, 55);
  // Clipped at the start: label 2 -> [max(2-5, 0), 7].
  EXPECT_EQ(nab_windows({2}, 100)[0].begin, 0);
  EXPECT_EQ(nab_windows({2}, 100)[0].end, 7);
  // Two labels in 200 rows: length int(0.1 * 200 / 2) = 10, half 5; given unsorted.
  const auto two = nab_windows({150, 40}, 200);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].begin, 35); EXPECT_EQ(two[0].end, 45);
  EXPECT_EQ(two[1].begin, 145); EXPECT_EQ(two[1].end, 155);
  // Labels 50 and 54 in 100 rows: length 5, half 2 -> [48,52] and [52,56] overlap -> [48,56].
  const auto merged = nab_windows({50, 54}, 100);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].begin, 48); EXPECT_EQ(merged[0].end, 56);
  // Labels 50 and 55: [48,52] and [53,57] are adjacent and stay apart.
  EXPECT_EQ(nab_windows({50, 55}, 100).size(), 2u);
  EXPECT_THROW(nab_windows({100}, 100), Error);
}

TEST(NabScorer, DetectionAtWindowStartIsPerfect) {
  // Row 45: position -(55-45+1)/11 = -1 -> sigma(-1)/maxTP = 1. Raw 1 = perfect -> 100.
  double norm = 0;
  NabCounts c;
  EXPECT_NEAR(standard_at_one({45}, &norm, &c), 1.0, 1e-12);
  EXPECT_NEAR(norm, 100.0, 1e-9);
  EXPECT_EQ(c.tp, 1); EXPECT_EQ(c.fp, 0);
  EXPECT_EQ(c.fn, 10);      // the other 10 rows of the window
  EXPECT_EQ(c.tn, 74);      // 85 scored rows - 11 window rows
  EXPECT_EQ(c.windows_detected, 1); EXPECT_EQ(c.windows_missed, 0);
}

TEST(NabScorer, DetectionAtWindowEnd) {
  // Row 55: position -(55-55+1)/11 = -0.090909; sigma = 2/(1+e^-0.454545) - 1 = 0.223439;
  // / maxTP 0.986614 = 0.226470. Normalised 100 (0.226470 + 1) / 2 = 61.3235.
  double norm = 0;
  EXPECT_NEAR(standard_at_one({55}, &norm), 0.2264702865, 1e-9);
  EXPECT_NEAR(norm, 61.3235143274, 1e-7);
}

TEST(NabScorer, DetectionMidWindow) {
  // Row 50: position -6/11 = -0.545455; sigma = 2/(1+e^-2.727273) - 1 = 0.877240; / maxTP = 0.889135.
  EXPECT_NEAR(standard_at_one({50}), 0.8891354877, 1e-9);
}

TEST(NabScorer, OnlyFirstDetectionInWindowCounts) {
  // Rows 45, 50 and 55 are all in the window: the earliest (1.0) counts, the others add nothing.
  EXPECT_NEAR(standard_at_one({45, 50, 55}), 1.0, 1e-12);
  EXPECT_NEAR(standard_at_one({50, 55}), 0.8891354877, 1e-9);
}

TEST(NabScorer, FalsePositiveAfterWindowAndMissedWindow) {
  // Row 80: 25 rows past the window's right edge, in units of width-1 = 10: y = 2.5;
  // sigma(2.5) = 2/(1+e^12.5) - 1 = -0.9999925; * A_FP 0.11 = -0.1099992.
  // The window is missed: -A_FN = -1. Raw -1.1099992, normalised 100 (-1.1099992 + 1) / 2 = -5.49996.
  double norm = 0;
  NabCounts c;
  EXPECT_NEAR(standard_at_one({80}, &norm, &c), -1.1099991801, 1e-9);
  EXPECT_NEAR(norm, -5.4999590070, 1e-7);
  EXPECT_EQ(c.fp, 1); EXPECT_EQ(c.tp, 0); EXPECT_EQ(c.windows_missed, 1);
}

TEST(NabScorer, FalsePositiveJustAfterWindowCostsLess) {
  // Row 57: y = (57-55)/10 = 0.2; sigma(0.2) = 2/(1+e^1) - 1 = -0.46211716; * 0.11 = -0.05083289.
  // With the window detected at 45: raw 1 - 0.05083289 = 0.94916711.
  EXPECT_NEAR(standard_at_one({45, 57}), 1.0 - 0.0508328873, 1e-9);
}

TEST(NabScorer, FalsePositiveBeforeAnyWindow) {
  // Row 20 (after probation, before the first window): sigma(3) = -1, * 0.11 = -0.11.
  // With the window detected at 45: raw 0.89, normalised 100 (0.89 + 1) / 2 = 94.5.
  double norm = 0;
  EXPECT_NEAR(standard_at_one({20, 45}, &norm), 0.89, 1e-12);
  EXPECT_NEAR(norm, 94.5, 1e-9);
}

TEST(NabScorer, ProbationaryPeriodIsNotScored) {
  // Row 10 < 15: ignored, so this is the null detector: raw -1, normalised 0.
  double norm = 1;
  NabCounts c;
  EXPECT_NEAR(standard_at_one({10}, &norm, &c), -1.0, 1e-12);
  EXPECT_NEAR(norm, 0.0, 1e-12);
  EXPECT_EQ(c.fp, 0);
  EXPECT_EQ(c.tp + c.fp + c.fn + c.tn, 85);
}

TEST(NabScorer, NullDetectorScoresZeroInEveryProfile) {
  // Scores all 0: the sweep's best is "flag nothing" (threshold 1.1): raw = -A_FN -> 0.
  // (Flagging every row at threshold 0 would add 70 false positives.)
  NabFile a = file_with_detections({});
  NabFile b = file_with_detections({}, 200);
  b.label_rows = {30, 120};
  const NabReport r = score_nab({a, b});
  EXPECT_EQ(r.windows, 3);
  ASSERT_EQ(r.profiles.size(), 3u);
  for (const auto& p : r.profiles) {
    EXPECT_NEAR(p.normalized_score, 0.0, 1e-12) << p.profile;
    EXPECT_DOUBLE_EQ(p.threshold, 1.1) << p.profile;
    EXPECT_EQ(p.counts.windows_detected, 0);
  }
  EXPECT_DOUBLE_EQ(r.profiles[0].raw_score, -3.0);
  EXPECT_DOUBLE_EQ(r.profiles[2].raw_score, -6.0);  // reward_low_FN_rate: A_FN = 2
}

TEST(NabScorer, PerfectDetectorScoresHundredInEveryProfile) {
  // A detection at each window's first row, nothing else. File b: 200 rows, labels 40 and 120:
  // length int(0.1 * 200 / 2) = 10, half 5 -> windows [35,45] and [115,125], both after the
  // 30-row probation. Raw = 3 * A_TP = perfect -> 100 in every profile.
  NabFile a = file_with_detections({45});
  NabFile b = file_with_detections({35, 115}, 200);
  b.label_rows = {40, 120};
  const NabReport r = score_nab({a, b});
  EXPECT_EQ(r.windows, 3);
  for (const auto& p : r.profiles) {
    EXPECT_NEAR(p.normalized_score, 100.0, 1e-9) << p.profile;
    EXPECT_NEAR(p.raw_score, 3.0, 1e-12) << p.profile;
    EXPECT_DOUBLE_EQ(p.threshold, 1.0);
    EXPECT_EQ(p.counts.windows_detected, 3);
    EXPECT_EQ(p.counts.fp, 0);
  }
}

TEST(NabScorer, SweepFindsBestThresholdPerProfile) {
  // Row 45 (window start) scores 0.9, row 20 (a false positive before the window) scores 0.95.
  //   threshold 1.1 : nothing flagged            -> raw -A_FN
  //   threshold 0.95: only the FP               -> raw -A_FN - A_FP
  //   threshold 0.9 : FP + window start          -> raw A_TP - A_FP
  //   threshold 0   : every row; the window still scores 1 but 74 rows are false positives.
  // standard:           best 0.9, raw 1 - 0.11 = 0.89, normalised 100 (0.89 + 1) / 2 = 94.5
  // reward_low_FP_rate: best 0.9, raw 1 - 0.22 = 0.78, normalised 100 (0.78 + 1) / 2 = 89
  // reward_low_FN_rate: best 0.9, raw 0.89, null -2, normalised 100 (0.89 + 2) / 3 = 96.333...
  NabFile f = file_with_detections({});
  f.anomaly_scores[45] = 0.9f;
  f.anomaly_scores[20] = 0.95f;
  const NabReport r = score_nab({f});
  ASSERT_EQ(r.profiles.size(), 3u);
  EXPECT_NEAR(r.profiles[0].threshold, 0.9, 1e-6);
  EXPECT_NEAR(r.profiles[0].normalized_score, 94.5, 1e-9);
  EXPECT_NEAR(r.profiles[1].normalized_score, 89.0, 1e-9);
  EXPECT_NEAR(r.profiles[2].normalized_score, 100.0 * 2.89 / 3.0, 1e-9);
  EXPECT_EQ(r.profiles[0].counts.tp, 1);
  EXPECT_EQ(r.profiles[0].counts.fp, 1);
  // The sweep's best equals the fixed-threshold score at that threshold.
  const NabProfileScore fixed = score_nab_at_threshold({f}, profile("standard"), r.profiles[0].threshold);
  EXPECT_NEAR(fixed.raw_score, r.profiles[0].raw_score, 1e-12);
}

TEST(NabScorer, ExplicitWindowsOverrideLabels) {
  NabFile f = file_with_detections({60});
  f.windows = {{60, 70}};  // row 60 is now this window's first row
  const NabProfileScore s = score_nab_at_threshold({f}, profile("standard"), 1.0);
  EXPECT_NEAR(s.normalized_score, 100.0, 1e-9);
  f.windows = {{60, 100}};
  EXPECT_THROW(score_nab_at_threshold({f}, profile("standard"), 1.0), Error);
}

TEST(NabScorer, RejectsBadScores) {
  NabFile f = file_with_detections({});
  f.anomaly_scores[3] = 1.5f;
  EXPECT_THROW(score_nab({f}), Error);
  f.anomaly_scores[3] = NAN;
  EXPECT_THROW(score_nab({f}), Error);
  EXPECT_THROW(score_nab({NabFile{}}), Error);
}

}  // namespace
}  // namespace spikecast
