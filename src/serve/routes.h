// The HTTP API: maps a request to the model host, the batcher and the metrics.
//   POST /v1/predict          forecast one or many windows (predict_codec.h has the formats)
//   GET  /healthz             200 while the process serves HTTP
//   GET  /readyz              200 when a model is loaded and warmed and no drain began; else 503
//   GET  /metrics             Prometheus text (metrics.h)
//   GET  /v1/models           the live model and, with a registry, its versions
//   POST /v1/admin/promote    {"version": "..."}: load, warm, point the registry at it, swap
//   POST /v1/admin/rollback   back to the previous version, same steps
//   POST /v1/admin/reload     reload the registry's current version (or the fixed bundle)
// Admin routes need "Authorization: Bearer <token>" and run one at a time on their own thread, so a
// slow model load never blocks an I/O thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "serve/batcher.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/model_host.h"
#include "serve/predict_codec.h"

namespace spikecast::serve {

struct RouterOptions {
  PredictLimits limits;
  bool admin_enabled = false;          // decided by the server (token set; loopback or allowed remote)
  std::string admin_token;             // compared in constant time
  std::string admin_disabled_reason;   // said in the 403 when disabled
};

class Router {
 public:
  Router(RouterOptions options, ModelHost& host, Batcher& batcher, Metrics& metrics);
  ~Router();  // joins the admin thread

  void handle(HttpRequest&& request, Responder respond);
  // After this, /readyz answers 503 (load balancers stop sending) and predict answers 503.
  void set_draining() { draining_ = true; }

 private:
  void predict(HttpRequest&& request, Responder respond);
  void models(Responder respond);
  void admin(const std::string& action, HttpRequest&& request, Responder respond);
  void run_admin();

  RouterOptions options_;
  ModelHost& host_;
  Batcher& batcher_;
  Metrics& metrics_;
  std::atomic<bool> draining_{false};

  std::mutex admin_mu_;
  std::condition_variable admin_cv_;
  std::deque<std::function<void()>> admin_jobs_;
  bool admin_stop_ = false;
  std::thread admin_thread_;
};

// {"error": message} (plus "field" when not empty).
HttpResponse error_response(int status, const std::string& message, const std::string& field = "");

}  // namespace spikecast::serve
