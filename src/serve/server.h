// `spikecast serve` as a library: the HTTP server, router, batcher, model host and metrics wired
// together. The CLI (apps/spikecast/cmd_serve.cc) fills ServeOptions, passes a PredictorFactory and
// calls drain() on SIGTERM; the tests do the same on a loopback port.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "serve/batcher.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/model_host.h"
#include "serve/predictor.h"
#include "serve/routes.h"

namespace spikecast::serve {

struct ServeOptions {
  std::string registry;             // registry root: serve and follow its `current`...
  std::string model;                // ...or one fixed bundle directory
  std::string host = "127.0.0.1";   // bind address (an IP)
  uint16_t port = 8080;             // 0: ephemeral
  int threads = 2;                  // HTTP I/O threads
  int64_t max_batch = 32;           // windows per batched predict
  int64_t max_wait_us = 2000;       // batching window
  int64_t queue = 256;              // requests waiting for a batch before 503
  int64_t timeout_ms = 5000;        // per request, queue + predict, before 504
  size_t body_limit = 1 << 20;      // bytes, before 413
  int64_t max_windows = 256;        // windows per request
  int max_json_depth = 8;           // JSON nesting per request
  std::string admin_token;          // bearer token for /v1/admin/*; empty: admin disabled
  bool admin_remote = false;        // allow admin routes when bound to a non-loopback address
  int64_t poll_ms = 1000;           // registry `current` polling interval; 0: only admin reload
  int64_t drain_timeout_ms = 10000; // how long drain() waits for in-flight requests
  int warmup_runs = 2;              // predicts per warm-up batch size at each load
  std::function<void(const std::string&)> log;  // one line per event; stderr when empty

  // ConfigError naming the field ("serve.threads") and the allowed range.
  void validate() const;
};

// Whether an IP address is loopback (127.0.0.0/8, ::1).
bool is_loopback_address(const std::string& host);

class Server {
 public:
  Server(ServeOptions options, PredictorFactory factory);
  ~Server();  // stop()

  // Loads the first model (ModelError when a fixed bundle or the registry's current version is
  // refused; with an empty registry the server starts unready and waits for a promotion), then
  // listens and starts polling the registry.
  void start();
  uint16_t port() const { return http_->port(); }

  // What SIGTERM does: /readyz turns 503, new requests are refused, in-flight requests complete
  // (up to drain_timeout_ms), then everything stops. Returns true when nothing was cut off.
  bool drain();
  void stop();

  ModelHost& models() { return *host_; }
  Metrics& metrics() { return metrics_; }
  const ServeOptions& options() const { return options_; }

 private:
  ServeOptions options_;
  Metrics metrics_;
  std::unique_ptr<ModelHost> host_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> http_;
  bool stopped_ = false;
};

}  // namespace spikecast::serve
