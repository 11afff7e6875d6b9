// Dynamic batching: requests that arrive close together are coalesced into one Predictor::predict
// call, as inference servers do. A batch is cut when it holds max_batch_windows windows or when its
// oldest request has waited max_wait_us. Only requests validated against the same LoadedModel share
// a batch, and the batch runs on that model, so a hot swap never mixes models or shapes.
//
// The queue is bounded (submit() returns false: the caller answers 503 + Retry-After), and every
// request has a deadline (its callback gets 504 if no result came by then, even while a slow
// predict is still running). Each callback is called exactly once, on a batcher thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "serve/metrics.h"
#include "serve/model_host.h"
#include "serve/predictor.h"

namespace spikecast::serve {

struct BatcherOptions {
  int64_t max_batch_windows = 32;  // windows per predict call (one request larger than this runs alone)
  int64_t max_wait_us = 2000;      // how long the first request of a batch waits for company
  int64_t queue_capacity = 256;    // requests waiting; beyond this submit() refuses
  int64_t timeout_ms = 5000;       // per request, from submit() to result

  void validate() const;  // ConfigError naming the field
};

struct BatchResult {
  int status = 200;     // 200, 500 (predict threw or gave bad output), 503 (shutting down), 504 (timeout)
  std::string error;    // when status != 200
  PredictOutput output; // this request's windows only
  std::shared_ptr<const LoadedModel> model;
  int64_t batch_windows = 0;  // size of the predict call it rode in
};

using BatchCallback = std::function<void(BatchResult&&)>;

class Batcher {
 public:
  Batcher(BatcherOptions options, Metrics* metrics);
  ~Batcher();  // stop()

  // Queues a request (input validated against `model`). false when the queue is full or stopping;
  // the callback is then never called.
  bool submit(std::shared_ptr<const LoadedModel> model, PredictInput input, BatchCallback done);

  // Refuses new requests, runs everything already queued, then joins the threads. Idempotent.
  void stop();

  int64_t queue_depth() const;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Item;
  void run_worker();
  void run_timer();
  void finish(Item& item, BatchResult&& result);

  BatcherOptions options_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, timer_cv_;
  std::deque<std::shared_ptr<Item>> queue_;
  std::multimap<std::chrono::steady_clock::time_point, std::weak_ptr<Item>> deadlines_;
  bool stopping_ = false;
  std::thread worker_, timer_;
};

}  // namespace spikecast::serve
