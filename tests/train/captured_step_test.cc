// The captured training step: its AdamW written with device tensors must do what
// torch::optim::AdamW does (the oracle, on every test device), and on CUDA a member trained with
// captured steps must train like one trained eagerly.
#include "train/captured_step.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tensor/compat.h"
#include "models/model_registry.h"
#include "train/member_trainer.h"
#include "train_fixture.h"

namespace spikecast::train {
namespace {

std::vector<torch::Device> devices() {
  std::vector<torch::Device> d{torch::kCPU};
  if (torch::cuda::is_available()) d.emplace_back(torch::kCUDA, 0);
  return d;
}

std::vector<torch::Tensor> make_params(const torch::Device& device) {
  torch::manual_seed(21);
  return {torch::randn({7, 5}).to(device).requires_grad_(), torch::randn({5}).to(device).requires_grad_()};
}

// A fixed quadratic loss, so both optimizers see the same gradients for the same parameters.
void backward(const std::vector<torch::Tensor>& params, int step) {
  torch::Tensor loss = torch::zeros({}, params[0].options());
  for (const auto& p : params) loss = loss + (p * p * (1.0 + 0.1 * step)).sum() + p.sum() * 0.3;
  loss.backward();
}

TEST(DeviceAdamW, MatchesTorchAdamWStepForStep) {
  for (const torch::Device& device : devices()) {
    SCOPED_TRACE(device.str());
    const auto options = torch::optim::AdamWOptions(0.01).weight_decay(0.05);
    std::vector<torch::Tensor> a = make_params(device), b = make_params(device);
    torch::optim::AdamW oracle(a, options), opt(b, options);
    const auto lr_at = [](int step) { return 0.01 * (1.0 - 0.05 * step); };
    std::unique_ptr<DeviceAdamW> device_adamw;
    for (int step = 0; step < 12; ++step) {
      oracle.zero_grad();
      backward(a, step);
      static_cast<torch::optim::AdamWOptions&>(oracle.param_groups()[0].options()).lr(lr_at(step));
      oracle.step();

      for (auto& p : b)
        if (p.grad().defined()) p.grad().zero_();
      backward(b, step);
      // Steps 0-1 and 7 eager (as before a capture and for a short last batch), the rest on the device.
      if (step < 2 || step == 7) {
        static_cast<torch::optim::AdamWOptions&>(opt.param_groups()[0].options()).lr(lr_at(step));
        opt.step();
        if (device_adamw) device_adamw->reload_step();
      } else {
        if (!device_adamw) device_adamw = std::make_unique<DeviceAdamW>(opt, b);
        device_adamw->set_lr(lr_at(step));
        device_adamw->step();
        device_adamw->advance_host_step();
      }
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-6) << "step " << step << " parameter " << i;
    }
    // The host-side step counts agree too (checkpoints save them).
    for (auto& [key, state] : opt.state())
      EXPECT_EQ(static_cast<torch::optim::AdamWParamState&>(*state).step(), 12);
  }
}

// With a clip norm the step first scales the gradients to that joint norm, as clip_gradients()
// before torch::optim::AdamW does (the fused kernel divides by the inverted factor instead).
TEST(DeviceAdamW, ClippedStepMatchesClipThenTorchAdamW) {
  for (const torch::Device& device : devices()) {
    for (const bool fused : {true, false}) {
      SCOPED_TRACE(device.str() + (fused ? " fused" : " element-wise"));
      const auto options = torch::optim::AdamWOptions(0.02).weight_decay(0.01);
      std::vector<torch::Tensor> a = make_params(device), b = make_params(device);
      torch::optim::AdamW oracle(a, options), opt(b, options);
      backward(b, 0);
      opt.step();  // the state exists from here
      DeviceAdamW device_adamw(opt, b, fused);
      EXPECT_EQ(device_adamw.fused(), fused && compat::kFusedAdamW && device.is_cuda());
      backward(a, 0);
      oracle.step();
      for (int step = 1; step < 6; ++step) {
        oracle.zero_grad();
        backward(a, step);
        clip_gradients(a, 0.5);  // the quadratic's gradients have a norm of about 10: every step clips
        oracle.step();
        for (auto& p : b) p.grad().zero_();
        backward(b, step);
        device_adamw.step(0.5);
        device_adamw.advance_host_step();
        for (size_t i = 0; i < a.size(); ++i) {
          EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-6) << "step " << step << " parameter " << i;
          EXPECT_LT((a[i].grad() - b[i].grad()).abs().max().item<double>(), 1e-6) << "clipped gradient " << i;
        }
      }
    }
  }
}

TEST(DeviceAdamW, NeedsTheOptimizersState) {
  std::vector<torch::Tensor> p = make_params(torch::kCPU);
  torch::optim::AdamW opt(p, torch::optim::AdamWOptions(0.01));
  EXPECT_THROW(DeviceAdamW(opt, p), ModelError);
}

TEST(CapturedStep, UsableOnlyOnCudaWithoutAccumulationOrFp16) {
  TrainConfig c;
  Context cpu;
  EXPECT_FALSE(CapturedStep::usable(c, cpu));
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: capture is checked on the GPU machine";
  Context cuda{torch::Device(torch::kCUDA, 0), Precision::kBFloat16};
  EXPECT_TRUE(CapturedStep::usable(c, cuda));
  c.accumulation = 2;
  EXPECT_FALSE(CapturedStep::usable(c, cuda));
  c.accumulation = 1;
  c.cuda_graphs = false;
  EXPECT_FALSE(CapturedStep::usable(c, cuda));
  c.cuda_graphs = true;
  c.batch_size = CapturedStep::kMaxBatch + 1;
  EXPECT_FALSE(CapturedStep::usable(c, cuda));
  c.batch_size = CapturedStep::kMaxBatch;
  EXPECT_TRUE(CapturedStep::usable(c, cuda));
  cuda.precision = Precision::kFloat16;
  EXPECT_FALSE(CapturedStep::usable(c, cuda));
}

// `member` (small options, no dropout) trained 3 epochs at batch 16 (several full batches and a
// short last one each epoch) on CUDA in float32 under `train`, from the same seed each call, so two
// settings of the trainer can be compared run for run.
MemberResult train_small_on_cuda(const TrainConfig& train, const std::string& member, const nlohmann::json& options) {
  Config config = testing::small_config();
  config.train = train;
  config.train.epochs = 3;
  config.train.batch_size = 16;
  const Dataset data = testing::small_dataset(config);
  const Context ctx{torch::Device(torch::kCUDA, 0), Precision::kFloat32};
  const DeviceData dd = testing::device_data(data, config, ctx.device);
  Progress quiet(Progress::Mode::kQuiet);
  torch::manual_seed(5);
  models::Forecaster model = models::make_forecaster(
      member, models::ModelSpec{config.window.input_length, config.window.horizon, 13, options});
  return train_member(*model, dd, data.windows.train, data.windows.val, config.train, ctx, quiet);
}

TEST(CapturedStep, CapturedTrainingMatchesEagerTrainingOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: capture is checked on the GPU machine";
  const nlohmann::json options = {{"d_model", 16}, {"lstm_hidden", 8}, {"head", {8}}, {"dropout", 0.0}};
  double val[2];
  for (int graphs = 0; graphs < 2; ++graphs) {
    TrainConfig train = testing::small_config().train;
    train.cuda_graphs = graphs == 1;
    const MemberResult r = train_small_on_cuda(train, "spike", options);
    ASSERT_EQ(r.epochs_run, 3);
    val[graphs] = r.best_val_loss;
    EXPECT_LT(r.history.back().train_loss, r.history.front().train_loss * 1.5);
  }
  EXPECT_TRUE(std::isfinite(val[1]));
  EXPECT_NEAR(val[1], val[0], 1e-3 * val[0] + 1e-6);
}

// Eager steps on CUDA (members side by side, batches above the captured size) update with the
// fused kernel from the second step on; trained so, a member ends where torch::optim::AdamW's
// per-parameter steps take it.
TEST(DeviceAdamW, FusedEagerTrainingMatchesTheOptimizersOwnStepsOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: the fused update is checked on the GPU machine";
  const nlohmann::json options = {{"hidden", {16, 8}}, {"head", {8}}, {"dropout", 0.0}};
  double val[2];
  for (int fused = 0; fused < 2; ++fused) {
    TrainConfig train = testing::small_config().train;
    train.cuda_graphs = false;
    train.fused_optimizer = fused == 1;
    const MemberResult r = train_small_on_cuda(train, "lstm", options);
    ASSERT_EQ(r.epochs_run, 3);
    val[fused] = r.best_val_loss;
  }
  EXPECT_TRUE(std::isfinite(val[1]));
  EXPECT_NEAR(val[1], val[0], 1e-3 * val[0] + 1e-6);
}

// The captured step's gradients are the graph's own: none is held between steps (as an eager step
// that sets them to none), and the replays still update the parameters.
TEST(CapturedStep, HoldsNoGradientBetweenSteps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: capture is checked on the GPU machine";
  Config config = testing::small_config();
  const Dataset data = testing::small_dataset(config);
  const Context ctx{torch::Device(torch::kCUDA, 0), Precision::kFloat32};
  const DeviceData dd = testing::device_data(data, config, ctx.device);
  torch::manual_seed(5);
  models::Forecaster model = models::make_forecaster(
      "lstm", models::ModelSpec{config.window.input_length, config.window.horizon, 13,
                                {{"hidden", {16, 8}}, {"head", {8}}}});
  model->to(ctx.device);
  model->train();
  std::vector<torch::Tensor> params = model->parameters();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));
  const std::vector<int64_t> windows(data.windows.train.begin(), data.windows.train.begin() + 16);
  const torch::Tensor starts = dd.index(windows);
  const WindowBatch wb = dd.gather(starts);
  batch_loss(model->forward(wb.x, wb.filled_fraction), wb, config.train, 1.0).backward();
  opt.step();
  CapturedStep step(*model, params, opt, dd, config.train, ctx, 1.0);
  const torch::Tensor before = params[0].detach().clone();
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor loss = step.run(starts, 1e-3);
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
  }
  EXPECT_GT((params[0] - before).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace spikecast::train
