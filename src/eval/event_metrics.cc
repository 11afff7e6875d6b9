#include "eval/event_metrics.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace spikecast {

std::vector<EventRun> find_runs(const std::vector<uint8_t>& values) {
  std::vector<EventRun> runs;
  const auto n = static_cast<int64_t>(values.size());
  for (int64_t i = 0; i < n;) {
    if (!values[i]) {
      ++i;
      continue;
    }
    int64_t j = i;
    while (j < n && values[j]) ++j;
    runs.push_back({i, j});
    i = j;
  }
  return runs;
}

EventMetrics compute_event_metrics(const std::vector<uint8_t>& labels,
                                   const std::vector<uint8_t>& flags,
                                   const EventMetricsOptions& options) {
  if (labels.size() != flags.size()) {
    throw Error("event metrics: " + std::to_string(labels.size()) + " labels but " +
                std::to_string(flags.size()) + " flags");
  }
  if (options.tolerance < 0) {
    throw Error("event metrics: tolerance must be >= 0, got " + std::to_string(options.tolerance));
  }
  const auto n = static_cast<int64_t>(labels.size());
  std::vector<EventRun> events = find_runs(labels);
  for (auto& e : events) {  // widen by the tolerance; widened events may overlap, which is harmless
    e.begin = std::max<int64_t>(0, e.begin - options.tolerance);
    e.end = std::min<int64_t>(n, e.end + options.tolerance);
  }
  const std::vector<EventRun> alarms = find_runs(flags);

  // Prefix sums answer "any flag in [b, e)" in O(1).
  std::vector<int64_t> flag_prefix(static_cast<size_t>(n) + 1, 0);
  for (int64_t i = 0; i < n; ++i) flag_prefix[i + 1] = flag_prefix[i] + (flags[i] ? 1 : 0);
  // Coverage of widened events, so an alarm's overlap is also O(1).
  std::vector<int64_t> cover_diff(static_cast<size_t>(n) + 1, 0);
  for (const auto& e : events) {
    cover_diff[e.begin] += 1;
    cover_diff[e.end] -= 1;
  }
  std::vector<int64_t> cover_prefix(static_cast<size_t>(n) + 1, 0);
  int64_t depth = 0;
  for (int64_t i = 0; i < n; ++i) {
    depth += cover_diff[i];
    cover_prefix[i + 1] = cover_prefix[i] + (depth > 0 ? 1 : 0);
  }

  EventMetrics m;
  m.true_events = static_cast<int64_t>(events.size());
  m.flagged_runs = static_cast<int64_t>(alarms.size());
  for (const auto& e : events) {
    if (flag_prefix[e.end] - flag_prefix[e.begin] > 0) ++m.detected_events;
  }
  for (const auto& a : alarms) {
    if (cover_prefix[a.end] - cover_prefix[a.begin] > 0) ++m.true_flagged_runs;
  }
  m.precision = m.flagged_runs ? static_cast<double>(m.true_flagged_runs) / m.flagged_runs : 0.0;
  m.recall = m.true_events ? static_cast<double>(m.detected_events) / m.true_events : 0.0;
  m.f1 = (m.precision + m.recall) > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  return m;
}

}  // namespace spikecast
