#include "train/member_trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>

#include "core/error.h"
#include "tensor/compat.h"
#include "tensor/side_streams.h"
#include "train/captured_step.h"
#include "train/checkpoint.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"

namespace spikecast::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Eager steps before the step is captured: cuDNN and cuBLAS initialise lazily, and the
// optimizer's state and the gradients must exist.
constexpr int64_t kEagerStepsBeforeCapture = 3;

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

// Seed of epoch e's shuffle and dropout: the same with or without a resume in between.
uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFULL;
}

torch::Tensor history_tensor(const std::vector<EpochRecord>& h) {
  auto t = torch::zeros({static_cast<int64_t>(h.size()), 6}, torch::kFloat64);
  for (size_t i = 0; i < h.size(); ++i) {
    const double row[6] = {static_cast<double>(h[i].epoch), h[i].train_loss, h[i].val_loss, h[i].lr, h[i].seconds,
                           h[i].improved ? 1.0 : 0.0};
    for (int j = 0; j < 6; ++j) t[static_cast<int64_t>(i)][j] = row[j];
  }
  return t;
}

std::vector<EpochRecord> history_from(const torch::Tensor& t, const std::string& model) {
  std::vector<EpochRecord> out;
  auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i) {
    EpochRecord r;
    r.model = model;
    r.epoch = static_cast<int64_t>(a[i][0]);
    r.train_loss = a[i][1];
    r.val_loss = a[i][2];
    r.lr = a[i][3];
    r.seconds = a[i][4];
    r.improved = a[i][5] > 0.5;
    out.push_back(r);
  }
  return out;
}

torch::Tensor scalar(double v) { return torch::tensor(v, torch::kFloat64); }

}  // namespace

bool all_have_gradients(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (!p.grad().defined()) return false;
  return true;
}

void clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2).to(torch::kFloat32));
  if (norms.empty()) return;
  const torch::Tensor total = torch::stack(norms).norm(2);
  const torch::Tensor coef = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
  for (const auto& p : params)
    if (p.grad().defined()) p.grad().detach().mul_(coef.to(p.grad().dtype()));
}

Deadline::Deadline(double seconds) : active_(seconds > 0) {
  if (active_) end_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool Deadline::expired() const { return active_ && Clock::now() >= end_; }

double Deadline::remaining_s() const {
  if (!active_) return std::numeric_limits<double>::infinity();
  return std::max(0.0, std::chrono::duration<double>(end_ - Clock::now()).count());
}

torch::Tensor batch_loss(const models::ForecastOutput& out, const WindowBatch& batch, const TrainConfig& config,
                         double spike_pos_weight) {
  const torch::Tensor pred = out.value.to(torch::kFloat32);
  torch::Tensor loss;
  if (config.loss == "huber") {
    loss = torch::nn::functional::huber_loss(
        pred, batch.y, torch::nn::functional::HuberLossFuncOptions().delta(config.huber_delta));
  } else {
    loss = torch::mse_loss(pred, batch.y);
  }
  if (out.spike_logit.defined() && config.spike_loss_weight > 0) {
    const auto pos_weight = torch::full({1}, spike_pos_weight, pred.options());
    loss = loss + config.spike_loss_weight *
                      torch::binary_cross_entropy_with_logits(out.spike_logit.to(torch::kFloat32), batch.spike,
                                                              {}, pos_weight);
  }
  return loss;
}

double validation_mse(models::ForecasterImpl& model, const DeviceData& data, const std::vector<int64_t>& windows,
                      const Context& ctx, int64_t batch_size) {
  if (windows.empty()) return std::numeric_limits<double>::quiet_NaN();
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const torch::Tensor idx = data.index(windows);
  torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(data.device()));
  const int64_t n = idx.size(0);
  for (int64_t b = 0; b < n; b += batch_size) {
    const WindowBatch batch = data.gather(idx.slice(0, b, std::min(n, b + batch_size)));
    compat::AutocastScope autocast(ctx.device.type(), ctx.autocast_dtype(), ctx.autocast());
    const auto out = model.forward(batch.x, batch.filled_fraction);
    sum += (out.value.to(torch::kFloat32) - batch.y).pow(2).sum().to(torch::kFloat64);
  }
  model.train(was_training);
  return sum.item<double>() / static_cast<double>(n * data.horizon());
}

namespace {
// train_member's body, on whatever stream is current.
MemberResult train_member_here(models::ForecasterImpl& model, const DeviceData& data,
                               const std::vector<int64_t>& train_windows, const std::vector<int64_t>& val_windows,
                               const TrainConfig& config, const Context& ctx, Progress& progress,
                               const std::string& checkpoint_path, const Deadline& deadline, const TrainHooks& hooks) {
  const auto t_start = Clock::now();
  MemberResult result;
  result.model = model.type_name();
  model.to(ctx.device);
  std::vector<torch::Tensor> params;
  for (auto& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  if (params.empty() || train_windows.empty()) {
    // repeat-last and seasonal-naive: nothing to fit; their validation loss still counts.
    result.best_val_loss = validation_mse(model, data, val_windows, ctx);
    result.seconds = seconds_since(t_start);
    return result;
  }

  const int64_t n_train = static_cast<int64_t>(train_windows.size());
  const int64_t batch = std::min(config.batch_size, n_train);
  const int64_t micro = std::max<int64_t>(1, batch / config.accumulation);
  int64_t steps_per_epoch = (n_train + batch - 1) / batch;
  if (config.max_batches_per_epoch > 0) steps_per_epoch = std::min(steps_per_epoch, config.max_batches_per_epoch);
  const double spike_pos_weight = data.spike_rate() > 0 ? std::min(50.0, (1.0 - data.spike_rate()) / data.spike_rate()) : 1.0;

  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  LrSchedule schedule(config.schedule, config.lr, config.epochs * steps_per_epoch, config.warmup_fraction);
  LossScaler scaler(ctx.precision == Precision::kFloat16 && ctx.is_cuda());
  // The training windows' start rows on the host; each epoch's order goes to the device as one int32
  // tensor (4 bytes a window there, not 16 for an int64 index and an int64 permutation).
  const torch::Tensor train_starts = torch::tensor(train_windows, torch::kInt64);
  const bool int32_starts =
      train_windows.empty() || *std::max_element(train_windows.begin(), train_windows.end()) < std::numeric_limits<int32_t>::max();

  int64_t first_epoch = 0, global_step = 0, bad_epochs = 0;
  double best = std::numeric_limits<double>::infinity();
  StateDict best_state = snapshot(model);

  if (!checkpoint_path.empty() && std::filesystem::exists(checkpoint_path)) {
    torch::serialize::InputArchive in;
    try {
      in.load_from(checkpoint_path, ctx.device);
    } catch (const c10::Error& e) {
      throw ModelError("checkpoint '" + checkpoint_path + "' cannot be read: " + e.what_without_backtrace());
    }
    restore(model, read_state(in, "model", model));
    best_state = read_state(in, "best", model);
    torch::serialize::InputArchive opt_in;
    in.read("optimizer", opt_in);
    optimizer.load(opt_in);
    torch::Tensor t;
    in.read("epoch", t);
    first_epoch = static_cast<int64_t>(t.item<double>());
    in.read("global_step", t);
    global_step = static_cast<int64_t>(t.item<double>());
    in.read("best_val", t);
    best = t.item<double>();
    in.read("bad_epochs", t);
    bad_epochs = static_cast<int64_t>(t.item<double>());
    torch::Tensor sched;
    in.read("schedule", sched);
    schedule.restore(sched[0].item<double>(), sched[1].item<double>(), static_cast<int64_t>(sched[2].item<double>()));
    in.read("history", t);
    result.history = history_from(t.to(torch::kCPU), result.model);
    result.resumed = true;
    progress.event("resume", result.model + " from epoch " + std::to_string(first_epoch));
  }

  // On CUDA the step is captured as a CUDA graph after a few eager steps (captured_step.h); a
  // batch of another size (the epoch's last) and everything when capture fails run eagerly.
  bool try_capture = CapturedStep::usable(config, ctx);
  std::unique_ptr<CapturedStep> captured;
  int64_t eager_steps = 0;
  // Eager steps on CUDA without captured ones (members side by side, large batches) update with
  // DeviceAdamW's fused kernel from the second step on, when the optimizer has its state; fp16
  // keeps the optimizer's own step, which the loss scaler skips on the host.
  const bool device_update = ctx.is_cuda() && !scaler.enabled() && config.fused_optimizer && compat::kFusedAdamW;
  std::unique_ptr<DeviceAdamW> eager_adamw;

  model.train();
  for (int64_t epoch = first_epoch; epoch < config.epochs; ++epoch) {
    if (deadline.expired()) {
      result.stopped_by_deadline = true;
      break;
    }
    const auto t_epoch = Clock::now();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(epoch_seed(config.seed, epoch));
    const torch::Tensor order = train_starts.index_select(0, torch::randperm(n_train, gen, torch::kInt64))
                                    .to(int32_starts ? torch::kInt32 : torch::kInt64)
                                    .to(ctx.device);
    torch::manual_seed(epoch_seed(config.seed + 1, epoch));  // dropout masks
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(ctx.device));
    int64_t micro_batches = 0, samples = 0, step = 0;
    for (; step < steps_per_epoch; ++step) {
      if (deadline.expired()) {
        result.stopped_by_deadline = true;
        break;
      }
      const int64_t b0 = step * batch, b1 = std::min(n_train, b0 + batch);
      const torch::Tensor starts = order.slice(0, b0, b1);
      const int64_t n_batch = b1 - b0;
      const double lr = schedule.lr_at(global_step);
      bool graphed = false;
      if (captured && n_batch == batch) {
        loss_sum += captured->run(starts, lr).to(torch::kFloat64);
        graphed = true;
      } else if (try_capture && !captured && eager_steps >= kEagerStepsBeforeCapture && n_batch == batch) {
        try {
          captured = std::make_unique<CapturedStep>(model, params, optimizer, data, config, ctx, spike_pos_weight);
          loss_sum += captured->run(starts, lr).to(torch::kFloat64);
          graphed = true;
          progress.event("cuda-graphs", result.model + ": training step captured at batch " + std::to_string(batch));
        } catch (const ModelError& e) {
          captured.reset();
          try_capture = false;
          progress.event("cuda-graphs", result.model + ": " + e.what() + "; training goes on eagerly");
        }
      }
      if (graphed) {
        ++micro_batches;
      } else {
        optimizer.zero_grad();
        for (int64_t m0 = 0; m0 < n_batch; m0 += micro) {
          const int64_t m1 = std::min(n_batch, m0 + micro);
          const WindowBatch wb = data.gather(starts.slice(0, m0, m1));
          torch::Tensor loss;
          {
            compat::AutocastScope autocast(ctx.device.type(), ctx.autocast_dtype(), ctx.autocast());
            loss = batch_loss(model.forward(wb.x, wb.filled_fraction), wb, config, spike_pos_weight);
          }
          // Weight each micro-batch by its share, so k micro-batches equal one batch of k times the size.
          const double share = static_cast<double>(m1 - m0) / static_cast<double>(n_batch);
          scaler.scale(loss * share).backward();
          loss_sum += loss.detach().to(torch::kFloat64);
          ++micro_batches;
        }
        const bool finite = scaler.unscale_and_check(params);
        set_lr(optimizer, lr);
        if (eager_adamw && !try_capture && all_have_gradients(params)) {
          eager_adamw->set_lr(lr);
          eager_adamw->step(config.clip_norm);
          eager_adamw->advance_host_step();
        } else {
          if (config.clip_norm > 0) clip_gradients(params, config.clip_norm);
          if (finite) optimizer.step();
          if (eager_adamw) {
            eager_adamw->reload_step();
          } else if (device_update && !try_capture && finite && all_have_gradients(params)) {
            eager_adamw = std::make_unique<DeviceAdamW>(optimizer, params);  // every parameter has its state now
          }
        }
        if (captured) {
          captured->after_eager_step();
          release_gradients(params);  // the graph's steps hold no gradient between them
        }
        scaler.update(finite);
        ++eager_steps;
      }
      ++global_step;
      samples += n_batch;
      if (progress.is_bar()) {
        const double elapsed = seconds_since(t_epoch);
        const double rate = static_cast<double>(samples) / std::max(elapsed, 1e-9);
        progress.step(result.model, epoch + 1, config.epochs, step + 1, steps_per_epoch,
                      loss_sum.item<double>() / static_cast<double>(std::max<int64_t>(micro_batches, 1)), rate,
                      static_cast<double>((steps_per_epoch - step - 1) * batch) / std::max(rate, 1e-9));
      }
    }
    if (micro_batches == 0) break;  // the deadline came before any step of this epoch
    EpochRecord rec;
    rec.model = result.model;
    rec.epoch = epoch + 1;
    rec.train_loss = loss_sum.item<double>() / static_cast<double>(micro_batches);
    rec.val_loss = validation_mse(model, data, val_windows, ctx);
    rec.lr = schedule.lr_at(std::max<int64_t>(global_step - 1, 0));
    rec.seconds = seconds_since(t_epoch);
    rec.samples_per_s = static_cast<double>(samples) / std::max(rec.seconds, 1e-9);
    // No validation windows: keep the latest weights (the training loss decides nothing).
    const double score = std::isnan(rec.val_loss) ? rec.train_loss : rec.val_loss;
    rec.improved = score < best;
    if (rec.improved) {
      best = score;
      best_state = snapshot(model);
      bad_epochs = 0;
      result.best_epoch = rec.epoch;
    } else {
      ++bad_epochs;
    }
    schedule.on_epoch_end(score);
    result.history.push_back(rec);
    progress.epoch_end(rec);
    if (!checkpoint_path.empty()) {
      torch::serialize::OutputArchive out;
      write_state(out, "model", snapshot(model));
      write_state(out, "best", best_state);
      torch::serialize::OutputArchive opt_out;
      optimizer.save(opt_out);
      out.write("optimizer", opt_out);
      out.write("epoch", scalar(static_cast<double>(epoch + 1)));
      out.write("global_step", scalar(static_cast<double>(global_step)));
      out.write("best_val", scalar(best));
      out.write("bad_epochs", scalar(static_cast<double>(bad_epochs)));
      out.write("schedule", torch::tensor({schedule.plateau_scale(), schedule.best(),
                                                static_cast<double>(schedule.bad_epochs())}, torch::kFloat64));
      out.write("history", history_tensor(result.history));
      atomic_save(out, checkpoint_path);
      if (hooks.after_checkpoint) hooks.after_checkpoint(result.model, epoch + 1);
    }
    if (result.stopped_by_deadline) break;
    if (bad_epochs > config.patience) {
      result.stopped_early = true;
      break;
    }
  }
  restore(model, best_state);
  model.eval();
  result.epochs_run = result.history.empty() ? 0 : result.history.back().epoch;
  result.best_val_loss = best;
  if (result.best_epoch == 0) {
    for (const auto& r : result.history)
      if (r.improved) result.best_epoch = r.epoch;
  }
  result.seconds = seconds_since(t_start);
  return result;
}
}  // namespace

MemberResult train_member(models::ForecasterImpl& model, const DeviceData& data,
                          const std::vector<int64_t>& train_windows, const std::vector<int64_t>& val_windows,
                          const TrainConfig& config, const Context& ctx, Progress& progress,
                          const std::string& checkpoint_path, const Deadline& deadline, const TrainHooks& hooks) {
  // On CUDA the whole run (eager steps, the captured step, validation) is on the device's work
  // stream, the stream captures use: one cuBLAS workspace instead of one per stream.
  MemberResult result;
  run_on_work_stream(ctx.device, [&] {
    result = train_member_here(model, data, train_windows, val_windows, config, ctx, progress, checkpoint_path,
                               deadline, hooks);
  });
  return result;
}

}  // namespace spikecast::train
