#include "serve/batcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>

#include "linear_predictor.h"

namespace spikecast::serve {
namespace {

std::shared_ptr<const LoadedModel> make_model(testing::LinearOptions o, const std::string& version) {
  auto m = std::make_shared<LoadedModel>();
  m->predictor = std::make_shared<testing::LinearPredictor>(o);
  m->info = m->predictor->info();
  m->version = version;
  return m;
}

// One window whose target is the line y = slope * t + icpt (temp arbitrary).
PredictInput line_window(const ModelInfo& info, double slope, double icpt) {
  PredictInput in = make_probe_input(info, 1);
  for (int64_t t = 0; t < in.length; ++t) in.values[t * in.num_channels()] = static_cast<float>(slope * t + icpt);
  return in;
}

TEST(Batcher, CoalescesConcurrentRequestsAndSplitsResultsBack) {
  Metrics metrics;
  Batcher batcher({/*max_batch_windows=*/16, /*max_wait_us=*/200000, /*queue=*/64, /*timeout_ms=*/5000}, &metrics);
  auto model = make_model({}, "v1");
  const int n = 5;
  std::vector<std::promise<BatchResult>> done(n);
  const int64_t calls_before = testing::g_predict_calls;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(batcher.submit(model, line_window(model->info, i + 1, 10 * i),
                               [&done, i](BatchResult&& r) { done[i].set_value(std::move(r)); }));
  for (int i = 0; i < n; ++i) {
    BatchResult r = done[i].get_future().get();
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.batch_windows, n);
    ASSERT_EQ(r.output.windows, 1);
    // On a line the trend member is exact: y(L-1+h) for h = 1..H.
    const int64_t L = model->info.input_length;
    for (int64_t h = 0; h < model->info.horizon; ++h)
      EXPECT_NEAR(r.output.member_forecasts[model->info.horizon + h], (i + 1) * (L + h) + 10 * i, 1e-3);
  }
  EXPECT_EQ(testing::g_predict_calls - calls_before, 1);  // one predict for all five
  EXPECT_EQ(metrics.batches(), 1u);
}

TEST(Batcher, FullQueueRefusesAndSlowPredictTimesOut) {
  Metrics metrics;
  Batcher batcher({1, 0, /*queue=*/1, /*timeout_ms=*/100}, &metrics);
  testing::LinearOptions slow;
  slow.delay_ms = 400;
  auto model = make_model(slow, "slow");
  std::promise<BatchResult> first, second;
  ASSERT_TRUE(batcher.submit(model, make_probe_input(model->info, 1), [&](BatchResult&& r) { first.set_value(std::move(r)); }));
  // Wait until the worker took the first one, so the queue is empty again.
  for (int i = 0; i < 200 && batcher.queue_depth() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(batcher.submit(model, make_probe_input(model->info, 1), [&](BatchResult&& r) { second.set_value(std::move(r)); }));
  EXPECT_FALSE(batcher.submit(model, make_probe_input(model->info, 1), [](BatchResult&&) { FAIL() << "called"; }));
  const auto t0 = std::chrono::steady_clock::now();
  BatchResult r1 = first.get_future().get();
  EXPECT_EQ(r1.status, 504);
  EXPECT_EQ(r1.error, "request timed out after 100 ms");
  // Answered at its deadline, not when the 400 ms predict finished.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(350));
  EXPECT_EQ(second.get_future().get().status, 504);
}

TEST(Batcher, RequestsForDifferentModelsNeverShareABatch) {
  Batcher batcher({16, 50000, 64, 5000}, nullptr);
  testing::LinearOptions o2;
  o2.bias = 100;
  auto m1 = make_model({}, "v1"), m2 = make_model(o2, "v2");
  std::promise<BatchResult> a, b;
  batcher.submit(m1, line_window(m1->info, 1, 0), [&](BatchResult&& r) { a.set_value(std::move(r)); });
  batcher.submit(m2, line_window(m2->info, 1, 0), [&](BatchResult&& r) { b.set_value(std::move(r)); });
  BatchResult ra = a.get_future().get(), rb = b.get_future().get();
  EXPECT_EQ(ra.model->version, "v1");
  EXPECT_EQ(rb.model->version, "v2");
  EXPECT_NEAR(rb.output.forecast[0] - ra.output.forecast[0], 100.0, 1e-3);
  EXPECT_EQ(ra.batch_windows, 1);
}

TEST(Batcher, PredictFailureIs500AndStopRunsWhatIsQueued) {
  Batcher batcher({4, 100000, 64, 5000}, nullptr);
  testing::LinearOptions bad;
  bad.nan = true;
  auto model = make_model(bad, "nan");
  std::promise<BatchResult> p;
  batcher.submit(model, make_probe_input(model->info, 1), [&](BatchResult&& r) { p.set_value(std::move(r)); });
  batcher.stop();  // before max_wait elapsed: still answered
  BatchResult r = p.get_future().get();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.error.find("not finite"), std::string::npos) << r.error;
  EXPECT_FALSE(batcher.submit(model, make_probe_input(model->info, 1), [](BatchResult&&) {}));
}

}  // namespace
}  // namespace spikecast::serve
