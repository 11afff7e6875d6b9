// End to end: a real server on an ephemeral loopback port, a real HTTP client, a real predictor
// (linear_predictor.h) loaded from registry bundles.
#include "serve/server.h"
#include "serve/shutdown_signal.h"

#include <csignal>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "http_client.h"
#include "linear_predictor.h"
#include "registry/bundle_fixture.h"

namespace spikecast::serve {
namespace {

using nlohmann::json;
using testing::ClientResponse;
using testing::HttpClient;

constexpr int64_t kL = 8, kH = 3;
const std::string kToken = "s3cret-token";

json bundle_extra(json test_predictor) {
  return {{"metrics", {{"val_mae", 0.1}}}, {"data", {{"path", "synthetic"}}}, {"test_predictor", test_predictor}};
}

// Rows of one window: load = slope * t + icpt, temp = 20 + t.
json line_rows(double slope, double icpt, int64_t length = kL) {
  json rows = json::array();
  for (int64_t t = 0; t < length; ++t) rows.push_back({{"load", slope * t + icpt}, {"temp", 20.0 + t}});
  return rows;
}
std::string one_window(double slope = 2, double icpt = 1) {
  return json{{"windows", json::array({json{{"rows", line_rows(slope, icpt)}}})}}.dump();
}
// The expected ensemble forecast for a line window: 0.25 * persistence + 0.75 * exact trend + bias.
double expected_forecast(double slope, double icpt, int64_t h, double bias) {
  return 0.25 * (slope * (kL - 1) + icpt) + 0.75 * (slope * (kL + h) + icpt) + bias;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<ModelRegistry>(tmp_ / "registry");
    v1_ = add_bundle("b1", {{"bias", 0.0}});
    v2_ = add_bundle("b2", {{"bias", 1000.0}});
    registry_->promote(v1_);
    options_.registry = tmp_ / "registry";
    options_.port = 0;
    options_.threads = 2;
    options_.max_batch = 8;
    options_.max_wait_us = 1000;
    options_.poll_ms = 20;
    options_.admin_token = kToken;
    options_.body_limit = 64 * 1024;
    options_.log = [](const std::string&) {};
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  std::string add_bundle(const std::string& name, json test_predictor) {
    testing::make_bundle(tmp_ / name, "weights of " + name, bundle_extra(test_predictor));
    return registry_->add(tmp_ / name);
  }
  void start() {
    server_ = std::make_unique<Server>(options_, testing::make_linear_predictor);
    server_->start();
  }
  std::map<std::string, std::string> auth() { return {{"Authorization", "Bearer " + kToken}}; }
  // Waits until the live version is `version` (the watcher polls every 20 ms).
  bool wait_for_version(const std::string& version, int ms = 3000) {
    for (int i = 0; i < ms / 5; ++i) {
      auto live = server_->models().current();
      if (live && live->version == version) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  testing::ScratchDir tmp_;
  std::unique_ptr<ModelRegistry> registry_;
  std::string v1_, v2_;
  ServeOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, PredictAnswersForecastMembersWeightsSpikeAndVersion) {
  start();
  HttpClient client(server_->port());
  ClientResponse r = client.post("/v1/predict", one_window(2, 1));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["model_version"], v1_);
  EXPECT_EQ(j["target"], "load");
  EXPECT_EQ(j["horizon"], kH);
  EXPECT_EQ(j["members"], json::array({"persistence", "trend"}));
  EXPECT_GE(j["time_ms"].get<double>(), 0.0);
  const json& p = j["predictions"][0];
  for (int64_t h = 0; h < kH; ++h) {
    EXPECT_NEAR(p["forecast"][h].get<double>(), expected_forecast(2, 1, h, 0), 1e-3);
    EXPECT_NEAR(p["members"]["trend"][h].get<double>(), 2.0 * (kL + h) + 1, 1e-3);
    EXPECT_NEAR(p["members"]["persistence"][h].get<double>(), 2.0 * (kL - 1) + 1, 1e-6);
    EXPECT_EQ(p["weights"]["trend"][h], 0.75);
  }
  // A perfect line: residual 0, z = 0, probability sigmoid(-3).
  EXPECT_NEAR(p["spike_probability"].get<double>(), 1.0 / (1.0 + std::exp(3.0)), 1e-6);
  EXPECT_EQ(p["spike"], false);
  EXPECT_EQ(p["rules_fired"], json::array());

  // Many windows in columnar form, with ids, a spike and rules.
  json spiky = line_rows(0, 5);
  spiky[kL - 1]["load"] = 500.0;
  json cols = {{"load", json::array()}, {"temp", json::array()}};
  for (int64_t t = 0; t < kL; ++t) cols["load"].push_back(3.0), cols["temp"].push_back(1.0);
  json body = {{"windows", json::array({json{{"id", "flat"}, {"columns", cols}, {"filled_fraction", 0.75}},
                                        json{{"id", 7}, {"rows", spiky}}})}};
  r = client.post("/v1/predict", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.json();
  ASSERT_EQ(j["predictions"].size(), 2u);
  EXPECT_EQ(j["predictions"][0]["id"], "flat");
  EXPECT_EQ(j["predictions"][0]["rules_fired"], json::array({"gap_filled", "flat"}));
  EXPECT_NEAR(j["predictions"][0]["forecast"][0].get<double>(), 3.0, 1e-6);
  EXPECT_EQ(j["predictions"][1]["id"], 7);
  EXPECT_EQ(j["predictions"][1]["spike"], true);
  EXPECT_GT(j["predictions"][1]["spike_probability"].get<double>(), 0.5);
}

TEST_F(ServerTest, HealthReadinessModelsAndMetrics) {
  start();
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
  ClientResponse ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json()["model_version"], v1_);
  ClientResponse models = client.get("/v1/models");
  ASSERT_EQ(models.status, 200);
  json m = models.json();
  EXPECT_EQ(m["live"]["version"], v1_);
  EXPECT_EQ(m["live"]["input_length"], kL);
  EXPECT_EQ(m["live"]["channels"], json::array({"load", "temp"}));
  EXPECT_EQ(m["registry"]["current"], v1_);
  ASSERT_EQ(m["registry"]["versions"].size(), 2u);
  EXPECT_EQ(m["registry"]["versions"][0]["extra"]["metrics"]["val_mae"], 0.1);
  EXPECT_EQ(client.post("/v1/predict", one_window()).status, 200);
  EXPECT_EQ(client.post("/v1/predict", "{").status, 400);
  ClientResponse metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers["content-type"].find("text/plain"), std::string::npos);
  for (const std::string& needle : std::vector<std::string>{"spikecast_http_requests_total{route=\"predict\",status=\"200\"} 1",
        "spikecast_http_requests_total{route=\"predict\",status=\"400\"} 1",
        "spikecast_http_request_duration_seconds_bucket{route=\"predict\",le=\"+Inf\"} 2",
        "spikecast_batch_windows_count", "spikecast_model_info{version=\"" + v1_ + "\"} 1",
        "spikecast_model_reloads_total{result=\"success\"} 1"})
    EXPECT_NE(metrics.body.find(needle), std::string::npos) << needle << "\n" << metrics.body;
}

TEST_F(ServerTest, BadInputsGetTheirStatusAndNameTheField) {
  options_.max_windows = 4;
  start();
  HttpClient client(server_->port());
  struct Case {
    std::string body;
    int status;
    std::string message;  // a substring of "error"
  };
  json row = {{"load", 1}, {"temp", 2}};
  auto rows_with_last = [&](json last) {
    json rows = json::array();
    for (int64_t t = 0; t < kL - 1; ++t) rows.push_back(row);
    rows.push_back(last);
    return json{{"windows", json::array({json{{"rows", rows}}})}}.dump();
  };
  const std::vector<Case> cases = {
      {rows_with_last({{"load", 1}, {"temp", 2}, {"wind", 3}}), 400, "windows[0].rows[7]: unknown feature 'wind'"},
      {rows_with_last({{"load", 1}}), 400, "windows[0].rows[7]: missing feature 'temp'"},
      {json{{"windows", json::array({json{{"rows", line_rows(1, 0, kL - 1)}}})}}.dump(), 400,
       "windows[0].rows: expected 8 rows (the model's input length), got 7"},
      {rows_with_last({{"load", "NaN"}, {"temp", 2}}), 400, "windows[0].rows[7].load: expected a number, got a string"},
      {rows_with_last({{"load", nullptr}, {"temp", 2}}), 400, "windows[0].rows[7].load: expected a number, got null"},
      {R"({"windows":[{"rows":[{"load":NaN}]}]})", 400, "body: invalid JSON"},
      {std::string(5000, '[') + std::string(5000, ']'), 400, "body: JSON nested deeper than 8 levels"},
      {"not json", 400, "body: invalid JSON"},
      {R"({"windows":[]})", 400, "windows: empty"},
      {json{{"windows", json::array({1, 2, 3, 4, 5})}}.dump(), 400, "windows: 5 windows exceed the limit of 4"},
  };
  for (const auto& c : cases) {
    ClientResponse r = client.post("/v1/predict", c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 200) << " -> " << r.body;
    const std::string error = r.json().value("error", "");
    EXPECT_NE(error.find(c.message), std::string::npos) << "expected '" << c.message << "' in '" << error << "'";
  }
  ClientResponse r = client.post("/v1/predict", one_window());
  EXPECT_EQ(r.json().contains("error"), false);
  EXPECT_EQ(client.post("/v1/predict", rows_with_last({{"load", 1}})).json()["field"], "windows[0].rows[7]");

  // Body over the limit: 413 as soon as the headers announce it, connection closed.
  ClientResponse big = client.raw("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 10000000\r\n\r\n");
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("exceeds the limit of 65536 bytes"), std::string::npos) << big.body;
  EXPECT_EQ(client.post("/v1/predict", std::string(70000, ' ')).status, 413);
  // Method, route, content type.
  ClientResponse get = client.get("/v1/predict");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.headers["allow"], "POST");
  EXPECT_EQ(client.get("/nope").status, 404);
  EXPECT_EQ(client.post("/v1/predict", one_window(), {{"Content-Type", "text/csv"}}).status, 415);
  // Malformed HTTP.
  EXPECT_EQ(client.raw("GARBAGE\r\n\r\n").status, 400);
  // The server still works after all of that.
  EXPECT_EQ(client.post("/v1/predict", one_window()).status, 200);
}

TEST_F(ServerTest, HotSwapUnderConcurrentRequestsDropsNothing) {
  start();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, mismatched{0}, saw_v2{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      HttpClient client(server_->port());
      while (!stop) {
        ClientResponse r = client.post("/v1/predict", one_window(2, 1));
        if (r.status != 200) {
          ++failed;
          continue;
        }
        json j = r.json();
        // Each answer is wholly from the version it names: v2's bias is 1000.
        const double bias = j["model_version"] == v2_ ? 1000.0 : 0.0;
        if (j["model_version"] == v2_) ++saw_v2;
        if (std::abs(j["predictions"][0]["forecast"][0].get<double>() - expected_forecast(2, 1, 0, bias)) > 1e-2)
          ++mismatched;
        ++ok;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  registry_->promote(v2_);  // as `spikecast models promote` would; the watcher picks it up
  ASSERT_TRUE(wait_for_version(v2_));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // And back through the admin route.
  HttpClient admin(server_->port());
  ClientResponse r = admin.post("/v1/admin/rollback", "", auth());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["version"], v1_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_GT(ok.load(), 20);
  EXPECT_GT(saw_v2.load(), 0);
  EXPECT_EQ(registry_->current(), v1_);
  EXPECT_EQ(server_->metrics().reloads(true), 3u);
}

TEST_F(ServerTest, BadBundlesNeverGoLiveAndTheOldOneKeepsServing) {
  options_.poll_ms = 0;  // only admin-triggered loads here
  const std::string corrupt = add_bundle("b3", {{"bias", 5.0}});
  const std::string nan = add_bundle("b4", {{"nan", true}});
  const std::string refused = add_bundle("b5", {{"throw", true}});
  const std::string wrong_shape = add_bundle("b6", {{"input_length", 0}});
  start();
  HttpClient client(server_->port());

  // A probe with non-finite outputs, a factory that throws, a model with no window: refused (422)
  // and the registry's pointer is not moved.
  for (const std::string& v : {nan, refused, wrong_shape}) {
    ClientResponse r = client.post("/v1/admin/promote", json{{"version", v}}.dump(), auth());
    EXPECT_EQ(r.status, 422) << v << ": " << r.body;
    EXPECT_NE(r.json()["error"].get<std::string>().find("still serving " + v1_), std::string::npos) << r.body;
    EXPECT_EQ(registry_->current(), v1_);
  }
  // Weights corrupted on disk after the registry verified them: the checksum check refuses it.
  registry_->promote(corrupt);
  testing::write_text(registry_->version_dir(corrupt) + "/weights.safetensors", "flipped bits");
  ClientResponse r = client.post("/v1/admin/reload", "", auth());
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.json()["error"].get<std::string>().find("checksum mismatch"), std::string::npos) << r.body;
  // The old model answers throughout.
  r = client.post("/v1/predict", one_window(2, 1));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["model_version"], v1_);
  EXPECT_NEAR(r.json()["predictions"][0]["forecast"][0].get<double>(), expected_forecast(2, 1, 0, 0), 1e-3);
  EXPECT_EQ(server_->metrics().reloads(false), 4u);
  // Unknown version: 422 naming it.
  r = client.post("/v1/admin/promote", R"({"version": "000099-00000000"})", auth());
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("unknown model version"), std::string::npos);
}

TEST_F(ServerTest, WatcherRefusesACorruptCurrentAndKeepsServing) {
  start();
  const std::string corrupt = add_bundle("b3", {{"bias", 5.0}});
  testing::write_text(registry_->version_dir(corrupt) + "/weights.safetensors", "flipped bits");
  // Point `current` at it behind the registry's back (promote would refuse it).
  testing::write_text(tmp_ / "registry/current", json{{"version", corrupt}, {"previous", {v1_}}}.dump());
  for (int i = 0; i < 100 && server_->metrics().reloads(false) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->metrics().reloads(false), 1u);  // tried once, not in a loop
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->metrics().reloads(false), 1u);
  HttpClient client(server_->port());
  EXPECT_EQ(client.post("/v1/predict", one_window()).json()["model_version"], v1_);
  EXPECT_EQ(client.get("/readyz").status, 200);
}

TEST_F(ServerTest, AdminNeedsTokenAndIsOffForNonLoopbackBinds) {
  start();
  HttpClient client(server_->port());
  EXPECT_EQ(client.post("/v1/admin/reload", "").status, 401);
  ClientResponse wrong = client.post("/v1/admin/reload", "", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(client.post("/v1/admin/promote", R"({"ver": 1})", auth()).status, 400);
  ClientResponse ok = client.post("/v1/admin/promote", json{{"version", v2_}}.dump(), auth());
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["previous"], v1_);
  EXPECT_EQ(registry_->current(), v2_);
  server_->stop();

  ServeOptions remote = options_;
  remote.host = "0.0.0.0";
  Server open_server(remote, testing::make_linear_predictor);
  open_server.start();
  HttpClient c2(open_server.port());
  ClientResponse r = c2.post("/v1/admin/reload", "", auth());
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("non-loopback"), std::string::npos);
  open_server.stop();

  ServeOptions no_token = options_;
  no_token.admin_token.clear();
  Server closed(no_token, testing::make_linear_predictor);
  closed.start();
  HttpClient c3(closed.port());
  EXPECT_EQ(c3.post("/v1/admin/reload", "", auth()).status, 403);
}

TEST_F(ServerTest, EmptyRegistryIsNotReadyUntilAPromotion) {
  options_.registry = tmp_ / "empty-registry";
  start();
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
  EXPECT_EQ(client.get("/readyz").status, 503);
  ClientResponse r = client.post("/v1/predict", one_window());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "1");
  ModelRegistry empty(tmp_ / "empty-registry");
  empty.promote(empty.add(tmp_ / "b1"));
  ASSERT_TRUE(wait_for_version(*empty.current()));
  EXPECT_EQ(client.get("/readyz").status, 200);
  EXPECT_EQ(client.post("/v1/predict", one_window()).status, 200);
}

TEST_F(ServerTest, FixedBundleModeServesOneDirectory) {
  options_.registry.clear();
  options_.model = tmp_ / "b2";
  start();
  HttpClient client(server_->port());
  ClientResponse r = client.post("/v1/predict", one_window(2, 1));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["model_version"], "b2@" + sha256_hex("weights of b2").substr(0, 8));
  EXPECT_EQ(client.post("/v1/admin/rollback", "", auth()).status, 422);
  EXPECT_EQ(client.post("/v1/admin/reload", "", auth()).status, 200);
}

TEST_F(ServerTest, QueueFullIs503WithRetryAfterAndSlowRequestsAre504) {
  registry_->promote(add_bundle("slow", {{"delay_ms", 300}}));
  options_.max_batch = 1;
  options_.queue = 1;
  options_.timeout_ms = 1000;
  options_.warmup_runs = 1;
  start();  // warm-up: 2 predicts of 300 ms
  std::vector<std::future<ClientResponse>> replies;
  for (int i = 0; i < 4; ++i) {
    replies.push_back(std::async(std::launch::async, [&] {
      HttpClient c(server_->port());
      return c.post("/v1/predict", one_window());
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  int ok = 0, busy = 0;
  for (auto& f : replies) {
    ClientResponse r = f.get();
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++busy;
      EXPECT_EQ(r.headers["retry-after"], "1");
      EXPECT_NE(r.body.find("queue is full"), std::string::npos);
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  server_->stop();

  options_.timeout_ms = 100;
  options_.queue = 16;
  server_ = std::make_unique<Server>(options_, testing::make_linear_predictor);
  server_->start();
  HttpClient c(server_->port());
  ClientResponse r = c.post("/v1/predict", one_window());
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.json()["error"], "request timed out after 100 ms");
}

TEST_F(ServerTest, DrainLetsInFlightRequestsFinishAndRefusesNewOnes) {
  registry_->promote(add_bundle("slow", {{"delay_ms", 250}}));
  options_.max_batch = 4;
  options_.max_wait_us = 20000;
  options_.warmup_runs = 1;
  start();
  const uint16_t port = server_->port();
  std::vector<std::future<ClientResponse>> in_flight;
  for (int i = 0; i < 3; ++i)
    in_flight.push_back(std::async(std::launch::async, [port] {
      HttpClient c(port);
      return c.post("/v1/predict", one_window());
    }));
  HttpClient idle(port);  // a kept-alive connection that sends its next request during the drain
  ASSERT_EQ(idle.get("/healthz").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));  // the three are in the batcher now
  // What SIGTERM does in `spikecast serve`.
  auto drained = std::async(std::launch::async, [&] { return server_->drain(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(idle.can_connect());  // new connections refused
  ClientResponse late = idle.get("/v1/models");
  EXPECT_TRUE(late.status == 503 || late.status == 0) << late.status;
  for (auto& f : in_flight) {
    ClientResponse r = f.get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["connection"], "close");
  }
  EXPECT_TRUE(drained.get());
}

}  // namespace
}  // namespace spikecast::serve

namespace spikecast::serve {
namespace {

TEST(ShutdownSignal, SigtermWakesTheWaiter) {
  ShutdownSignal signal;
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(::getpid(), SIGTERM);  // as `kill <pid>` would; delivered to any thread
  });
  EXPECT_EQ(signal.wait(), SIGTERM);
  sender.join();
}

}  // namespace
}  // namespace spikecast::serve
