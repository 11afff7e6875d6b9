#include "eval/nab_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace spikecast {
namespace {

constexpr double kNoDetectionThreshold = 1.1;  // NAB's sweep starts here: nothing is flagged

// One scored row: its anomaly score and its unweighted contribution if flagged.
struct NabPoint {
  float anomaly_score = 0.0f;
  int64_t window = -1;  // corpus-wide window id, -1 outside every window
  // In a window: sigma(position) / sigma(-1), multiplied by A_TP. Outside: sigma(distance past the
  // preceding window), multiplied by A_FP.
  double unweighted = 0.0;
};

struct NabPrepared {
  std::vector<NabPoint> points;  // rows after each file's probationary period
  int64_t windows = 0;           // windows with at least one scored row (ids 0..windows-1)
  int64_t in_window_rows = 0;
  int64_t outside_rows = 0;
};

std::vector<NabWindow> merge_windows(std::vector<NabWindow> w) {
  std::sort(w.begin(), w.end(), [](const NabWindow& a, const NabWindow& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  std::vector<NabWindow> out;
  for (const auto& x : w) {
    if (!out.empty() && x.begin <= out.back().end) {  // overlapping; adjacent windows stay apart
      out.back().end = std::max(out.back().end, x.end);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

int64_t probation_length(int64_t rows, double fraction) {
  // nab/sweeper.py: min(floor(p * rows), p * 5000)
  const double len = std::min(std::floor(fraction * static_cast<double>(rows)), fraction * 5000.0);
  return static_cast<int64_t>(std::ceil(len));
}

NabPrepared prepare(const std::vector<NabFile>& files, const NabOptions& options) {
  if (!(options.probation_fraction >= 0.0 && options.probation_fraction < 1.0)) {
    throw Error("NAB: probation_fraction must be in [0, 1), got " +
                std::to_string(options.probation_fraction));
  }
  const double max_tp = nab_scaled_sigmoid(-1.0);
  NabPrepared prep;
  for (const auto& file : files) {
    const auto rows = static_cast<int64_t>(file.anomaly_scores.size());
    const std::string where = "NAB file '" + file.name + "': ";
    if (rows == 0) throw Error(where + "no rows");
    for (int64_t i = 0; i < rows; ++i) {
      const float s = file.anomaly_scores[i];
      if (!std::isfinite(s) || s < 0.0f || s > 1.0f) {
        throw Error(where + "anomaly score at row " + std::to_string(i) + " is " + std::to_string(s) +
                    ", expected a value in [0, 1]");
      }
    }
    std::vector<NabWindow> windows;
    if (!file.windows.empty()) {
      for (const auto& w : file.windows) {
        if (w.begin < 0 || w.end >= rows || w.begin > w.end) {
          throw Error(where + "window [" + std::to_string(w.begin) + ", " + std::to_string(w.end) +
                      "] is not inside rows [0, " + std::to_string(rows - 1) + "]");
        }
      }
      windows = merge_windows(file.windows);
    } else {
      windows = nab_windows(file.label_rows, rows, options.window_fraction);
    }

    const int64_t probation = probation_length(rows, options.probation_fraction);
    size_t next = 0;              // next window not yet entered
    const NabWindow* cur = nullptr;
    int64_t cur_id = -1;
    int64_t prev_right = -1, prev_width = 0;
    for (int64_t i = 0; i < rows; ++i) {
      if (!cur && next < windows.size() && windows[next].begin == i) {
        cur = &windows[next++];
        // A window is scored when any of its rows is; ids count scored windows only.
        cur_id = cur->end >= probation ? prep.windows++ : -1;
      }
      NabPoint p;
      p.anomaly_score = file.anomaly_scores[i];
      if (cur) {
        // nab/sweeper.py: position = -(right - i + 1) / width, so the left edge is exactly -1.
        const double pos = -static_cast<double>(cur->end - i + 1) / static_cast<double>(cur->width());
        p.window = cur_id;
        p.unweighted = nab_scaled_sigmoid(pos) / max_tp;
      } else {
        // Distance past the preceding window in units of its width - 1; 3.0 (score -1) when no
        // window precedes. A one-row window would divide by zero in NAB; we use 1.
        const double pos = prev_right < 0 ? 3.0
                                          : static_cast<double>(i - prev_right) /
                                                static_cast<double>(std::max<int64_t>(prev_width - 1, 1));
        p.unweighted = nab_scaled_sigmoid(pos);
      }
      if (i >= probation) {
        prep.points.push_back(p);
        ++(p.window >= 0 ? prep.in_window_rows : prep.outside_rows);
      }
      if (cur && i == cur->end) {
        prev_right = cur->end;
        prev_width = cur->width();
        cur = nullptr;
      }
    }
  }
  return prep;
}

// Running state of the sweep: which windows are detected and the sums that make the raw score.
struct SweepState {
  std::vector<double> best;  // [windows] best unweighted TP value, NaN until detected
  int64_t detected = 0;
  double tp_sum = 0.0;  // sum of best over detected windows
  double fp_sum = 0.0;  // sum of unweighted FP values (negative)
  int64_t tp_rows = 0, fp_rows = 0;

  explicit SweepState(int64_t windows)
      : best(static_cast<size_t>(windows), std::numeric_limits<double>::quiet_NaN()) {}

  void add(const NabPoint& p) {
    if (p.window < 0) {
      fp_sum += p.unweighted;
      ++fp_rows;
      return;
    }
    ++tp_rows;
    double& b = best[p.window];
    if (std::isnan(b)) {
      b = p.unweighted;
      tp_sum += b;
      ++detected;
    } else if (p.unweighted > b) {  // only the earliest (highest-valued) detection of a window counts
      tp_sum += p.unweighted - b;
      b = p.unweighted;
    }
  }

  double raw(const NabCostMatrix& c, int64_t windows) const {
    return c.tp_weight * tp_sum - c.fn_weight * static_cast<double>(windows - detected) +
           c.fp_weight * fp_sum;
  }
};

NabProfileScore make_score(const NabProfile& profile, const NabPrepared& prep, const SweepState& s,
                           double threshold) {
  NabProfileScore out;
  out.profile = profile.name;
  out.threshold = threshold;
  out.raw_score = s.raw(profile.cost, prep.windows);
  out.null_score = -profile.cost.fn_weight * static_cast<double>(prep.windows);
  out.perfect_score = profile.cost.tp_weight * static_cast<double>(prep.windows);
  const double span = out.perfect_score - out.null_score;
  out.normalized_score = span > 0 ? 100.0 * (out.raw_score - out.null_score) / span
                                  : std::numeric_limits<double>::quiet_NaN();
  out.counts.tp = s.tp_rows;
  out.counts.fp = s.fp_rows;
  out.counts.fn = prep.in_window_rows - s.tp_rows;
  out.counts.tn = prep.outside_rows - s.fp_rows;
  out.counts.windows_detected = s.detected;
  out.counts.windows_missed = prep.windows - s.detected;
  return out;
}

}  // namespace

const std::vector<NabProfile>& nab_profiles() {
  // numenta/NAB config/profiles.json
  static const std::vector<NabProfile> profiles = {
      {"standard", {1.0, 0.11, 1.0, 1.0}},
      {"reward_low_FP_rate", {1.0, 0.22, 1.0, 1.0}},
      {"reward_low_FN_rate", {1.0, 0.11, 2.0, 1.0}},
  };
  return profiles;
}

double nab_scaled_sigmoid(double y) {
  if (y >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

std::vector<NabWindow> nab_windows(const std::vector<int64_t>& label_rows, int64_t rows,
                                   double window_fraction) {
  if (!(window_fraction > 0.0 && window_fraction <= 1.0)) {
    throw Error("NAB: window_fraction must be in (0, 1], got " + std::to_string(window_fraction));
  }
  if (label_rows.empty()) return {};
  const auto length = static_cast<int64_t>(window_fraction * static_cast<double>(rows) /
                                           static_cast<double>(label_rows.size()));
  const int64_t half = length / 2;
  std::vector<NabWindow> windows;
  for (int64_t a : label_rows) {
    if (a < 0 || a >= rows) {
      throw Error("NAB: label row " + std::to_string(a) + " is outside rows [0, " +
                  std::to_string(rows) + ")");
    }
    windows.push_back({std::max<int64_t>(a - half, 0), std::min<int64_t>(a + half, rows - 1)});
  }
  return merge_windows(std::move(windows));
}

NabProfileScore score_nab_at_threshold(const std::vector<NabFile>& files, const NabProfile& profile,
                                       double threshold, const NabOptions& options) {
  const NabPrepared prep = prepare(files, options);
  SweepState state(prep.windows);
  for (const auto& p : prep.points) {
    if (p.anomaly_score >= threshold) state.add(p);
  }
  return make_score(profile, prep, state, threshold);
}

NabReport score_nab(const std::vector<NabFile>& files, const NabOptions& options) {
  const NabPrepared prep = prepare(files, options);
  NabReport report;
  report.files = static_cast<int64_t>(files.size());
  report.windows = prep.windows;

  // Highest score first; every distinct score is a candidate threshold (NAB's calcScoreByThreshold).
  std::vector<size_t> order(prep.points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return prep.points[a].anomaly_score > prep.points[b].anomaly_score;
  });

  SweepState state(prep.windows);
  std::vector<NabProfileScore> best;
  for (const auto& profile : options.profiles) {
    best.push_back(make_score(profile, prep, state, kNoDetectionThreshold));
  }
  for (size_t k = 0; k < order.size();) {
    const float threshold = prep.points[order[k]].anomaly_score;
    while (k < order.size() && prep.points[order[k]].anomaly_score == threshold) {
      state.add(prep.points[order[k]]);
      ++k;
    }
    for (size_t j = 0; j < options.profiles.size(); ++j) {
      // Strictly greater: on ties the higher threshold (seen first) wins, as in NAB's stable sort.
      if (state.raw(options.profiles[j].cost, prep.windows) > best[j].raw_score) {
        best[j] = make_score(options.profiles[j], prep, state, threshold);
      }
    }
  }
  report.profiles = std::move(best);
  return report;
}

}  // namespace spikecast
