// A loaded time series: one contiguous float matrix, channel 0 the target, then the features.
// Rows of one series are contiguous and in time order; panel data holds several series back to back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/timestamp.h"

namespace spikecast {

struct SeriesRange {
  std::string name;  // series id as written in the file ("" for single-series data)
  int64_t begin = 0; // first row (inclusive)
  int64_t end = 0;   // one past the last row
  int64_t size() const { return end - begin; }
};

struct Table {
  std::string source;                     // file path, or "generator:<seed>"
  std::vector<std::string> channels;      // channel names; channels[0] is the target
  std::vector<float> values;              // row-major [rows, channels]; NaN marks an unfilled gap
  std::vector<TimestampMs> time;          // [rows]
  std::vector<int64_t> source_line;       // [rows] 1-based line in the source file (0 if generated)
  std::vector<uint8_t> filled;            // [rows] 1 where a missing cell of this row was forward-filled
  std::vector<SeriesRange> series;        // contiguous row ranges, one per series
  int64_t step_ms = 0;                    // the most common time step (the sampling interval)

  int64_t rows() const { return static_cast<int64_t>(time.size()); }
  int64_t num_channels() const { return static_cast<int64_t>(channels.size()); }
  float at(int64_t row, int64_t channel) const { return values[row * num_channels() + channel]; }
  const std::string& target() const { return channels.front(); }
};

}  // namespace spikecast
