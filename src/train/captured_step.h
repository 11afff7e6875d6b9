// The training step captured as one CUDA graph: the gather of the batch's windows from the
// resident data, the forward under autocast, the loss, backward, gradient clipping and the AdamW
// update, replayed with one launch instead of the thousands of kernel launches the step makes
// eagerly (which leave a GPU idle at small batches). The AdamW update is written with device
// tensors only (step count and learning rate live on the device, so a replay does not bake in
// the values of the step it was captured at) and works on torch::optim::AdamW's own state
// tensors, so checkpoints, resume and eager steps (a partial last batch) are unchanged.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "core/config.h"
#include "models/forecaster.h"
#include "tensor/context.h"
#include "train/device_data.h"

namespace spikecast::train {

// AdamW's arithmetic (torch::optim::AdamW, decoupled weight decay, bias correction, no amsgrad)
// on the optimizer's state tensors, from device tensors only. The optimizer must hold state for
// every parameter (it has taken a step). On CUDA with LibTorch 2.2+ a step is one multi-tensor
// kernel for all parameters (`fused()`; compat::fused_adamw), elsewhere a few element-wise ops a
// parameter: a step of all five members eagerly was about a thousand small kernel launches. The
// trainer uses it inside captured steps and for eager steps on CUDA; advance_host_step() keeps the
// optimizer's host-side step count in line, so checkpoints and an eager optimizer.step()
// afterwards continue from the same count.
class DeviceAdamW {
 public:
  // `fused`: use the fused kernel where it exists (else element-wise everywhere).
  DeviceAdamW(torch::optim::AdamW& optimizer, const std::vector<torch::Tensor>& params, bool fused = true);

  // Whether step() is the fused multi-tensor kernel.
  bool fused() const { return fused_; }
  // The learning rate of the next step (a device fill, no synchronisation).
  void set_lr(double lr);
  // One AdamW step from the parameters' gradients (each must be defined). With max_norm > 0 the
  // gradients are first scaled so that their joint L2 norm is at most max_norm, as
  // clip_gradients() does. Device ops only (capturable); the host-side step count of the
  // optimizer's state is advanced by advance_host_step(), outside a capture.
  void step(double max_norm = 0);
  void advance_host_step();
  // Takes the step count from the optimizer's host-side state (after an eager optimizer.step()).
  void reload_step();

 private:
  torch::optim::AdamW& optimizer_;
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  bool fused_ = false;
  // Element-wise: one float64 step count and learning rate. Fused: a float32 step count per
  // parameter (`steps_`, views of `step_`) and a float32 learning rate, as the kernel reads them.
  torch::Tensor step_, lr_;
  std::vector<torch::Tensor> steps_;
  double beta1_, beta2_, eps_, weight_decay_;
};

// Sets every parameter's gradient to none (undefined), freeing it.
void release_gradients(const std::vector<torch::Tensor>& params);

// One captured optimizer step of a fixed number of windows: the first run() captures (its batch
// size is the graph's), every later run() replays. Construct after a few eager steps (cuDNN and
// cuBLAS initialise lazily; the optimizer's state must exist). The gradients inside the graph live
// in its own memory pool and are released at the end of the step: after run() every parameter's
// gradient is undefined (an eager step in between allocates its own).
// Throws ModelError when capture is impossible (a CPU device, a build without CUDA, an operation
// that cannot be captured); the trainer then goes on eagerly.
class CapturedStep {
 public:
  // Keeps references to everything it is given: they must outlive it.
  CapturedStep(models::ForecasterImpl& model, const std::vector<torch::Tensor>& params,
               torch::optim::AdamW& optimizer, const DeviceData& data, const TrainConfig& config,
               const Context& ctx, double spike_pos_weight);
  ~CapturedStep();
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;

  // One step on these window starts ([batch] int64 on the device, the same batch size every
  // call) at learning rate `lr`; returns the step's loss (a device scalar, overwritten by the
  // next run).
  torch::Tensor run(const torch::Tensor& starts, double lr);

  // Whether steps can be captured here: CUDA build and device, graphs on in the config, one
  // micro-batch per step, no fp16 loss scaling (its skipped steps need the host), and a batch of
  // at most kMaxBatch windows: the largest measured to work (on the H200, capture at batch 16,384
  // failed and left the process's CUDA stream unusable; docs/performance.md).
  static bool usable(const TrainConfig& config, const Context& ctx);
  static constexpr int64_t kMaxBatch = 4096;

  // Call after an eager optimizer.step() between runs (a partial last batch): the device-side
  // step count follows the optimizer's.
  void after_eager_step() { adamw_.reload_step(); }

 private:
  void body();  // what the graph holds

  struct Graph;
  models::ForecasterImpl& model_;
  std::vector<torch::Tensor> params_;
  const DeviceData& data_;
  const TrainConfig& config_;
  const Context& ctx_;
  double spike_pos_weight_;
  std::unique_ptr<Graph> graph_;
  DeviceAdamW adamw_;
  torch::Tensor starts_, loss_;
};

}  // namespace spikecast::train
