#include "serve/routes.h"

#include <chrono>

#include "core/error.h"

namespace spikecast::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

HttpResponse error_response(int status, const std::string& message, const std::string& field) {
  json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  HttpResponse r{status, "application/json", {}, body.dump()};
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

namespace {

HttpResponse json_response(const json& body, int status = 200) {
  return HttpResponse{status, "application/json", {}, body.dump()};
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

json model_json(const LoadedModel& m) {
  return {{"version", m.version},          {"model", m.info.name},
          {"bundle_dir", m.bundle_dir},    {"loaded_at", m.loaded_at},
          {"channels", m.info.channels},   {"target", m.info.channels.empty() ? "" : m.info.channels.front()},
          {"input_length", m.info.input_length}, {"horizon", m.info.horizon},
          {"members", m.info.member_names}, {"has_spike_head", m.info.has_spike_head}};
}

// Route names are the metric labels: a fixed set, never the raw target.
std::string route_name(const std::string& path) {
  if (path == "/v1/predict") return "predict";
  if (path == "/healthz") return "healthz";
  if (path == "/readyz") return "readyz";
  if (path == "/metrics") return "metrics";
  if (path == "/v1/models") return "models";
  if (path == "/v1/admin/promote") return "admin_promote";
  if (path == "/v1/admin/rollback") return "admin_rollback";
  if (path == "/v1/admin/reload") return "admin_reload";
  return "other";
}

}  // namespace

Router::Router(RouterOptions options, ModelHost& host, Batcher& batcher, Metrics& metrics)
    : options_(std::move(options)), host_(host), batcher_(batcher), metrics_(metrics) {
  admin_thread_ = std::thread([this] { run_admin(); });
}

Router::~Router() {
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    admin_stop_ = true;
  }
  admin_cv_.notify_all();
  admin_thread_.join();
}

void Router::run_admin() {
  std::unique_lock<std::mutex> lock(admin_mu_);
  for (;;) {
    admin_cv_.wait(lock, [this] { return admin_stop_ || !admin_jobs_.empty(); });
    if (admin_jobs_.empty()) return;
    auto job = std::move(admin_jobs_.front());
    admin_jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void Router::handle(HttpRequest&& request, Responder respond) {
  const std::string path = request.path();
  const std::string route = route_name(path);
  const auto start = Clock::now();
  // Every answer goes through here, so each is counted once with its status and latency.
  Responder counted = [this, route, start, respond = std::move(respond)](HttpResponse r) {
    metrics_.observe_request(route, r.status, std::chrono::duration<double>(Clock::now() - start).count());
    respond(std::move(r));
  };
  const std::string& method = request.method;
  auto need = [&](const char* m) {
    if (method == m) return true;
    HttpResponse r = error_response(405, "method " + method + " not allowed on " + path + " (use " + m + ")");
    r.headers.emplace_back("Allow", m);
    counted(std::move(r));
    return false;
  };

  if (route == "predict") {
    if (need("POST")) predict(std::move(request), std::move(counted));
  } else if (route == "healthz") {
    if (need("GET")) counted(json_response({{"status", "ok"}}));
  } else if (route == "readyz") {
    if (!need("GET")) return;
    auto live = host_.current();
    if (draining_) counted(error_response(503, "draining"));
    else if (!live) counted(error_response(503, "no model loaded"));
    else counted(json_response({{"status", "ready"}, {"model_version", live->version}}));
  } else if (route == "metrics") {
    if (need("GET")) counted(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics_.render()});
  } else if (route == "models") {
    if (need("GET")) models(std::move(counted));
  } else if (route.rfind("admin_", 0) == 0) {
    if (need("POST")) admin(route.substr(6), std::move(request), std::move(counted));
  } else {
    counted(error_response(404, "no route " + path));
  }
}

void Router::predict(HttpRequest&& request, Responder respond) {
  const auto start = Clock::now();
  if (draining_) return respond(error_response(503, "server is shutting down"));
  auto model = host_.current();
  if (!model) return respond(error_response(503, "no model loaded yet"));
  if (const std::string* ct = request.header("Content-Type"); ct && ct->find("json") == std::string::npos)
    return respond(error_response(415, "Content-Type must be application/json, got '" + *ct + "'"));
  PredictInput input;
  auto ids = std::make_shared<std::vector<json>>();
  try {
    input = parse_predict_request(request.body, model->info, options_.limits, ids.get());
  } catch (const BadRequest& e) {
    return respond(error_response(e.status(), e.what(), e.field()));
  }
  auto shared_respond = std::make_shared<Responder>(std::move(respond));
  const bool queued = batcher_.submit(model, std::move(input), [start, ids, shared_respond](BatchResult&& r) {
    if (r.status != 200) return (*shared_respond)(error_response(r.status, r.error));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    (*shared_respond)(HttpResponse{200, "application/json", {},
                                   encode_predict_response(r.output, r.model->info, r.model->version, *ids,
                                                           r.batch_windows, ms)});
  });
  if (!queued) (*shared_respond)(error_response(503, "request queue is full"));
}

void Router::models(Responder respond) {
  json body = json::object();
  auto live = host_.current();
  body["live"] = live ? model_json(*live) : json();
  if (ModelRegistry* reg = host_.registry()) {
    try {
      json versions = json::array();
      for (const auto& v : reg->list())
        versions.push_back({{"version", v.version}, {"added_at", v.added_at}, {"weights_sha256", v.weights_sha256},
                            {"is_current", v.is_current}, {"extra", v.extra}});
      auto cur = reg->current();
      body["registry"] = {{"root", reg->root()}, {"current", cur ? json(*cur) : json()}, {"versions", versions}};
    } catch (const std::exception& e) {
      return respond(error_response(500, std::string("cannot read the registry: ") + e.what()));
    }
  }
  respond(json_response(body));
}

void Router::admin(const std::string& action, HttpRequest&& request, Responder respond) {
  if (!options_.admin_enabled) return respond(error_response(403, "admin routes are disabled: " + options_.admin_disabled_reason));
  const std::string* auth = request.header("Authorization");
  const std::string prefix = "Bearer ";
  if (!auth || auth->compare(0, prefix.size(), prefix) != 0 ||
      !constant_time_equal(auth->substr(prefix.size()), options_.admin_token))
    return respond(error_response(401, "missing or wrong bearer token"));
  std::string version;
  if (action == "promote") {
    try {
      json body = parse_json_limited(request.body, 4);
      if (!body.is_object() || !body.contains("version") || !body["version"].is_string())
        throw BadRequest("version", "expected {\"version\": \"<registry version>\"}");
      version = body["version"].get<std::string>();
    } catch (const BadRequest& e) {
      return respond(error_response(400, e.what(), e.field()));
    }
  }
  auto job = [this, action, version, respond = std::move(respond)]() {
    auto before = host_.current();
    try {
      std::shared_ptr<const LoadedModel> now;
      if (action == "promote") now = host_.promote(version);
      else if (action == "rollback") now = host_.rollback();
      else {
        host_.load_current();
        now = host_.current();
        if (!now) throw ModelError("the registry has no current version to load");
      }
      respond(json_response({{"status", "ok"},
                             {"action", action},
                             {"version", now->version},
                             {"previous", before ? json(before->version) : json()}}));
    } catch (const ModelError& e) {
      // The old model keeps serving: say so.
      respond(error_response(422, std::string(e.what()) + "; still serving " + (before ? before->version : "nothing")));
    } catch (const std::exception& e) {
      respond(error_response(500, e.what()));
    }
  };
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    admin_jobs_.push_back(std::move(job));
  }
  admin_cv_.notify_one();
}

}  // namespace spikecast::serve
