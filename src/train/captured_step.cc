#include "train/captured_step.h"

#include <string>

#include "core/error.h"
#include "tensor/compat.h"
#include "tensor/graphed_call.h"
#include "train/member_trainer.h"

#ifdef SPIKECAST_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace spikecast::train {

DeviceAdamW::DeviceAdamW(torch::optim::AdamW& optimizer, const std::vector<torch::Tensor>& params, bool fused)
    : optimizer_(optimizer) {
  const auto& group = optimizer.param_groups().at(0);
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
  if (optimizer.param_groups().size() != 1 || o.amsgrad())
    throw ModelError("captured training step: one AdamW parameter group without amsgrad expected");
  beta1_ = std::get<0>(o.betas());
  beta2_ = std::get<1>(o.betas());
  eps_ = o.eps();
  weight_decay_ = o.weight_decay();
  int64_t step = -1;
  for (const auto& p : params) {
    auto it = optimizer.state().find(compat::optimizer_state_key(optimizer.state(), p));
    if (it == optimizer.state().end()) continue;  // never had a gradient: AdamW leaves it alone too
    auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
    if (step >= 0 && st.step() != step) throw ModelError("captured training step: parameters at different AdamW steps");
    step = st.step();
    params_.push_back(p);
    exp_avg_.push_back(st.exp_avg());
    exp_avg_sq_.push_back(st.exp_avg_sq());
  }
  if (params_.empty()) throw ModelError("captured training step: the optimizer has no state yet (take one step first)");
  const torch::Device device = params_.front().device();
  fused_ = fused && compat::kFusedAdamW && device.is_cuda();
  if (fused_) {
    for (const auto& p : params_)
      if (p.scalar_type() != params_.front().scalar_type() || p.device() != device) fused_ = false;
  }
  const auto opts = torch::TensorOptions().dtype(fused_ ? torch::kFloat32 : torch::kFloat64).device(device);
  if (fused_) {
    step_ = torch::full({static_cast<int64_t>(params_.size())}, static_cast<double>(step), opts);
    steps_ = step_.unbind(0);
  } else {
    step_ = torch::full({}, static_cast<double>(step), opts);
  }
  lr_ = torch::full({}, o.lr(), opts);
}

void DeviceAdamW::set_lr(double lr) { lr_.fill_(lr); }

void DeviceAdamW::step(double max_norm) {
  torch::NoGradGuard no_grad;
  step_.add_(1);
  if (fused_) {
    std::vector<torch::Tensor> grads;
    grads.reserve(params_.size());
    for (const auto& p : params_) grads.push_back(p.grad());
    torch::Tensor scale;  // the kernel divides each gradient by it: clip_gradients' factor, inverted
    if (max_norm > 0) {
      const torch::Tensor total = torch::stack(at::_foreach_norm(grads)).norm(2).to(torch::kFloat32);
      scale = ((total + 1e-6) / max_norm).clamp_min(1.0);
    }
    compat::fused_adamw(params_, grads, exp_avg_, exp_avg_sq_, steps_, lr_, beta1_, beta2_, weight_decay_, eps_, scale);
    return;
  }
  if (max_norm > 0) clip_gradients(params_, max_norm);
  const torch::Tensor bias1 = 1.0 - torch::pow(beta1_, step_);
  const torch::Tensor bias2_sqrt = (1.0 - torch::pow(beta2_, step_)).sqrt().to(torch::kFloat32);
  const torch::Tensor step_size = (lr_ / bias1).to(torch::kFloat32);
  const torch::Tensor decay = (1.0 - lr_ * weight_decay_).to(torch::kFloat32);
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor p = params_[i];
    const torch::Tensor& g = p.grad();
    if (weight_decay_ != 0) p.mul_(decay);
    exp_avg_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    const torch::Tensor denom = (exp_avg_sq_[i].sqrt() / bias2_sqrt).add_(eps_);
    p.sub_(exp_avg_[i] / denom * step_size);
  }
}

void DeviceAdamW::advance_host_step() {
  for (const auto& p : params_) {
    auto& st = static_cast<torch::optim::AdamWParamState&>(*optimizer_.state().at(compat::optimizer_state_key(optimizer_.state(), p)));
    st.step(st.step() + 1);
  }
}

void DeviceAdamW::reload_step() {
  const auto& st = static_cast<torch::optim::AdamWParamState&>(
      *optimizer_.state().at(compat::optimizer_state_key(optimizer_.state(), params_.front())));
  step_.fill_(static_cast<double>(st.step()));
}

void release_gradients(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) p.mutable_grad() = torch::Tensor();
}

bool CapturedStep::usable(const TrainConfig& config, const Context& ctx) {
#ifdef SPIKECAST_WITH_CUDA
  return config.cuda_graphs && ctx.is_cuda() && config.accumulation == 1 && ctx.precision != Precision::kFloat16 &&
         config.batch_size <= kMaxBatch;
#else
  (void)config;
  (void)ctx;
  return false;
#endif
}

#ifdef SPIKECAST_WITH_CUDA
struct CapturedStep::Graph {
  at::cuda::CUDAGraph graph;
};
#else
struct CapturedStep::Graph {};
#endif

CapturedStep::CapturedStep(models::ForecasterImpl& model, const std::vector<torch::Tensor>& params,
                           torch::optim::AdamW& optimizer, const DeviceData& data, const TrainConfig& config,
                           const Context& ctx, double spike_pos_weight)
    : model_(model), params_(params), data_(data), config_(config), ctx_(ctx),
      spike_pos_weight_(spike_pos_weight), adamw_(optimizer, params, config.fused_optimizer) {
  if (!usable(config, ctx)) throw ModelError("the training step cannot be captured here (needs CUDA, no fp16, accumulation 1)");
}

CapturedStep::~CapturedStep() = default;

void CapturedStep::body() {
  // The gradients are the graph's own: none exist on entry, backward allocates them from the graph's
  // pool, and they are released at the end, so between replays (and during the forward of the next
  // one) no gradient is held, as in an eager step that sets them to none before its forward.
  const WindowBatch wb = data_.gather(starts_);
  torch::Tensor loss;
  {
    compat::AutocastScope autocast(ctx_.device.type(), ctx_.autocast_dtype(), ctx_.autocast());
    loss = batch_loss(model_.forward(wb.x, wb.filled_fraction), wb, config_, spike_pos_weight_);
  }
  loss.backward();
  for (const auto& p : params_)  // a parameter the loss did not reach steps with a zero gradient
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  adamw_.step(config_.clip_norm);
  loss_ = loss.detach();
  release_gradients(params_);
}

torch::Tensor CapturedStep::run(const torch::Tensor& starts, double lr) {
#ifdef SPIKECAST_WITH_CUDA
  adamw_.set_lr(lr);
  if (!graph_) {
    for (const auto& p : params_)
      if (!p.grad().defined()) throw ModelError("captured training step: take an eager step first (no gradients yet)");
    starts_ = starts.clone();
    release_gradients(params_);  // the last eager step's: the graph allocates its own
    auto graph = std::make_unique<Graph>();
    // Autocast's cast cache would hold tensors across replays; inside a graph the casts are kernels.
    const bool cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    try {
      // On the device's work stream, where train_member runs the eager steps too (one cuBLAS
      // workspace for both; tensor/side_streams.h).
      capture_on_work_stream(ctx_.device, graph->graph, [&] { body(); });
    } catch (const c10::Error& e) {
      at::autocast::set_autocast_cache_enabled(cache);
      throw ModelError(std::string("the training step could not be captured: ") + e.what_without_backtrace());
    } catch (...) {
      at::autocast::set_autocast_cache_enabled(cache);
      throw;
    }
    at::autocast::set_autocast_cache_enabled(cache);
    graph_ = std::move(graph);
  } else {
    starts_.copy_(starts);
  }
  graph_->graph.replay();
  adamw_.advance_host_step();
  return loss_;
#else
  (void)starts;
  (void)lr;
  throw ModelError("this build of spikecast has no CUDA: the training step cannot be captured");
#endif
}

}  // namespace spikecast::train
