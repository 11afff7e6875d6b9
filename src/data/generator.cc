#include "data/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace spikecast {
namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int64_t kDayMs = 86400000;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Month and day of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
void month_day(int64_t z, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
}

bool is_holiday(int64_t day) {
  unsigned m, d;
  month_day(day, m, d);
  return (m == 1 && d == 1) || (m == 5 && d == 1) || (m == 7 && d == 4) || (m == 11 && d == 11) ||
         (m == 12 && (d == 25 || d == 26));
}

// AR(1) x' = phi x + sqrt(1 - phi^2) sd e, with phi given per hour and rescaled to the step.
struct Ar1 {
  double phi, innovation, x;
  Ar1(double phi_per_hour, double sd, double step_hours, Rng& rng)
      : phi(std::pow(phi_per_hour, step_hours)),
        innovation(sd * std::sqrt(1.0 - phi * phi)),
        x(sd * rng.normal()) {}
  double step(Rng& rng) { return x = phi * x + innovation * rng.normal(); }
};

double gauss(double x, double mu, double sigma) { return std::exp(-(x - mu) * (x - mu) / (2 * sigma * sigma)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(kTwoPi * u2);
  has_spare_ = true;
  return r * std::cos(kTwoPi * u2);
}

const std::vector<std::string>& generator_feature_names() {
  static const std::vector<std::string> kNames = {
      "temperature", "humidity", "wind_speed", "cloud_cover", "solar_irradiance", "pressure",
      "hour_sin",    "hour_cos", "dow_sin",    "dow_cos",     "doy_sin",          "is_holiday"};
  return kNames;
}

GeneratedData generate(const GeneratorConfig& config) {
  config.validate();
  const auto start = parse_timestamp(config.start);
  const int64_t n = config.rows, S = config.series;
  const int64_t step_ms = config.step_seconds * 1000;
  const double step_hours = static_cast<double>(config.step_seconds) / 3600.0;
  constexpr int64_t C = 13;

  GeneratedData out;
  Table& t = out.table;
  t.source = "generator:" + std::to_string(config.seed);
  t.channels.push_back("target");
  for (const auto& f : generator_feature_names()) t.channels.push_back(f);
  t.values.resize(static_cast<size_t>(n * S * C));
  t.time.resize(static_cast<size_t>(n * S));
  t.source_line.assign(static_cast<size_t>(n * S), 0);
  t.filled.assign(static_cast<size_t>(n * S), 0);
  t.step_ms = n > 1 ? step_ms : 0;
  out.is_spike.assign(static_cast<size_t>(n * S), 0);

  for (int64_t s = 0; s < S; ++s) {
    char name[32];
    std::snprintf(name, sizeof name, "S%03lld", static_cast<long long>(s));
    t.series.push_back({S > 1 ? std::string(name) : std::string(), s * n, (s + 1) * n});
    uint64_t mix = config.seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(s + 1));
    Rng rng(splitmix64(mix));
    const double base = 800.0 + 600.0 * rng.uniform();     // series level (MW-like)
    const double climate = 4.0 * (rng.uniform() - 0.5);    // series' mean temperature offset
    Ar1 temp_anomaly(0.98, 3.0, step_hours, rng);
    Ar1 cloud_z(0.95, 1.5, step_hours, rng);
    Ar1 humid_noise(0.9, 4.0, step_hours, rng);
    Ar1 wind_z(0.93, 1.0, step_hours, rng);
    Ar1 pressure_z(0.995, 8.0, step_hours, rng);
    Ar1 load_noise(0.7, 0.012, step_hours, rng);
    int64_t burst_left = 0, cooldown = 0;
    double burst_sign = 1;

    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = s * n + i;
      const TimestampMs ts = *start + i * step_ms;
      t.time[row] = ts;
      const int64_t day = ts >= 0 ? ts / kDayMs : (ts - kDayMs + 1) / kDayMs;
      const double hour = static_cast<double>(ts - day * kDayMs) / 3600000.0;
      const int64_t dow = ((day + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday; 0 = Monday
      const double year_phase = std::fmod(static_cast<double>(day) + hour / 24.0, 365.2425) / 365.2425;
      const bool holiday = is_holiday(day);

      // Weather drivers.
      const double seasonal_temp = 11.0 + climate + 9.0 * std::sin(kTwoPi * (year_phase - 0.29));
      const double temp = seasonal_temp + 4.0 * std::sin(kTwoPi * (hour - 9.0) / 24.0) + temp_anomaly.step(rng);
      const double cloud = 1.0 / (1.0 + std::exp(-cloud_z.step(rng)));
      const double humidity = std::clamp(65.0 - 1.2 * (temp - seasonal_temp) + 25.0 * (cloud - 0.5) +
                                             humid_noise.step(rng), 5.0, 100.0);
      const double wind = std::max(0.0, 4.0 + 2.5 * wind_z.step(rng) + 1.5 * (cloud - 0.5));
      const double daylight = std::max(0.0, std::sin(kTwoPi * (hour - 6.0) / 24.0));
      const double solar = 950.0 * daylight * (0.65 + 0.35 * std::sin(kTwoPi * (year_phase - 0.22))) *
                           (1.0 - 0.75 * cloud);
      const double pressure = 1013.0 + pressure_z.step(rng) - 3.0 * (cloud - 0.5);

      // Load: trend x daily profile x weekday/holiday x temperature response - solar, plus noise.
      const double years = static_cast<double>(i) * step_hours / 8766.0;
      const double profile = -0.12 + 0.16 * gauss(hour, 8.5, 1.8) + 0.22 * gauss(hour, 19.0, 2.2) +
                             0.05 * gauss(hour, 13.0, 2.0);
      const double day_factor = holiday ? 0.9 : (dow >= 5 ? 0.88 : 1.0);
      const double weather = 1.0 + 0.012 * std::max(0.0, 15.0 - temp) + 0.018 * std::max(0.0, temp - 22.0);
      double load = base * ((1.0 + 0.04 * years) * (1.0 + profile) * day_factor * weather *
                                (1.0 - 0.06 * solar / 950.0) +
                            load_noise.step(rng));

      // Spikes: bursts of 1-3 rows, 60% upward, far outside the daily swing.
      if (burst_left == 0 && cooldown == 0 && rng.uniform() < config.spike_rate) {
        burst_left = 1 + static_cast<int64_t>(rng.uniform() * 3.0);
        burst_sign = rng.uniform() < 0.6 ? 1.0 : -1.0;
      }
      if (burst_left > 0) {
        const double magnitude = burst_sign > 0 ? 0.8 + 0.4 * rng.uniform() : 0.55 + 0.2 * rng.uniform();
        load += burst_sign * magnitude * base;
        out.is_spike[row] = 1;
        if (--burst_left == 0) cooldown = 4;
      } else if (cooldown > 0) {
        --cooldown;
      }

      float* v = &t.values[static_cast<size_t>(row * C)];
      v[0] = static_cast<float>(load);
      v[1] = static_cast<float>(temp);
      v[2] = static_cast<float>(humidity);
      v[3] = static_cast<float>(wind);
      v[4] = static_cast<float>(cloud);
      v[5] = static_cast<float>(solar);
      v[6] = static_cast<float>(pressure);
      v[7] = static_cast<float>(std::sin(kTwoPi * hour / 24.0));
      v[8] = static_cast<float>(std::cos(kTwoPi * hour / 24.0));
      v[9] = static_cast<float>(std::sin(kTwoPi * static_cast<double>(dow) / 7.0));
      v[10] = static_cast<float>(std::cos(kTwoPi * static_cast<double>(dow) / 7.0));
      v[11] = static_cast<float>(std::sin(kTwoPi * year_phase));
      v[12] = holiday ? 1.0f : 0.0f;
    }
  }
  return out;
}

}  // namespace spikecast
