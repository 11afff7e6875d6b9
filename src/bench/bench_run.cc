#include "bench/bench_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "bench/bench_data.h"
#include "bench/budget_export.h"
#include "bench/flop_count.h"
#include "bench/inference_latency.h"
#include "bench/train_throughput.h"
#include "core/error.h"
#include "models/dynamic_ensemble.h"
#include "models/model_registry.h"
#include "models/recurrent_inference.h"
#include "tensor/compat.h"
#include "tensor/graphed_call.h"

namespace spikecast::bench {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void log_line(std::FILE* log, const std::string& s) {
  if (!log) return;
  std::fprintf(log, "%s\n", s.c_str());
  std::fflush(log);
}

// Runs `phase`, recording an exception under errors[phase] instead of ending the run.
template <typename F>
void guarded(nlohmann::json& doc, const std::string& phase, std::FILE* log, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    doc["errors"][phase] = e.what();
    log_line(log, "bench: " + phase + " failed: " + e.what());
  }
}

}  // namespace

nlohmann::json run_bench(const BenchOptions& o, const Context& ctx, std::FILE* log) {
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json doc = {{"benchmark", "spikecast_bench"},
                        {"date", utc_now()},
                        {"device", ctx.device.str()},
                        {"precision", to_string(ctx.precision)},
                        {"runtime", models::runtime_summary_with_kernels()},
                        {"users_windows", kUsersWindows},
                        {"train_cuda_graphs", o.cuda_graphs && ctx.is_cuda()},
                        {"model_options", o.base.model_options},
                        {"errors", nlohmann::json::object()}};
  seed_everything(o.seed);
  const BenchData data = make_bench_data({o.resolved_rows(), o.features, o.input_length, o.horizon, o.seed, o.base},
                                         ctx.device);
  doc["data"] = {{"rows", data.dataset.table.rows()},
                 {"channels", data.channels()},
                 {"features", o.features},
                 {"input_length", o.input_length},
                 {"horizon", o.horizon},
                 {"train_windows", data.dataset.windows.train.size()},
                 {"val_windows", data.dataset.windows.val.size()},
                 {"resident_mib", resident_dataset_bytes(data.dataset.table.rows(), data.channels(),
                                                         static_cast<int64_t>(data.dataset.windows.train.size())) /
                                      1048576.0},
                 {"prepare_s", data.prepare_s}};
  log_line(log, fmt::format("bench: {} rows x {} channels on {} ({:.1f} s to generate and load)",
                            data.dataset.table.rows(), data.channels(), ctx.device.str(), data.prepare_s));

  // The FLOP floor needs no device time: count it first.
  std::vector<ModelCount> counts;
  nlohmann::json flops = nlohmann::json::array();
  for (const auto& m : o.members) {
    counts.push_back(count_model(m, data.spec(m)));
    flops.push_back(counts.back().to_json());
  }
  doc["flops"] = {{"members", flops}, {"epoch_train_flops_users", epoch_train_flops(counts, kUsersWindows)}};

  if (o.has_phase("matmul")) {
    guarded(doc, "matmul", log, [&] {
      const MatmulRate r = measure_matmul(ctx, ctx.is_cuda() ? o.matmul_size : std::min<int64_t>(o.matmul_size, 1024));
      doc["matmul_tflops"] = {{"n", r.n}, {"dtype", r.dtype}, {"tflops", r.tflops}};
      const double floor_s = doc["flops"]["epoch_train_flops_users"].get<double>() / (r.tflops * 1e12);
      doc["flops"]["floor_epoch_s_users"] = floor_s;
      log_line(log, fmt::format("bench: matmul {} n={}: {:.1f} TFLOP/s; FLOP floor of one epoch of all members: {:.3f} s",
                                r.dtype, r.n, r.tflops, floor_s));
    });
  }

  if (o.has_phase("train")) {
    doc["train"] = nlohmann::json::array();
    nlohmann::json all = nlohmann::json::object();
    nlohmann::json together = nlohmann::json::array();
    for (int64_t batch : o.batches) {
      double epoch_s = 0;
      int ok = 0;
      for (const auto& m : o.members) {
        guarded(doc, "train." + m + ".b" + std::to_string(batch), log, [&] {
          const ThroughputResult r = measure_training(m, data, batch, o.steps, ctx, o.seed, nullptr, o.cuda_graphs);
          doc["train"].push_back(r.to_json());
          epoch_s += r.users_epoch_s;
          ++ok;
          log_line(log, fmt::format("bench: train {:<8} batch {:>5}: {:>10.0f} samples/s, epoch {:>8.1f} s, {} {:.1f} MiB",
                                    m, batch, r.samples_per_s, r.users_epoch_s, r.memory.kind,
                                    r.memory.peak_bytes / 1048576.0));
        });
      }
      // Members in turn take the sum of their times.
      if (ok == static_cast<int>(o.members.size()))
        all[std::to_string(batch)] = {{"batch", batch}, {"users_epoch_s", epoch_s},
                                      {"samples_per_s", static_cast<double>(kUsersWindows) / epoch_s}};
      // Side by side, as `spikecast train` runs them on CUDA (on a CPU they train in turn).
      if (o.members.size() > 1 && ctx.is_cuda())
        guarded(doc, "train.together.b" + std::to_string(batch), log, [&] {
          const TogetherResult r = measure_training_together(o.members, data, batch, o.steps, ctx, o.seed);
          together.push_back(r.to_json());
          log_line(log, fmt::format("bench: train all members side by side, batch {:>5}: epoch {:>8.1f} s, {} {:.1f} MiB",
                                    batch, r.users_epoch_s, r.memory.kind, r.memory.peak_bytes / 1048576.0));
        });
    }
    doc["train_all_members"] = all;
    doc["train_together"] = together;
  }

  if (o.has_phase("budget") && o.budget_s > 0) {
    doc["budget"] = nlohmann::json::array();
    if (!o.budget_export.empty())
      guarded(doc, "budget.export", log, [&] {
        export_budget_windows(data, o, o.budget_export);
        log_line(log, "bench: budget windows written to " + o.budget_export + " (bench/peer_budget.py reads them)");
      });
    for (const auto& m : o.members) {
      guarded(doc, "budget." + m, log, [&] {
        const BudgetResult r = measure_budget(m, data, o, ctx);
        doc["budget"].push_back(r.to_json());
        log_line(log, fmt::format("bench: budget {:<8} {:.0f} s at batch {}: best validation MSE {:.5f} after {} windows",
                                  m, r.budget_s, r.batch, r.best_val_loss, r.samples));
      });
    }
  }

  if (o.has_phase("latency")) {
    doc["latency"] = nlohmann::json::array();
    guarded(doc, "latency", log, [&] {
      // As `serve` runs (cmd_serve.cc): OpenBLAS on one thread. With its own thread per core, one
      // window's small products were split in two and the idle thread spun in sched_yield beside
      // the forward (issue 7, session 9). The last phase, so training above keeps every thread.
      if (!ctx.is_cuda()) set_blas_threads(1);
      models::Forecaster ens = make_bench_ensemble(o.members, data);
      doc["ensemble_parameters"] = models::count_parameters(*ens);
      // Large batches take long on a CPU: a tenth of the runs from 1000 windows up (the peer: 20).
      const auto latency_runs = [&](int64_t b) {
        return b >= 1000 ? std::max<int64_t>(5, o.latency_runs / 10) : o.latency_runs;
      };
      // Every latency batch, then every throughput batch (fewer runs), into `latency` and
      // `throughput`; `label` goes into the log lines.
      const auto measure_all = [&](const std::string& label, nlohmann::json& latency, nlohmann::json& throughput) {
        for (int64_t b : o.latency_batches) {
          const LatencyResult r = measure_latency(*ens, data, b, latency_runs(b), ctx);
          latency.push_back(r.to_json());
          log_line(log, fmt::format("bench: ensemble{} batch {:>6}: p50 {:.3f} ms, p99 {:.3f} ms, {:.0f} windows/s",
                                    label, b, r.p50_ms, r.p99_ms, r.windows_per_s));
        }
        for (int64_t b : o.throughput_batches) {
          const LatencyResult r = measure_latency(*ens, data, b, std::max<int64_t>(5, o.latency_runs / 20), ctx);
          throughput.push_back(r.to_json());
          log_line(log, fmt::format("bench: ensemble throughput{} batch {}: {:.0f} windows/s", label, b, r.windows_per_s));
        }
      };
      doc["throughput"] = nlohmann::json::array();
      measure_all("", doc["latency"], doc["throughput"]);
      // On CUDA, also as `serve` runs it: one captured graph per batch, replayed, the forecast copied
      // to the host (`latency_graphs`).
      if (ctx.is_cuda() && GraphedCall::available()) {
        doc["latency_graphs"] = nlohmann::json::array();
        for (int64_t b : o.latency_batches) {
          const LatencyResult r = measure_latency(*ens, data, b, latency_runs(b), ctx, /*graphed=*/true);
          doc["latency_graphs"].push_back(r.to_json());
          log_line(log, fmt::format("bench: ensemble, CUDA graph, batch {:>6}: p50 {:.3f} ms, p99 {:.3f} ms", b,
                                    r.p50_ms, r.p99_ms));
        }
        // Each member alone, one window, graphed: which member's chain bounds the ensemble's latency.
        doc["member_latency_graphs"] = nlohmann::json::array();
        for (const auto& m : o.members) {
          models::Forecaster member = models::make_forecaster(m, data.spec(m));
          nlohmann::json j = measure_latency(*member, data, 1, o.latency_runs, ctx, /*graphed=*/true).to_json();
          j["member"] = m;
          doc["member_latency_graphs"].push_back(j);
          log_line(log, fmt::format("bench: {}, CUDA graph, batch 1: p50 {:.3f} ms", m, j["p50_ms"].get<double>()));
        }
      }
      // On CUDA the members run on side streams; the same figures with the members in turn show
      // what that buys (both lists in `latency_in_turn`).
      auto* ensemble = dynamic_cast<models::DynamicEnsembleImpl*>(ens.get());
      if (ctx.is_cuda() && ensemble) {
        ensemble->set_side_streams(false);
        doc["latency_in_turn"] = nlohmann::json::array();
        measure_all(", members in turn,", doc["latency_in_turn"], doc["latency_in_turn"]);
        ensemble->set_side_streams(true);
      }
    });
  }
  doc["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return doc;
}

std::string bench_table(const nlohmann::json& d) {
  std::string out = fmt::format("spikecast bench  {}  {}  {}\n{}\n", d.value("date", ""), d.value("device", ""),
                                d.value("precision", ""), d.value("runtime", ""));
  if (d.contains("data"))
    out += fmt::format("data: {} rows x {} channels, {} train windows (resident {:.1f} MiB)\n",
                       d["data"]["rows"].get<int64_t>(), d["data"]["channels"].get<int64_t>(),
                       d["data"]["train_windows"].get<int64_t>(), d["data"]["resident_mib"].get<double>());
  if (d.contains("train")) {
    out += fmt::format("\n{:<10} {:>6} {:>10} {:>12} {:>14} {:>18}\n", "training", "batch", "params", "samples/s",
                       "epoch 781k s", "peak MiB");
    for (const auto& r : d["train"]) {
      const auto& mem = r["memory"];
      const std::string peak = mem["kind"] == "unavailable"
                                   ? "n/a"
                                   : fmt::format("{:.1f} {}", mem["peak_mib"].get<double>(),
                                                 mem["kind"] == "cpu_peak_rss" ? "(RSS)" : "(GPU)");
      out += fmt::format("{:<10} {:>6} {:>10} {:>12.0f} {:>14.1f} {:>18}\n", r["member"].get<std::string>(),
                         r["batch"].get<int64_t>(), r["parameters"].get<int64_t>(), r["samples_per_s"].get<double>(),
                         r["users_epoch_s"].get<double>(), peak);
    }
    for (const auto& [k, v] : d["train_all_members"].items())
      out += fmt::format("{:<10} {:>6} {:>10} {:>12.0f} {:>14.1f}   (members in turn)\n", "all", v["batch"].get<int64_t>(),
                         "", v["samples_per_s"].get<double>(), v["users_epoch_s"].get<double>());
    for (const auto& v : d.value("train_together", nlohmann::json::array()))
      out += fmt::format("{:<10} {:>6} {:>10} {:>12.0f} {:>14.1f}   (side by side)\n", "all", v["batch"].get<int64_t>(),
                         "", v["samples_per_s"].get<double>(), v["users_epoch_s"].get<double>());
  }
  if (d.contains("budget")) {
    out += fmt::format("\n{:<10} {:>6} {:>9} {:>14} {:>12}\n", "budget", "batch", "budget s", "best val MSE", "windows");
    for (const auto& r : d["budget"])
      out += fmt::format("{:<10} {:>6} {:>9.1f} {:>14.5f} {:>12}\n", r["member"].get<std::string>(),
                         r["batch"].get<int64_t>(), r["budget_s"].get<double>(), r["best_val_loss"].get<double>(),
                         r["samples"].get<int64_t>());
  }
  if (d.contains("latency")) {
    out += fmt::format("\n{:<10} {:>7} {:>10} {:>10} {:>14}\n", "ensemble", "batch", "p50 ms", "p99 ms", "windows/s");
    for (const auto* key : {"latency", "latency_graphs", "throughput"})
      if (d.contains(key))
        for (const auto& r : d[key])
          out += fmt::format("{:<10} {:>7} {:>10.3f} {:>10.3f} {:>14.0f}\n", key, r["batch"].get<int64_t>(),
                             r["p50_ms"].get<double>(), r["p99_ms"].get<double>(), r["windows_per_s"].get<double>());
  }
  if (d.contains("matmul_tflops"))
    out += fmt::format("\nmatrix rate: {:.2f} TFLOP/s ({} n={})\n", d["matmul_tflops"]["tflops"].get<double>(),
                       d["matmul_tflops"]["dtype"].get<std::string>(), d["matmul_tflops"]["n"].get<int64_t>());
  if (d.contains("flops")) {
    out += fmt::format("FLOPs of one training epoch of the members at 781,163 windows: {:.3e}",
                       d["flops"]["epoch_train_flops_users"].get<double>());
    if (d["flops"].contains("floor_epoch_s_users"))
      out += fmt::format("; floor {:.3f} s at the measured rate", d["flops"]["floor_epoch_s_users"].get<double>());
    out += "\n";
  }
  if (!d.value("errors", nlohmann::json::object()).empty()) out += "\nerrors: " + d["errors"].dump() + "\n";
  return out;
}

}  // namespace spikecast::bench
