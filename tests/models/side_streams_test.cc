// Side streams, member threads and the work stream: every task runs, results equal the tasks run in
// order (the CPU oracle), and a failing task's exception reaches the caller after every thread has
// finished.
#include "tensor/side_streams.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "model_test_util.h"

namespace spikecast {
namespace {

TEST(SideStreams, TasksOnSideStreamsGiveTheSequentialResults) {
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(9);
    const torch::Tensor a = torch::randn({64, 64}), b = torch::randn({64, 64});
    std::vector<torch::Tensor> expected, got(4);
    for (int i = 0; i < 4; ++i) expected.push_back(torch::matmul(a + i, b).tanh());
    const torch::Tensor da = a.to(device), db = b.to(device);
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 4; ++i) tasks.emplace_back([&, i] { got[i] = torch::matmul(da + i, db).tanh(); });
    run_on_side_streams(device, tasks);
    for (int i = 0; i < 4; ++i) {
      keep_for_current_stream(got[i]);
      EXPECT_LT((got[i].to(torch::kCPU) - expected[i]).abs().max().item<double>(), 1e-3) << i;
    }
  }
}

TEST(SideStreams, ThreadsRunEveryTaskAndRethrowTheFirstError) {
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    std::atomic<int> ran{0};
    std::vector<torch::Tensor> out(3);
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 3; ++i)
      tasks.emplace_back([&, i] {
        out[i] = torch::full({8}, static_cast<double>(i), torch::TensorOptions().device(device)).sum();
        ++ran;
      });
    run_on_threads(device, tasks);
    EXPECT_EQ(ran.load(), 3);
    for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(out[i].item<double>(), 8.0 * i);

    ran = 0;
    tasks.emplace_back([] { throw std::runtime_error("member 3 failed"); });
    try {
      run_on_threads(device, tasks);
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "member 3 failed");
    }
    EXPECT_EQ(ran.load(), 3);  // the others still ran to the end
  }
}

TEST(SideStreams, WorkStreamRunsTheTaskOrderedWithTheCaller) {
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    const torch::Tensor a = torch::arange(1000, torch::TensorOptions().dtype(torch::kFloat).device(device));
    torch::Tensor b;
    run_on_work_stream(device, [&] {
      b = a * 2.0;
      run_on_work_stream(device, [&] { b = b + 1.0; });  // nested: runs as it is
    });
    // The caller's stream waits for the work stream: the sum below sees b complete.
    EXPECT_DOUBLE_EQ(b.sum().item<double>(), 2.0 * 999.0 * 1000.0 / 2.0 + 1000.0);
    EXPECT_THROW(run_on_work_stream(device, [] { throw std::runtime_error("failed on the work stream"); }),
                 std::runtime_error);
    // Still usable after a failure.
    torch::Tensor c;
    run_on_work_stream(device, [&] { c = a.sum(); });
    EXPECT_DOUBLE_EQ(c.item<double>(), 999.0 * 1000.0 / 2.0);
  }
}

}  // namespace
}  // namespace spikecast
