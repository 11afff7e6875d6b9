#include "serve/batcher.h"

#include <algorithm>
#include <atomic>

#include "core/error.h"

namespace spikecast::serve {

using Clock = std::chrono::steady_clock;

struct Batcher::Item {
  std::shared_ptr<const LoadedModel> model;
  PredictInput input;
  BatchCallback done;
  Clock::time_point enqueued;
  std::atomic<bool> finished{false};  // whoever flips it answers: the worker or the timer
};

void BatcherOptions::validate() const {
  if (max_batch_windows < 1 || max_batch_windows > 65536)
    throw ConfigError("serve.max_batch", "must be in 1..65536, got " + std::to_string(max_batch_windows));
  if (max_wait_us < 0 || max_wait_us > 10'000'000)
    throw ConfigError("serve.max_wait_us", "must be in 0..10000000, got " + std::to_string(max_wait_us));
  if (queue_capacity < 1 || queue_capacity > 1'000'000)
    throw ConfigError("serve.queue", "must be in 1..1000000, got " + std::to_string(queue_capacity));
  if (timeout_ms < 1 || timeout_ms > 3'600'000)
    throw ConfigError("serve.timeout_ms", "must be in 1..3600000, got " + std::to_string(timeout_ms));
}

Batcher::Batcher(BatcherOptions options, Metrics* metrics) : options_(options), metrics_(metrics) {
  options_.validate();
  worker_ = std::thread([this] { run_worker(); });
  timer_ = std::thread([this] { run_timer(); });
}

Batcher::~Batcher() { stop(); }

bool Batcher::submit(std::shared_ptr<const LoadedModel> model, PredictInput input, BatchCallback done) {
  auto item = std::make_shared<Item>();
  item->model = std::move(model);
  item->input = std::move(input);
  item->done = std::move(done);
  item->enqueued = Clock::now();
  const auto deadline = item->enqueued + std::chrono::milliseconds(options_.timeout_ms);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int64_t>(queue_.size()) >= options_.queue_capacity) return false;
    queue_.push_back(item);
    const bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
    deadlines_.emplace(deadline, item);
    if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
    if (earliest) timer_cv_.notify_one();
  }
  work_cv_.notify_one();
  return true;
}

int64_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

void Batcher::finish(Item& item, BatchResult&& result) {
  if (item.finished.exchange(true)) return;  // the other thread answered first
  try {
    item.done(std::move(result));
  } catch (...) {
    // A callback must not take the batcher down; the HTTP layer answers 500 on its own errors.
  }
}

void Batcher::run_worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    // Wait for company until the batch is full or the oldest request has waited max_wait.
    const auto cut = queue_.front()->enqueued + std::chrono::microseconds(options_.max_wait_us);
    auto windows_for_front_model = [this] {
      int64_t n = 0;
      for (const auto& it : queue_) {
        if (it->model != queue_.front()->model) break;
        n += it->input.windows;
      }
      return n;
    };
    while (!stopping_ && Clock::now() < cut && windows_for_front_model() < options_.max_batch_windows) {
      work_cv_.wait_until(lock, cut);
      if (queue_.empty()) break;
    }
    if (queue_.empty()) continue;

    // Take a contiguous run of requests for the same model, up to max_batch_windows.
    std::vector<std::shared_ptr<Item>> batch;
    int64_t windows = 0;
    const auto model = queue_.front()->model;
    while (!queue_.empty() && queue_.front()->model == model) {
      auto& next = queue_.front();
      if (next->finished) {  // timed out while queued
        queue_.pop_front();
        continue;
      }
      if (!batch.empty() && windows + next->input.windows > options_.max_batch_windows) break;
      windows += next->input.windows;
      batch.push_back(std::move(next));
      queue_.pop_front();
    }
    if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
    lock.unlock();

    if (!batch.empty()) {
      // One input [sum B, L, C]: the items share L and C (validated against the same model).
      PredictInput in;
      in.windows = windows;
      in.length = batch.front()->input.length;
      in.channels = batch.front()->input.channels;
      in.values.reserve(static_cast<size_t>(windows * in.length * in.num_channels()));
      in.filled_fraction.reserve(static_cast<size_t>(windows));
      for (const auto& it : batch) {
        in.values.insert(in.values.end(), it->input.values.begin(), it->input.values.end());
        in.filled_fraction.insert(in.filled_fraction.end(), it->input.filled_fraction.begin(),
                                  it->input.filled_fraction.end());
      }
      PredictOutput out;
      std::string error;
      const auto t0 = Clock::now();
      try {
        out = model->predictor->predict(in);
        check_output(model->info, in, out);
      } catch (const std::exception& e) {
        error = std::string("prediction failed: ") + e.what();
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (metrics_) metrics_->observe_batch(windows, seconds);
      int64_t offset = 0;
      for (const auto& it : batch) {
        BatchResult r;
        r.model = model;
        r.batch_windows = windows;
        if (error.empty()) {
          r.output = slice_output(out, offset, it->input.windows);
        } else {
          r.status = 500;
          r.error = error;
        }
        offset += it->input.windows;
        finish(*it, std::move(r));
      }
    }
    lock.lock();
  }
}

void Batcher::run_timer() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stopping_ && queue_.empty()) return;
    if (deadlines_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const auto next = deadlines_.begin()->first;
    if (Clock::now() < next) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    std::vector<std::shared_ptr<Item>> due;
    while (!deadlines_.empty() && deadlines_.begin()->first <= Clock::now()) {
      if (auto item = deadlines_.begin()->second.lock()) due.push_back(std::move(item));
      deadlines_.erase(deadlines_.begin());
    }
    lock.unlock();
    for (auto& item : due) {
      BatchResult r;
      r.status = 504;
      r.error = "request timed out after " + std::to_string(options_.timeout_ms) + " ms";
      r.model = item->model;
      finish(*item, std::move(r));
    }
    lock.lock();
  }
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    deadlines_.clear();
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

}  // namespace spikecast::serve
