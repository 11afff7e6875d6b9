// spikecast evaluate: the standard protocol on a bundle's test split, members and baselines side
// by side; a table on the terminal and JSON for machines.
#include <cstdio>
#include <fstream>

#include "command.h"
#include "core/error.h"
#include "model_io.h"

namespace spikecast::app {
namespace {

struct EvaluateArgs {
  std::string model = "spikecast-model";
  std::string data;
  std::string json_out;
  std::string device = "auto";
};

void run_evaluate(const EvaluateArgs& args, const CommonOptions& common) {
  CommonOptions opts = common;
  if (!args.data.empty()) opts.data_path = args.data;
  Config config = opts.resolve();
  const Context ctx = make_context(args.device, "fp32");
  const BundleEvaluation run = evaluate_bundle(args.model, config, ctx);
  const train::Evaluation& ev = run.evaluation;
  std::printf("%s", train::format_scores(ev).c_str());
  if (!args.json_out.empty()) {
    std::ofstream out(args.json_out);
    if (!out) throw Error("cannot write '" + args.json_out + "'");
    out << ev.to_json().dump(2) << "\n";
  }
}

}  // namespace

Command evaluate_command() {
  return {"evaluate", "score a model bundle on the test split: ensemble, members and baselines",
          [](CLI::App& sub, CommonOptions& common) {
            auto args = std::make_shared<EvaluateArgs>();
            sub.add_option("-m,--model", args->model, "bundle directory")->capture_default_str();
            sub.add_option("--data", args->data, "CSV file (default: the file the bundle was trained on)");
            sub.add_option("--json", args->json_out, "also write the scores as JSON to this file");
            sub.add_option("--device", args->device, "auto, cpu or cuda[:N]");
            common.add_config_flag(sub);
            sub.callback([args, &common] { run_evaluate(*args, common); });
          }};
}

}  // namespace spikecast::app
