// Labelled series for developing and testing anomaly detectors, with ground truth known by
// construction: the generator's electricity-load target (data/generator.h, labels = starts of its
// injected spike bursts) and a synthetic corpus that mimics the kinds of series in the Numenta
// Anomaly Benchmark (server metrics with benign bursts, level shifts, variance changes, daily
// seasonality with dips and flatlines, Poisson counts with bursts, random walks with jumps, trends,
// slow temperature drifts before a failure, quantised metrics, files with no anomaly, gaps).
// Labels are anomaly START rows, one per anomaly, as NAB labels them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spikecast {

struct LabelledSeries {
  std::string name;             // "<kind>_<seed>"
  std::string kind;
  std::vector<double> values;   // [rows], NaN = gap
  std::vector<int64_t> time_ms; // [rows]
  int64_t step_ms = 0;
  std::vector<int64_t> label_rows;  // anomaly start rows (may be empty)
  int64_t rows() const { return static_cast<int64_t>(values.size()); }
};

// The synthetic NAB-like corpus: `files_per_kind` files of each kind, deterministic in `seed`.
// length_factor > 1 makes every file that many times longer with the same 1-3 anomalies (NAB's
// files run from about 1,000 to 22,700 rows with a few anomalies each, whatever their length).
std::vector<LabelledSeries> synthetic_corpus(uint64_t seed = 7, int files_per_kind = 3, int64_t length_factor = 1);

// The kinds synthetic_corpus() draws, in order.
const std::vector<std::string>& synthetic_kinds();

// One file per seed of the generator's target channel (GeneratorConfig defaults, `rows` rows,
// hourly), labels = starts of the injected spike bursts.
std::vector<LabelledSeries> generator_corpus(const std::vector<uint64_t>& seeds, int64_t rows = 20000,
                                             double spike_rate = 0.004);

}  // namespace spikecast
