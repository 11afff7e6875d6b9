// Output rows of `spikecast score`, one per forecast origin, as CSV or JSON lines. Floats are
// written with "%.9g" (round-trips a float exactly, and the same bytes on every run), so a
// resumed run writes exactly the bytes of an uninterrupted one.
//
// CSV columns: series, timestamp, forecast_1..forecast_H, member_<name>_<h> for every member and
// h = 1..H, spike_probability, spike_flag (0/1), rules_fired (names joined by ';'). The spike
// columns are empty when the model has no spike head.
// JSON lines: {"series", "timestamp", "forecast": [H], "members": {name: [H]},
// "spike_probability" (null without a spike head), "spike_flag" (bool or null), "rules_fired": [..]}.
#pragma once

#include <cstdint>
#include <string>

#include "core/timestamp.h"
#include "serve/predictor.h"

namespace spikecast::score {

enum class OutputFormat { kCsv, kJsonl };

// "csv" or "jsonl"; ConfigError("score.format") otherwise.
OutputFormat parse_output_format(const std::string& name);
const char* to_string(OutputFormat format);

class RowFormatter {
 public:
  RowFormatter(OutputFormat format, const serve::ModelInfo& info);

  // The CSV header line (with its '\n'); empty for JSON lines.
  std::string header() const;
  // Appends the row of window i of `output` (with its '\n').
  void append(std::string& out, const std::string& series, TimestampMs origin, const serve::PredictOutput& output,
              int64_t i) const;

 private:
  OutputFormat format_;
  serve::ModelInfo info_;
};

}  // namespace spikecast::score
