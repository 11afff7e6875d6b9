// The device value passed through spikecast: which device, which precision, which seed.
// Never a global: models, trainers and servers receive a Context.
#pragma once

#include <torch/torch.h>

#include <string>

namespace spikecast {

enum class Precision {
  kFloat32,  // plain fp32
  kBFloat16, // bf16 autocast (CUDA cards with bf16: A100, H100, H200)
  kFloat16,  // fp16 autocast with dynamic loss scaling (cards without bf16, e.g. V100)
};

struct Context {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::kFloat32;

  bool is_cuda() const { return device.is_cuda(); }
  // The dtype autocast runs in, or kFloat when autocast is off.
  torch::ScalarType autocast_dtype() const;
  bool autocast() const { return precision != Precision::kFloat32 && is_cuda(); }
};

// "cpu", "cuda", "cuda:1" or "auto" (CUDA when available). Throws ConfigError for anything else
// or when CUDA is asked for and absent.
Context make_context(const std::string& device, const std::string& precision = "auto");

// Seeds LibTorch's CPU and CUDA generators and turns on deterministic CPU kernels.
void seed_everything(uint64_t seed);

// Sets the thread count of the BLAS in use when it is OpenBLAS (found at run time); returns false
// for any other BLAS. Serving calls it with 1: at batch 1 OpenBLAS's threads spin-wait for work
// more than they compute, and spikecast runs the ensemble's members side by side instead.
bool set_blas_threads(int threads);

// A one-line description of the runtime: LibTorch version, BLAS, CUDA and cuDNN availability.
std::string runtime_summary();

const char* to_string(Precision p);

}  // namespace spikecast
