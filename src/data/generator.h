// A deterministic synthetic data set with known spikes: an electricity-load-like target driven by
// daily and weekly seasonality, a slow trend, holidays and weather, plus 12 features (weather
// drivers and calendar encodings) and injected spikes with per-row ground-truth labels.
// Same config (seed included), same bytes: randomness comes from our own xoshiro256** generator and
// Box-Muller, not from std:: distributions whose output differs between standard libraries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/table.h"

namespace spikecast {

struct GeneratedData {
  Table table;                    // channels: "target", then generator_feature_names()
  std::vector<uint8_t> is_spike;  // [rows] 1 where a spike was injected into the target
};

// The 12 features, in channel order 1..12:
// temperature (degC, AR(1) anomaly over annual and daily cycles), humidity (%), wind_speed (m/s),
// cloud_cover (0..1), solar_irradiance (W/m2), pressure (hPa), hour_sin, hour_cos, dow_sin,
// dow_cos, doy_sin (annual phase), is_holiday (0/1, fixed-date holidays).
const std::vector<std::string>& generator_feature_names();

// config.rows rows per series, config.series series ("S000", "S001", ... when more than one),
// all on the same time axis from config.start every config.step_seconds.
GeneratedData generate(const GeneratorConfig& config);

// A small PRNG: splitmix64 seeding xoshiro256**. Exposed for tests and other layers that need
// reproducible streams.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next_u64();
  double uniform();  // [0, 1)
  double normal();   // standard normal (Box-Muller)

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace spikecast
