#include "detect/synthetic_corpus.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/config.h"
#include "core/error.h"
#include "data/generator.h"

namespace spikecast {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kStart = 1388534400000;  // 2014-01-01 00:00:00 UTC, as NAB's files

// Anomaly start rows: k rows in [0.2 n, 0.95 n), at least `gap` rows apart.
std::vector<int64_t> pick_rows(Rng& rng, int64_t n, int k, int64_t gap) {
  std::vector<int64_t> rows;
  for (int attempt = 0; attempt < 1000 && static_cast<int>(rows.size()) < k; ++attempt) {
    const auto r = static_cast<int64_t>(n * (0.2 + 0.75 * rng.uniform()));
    bool ok = true;
    for (int64_t o : rows) ok = ok && std::llabs(o - r) >= gap;
    if (ok) rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

double poisson(Rng& rng, double lambda) {
  if (lambda > 30) return std::max(0.0, std::round(lambda + std::sqrt(lambda) * rng.normal()));
  const double l = std::exp(-lambda);
  double p = 1.0;
  int k = 0;
  do {
    ++k;
    p *= rng.uniform();
  } while (p > l);
  return k - 1;
}

// Daily shape in [−1, 1]-ish with a morning and an evening bump; phase in days.
double daily(double phase) {
  const double h = (phase - std::floor(phase)) * 24.0;
  return std::exp(-0.5 * std::pow((h - 9.0) / 2.0, 2)) + 1.3 * std::exp(-0.5 * std::pow((h - 19.0) / 2.5, 2)) - 0.6;
}

LabelledSeries make(const std::string& kind, uint64_t seed, int64_t length_factor) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: the same stream on every standard library
  for (char c : kind) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  Rng rng(seed * 7919 + h);
  LabelledSeries s;
  s.kind = kind;
  s.name = kind + "_" + std::to_string(seed);
  int64_t n = 4032 * length_factor;  // two weeks of 5-minute rows, a typical NAB file
  s.step_ms = 300000;
  const int k = 1 + static_cast<int>(rng.uniform() * 3.0);  // 1..3 anomalies
  std::vector<double>& v = s.values;

  if (kind == "spiky_server") {
    // CPU-like: noise, frequent benign bursts; anomalies are bursts far bigger than the benign ones.
    const double base = 10 + 40 * rng.uniform();
    const double sd = 0.5 + 2 * rng.uniform();
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      v[i] = base + sd * std::fabs(rng.normal()) + (rng.uniform() < 0.01 ? sd * (3 + 3 * rng.uniform()) : 0.0);
    }
    s.label_rows = pick_rows(rng, n, k, n / 8);
    for (int64_t r : s.label_rows) {
      const int64_t len = 1 + static_cast<int64_t>(rng.uniform() * 4);
      const double amp = sd * (12 + 10 * rng.uniform());
      for (int64_t j = r; j < std::min(n, r + len); ++j) v[j] += amp;
    }
  } else if (kind == "level_shift") {
    const double base = 100 * rng.uniform(), sd = 0.2 + rng.uniform();
    double ar = 0.0, level = base;
    s.label_rows = pick_rows(rng, n, k, n / 8);
    v.resize(n);
    size_t next = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (next < s.label_rows.size() && i == s.label_rows[next]) {
        level += (rng.uniform() < 0.5 ? -1 : 1) * sd * (4 + 4 * rng.uniform()) / 0.6;
        ++next;
      }
      ar = 0.8 * ar + sd * rng.normal();
      v[i] = level + ar;
    }
  } else if (kind == "variance_change") {
    const double base = 50 * rng.uniform(), sd = 0.5 + rng.uniform();
    s.label_rows = pick_rows(rng, n, k, n / 6);
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) v[i] = base + sd * rng.normal();
    for (int64_t r : s.label_rows) {
      const int64_t len = 150 + static_cast<int64_t>(rng.uniform() * 250);
      const double f = 3 + 2 * rng.uniform();
      for (int64_t j = r; j < std::min(n, r + len); ++j) v[j] = base + f * (v[j] - base);
    }
  } else if (kind == "seasonal_dip" || kind == "seasonal_flatline" || kind == "no_anomaly") {
    const double base = 50 + 50 * rng.uniform(), amp = 10 + 10 * rng.uniform(), sd = 0.5 + 1.5 * rng.uniform();
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) v[i] = base + amp * daily(static_cast<double>(i) / 288.0) + sd * rng.normal();
    if (kind == "seasonal_dip") {
      s.label_rows = pick_rows(rng, n, k, n / 6);
      for (int64_t r : s.label_rows) {
        const int64_t len = 20 + static_cast<int64_t>(rng.uniform() * 50);
        const double drop = amp * (0.5 + 0.4 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
        for (int64_t j = r; j < std::min(n, r + len); ++j) v[j] += drop;
      }
    } else if (kind == "seasonal_flatline") {
      s.label_rows = pick_rows(rng, n, k, n / 6);
      for (int64_t r : s.label_rows) {
        const int64_t len = 60 + static_cast<int64_t>(rng.uniform() * 100);
        for (int64_t j = r; j < std::min(n, r + len); ++j) v[j] = v[r - 1];
      }
    }
  } else if (kind == "counts_burst") {
    // Tweet counts: Poisson around a daily profile; anomalies are bursts of several times the rate.
    const double lambda0 = 5 + 25 * rng.uniform();
    v.resize(n);
    s.label_rows = pick_rows(rng, n, k, n / 8);
    std::vector<double> mult(n, 1.0);
    for (int64_t r : s.label_rows) {
      const int64_t len = 4 + static_cast<int64_t>(rng.uniform() * 20);
      const double m = 3 + 3 * rng.uniform();
      for (int64_t j = r; j < std::min(n, r + len); ++j) mult[j] = m;
    }
    for (int64_t i = 0; i < n; ++i) {
      v[i] = poisson(rng, mult[i] * lambda0 * (1.0 + 0.5 * daily(static_cast<double>(i) / 288.0)));
    }
  } else if (kind == "random_walk") {
    const double sd = 0.1 + rng.uniform();
    double x = 100 * rng.uniform();
    s.label_rows = pick_rows(rng, n, k, n / 8);
    v.resize(n);
    size_t next = 0;
    for (int64_t i = 0; i < n; ++i) {
      x += sd * rng.normal();
      if (next < s.label_rows.size() && i == s.label_rows[next]) {
        x += (rng.uniform() < 0.5 ? -1 : 1) * sd * (10 + 10 * rng.uniform());
        ++next;
      }
      v[i] = x;
    }
  } else if (kind == "trend_spike") {
    const double slope = (rng.uniform() - 0.5) * 0.02, sd = 0.5 + rng.uniform();
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) v[i] = 20 + slope * static_cast<double>(i) + sd * rng.normal();
    s.label_rows = pick_rows(rng, n, k, n / 8);
    for (int64_t r : s.label_rows) v[r] += (rng.uniform() < 0.5 ? -1 : 1) * sd * (6 + 4 * rng.uniform());
  } else if (kind == "temperature_failure") {
    // Hourly machine temperature: slow AR(1) wander and a daily cycle; before each failure the
    // temperature climbs for a day, then falls sharply. The label is the start of the climb.
    n = 5000 * length_factor;
    s.step_ms = 3600000;
    const double sd = 0.3 + 0.3 * rng.uniform();
    double ar = 0.0;
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      ar = 0.98 * ar + sd * rng.normal();
      v[i] = 80 + 3 * std::sin(2 * kPi * static_cast<double>(i) / 24.0) + ar;
    }
    s.label_rows = pick_rows(rng, n, k, n / 6);
    for (int64_t r : s.label_rows) {
      for (int64_t j = r; j < std::min(n, r + 24); ++j) v[j] += 15.0 * static_cast<double>(j - r) / 24.0 * 0.5;
      for (int64_t j = r + 24; j < std::min(n, r + 40); ++j) v[j] -= 25.0;
    }
  } else if (kind == "quantized") {
    // A metric on a coarse grid that mostly repeats its value; anomalies are level shifts.
    double level = std::round(10 * rng.uniform());
    s.label_rows = pick_rows(rng, n, k, n / 8);
    v.resize(n);
    size_t next = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (next < s.label_rows.size() && i == s.label_rows[next]) {
        level += (rng.uniform() < 0.5 ? -1 : 1) * (3 + std::round(3 * rng.uniform()));
        ++next;
      }
      v[i] = level + (rng.uniform() < 0.15 ? (rng.uniform() < 0.5 ? -1 : 1) : 0);
    }
  } else if (kind == "hourly_ads") {
    // Ad-exchange-like: hourly, about 1600 rows, noisy multiplicative daily cycle; anomalies are
    // short drops to a fraction of the usual value.
    n = 1600 * length_factor;
    s.step_ms = 3600000;
    const double base = 0.5 + rng.uniform();
    v.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      v[i] = base * (1.0 + 0.3 * daily(static_cast<double>(i) / 24.0)) * std::exp(0.15 * rng.normal());
    }
    s.label_rows = pick_rows(rng, n, k, n / 6);
    for (int64_t r : s.label_rows) {
      const int64_t len = 2 + static_cast<int64_t>(rng.uniform() * 6);
      for (int64_t j = r; j < std::min(n, r + len); ++j) v[j] *= 0.2;
    }
  }
  // A few files carry gaps (missing rows) away from the anomalies.
  if (rng.uniform() < 0.3) {
    const auto g = static_cast<int64_t>(n * (0.2 + 0.7 * rng.uniform()));
    bool near = false;
    for (int64_t r : s.label_rows) near = near || std::llabs(r - g) < n / 20;
    if (!near) {
      for (int64_t j = g; j < std::min(n, g + 12); ++j) v[j] = kNaN;
    }
  }
  s.time_ms.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) s.time_ms[i] = kStart + static_cast<int64_t>(i) * s.step_ms;
  return s;
}

}  // namespace

const std::vector<std::string>& synthetic_kinds() {
  static const std::vector<std::string> kKinds = {
      "spiky_server", "level_shift", "variance_change", "seasonal_dip", "seasonal_flatline", "no_anomaly",
      "counts_burst", "random_walk", "trend_spike", "temperature_failure", "quantized", "hourly_ads"};
  return kKinds;
}

std::vector<LabelledSeries> synthetic_corpus(uint64_t seed, int files_per_kind, int64_t length_factor) {
  if (length_factor < 1) throw ConfigError("length_factor", "must be >= 1, got " + std::to_string(length_factor));
  std::vector<LabelledSeries> out;
  for (const std::string& kind : synthetic_kinds()) {
    for (int f = 0; f < files_per_kind; ++f) out.push_back(make(kind, seed * 1000 + static_cast<uint64_t>(f), length_factor));
  }
  return out;
}

std::vector<LabelledSeries> generator_corpus(const std::vector<uint64_t>& seeds, int64_t rows, double spike_rate) {
  std::vector<LabelledSeries> out;
  for (uint64_t seed : seeds) {
    GeneratorConfig g;
    g.rows = rows;
    g.seed = seed;
    g.spike_rate = spike_rate;
    const GeneratedData data = generate(g);
    LabelledSeries s;
    s.kind = "generator";
    s.name = "generator_" + std::to_string(seed);
    s.step_ms = data.table.step_ms;
    s.time_ms.assign(data.table.time.begin(), data.table.time.end());
    for (int64_t r = 0; r < data.table.rows(); ++r) s.values.push_back(data.table.at(r, 0));
    for (size_t i = 0; i < data.is_spike.size(); ++i) {
      if (data.is_spike[i] && (i == 0 || !data.is_spike[i - 1])) s.label_rows.push_back(static_cast<int64_t>(i));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace spikecast
