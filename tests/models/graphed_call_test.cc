// GraphedCall: on CUDA (graph capture and replay, with padding to a bucket) it must give what the
// plain call gives; on the CPU it is the plain call. Runs on every test device.
#include "tensor/graphed_call.h"

#include <gtest/gtest.h>

#include "models/dynamic_ensemble.h"
#include "models/model_registry.h"
#include "model_test_util.h"

namespace spikecast {
namespace {

TEST(GraphedCall, PowerOfTwoBuckets) {
  EXPECT_EQ(GraphedCall::power_of_two_buckets(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(GraphedCall::power_of_two_buckets(32), (std::vector<int64_t>{1, 2, 4, 8, 16, 32}));
  EXPECT_EQ(GraphedCall::power_of_two_buckets(20), (std::vector<int64_t>{1, 2, 4, 8, 16, 20}));
  EXPECT_TRUE(GraphedCall::power_of_two_buckets(0).empty());
}

TEST(GraphedCall, MatchesThePlainCallOnEveryDevice) {
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(4);
    // A recurrent member: the graph must hold cuDNN's RNN and the per-window normalisation.
    models::Forecaster model = models::make_forecaster("lstm", models::ModelSpec{24, 3, 5, nlohmann::json::object()});
    model->to(device);
    model->eval();
    torch::InferenceMode inference;
    auto fn = [&](const torch::Tensor& x) { return model->forward(x).value; };
    GraphedCall call(fn, device, {1, 4, 8}, /*enabled=*/true);
    EXPECT_EQ(call.graphed(), device.is_cuda() && GraphedCall::available());
    const torch::Tensor x = models::test::make_input(11, 24, 5, 2).to(device);
    call.capture_all(x);
    for (int64_t b : {1, 3, 8, 11}) {  // exact bucket, padded, last bucket, beyond it (eager)
      SCOPED_TRACE(b);
      const torch::Tensor part = x.narrow(0, 0, b);
      const torch::Tensor expected = fn(part).to(torch::kCPU);
      const torch::Tensor got = call.to_host(part);
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(got.device().is_cpu());
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5);
    }
    // Replays see new inputs, not the captured ones.
    const torch::Tensor y = (x.narrow(0, 0, 4) * 2.0 + 1.0).contiguous();
    EXPECT_LT((call.to_host(y) - fn(y).to(torch::kCPU)).abs().max().item<double>(), 1e-5);
  }
}

// A function that cannot be captured (it synchronises with the host) makes capture_all fall back to
// eager calls, with the right results, and leaves the work stream usable for the next capture.
TEST(GraphedCall, AFailedCaptureFallsBackToEagerCalls) {
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    const torch::Tensor x = torch::randn({4, 6}).to(device);
    auto syncing = [](const torch::Tensor& in) { return in * 2.0 + in.sum().item<double>() * 0.0; };
    GraphedCall failing(syncing, device, {4}, /*enabled=*/true);
    failing.capture_all(x);
    EXPECT_FALSE(failing.graphed());
    EXPECT_LT((failing.to_host(x) - (x * 2.0).to(torch::kCPU)).abs().max().item<double>(), 1e-6);

    GraphedCall fine([](const torch::Tensor& in) { return in * 3.0; }, device, {4}, /*enabled=*/true);
    fine.capture_all(x);
    EXPECT_EQ(fine.graphed(), device.is_cuda() && GraphedCall::available());
    EXPECT_LT((fine.to_host(x) - (x * 3.0).to(torch::kCPU)).abs().max().item<double>(), 1e-6);
  }
}

TEST(GraphedCall, EnsembleOnSideStreamsMatchesThePlainCall) {
  // On CUDA the ensemble's members run on their own streams (fork/join), in eager calls and inside
  // the captured graph; both must give what the members give one after another on the CPU.
  for (const torch::Device& device : models::test::test_devices()) {
    SCOPED_TRACE(device.str());
    torch::manual_seed(5);
    models::DynamicEnsembleOptions o;
    o.input_length = 16;
    o.horizon = 2;
    o.channels = 4;
    o.mode = "equal";
    o.members = {{"lstm", {{"hidden", {16, 8}}, {"head", {8}}}}, {"gru", nlohmann::json::object()},
                 {"linear", nlohmann::json::object()}, {"repeat_last", nlohmann::json::object()}};
    models::DynamicEnsemble model(o);
    model->eval();
    const torch::Tensor x = models::test::make_input(9, 16, 4, 7);
    torch::Tensor expected;
    {
      torch::InferenceMode inference;
      expected = model->forward(x).value;
    }
    model->to(device);
    model->eval();
    torch::InferenceMode inference;
    const torch::Tensor eager = model->forward(x.to(device)).value.to(torch::kCPU);
    EXPECT_LT((eager - expected).abs().max().item<double>(), 1e-4);
    GraphedCall call([&](const torch::Tensor& in) { return model->forward(in).value; }, device, {1, 4, 16}, true);
    call.capture_all(x.to(device));
    for (int64_t b : {1, 4, 9}) {
      SCOPED_TRACE(b);
      const torch::Tensor got = call.to_host(x.narrow(0, 0, b).to(device));
      EXPECT_LT((got - expected.narrow(0, 0, b)).abs().max().item<double>(), 1e-4);
    }
  }
}

}  // namespace
}  // namespace spikecast
