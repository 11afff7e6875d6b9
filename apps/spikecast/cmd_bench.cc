// `spikecast bench`: training throughput per member and for all of them, validation loss after a
// fixed time budget, ensemble inference latency and throughput, peak memory, the device's matrix
// rate and the FLOP floor, on one device, over the generator's data (src/bench).
//   spikecast bench --device cuda --precision bf16 --batch 32,1024 --out bench.json
#include <cstdio>
#include <fstream>
#include <memory>

#include "bench/bench_run.h"
#include "command.h"
#include "core/config_file.h"
#include "core/error.h"
#include "tensor/side_streams.h"

namespace spikecast::app {
namespace {

struct BenchArgs {
  bench::BenchOptions options;
  std::string device = "auto";
  std::string precision = "auto";
  std::string config_path;
  std::string out;
};

void run_bench_command(BenchArgs args) {
  if (!args.config_path.empty()) apply_config_file(args.config_path, args.options.base);
  const Context ctx = make_context(args.device, args.precision);
  // On the device's work stream, where training and captures run (tensor/side_streams.h): the
  // memory measured is then that of one stream's cuBLAS workspace, as in `spikecast train`.
  nlohmann::json doc;
  run_on_work_stream(ctx.device, [&] { doc = bench::run_bench(args.options, ctx, stderr); });
  if (!args.out.empty()) {
    std::ofstream f(args.out);
    if (!f) throw Error("cannot write '" + args.out + "'");
    f << doc.dump(1) << "\n";
    if (!f.flush()) throw Error("cannot write '" + args.out + "'");
  }
  std::fputs(bench::bench_table(doc).c_str(), stdout);
  // Every phase ran, but some measurements failed: say so in the exit code.
  if (!doc["errors"].empty()) throw Error("bench: " + std::to_string(doc["errors"].size()) + " measurement(s) failed");
}

}  // namespace

Command bench_command() {
  return {"bench", "measure training speed, time-budget accuracy, inference latency and memory on one device",
          [](CLI::App& sub, CommonOptions&) {
            auto a = std::make_shared<BenchArgs>();
            auto& o = a->options;
            sub.add_option("--device", a->device, "auto, cpu or cuda[:N]")->capture_default_str();
            sub.add_option("--precision", a->precision, "auto (bf16 on CUDA, fp32 on CPU), fp32, bf16 or fp16")
                ->capture_default_str();
            sub.add_option("--members", o.members, "members to measure")->delimiter(',')->capture_default_str();
            sub.add_option("--batch", o.batches, "training batch sizes")->delimiter(',')->capture_default_str();
            sub.add_option("--rows", o.rows, "generated rows; 0 = the users' scale (781,163 windows of 100)")
                ->capture_default_str();
            sub.add_option("-L,--input-length", o.input_length, "window length")->capture_default_str();
            sub.add_option("-H,--horizon", o.horizon, "steps forecast")->capture_default_str();
            sub.add_option("--steps", o.steps, "timed optimizer steps per member and batch (after as many untimed)")
                ->capture_default_str();
            sub.add_option("--budget", o.budget_s, "seconds of training per member in the budget run; 0 = skip")
                ->capture_default_str();
            sub.add_option("--budget-batch", o.budget_batch, "batch size of the budget run")->capture_default_str();
            sub.add_flag("!--no-cuda-graphs", o.cuda_graphs, "train with eager steps instead of captured CUDA graphs");
            sub.add_option("--budget-eval-steps", o.budget_eval_steps, "steps between validation passes")
                ->capture_default_str();
            sub.add_option("--budget-val-windows", o.budget_val_windows, "validation windows per pass")
                ->capture_default_str();
            sub.add_option("--budget-export", o.budget_export,
                           "write the budget run's scaled series and window start rows to this directory, for "
                           "bench/peer_budget.py (the PyTorch peer on the same windows)");
            sub.add_option("--target-loss", o.target_loss, "also report when the validation MSE reaches this")
                ->capture_default_str();
            sub.add_option("--latency-batch", o.latency_batches, "ensemble latency batch sizes")
                ->delimiter(',')
                ->capture_default_str();
            sub.add_option("--latency-runs", o.latency_runs, "timed forwards per latency batch")->capture_default_str();
            sub.add_option("--throughput-batch", o.throughput_batches, "large inference batches (windows/s)")
                ->delimiter(',')
                ->capture_default_str();
            sub.add_option("--matmul-size", o.matmul_size, "n of the n x n GEMM (CPU: at most 1024)")
                ->capture_default_str();
            sub.add_option("--phases", o.phases, "matmul, train, budget, latency")->delimiter(',')->capture_default_str();
            sub.add_option("--seed", o.seed, "data and initialisation seed")->capture_default_str();
            sub.add_option("--features", o.features,
                           "generated features kept besides the target (11: the peer's 100 x 12 windows)")
                ->capture_default_str();
            sub.add_option("-c,--config", a->config_path,
                           "TOML configuration: the [models.*] options and [train] settings the members are "
                           "built and trained with");
            sub.add_option("--out", a->out, "write the JSON document here");
            sub.callback([a] { run_bench_command(*a); });
          }};
}

}  // namespace spikecast::app
