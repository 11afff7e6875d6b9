// A small HTTP/1.1 server: plain structs in, plain structs out. Boost.Beast lives only in
// http_server.cc, so the HTTP library can be swapped without touching the routes.
//
// Handlers are asynchronous: the handler receives the request and a Responder it must call exactly
// once, from any thread (the batcher answers from its own thread). Many requests can thus wait for
// one batched predict while a few I/O threads keep serving.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace spikecast::serve {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/predict?x=1"
  Headers headers;     // as received
  std::string body;
  std::string remote;  // peer address

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(const std::string& name) const;
  // The target without its query string.
  std::string path() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;  // extra headers (Retry-After, WWW-Authenticate, ...)
  std::string body;
};

using Responder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, Responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;              // 0: an ephemeral port (see HttpServer::port())
  int threads = 2;                   // I/O threads
  size_t body_limit = 1 << 20;       // bytes; larger bodies get 413
  size_t header_limit = 16 * 1024;   // bytes; larger headers get 431
  int idle_timeout_ms = 30000;       // a keep-alive connection idle this long is closed
  int read_timeout_ms = 10000;       // a request must arrive whole within this
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Throws Error when the address cannot be bound.
  void start();
  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const;

  // Graceful drain: stops accepting connections, answers requests that arrive on open connections
  // with 503 + "Connection: close", lets the requests already handed to the handler finish and be
  // written (closing their connections afterwards), for at most `timeout`; then stops.
  // Returns true when every in-flight request completed.
  bool drain(std::chrono::milliseconds timeout);
  // Immediate stop: closes everything, joins the threads. Idempotent.
  void stop();

  bool draining() const;
  // Requests handed to the handler whose response is not yet written.
  int64_t in_flight() const;

  struct Impl;  // opaque: defined in http_server.cc

 private:
  std::shared_ptr<Impl> impl_;
};

// The standard reason phrase ("Not Found") of a status code.
const char* status_reason(int status);

}  // namespace spikecast::serve
