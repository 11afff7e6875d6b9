#include "serve/server.h"

#include <iostream>

#include "core/error.h"

namespace spikecast::serve {

void ServeOptions::validate() const {
  if (registry.empty() == model.empty())
    throw ConfigError("serve.registry", "give exactly one of --registry DIR or --model BUNDLE_DIR");
  if (threads < 1 || threads > 256) throw ConfigError("serve.threads", "must be in 1..256, got " + std::to_string(threads));
  if (body_limit < 1024 || body_limit > (size_t{1} << 30))
    throw ConfigError("serve.body_limit", "must be in 1024..1073741824 bytes, got " + std::to_string(body_limit));
  if (max_windows < 1 || max_windows > 65536)
    throw ConfigError("serve.max_windows", "must be in 1..65536, got " + std::to_string(max_windows));
  if (max_json_depth < 4 || max_json_depth > 64)
    throw ConfigError("serve.max_json_depth", "must be in 4..64, got " + std::to_string(max_json_depth));
  if (poll_ms < 0) throw ConfigError("serve.poll_ms", "must be >= 0, got " + std::to_string(poll_ms));
  if (drain_timeout_ms < 0) throw ConfigError("serve.drain_timeout_ms", "must be >= 0, got " + std::to_string(drain_timeout_ms));
  if (warmup_runs < 1 || warmup_runs > 100)
    throw ConfigError("serve.warmup_runs", "must be in 1..100, got " + std::to_string(warmup_runs));
  BatcherOptions{max_batch, max_wait_us, queue, timeout_ms}.validate();
}

bool is_loopback_address(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

Server::Server(ServeOptions options, PredictorFactory factory) : options_(std::move(options)) {
  options_.validate();
  ModelHostOptions ho;
  ho.registry_root = options_.registry;
  ho.bundle_dir = options_.model;
  ho.warmup_windows = options_.max_batch;
  ho.warmup_runs = options_.warmup_runs;
  ho.log = options_.log;
  host_ = std::make_unique<ModelHost>(ho, std::move(factory), &metrics_);
  batcher_ = std::make_unique<Batcher>(
      BatcherOptions{options_.max_batch, options_.max_wait_us, options_.queue, options_.timeout_ms}, &metrics_);

  RouterOptions ro;
  ro.limits.max_windows = options_.max_windows;
  ro.limits.max_json_depth = options_.max_json_depth;
  ro.admin_token = options_.admin_token;
  if (options_.admin_token.empty()) {
    ro.admin_disabled_reason = "no admin token configured (--admin-token or SPIKECAST_ADMIN_TOKEN)";
  } else if (!is_loopback_address(options_.host) && !options_.admin_remote) {
    ro.admin_disabled_reason = "bound to non-loopback address " + options_.host + " (pass --admin-remote to allow)";
  } else {
    ro.admin_enabled = true;
  }
  router_ = std::make_unique<Router>(ro, *host_, *batcher_, metrics_);

  HttpServerOptions hs;
  hs.host = options_.host;
  hs.port = options_.port;
  hs.threads = options_.threads;
  hs.body_limit = options_.body_limit;
  http_ = std::make_unique<HttpServer>(hs, [router = router_.get()](HttpRequest&& req, Responder respond) {
    router->handle(std::move(req), std::move(respond));
  });
}

Server::~Server() { stop(); }

void Server::start() {
  if (!host_->load_current()) {
    const std::string line = "registry '" + options_.registry + "' has no current version yet; not ready until one is promoted";
    if (options_.log) options_.log(line);
    else std::cerr << "spikecast serve: " << line << std::endl;
  }
  http_->start();
  host_->start_watching(options_.poll_ms);
}

bool Server::drain() {
  if (stopped_) return true;
  router_->set_draining();
  host_->stop_watching();
  const bool clean = http_->drain(std::chrono::milliseconds(options_.drain_timeout_ms));
  stop();
  return clean;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  router_->set_draining();
  host_->stop_watching();
  http_->stop();
  batcher_->stop();  // answers whatever is still queued; the responses have nowhere to go now
}

}  // namespace spikecast::serve
