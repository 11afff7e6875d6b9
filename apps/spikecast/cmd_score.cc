// `spikecast score --model BUNDLE INPUT.csv -o OUT.csv`: batch scoring (score/scorer.h). One output
// row per forecast origin, streamed in constant memory; rerunning after a kill resumes and
// produces the bytes of an uninterrupted run.
#include <cstdio>
#include <memory>

#include "command.h"
#include "score/bundle_scorer.h"

namespace spikecast::app {
namespace {

struct ScoreArgs {
  std::string model = "spikecast-model";
  std::string input;
  std::string output;
  std::string format = "csv";
  int64_t batch = 4096;
  std::string device = "auto";
  std::string precision = "fp32";
  bool cuda_graphs = true;
  double spike_threshold = 0.5;
};

void run_score(const ScoreArgs& args) {
  score::ScoreOptions options;
  options.input = args.input;
  options.output = args.output;
  options.format = score::parse_output_format(args.format);
  options.batch = args.batch;
  options.device = args.device;
  options.precision = args.precision;
  options.cuda_graphs = args.cuda_graphs;
  options.spike_threshold = args.spike_threshold;
  const score::ScoreReport r = score::score_with_bundle(args.model, options);
  if (r.resumed)
    std::printf("resumed: %lld rows were already written\n", static_cast<long long>(r.resumed_windows));
  std::printf("rows read:        %lld (%lld series)\n", static_cast<long long>(r.rows),
              static_cast<long long>(r.series));
  std::printf("rows scored:      %lld -> %s\n", static_cast<long long>(r.windows), args.output.c_str());
  std::printf("windows skipped:  %lld (touching a gap longer than max_fill_steps)\n",
              static_cast<long long>(r.skipped));
  std::printf("windows/s:        %.0f (%lld windows in %.2f s, %.2f s in the model)\n", r.windows_per_second(),
              static_cast<long long>(r.windows_this_run()), r.seconds, r.predict_seconds);
}

}  // namespace

Command score_command() {
  return {"score", "batch-score a CSV file: forecasts and spike flags for every window, resumable",
          [](CLI::App& sub, CommonOptions&) {
            auto args = std::make_shared<ScoreArgs>();
            sub.add_option("-m,--model", args->model, "bundle directory")->capture_default_str();
            sub.add_option("input", args->input, "CSV file to score")->required();
            sub.add_option("-o,--output", args->output, "output file (its progress: OUTPUT.progress)")->required();
            sub.add_option("--format", args->format, "csv or jsonl")
                ->check(CLI::IsMember({"csv", "jsonl"}))
                ->capture_default_str();
            sub.add_option("--batch", args->batch, "windows per model call and per durable chunk")
                ->capture_default_str();
            sub.add_option("--device", args->device, "auto, cpu or cuda[:N]")->capture_default_str();
            sub.add_option("--precision", args->precision, "fp32 or bf16 (CUDA autocast)")
                ->check(CLI::IsMember({"fp32", "bf16"}))
                ->capture_default_str();
            sub.add_flag("!--no-cuda-graphs", args->cuda_graphs, "on CUDA, run the model eagerly instead of replaying a graph");
            sub.add_option("--spike-threshold", args->spike_threshold, "spike flag when probability >= this")
                ->capture_default_str();
            sub.callback([args] { run_score(*args); });
          }};
}

}  // namespace spikecast::app
