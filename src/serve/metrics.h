// Server metrics in the Prometheus text exposition format (version 0.0.4), served at GET /metrics.
//   spikecast_http_requests_total{route,status}            counter
//   spikecast_http_request_duration_seconds{route}         histogram (wall time, read to response)
//   spikecast_batch_windows                                histogram (windows per predict call)
//   spikecast_predict_duration_seconds                     histogram (one batched predict call)
//   spikecast_queue_depth                                  gauge (requests waiting for a batch)
//   spikecast_model_info{version}                          gauge, 1 for the live version
//   spikecast_model_reloads_total{result="success"|"failure"} counter
// Thread-safe; one mutex, held for a few map operations per request.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace spikecast::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // Appends the _bucket/_sum/_count lines of `name` with extra labels (`labels` is "" or `a="b"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // `route` is a fixed route name (never the raw target, which would explode the label set).
  void observe_request(const std::string& route, int status, double seconds);
  void observe_batch(int64_t windows, double predict_seconds);
  void set_queue_depth(int64_t depth);
  void set_model_version(const std::string& version);
  void count_reload(bool success);

  std::string render() const;

  uint64_t requests(const std::string& route, int status) const;
  uint64_t reloads(bool success) const;
  uint64_t batches() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram batch_windows_;
  Histogram predict_seconds_;
  int64_t queue_depth_ = 0;
  std::string version_;
  uint64_t reload_ok_ = 0, reload_failed_ = 0;
};

}  // namespace spikecast::serve
