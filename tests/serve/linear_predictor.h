// A real, closed-form Predictor for the serve tests: two members over the target channel,
//   persistence: y[L-1] for every step
//   trend:       ordinary least squares line a + b*t over the window, extrapolated to t = L-1+h
// combined with fixed weights (0.25, 0.75) plus a bias; spike probability sigmoid(z - 3) where z is
// the last point's residual from a line fitted to the earlier points, over that fit's residual std; rules "gap_filled" (filled_fraction > 0.5)
// and "flat" (constant window). Options come from the bundle manifest's extra.test_predictor, so a
// test builds bundles that behave differently (bias), slowly (delay_ms) or badly (nan, throw).
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "registry/atomic_file.h"
#include "serve/predictor.h"

namespace spikecast::testing {

struct LinearOptions {
  double bias = 0.0;
  int delay_ms = 0;      // sleep per predict call
  bool nan = false;      // emit NaN forecasts (a broken model)
  int64_t input_length = 8;
  int64_t horizon = 3;
};

// Process-wide counters, for the batching tests.
inline std::atomic<int64_t> g_predict_calls{0};
inline std::atomic<int64_t> g_max_batch_seen{0};

class LinearPredictor : public serve::Predictor {
 public:
  explicit LinearPredictor(LinearOptions o) : o_(o) {
    info_.name = "linear-test";
    info_.channels = {"load", "temp"};
    info_.input_length = o.input_length;
    info_.horizon = o.horizon;
    info_.member_names = {"persistence", "trend"};
    info_.has_spike_head = true;
  }
  const serve::ModelInfo& info() const override { return info_; }

  serve::PredictOutput predict(const serve::PredictInput& in) override {
    ++g_predict_calls;
    int64_t seen = g_max_batch_seen;
    while (in.windows > seen && !g_max_batch_seen.compare_exchange_weak(seen, in.windows)) {}
    if (o_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o_.delay_ms));
    const int64_t L = in.length, C = in.num_channels(), H = info_.horizon;
    serve::PredictOutput out;
    out.windows = in.windows;
    out.horizon = H;
    out.member_names = info_.member_names;
    for (int64_t b = 0; b < in.windows; ++b) {
      auto y = [&](int64_t t) { return static_cast<double>(in.values[(b * L + t) * C + 0]); };
      double tm = 0, ym = 0;
      for (int64_t t = 0; t < L; ++t) tm += t, ym += y(t);
      tm /= L, ym /= L;
      double sxy = 0, sxx = 0;
      for (int64_t t = 0; t < L; ++t) sxy += (t - tm) * (y(t) - ym), sxx += (t - tm) * (t - tm);
      const double slope = sxy / sxx, icpt = ym - slope * tm;
      double ss = 0;
      for (int64_t t = 0; t < L; ++t) ss += std::pow(y(t) - (icpt + slope * t), 2);
      const double sd = std::sqrt(ss / L);
      // Spike score: the last point against a line fitted to the points before it.
      double pm = 0, qm = 0, pxy = 0, pxx = 0, pss = 0;
      for (int64_t t = 0; t < L - 1; ++t) pm += t, qm += y(t);
      pm /= (L - 1), qm /= (L - 1);
      for (int64_t t = 0; t < L - 1; ++t) pxy += (t - pm) * (y(t) - qm), pxx += (t - pm) * (t - pm);
      const double ps = pxy / pxx, pi = qm - ps * pm;
      for (int64_t t = 0; t < L - 1; ++t) pss += std::pow(y(t) - (pi + ps * t), 2);
      const double z = std::abs(y(L - 1) - (pi + ps * (L - 1))) / (std::sqrt(pss / (L - 1)) + 1e-6);
      std::vector<float> persistence(H), trend(H);
      for (int64_t h = 0; h < H; ++h) {
        persistence[h] = static_cast<float>(y(L - 1));
        trend[h] = static_cast<float>(icpt + slope * (L + h));
      }
      for (int64_t h = 0; h < H; ++h)
        out.forecast.push_back(o_.nan ? NAN : static_cast<float>(0.25 * persistence[h] + 0.75 * trend[h] + o_.bias));
      out.member_forecasts.insert(out.member_forecasts.end(), persistence.begin(), persistence.end());
      out.member_forecasts.insert(out.member_forecasts.end(), trend.begin(), trend.end());
      for (int64_t h = 0; h < H; ++h) out.weights.push_back(0.25f);
      for (int64_t h = 0; h < H; ++h) out.weights.push_back(0.75f);
      const float p = static_cast<float>(1.0 / (1.0 + std::exp(-(z - 3.0))));
      out.spike_probability.push_back(p);
      out.spike.push_back(p >= 0.5f);
      std::vector<std::string> rules;
      if (in.filled_fraction[b] > 0.5f) rules.push_back("gap_filled");
      if (sd == 0 && slope == 0) rules.push_back("flat");
      out.rules_fired.push_back(rules);
    }
    return out;
  }

 private:
  LinearOptions o_;
  serve::ModelInfo info_;
};

// The factory the server gets: options from manifest.json "extra"."test_predictor".
inline std::unique_ptr<serve::Predictor> make_linear_predictor(const std::string& bundle_dir) {
  auto manifest = nlohmann::json::parse(read_file(bundle_dir + "/manifest.json"));
  nlohmann::json t = manifest["extra"].value("test_predictor", nlohmann::json::object());
  if (t.value("throw", false)) throw ModelError("test predictor: refusing bundle '" + bundle_dir + "'");
  LinearOptions o;
  o.bias = t.value("bias", 0.0);
  o.delay_ms = t.value("delay_ms", 0);
  o.nan = t.value("nan", false);
  o.input_length = t.value("input_length", int64_t{8});
  return std::make_unique<LinearPredictor>(o);
}

}  // namespace spikecast::testing
