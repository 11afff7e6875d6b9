#include "serve/metrics.h"

#include <algorithm>
#include <fmt/format.h>

namespace spikecast::serve {

namespace {

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

// Shortest round-trip form: "0.005", not "0.0050000000000000001".
std::string number(double v) { return fmt::format("{}", v); }

// Label values are route names and versions, but escape anyway as the format requires.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : batch_windows_(kBatchBounds), predict_seconds_(kLatencyBounds) {}

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(route, Histogram(kLatencyBounds)).first;
  it->second.observe(seconds);
}

void Metrics::observe_batch(int64_t windows, double predict_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_windows_.observe(static_cast<double>(windows));
  predict_seconds_.observe(predict_seconds);
}

void Metrics::set_queue_depth(int64_t depth) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_depth_ = depth;
}

void Metrics::set_model_version(const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  version_ = version;
}

void Metrics::count_reload(bool success) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(success ? reload_ok_ : reload_failed_);
}

uint64_t Metrics::requests(const std::string& route, int status) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find({route, status});
  return it == requests_.end() ? 0 : it->second;
}

uint64_t Metrics::reloads(bool success) const {
  std::lock_guard<std::mutex> lock(mu_);
  return success ? reload_ok_ : reload_failed_;
}

uint64_t Metrics::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_windows_.count();
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP spikecast_http_requests_total HTTP requests answered, by route and status code.\n";
  out += "# TYPE spikecast_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "spikecast_http_requests_total{route=\"" + escape(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP spikecast_http_request_duration_seconds Time from request read to response, by route.\n";
  out += "# TYPE spikecast_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    h.render(out, "spikecast_http_request_duration_seconds", "route=\"" + escape(route) + "\"");
  out += "# HELP spikecast_batch_windows Windows per batched predict call.\n";
  out += "# TYPE spikecast_batch_windows histogram\n";
  batch_windows_.render(out, "spikecast_batch_windows", "");
  out += "# HELP spikecast_predict_duration_seconds Duration of one batched predict call.\n";
  out += "# TYPE spikecast_predict_duration_seconds histogram\n";
  predict_seconds_.render(out, "spikecast_predict_duration_seconds", "");
  out += "# HELP spikecast_queue_depth Requests waiting to be batched.\n";
  out += "# TYPE spikecast_queue_depth gauge\n";
  out += "spikecast_queue_depth " + std::to_string(queue_depth_) + "\n";
  out += "# HELP spikecast_model_info The live model version (value 1).\n";
  out += "# TYPE spikecast_model_info gauge\n";
  if (!version_.empty()) out += "spikecast_model_info{version=\"" + escape(version_) + "\"} 1\n";
  out += "# HELP spikecast_model_reloads_total Model loads attempted after start, by result.\n";
  out += "# TYPE spikecast_model_reloads_total counter\n";
  out += "spikecast_model_reloads_total{result=\"success\"} " + std::to_string(reload_ok_) + "\n";
  out += "spikecast_model_reloads_total{result=\"failure\"} " + std::to_string(reload_failed_) + "\n";
  return out;
}

}  // namespace spikecast::serve
