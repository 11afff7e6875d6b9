#include "bench/inference_latency.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "models/model_registry.h"
#include "tensor/compat.h"
#include "tensor/graphed_call.h"

namespace spikecast::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[static_cast<size_t>(std::clamp<int64_t>(rank - 1, 0, static_cast<int64_t>(values.size()) - 1))];
}

nlohmann::json LatencyResult::to_json() const {
  return {{"batch", batch},     {"runs", runs},     {"p50_ms", p50_ms},
          {"p99_ms", p99_ms},   {"mean_ms", mean_ms}, {"min_ms", min_ms},
          {"windows_per_s", windows_per_s}, {"memory", memory.to_json()}};
}

models::Forecaster make_bench_ensemble(const std::vector<std::string>& members, const BenchData& data) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) list.push_back({{"name", m}, {"options", data.spec(m).options}});
  models::ModelSpec spec = data.spec("ensemble");
  spec.options = {{"members", list}, {"mode", "gated"}};
  return models::make_forecaster("ensemble", spec);
}

LatencyResult measure_latency(models::ForecasterImpl& model, const BenchData& data, int64_t batch, int64_t runs,
                              const Context& ctx, bool graphed) {
  model.to(ctx.device);
  model.eval();
  // The first `batch` validation windows (repeated when there are fewer).
  const auto& val = data.dataset.windows.val;
  std::vector<int64_t> starts(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) starts[static_cast<size_t>(i)] = val[static_cast<size_t>(i) % val.size()];
  const train::WindowBatch wb = data.device_data->gather(data.device_data->index(starts));

  MemoryProbe probe(ctx.device);
  probe.reset();
  torch::NoGradGuard no_grad;
  const auto eager = [&](const torch::Tensor& x) {
    compat::AutocastScope autocast(ctx.device.type(), ctx.autocast_dtype(), ctx.autocast());
    return model.forward(x, wb.filled_fraction).value;
  };
  GraphedCall graph(eager, ctx.device, {batch}, graphed);
  if (graph.graphed()) graph.capture_all(wb.x);
  const auto forward = [&] { return graph.graphed() ? graph.to_host(wb.x) : eager(wb.x); };
  for (int64_t i = 0; i < runs / 10 + 3; ++i) forward();
  compat::synchronize(ctx.device);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(runs));
  for (int64_t i = 0; i < runs; ++i) {
    compat::synchronize(ctx.device);
    const auto t0 = Clock::now();
    forward();
    compat::synchronize(ctx.device);
    ms.push_back(ms_since(t0));
  }
  LatencyResult r;
  r.memory = probe.read();
  r.batch = batch;
  r.runs = runs;
  r.p50_ms = percentile(ms, 0.5);
  r.p99_ms = percentile(ms, 0.99);
  r.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  r.windows_per_s = static_cast<double>(batch) / (r.p50_ms / 1e3);
  return r;
}

MatmulRate measure_matmul(const Context& ctx, int64_t n) {
  MatmulRate r;
  r.n = n;
  const bool bf16 = ctx.is_cuda() && ctx.precision != Precision::kFloat32;
  const auto dtype = bf16 ? (ctx.precision == Precision::kFloat16 ? torch::kHalf : torch::kBFloat16) : torch::kFloat32;
  r.dtype = dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kHalf ? "fp16" : "fp32";
  const auto opts = torch::TensorOptions().dtype(dtype).device(ctx.device);
  const torch::Tensor a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) torch::matmul(a, b);
  compat::synchronize(ctx.device);
  std::vector<double> ms;
  const int reps = ctx.is_cuda() ? 20 : 3;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    torch::matmul(a, b);
    compat::synchronize(ctx.device);
    ms.push_back(ms_since(t0));
  }
  r.tflops = 2.0 * static_cast<double>(n) * n * n / (percentile(ms, 0.5) / 1e3) / 1e12;
  return r;
}

}  // namespace spikecast::bench
