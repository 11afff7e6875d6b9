// A tiny blocking HTTP/1.1 client over POSIX sockets for the server tests (keep-alive, Content-Length
// bodies only: what the server sends).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace spikecast::testing {

struct ClientResponse {
  int status = 0;                              // 0: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1") : port_(port), host_(std::move(host)) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  ClientResponse get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return request("GET", target, "", headers);
  }
  ClientResponse post(const std::string& target, const std::string& body,
                      const std::map<std::string, std::string>& headers = {{"Content-Type", "application/json"}}) {
    return request("POST", target, body, headers);
  }
  // Sends a request on the kept-alive connection (reconnecting once if the server closed it).
  ClientResponse request(const std::string& method, const std::string& target, const std::string& body,
                         const std::map<std::string, std::string>& headers);
  // Sends raw bytes on a fresh connection and reads one response.
  ClientResponse raw(const std::string& bytes);
  // Whether a new TCP connection is accepted.
  bool can_connect();
  void close();

 private:
  bool connect_socket();
  bool send_all(const std::string& data);
  ClientResponse read_response();

  uint16_t port_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace spikecast::testing
