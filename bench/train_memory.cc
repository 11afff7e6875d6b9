// Where the peak training memory goes (issue 7: peak memory per member no more than the peer's at
// batch 32, fp32). On the users' data (the bench's generated 781,262 rows, resident as the trainer
// keeps them) it prints one JSON object per line:
//  - "resident": the bytes the resident data holds on the device;
//  - "peak": measure_training's peak (what `spikecast bench` reports) per member, as built and with one
//    part changed: "eager" (no captured steps), "no_dropout" (dropout 0), "no_frame" (no per-window
//    normalisation, no linear skip);
//  - "live": the tensors one eager step's forward and loss add (what backward will need), by block
//    size, and the peak backward adds on top of them.
// Usage: train_memory [steps] [batch] [features] [member...]
//   (default: 30 32 12 lstm gru cnn_lstm spike rule; features 11 gives the peer's 100 x 12 windows)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/bench_data.h"
#include "bench/bench_options.h"
#include "bench/train_throughput.h"
#include "core/host_allocator.h"
#include "models/model_registry.h"
#include "tensor/compat.h"
#include "tensor/context.h"
#include "tensor/side_streams.h"
#include "train/member_trainer.h"

namespace {

using namespace spikecast;

double mib(int64_t bytes) { return static_cast<double>(bytes) / 1048576.0; }

// Live block sizes now, as size -> count.
std::map<int64_t, int64_t> live_blocks() {
  std::map<int64_t, int64_t> out;
  for (int64_t s : compat::cuda_live_block_sizes(0)) ++out[s];
  return out;
}

// One eager step's saved tensors and backward peak for `member`, after two warm-up steps.
nlohmann::json live_after_forward(const std::string& member, const bench::BenchData& data, int64_t batch,
                                  const Context& ctx) {
  nlohmann::json j = {{"what", "live"}, {"member", member}, {"batch", batch}};
  run_on_work_stream(ctx.device, [&] {
    models::Forecaster model = models::make_forecaster(member, data.spec(member));
    model->to(ctx.device);
    model->train();
    std::vector<torch::Tensor> params = model->parameters();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));
    TrainConfig config;
    const auto& train = data.dataset.windows.train;
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < batch; ++i) starts.push_back(train[static_cast<size_t>(i * 7919) % train.size()]);
    const torch::Tensor idx = data.device_data->index(starts);
    for (int step = 0; step < 3; ++step) {
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      compat::synchronize(ctx.device);
      const int64_t before = compat::cuda_allocated(0).current;
      const auto blocks_before = live_blocks();
      compat::cuda_reset_peak(0);
      const train::WindowBatch wb = data.device_data->gather(idx);
      torch::Tensor loss = train::batch_loss(model->forward(wb.x, wb.filled_fraction), wb, config, 1.0);
      compat::synchronize(ctx.device);
      const compat::CudaAllocated after_forward = compat::cuda_allocated(0);
      const auto blocks_after = live_blocks();
      compat::cuda_reset_peak(0);
      loss.backward();
      compat::synchronize(ctx.device);
      const int64_t backward_peak = compat::cuda_allocated(0).peak;
      if (step == 2) {
        nlohmann::json added = nlohmann::json::array();
        int64_t total = 0;
        for (auto it = blocks_after.rbegin(); it != blocks_after.rend(); ++it) {
          const auto b = blocks_before.find(it->first);
          const int64_t n = it->second - (b == blocks_before.end() ? 0 : b->second);
          if (n <= 0) continue;
          added.push_back({{"bytes", it->first}, {"count", n}});
          total += n * it->first;
        }
        j["before_forward_mib"] = mib(before);
        j["forward_peak_added_mib"] = mib(after_forward.peak - before);
        j["saved_after_loss_mib"] = mib(after_forward.current - before);
        j["saved_blocks_mib"] = mib(total);
        j["saved_blocks"] = added;
        j["backward_peak_added_mib"] = mib(backward_peak - before);
        j["parameters_mib"] = mib(static_cast<int64_t>(models::count_parameters(*model)) * 4);
      }
      opt.step();
    }
  });
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  spikecast::tune_host_allocator();
  if (!torch::cuda::is_available() || !compat::kCudaAllocatorStats) {
    std::printf("{\"error\": \"train_memory needs CUDA and the allocator's statistics\"}\n");
    return 1;
  }
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 30;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 32;
  const int64_t features = argc > 3 ? std::atoll(argv[3]) : bench::kGeneratedFeatures;
  std::vector<std::string> members(argv + std::min(argc, 4), argv + argc);
  if (members.empty()) members = {"lstm", "gru", "cnn_lstm", "spike", "rule"};
  const Context ctx = make_context("cuda", "fp32");
  seed_everything(1);
  const int64_t L = 100, H = 1;
  compat::synchronize(ctx.device);
  const int64_t empty = compat::cuda_allocated(0).current;
  const bench::BenchData data = bench::make_bench_data({bench::kUsersWindows + L + H - 1, features, L, H, 1, {}}, ctx.device);
  compat::synchronize(ctx.device);
  std::printf("%s\n", nlohmann::json({{"what", "resident"},
                                      {"rows", data.dataset.table.rows()},
                                      {"channels", data.channels()},
                                      {"allocated_mib", mib(compat::cuda_allocated(0).current - empty)},
                                      {"device_data_mib", mib(data.device_data->resident_bytes())}})
                          .dump()
                          .c_str());
  std::fflush(stdout);

  struct Variant {
    const char* name;
    bool graphs;
    nlohmann::json options;
  };
  const std::vector<Variant> variants = {
      {"as_built", true, nlohmann::json::object()},
      {"eager", false, nlohmann::json::object()},
      {"no_dropout", true, {{"dropout", 0.0}}},
      {"no_frame", true, {{"window_norm", "none"}, {"linear_skip", false}}},
  };
  for (const auto& m : members) {
    for (const auto& v : variants) {
      models::ModelSpec spec = data.spec(m);
      for (auto it = v.options.begin(); it != v.options.end(); ++it) spec.options[it.key()] = it.value();
      nlohmann::json j = {{"what", "peak"}, {"member", m}, {"variant", v.name}};
      try {
        const bench::ThroughputResult r = bench::measure_training(m, data, batch, steps, ctx, 1, &spec, v.graphs);
        j["peak_mib"] = mib(r.memory.peak_bytes);
        j["baseline_mib"] = mib(r.memory.baseline_bytes);
        j["reserved_peak_mib"] = mib(r.memory.reserved_peak_bytes);
        j["samples_per_s"] = r.samples_per_s;
      } catch (const std::exception& e) {
        j["error"] = e.what();
      }
      std::printf("%s\n", j.dump().c_str());
      std::fflush(stdout);
    }
    try {
      std::printf("%s\n", live_after_forward(m, data, batch, ctx).dump().c_str());
    } catch (const std::exception& e) {
      std::printf("%s\n", nlohmann::json({{"what", "live"}, {"member", m}, {"error", e.what()}}).dump().c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}
