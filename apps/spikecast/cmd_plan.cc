// `spikecast plan`: the capacity planner. Measures each member and the ensemble on the present
// device at the given batch sizes and parameter totals, projects to the given record counts, and
// prints what a GPU request should state (docs/performance.md, "Capacity planning").
//   spikecast plan --device cuda --batch 32,1024 --records 781163,1000000,1500000 --json plan.json
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "bench/bench_options.h"
#include "bench/capacity_plan.h"
#include "command.h"
#include "core/error.h"
#include "tensor/side_streams.h"

namespace spikecast::app {
namespace {

struct PlanArgs {
  bench::PlanOptions options;
  std::string device = "auto";
  std::string precision = "auto";
  int64_t rows = 200000;  // generated rows the measurements run over (speed and model memory do not depend on it)
  std::string json;
};

void print_plan(const bench::Plan& plan, const bench::PlanOptions& o, const Context& ctx) {
  const std::string mem = plan.measured.empty() ? "" : plan.measured.front().memory_kind;
  std::printf("spikecast plan on %s (%s); memory: %s; daily retrain = %lld epochs over %.0f%% of the records + "
              "a validation pass over %.0f%% each epoch\n",
              ctx.device.str().c_str(), to_string(ctx.precision), mem.c_str(),
              static_cast<long long>(o.epochs_per_retrain), o.train_fraction * 100, o.val_fraction * 100);
  std::printf("%-9s %10s %10s %10s %6s %12s %12s %10s %12s  %s\n", "model", "5-total", "params", "records", "batch",
              "train MiB", "infer MiB", "epoch s", "retrain s", "joined");
  for (const auto& r : plan.rows) {
    std::string joined;
    for (const auto& j : r.joined) joined += (joined.empty() ? "" : ",") + j;
    std::printf("%-9s %10lld %10lld %10lld %6lld %12.1f %12.1f %10.1f %12.1f  %s\n", r.model.c_str(),
                static_cast<long long>(r.parameter_total), static_cast<long long>(r.parameters),
                static_cast<long long>(r.records), static_cast<long long>(r.batch), r.train_memory_bytes / 1048576.0,
                r.infer_memory_bytes / 1048576.0, r.epoch_s, r.retrain_s, joined.c_str());
  }
  if (!o.join.empty())
    std::printf("joined: the members that join the ensemble at that size (train.join: from %lld training windows)\n",
                static_cast<long long>(o.join_min_windows));
}

void run_plan(PlanArgs a) {
  // `--join ""`: no member joins.
  a.options.join.erase(std::remove(a.options.join.begin(), a.options.join.end(), std::string()), a.options.join.end());
  a.options.validate();
  const Context ctx = make_context(a.device, a.precision);
  seed_everything(1);
  bench::Plan plan;
  run_on_work_stream(ctx.device, [&] {  // as `spikecast bench` measures (cmd_bench.cc)
    const bench::BenchData data = bench::make_bench_data({a.rows, bench::kGeneratedFeatures, bench::kUsersInputLength, 1, 1, {}}, ctx.device);
    plan = bench::make_plan(data, a.options, ctx);
  });
  print_plan(plan, a.options, ctx);
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    f << plan.to_json(a.options, ctx).dump(1) << "\n";
    if (!f.flush()) throw Error("cannot write '" + a.json + "'");
  }
}

}  // namespace

Command plan_command() {
  return {"plan", "capacity planner: measured GPU memory and time per epoch and per daily retrain, projected",
          [](CLI::App& sub, CommonOptions&) {
            auto a = std::make_shared<PlanArgs>();
            auto& o = a->options;
            sub.add_option("--device", a->device, "auto, cpu or cuda[:N]")->capture_default_str();
            sub.add_option("--precision", a->precision, "auto, fp32, bf16 or fp16")->capture_default_str();
            sub.add_option("--members", o.members, "members")->delimiter(',')->capture_default_str();
            sub.add_option("--batch", o.batches, "training batch sizes")->delimiter(',')->capture_default_str();
            sub.add_option("--infer-batch", o.infer_batch, "inference batch size")->capture_default_str();
            sub.add_option("--records", o.records, "record counts to project to")->delimiter(',')->capture_default_str();
            sub.add_option("--parameters", o.parameter_totals, "five-member parameter totals to measure (0 = as built)")
                ->delimiter(',')
                ->capture_default_str();
            sub.add_option("--join", o.join, "members that join the ensemble as the data grows (train.join; \"\" for none)")
                ->delimiter(',')
                ->capture_default_str();
            sub.add_option("--join-min-windows", o.join_min_windows, "training windows from which they join")
                ->capture_default_str();
            sub.add_option("--epochs", o.epochs_per_retrain, "epochs per daily retrain")->capture_default_str();
            sub.add_option("--steps", o.steps, "timed optimizer steps per measurement")->capture_default_str();
            sub.add_option("--infer-runs", o.infer_runs, "timed forwards per inference measurement")
                ->capture_default_str();
            sub.add_option("--rows", a->rows, "generated rows the measurements run over")->capture_default_str();
            sub.add_option("--json", a->json, "also write the plan as JSON here");
            sub.callback([a] { run_plan(*a); });
          }};
}

}  // namespace spikecast::app
