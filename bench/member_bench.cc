// Each member's forward alone, in inference, at one batch size on one device and precision (autocast),
// the way the ensemble calls it; with `train`, a training pass instead (forward in training mode,
// an MSE loss, backward). With `profile`, one more pass of each member runs between
// cudaProfilerStart and cudaProfilerStop, so that Nsight Compute (`ncu --profile-from-start off`)
// lists exactly that pass's kernels. Prints one JSON object per line.
// `sdpa=flash|efficient|cudnn|math` allows only that attention kernel (LibTorch 2.4+; default: all,
// LibTorch's choice), for comparing them on the spike member.
// Usage: member_bench [cpu|cuda] [fp32|bf16] [batch] [members, comma-separated] [runs] [profile] [train]
//        [sdpa=KERNEL]
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/host_allocator.h"
#include "models/model_registry.h"
#include "tensor/compat.h"
#include "timing.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <cuda_profiler_api.h>
#endif

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  spikecast::tune_host_allocator();  // as the spikecast binary does
  const std::string dev = argc > 1 ? argv[1] : (torch::cuda::is_available() ? "cuda" : "cpu");
  const std::string precision = argc > 2 ? argv[2] : "fp32";
  const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 1000;
  const std::vector<std::string> members = split(argc > 4 ? argv[4] : "lstm,gru,cnn_lstm,spike,rule");
  const int runs = argc > 5 ? std::atoi(argv[5]) : 20;
  bool profile = false, train = false;
  for (int i = 6; i < argc; ++i) {
    profile = profile || std::string(argv[i]) == "profile";
    train = train || std::string(argv[i]) == "train";
    const std::string arg = argv[i];
    if (arg.rfind("sdpa=", 0) == 0) {
      const std::string k = arg.substr(5);
      if (k != "flash" && k != "efficient" && k != "cudnn" && k != "math") {
        std::fprintf(stderr, "member_bench: sdpa must be flash, efficient, cudnn or math, got %s\n", k.c_str());
        return 2;
      }
      spikecast::compat::allow_sdp_kernels(k == "flash", k == "efficient", k == "cudnn", k == "math");
    }
  }
  try {
    const torch::Device device(dev);
    const bool autocast = precision == "bf16";
    if (!autocast && precision != "fp32") throw std::runtime_error("precision must be fp32 or bf16");
    torch::AutoGradMode grad_mode(train);
    for (const std::string& name : members) {
      torch::manual_seed(1);
      spikecast::models::Forecaster model =
          spikecast::models::make_forecaster(name, spikecast::models::ModelSpec{100, 1, 13, nlohmann::json::object()});
      model->train(train);
      model->to(device);
      const torch::Tensor x = torch::randn({batch, 100, 13}, torch::TensorOptions().device(device));
      spikecast::compat::AutocastScope scope(device.type(), torch::kBFloat16, autocast);
      const auto pass = [&] {
        const spikecast::models::ForecastOutput out = model->forward(x);
        if (!train) return;
        out.value.to(torch::kFloat32).pow(2).mean().backward();
        model->zero_grad();
      };
      const double p50 = spikecast::bench_timing::p50_us(pass, device, runs, 3) / 1e3;
      std::printf("{\"member\": \"%s\", \"device\": \"%s\", \"precision\": \"%s\", \"mode\": \"%s\", \"batch\": %lld, "
                  "\"p50_ms\": %.3f, \"windows_per_s\": %.0f}\n",
                  name.c_str(), device.str().c_str(), precision.c_str(), train ? "train" : "inference",
                  static_cast<long long>(batch), p50, static_cast<double>(batch) / p50 * 1e3);
#ifdef SPIKECAST_WITH_CUDA_KERNELS
      if (profile && device.is_cuda()) {
        cudaProfilerStart();
        pass();
        spikecast::compat::synchronize(device);
        cudaProfilerStop();
      }
#else
      (void)profile;
#endif
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "member_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
