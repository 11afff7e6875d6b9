// `spikecast serve`: the HTTP inference server over a model registry (or one bundle directory).
// SIGTERM/SIGINT drain it: /readyz turns 503, new requests are refused, in-flight ones complete,
// exit 0. Every flag maps to a ServeOptions field (src/serve/server.h) that validate() checks.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "command.h"
#include "serve/bundle_predictor.h"
#include "serve/server.h"
#include "serve/shutdown_signal.h"
#include "tensor/context.h"
#include "tensor/graphed_call.h"

namespace spikecast::app {
namespace {

struct ServeFlags {
  serve::ServeOptions options;
  std::string admin_token_file;
  serve::BundlePredictorOptions predictor;
  bool cuda_graphs = true;
};

void run_serve(ServeFlags& f) {
  serve::ServeOptions& o = f.options;
  // The token is best kept out of argv (visible in ps): env or file first, flag last.
  if (o.admin_token.empty()) {
    if (const char* env = std::getenv("SPIKECAST_ADMIN_TOKEN")) o.admin_token = env;
  }
  if (!f.admin_token_file.empty()) {
    FILE* in = std::fopen(f.admin_token_file.c_str(), "r");
    if (!in) throw ConfigError("--admin-token-file", "cannot read '" + f.admin_token_file + "'");
    char buf[512] = {0};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, in);
    std::fclose(in);
    o.admin_token.assign(buf, n);
    while (!o.admin_token.empty() && (o.admin_token.back() == '\n' || o.admin_token.back() == '\r'))
      o.admin_token.pop_back();
  }
  serve::ShutdownSignal shutdown;  // before any thread starts, so no signal is missed
  set_blas_threads(1);  // batches are small: members run side by side instead (tensor/context.h)
  serve::BundlePredictorOptions predictor = f.predictor;
  // One CUDA graph per power-of-two batch up to --max-batch (used on CUDA devices only).
  if (f.cuda_graphs) predictor.graph_batches = GraphedCall::power_of_two_buckets(o.max_batch);
  serve::Server server(o, [predictor](const std::string& dir) { return serve::make_bundle_predictor(dir, predictor); });
  server.start();
  std::fprintf(stderr, "spikecast serve: listening on %s:%u (%s %s)\n", o.host.c_str(), server.port(),
               o.registry.empty() ? "bundle" : "registry", o.registry.empty() ? o.model.c_str() : o.registry.c_str());
  const int sig = shutdown.wait();
  std::fprintf(stderr, "spikecast serve: signal %d, draining\n", sig);
  const bool clean = server.drain();
  std::fprintf(stderr, "spikecast serve: stopped%s\n", clean ? "" : " (drain timeout: some requests were cut off)");
}

}  // namespace

Command serve_command() {
  return {"serve", "HTTP inference server: forecasts and spike flags over JSON, hot reload from a registry",
          [](CLI::App& sub, CommonOptions&) {
            auto f = std::make_shared<ServeFlags>();
            serve::ServeOptions& o = f->options;
            auto* src = sub.add_option_group("model source");
            src->add_option("--registry", o.registry, "model registry directory (follows its current version)");
            src->add_option("--model", o.model, "a single model bundle directory");
            src->require_option(1);
            sub.add_option("--host", o.host, "bind address (an IP)")->capture_default_str();
            sub.add_option("--port", o.port, "TCP port (0: ephemeral)")->capture_default_str();
            sub.add_option("--threads", o.threads, "HTTP I/O threads")->capture_default_str();
            sub.add_option("--max-batch", o.max_batch, "windows per batched predict call")->capture_default_str();
            sub.add_option("--max-wait-us", o.max_wait_us, "how long a batch waits for more requests (µs)")
                ->capture_default_str();
            sub.add_option("--queue", o.queue, "requests waiting for a batch before 503")->capture_default_str();
            sub.add_option("--timeout-ms", o.timeout_ms, "per-request deadline before 504")->capture_default_str();
            sub.add_option("--body-limit", o.body_limit, "request body limit in bytes (413 above)")->capture_default_str();
            sub.add_option("--max-windows", o.max_windows, "windows per request")->capture_default_str();
            sub.add_option("--poll-ms", o.poll_ms, "registry polling interval (0: admin reload only)")->capture_default_str();
            sub.add_option("--drain-timeout-ms", o.drain_timeout_ms, "how long SIGTERM waits for in-flight requests")
                ->capture_default_str();
            sub.add_option("--admin-token", o.admin_token,
                           "bearer token for /v1/admin/* (prefer SPIKECAST_ADMIN_TOKEN or --admin-token-file)");
            sub.add_option("--admin-token-file", f->admin_token_file, "file holding the admin bearer token");
            sub.add_flag("--admin-remote", o.admin_remote, "allow admin routes on a non-loopback bind address");
            sub.add_option("--device", f->predictor.device, "auto, cpu or cuda[:N]")->capture_default_str();
            sub.add_option("--precision", f->predictor.precision, "fp32 or bf16 (CUDA autocast)")
                ->check(CLI::IsMember({"fp32", "bf16"}))
                ->capture_default_str();
            sub.add_flag("!--no-cuda-graphs", f->cuda_graphs, "on CUDA, run every batch eagerly instead of replaying graphs");
            sub.callback([f] { run_serve(*f); });
          }};
}

}  // namespace spikecast::app
