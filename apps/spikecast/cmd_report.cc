// spikecast report: one self-contained HTML file (training curves, forecast vs actual with spikes,
// the ensemble's weights, the metrics tables, the data summary).
#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "eval/html_report.h"
#include "model_io.h"

namespace spikecast::app {
namespace {

struct ReportArgs {
  std::string model = "spikecast-model";
  std::string data;
  std::string out = "spikecast-report.html";
  std::string device = "auto";
};

void run_report(const ReportArgs& args, const CommonOptions& common) {
  CommonOptions opts = common;
  if (!args.data.empty()) opts.data_path = args.data;
  Config config = opts.resolve();
  const Context ctx = make_context(args.device, "fp32");
  const BundleEvaluation run = evaluate_bundle(args.model, config, ctx);
  const train::Evaluation& ev = run.evaluation;
  const train::Dataset& data = run.data;
  const models::LoadedBundle& bundle = run.bundle;
  const nlohmann::json doc = train::report_document(
      ev, data, bundle.manifest.extra.value("history", nlohmann::json::object()),
      "spikecast report: " + bundle.manifest.target + " from " + data.table.source);
  write_report(doc, args.out);
  std::printf("%sreport written to %s\n", train::format_scores(ev).c_str(), args.out.c_str());
}

}  // namespace

Command report_command() {
  return {"report", "write a self-contained HTML report for a model bundle",
          [](CLI::App& sub, CommonOptions& common) {
            auto args = std::make_shared<ReportArgs>();
            sub.add_option("-m,--model", args->model, "bundle directory")->capture_default_str();
            sub.add_option("--data", args->data, "CSV file (default: the file the bundle was trained on)");
            sub.add_option("-o,--out", args->out, "HTML file to write")->capture_default_str();
            sub.add_option("--device", args->device, "auto, cpu or cuda[:N]");
            common.add_config_flag(sub);
            sub.callback([args, &common] { run_report(*args, common); });
          }};
}

}  // namespace spikecast::app
