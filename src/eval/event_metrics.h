// Event-level spike detection metrics. A spike lasting several rows is one event: finding it once
// is a hit, and a burst of consecutive flags is one alarm, so row-level counts would over-weight
// long events and long alarms.
#pragma once

#include <cstdint>
#include <vector>

namespace spikecast {

// A run of consecutive positive rows, [begin, end) in row indices.
struct EventRun {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Runs of consecutive non-zero values, in order.
std::vector<EventRun> find_runs(const std::vector<uint8_t>& values);

struct EventMetricsOptions {
  int64_t tolerance = 0;  // rows either side of a true event within which a flag still hits it
};

struct EventMetrics {
  int64_t true_events = 0;        // runs of positive labels
  int64_t detected_events = 0;    // true events with a flag inside (tolerance-widened)
  int64_t flagged_runs = 0;       // runs of consecutive flags (alarms)
  int64_t true_flagged_runs = 0;  // alarms overlapping a (tolerance-widened) true event
  double precision = 0.0;         // true_flagged_runs / flagged_runs; 0 when nothing is flagged
  double recall = 0.0;            // detected_events / true_events; 0 when there is no event
  double f1 = 0.0;                // harmonic mean; 0 when precision + recall is 0
};

// labels, flags: one 0/1 value per row (any non-zero counts as 1), same length.
// Throws spikecast::Error when the lengths differ or tolerance < 0.
EventMetrics compute_event_metrics(const std::vector<uint8_t>& labels,
                                   const std::vector<uint8_t>& flags,
                                   const EventMetricsOptions& options = {});

}  // namespace spikecast
