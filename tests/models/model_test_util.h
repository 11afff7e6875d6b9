// Shared helpers for the model tests: the devices to run on, a float64 finite-difference gradient
// check, and the per-model contract (shapes, finite values, gradients, determinism, overfitting,
// save/load, CPU-as-oracle for other devices).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "models/forecaster.h"

namespace spikecast::models::test {

// CPU always, plus CUDA when this build and machine have it.
std::vector<torch::Device> test_devices();

// A deterministic [B, L, C] input: a random walk plus a sine per channel, roughly unit scale.
torch::Tensor make_input(int64_t batch, int64_t length, int64_t channels, uint64_t seed = 1,
                         torch::Dtype dtype = torch::kFloat);

// Central finite differences of the scalar f() with respect to every element of `wrt` (float64
// tensors, modified in place and restored), compared with autograd. At most `max_elements` per
// tensor are probed (spread evenly).
::testing::AssertionResult gradcheck(const std::function<torch::Tensor()>& f, std::vector<torch::Tensor> wrt,
                                     double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4,
                                     int64_t max_elements = 64);

// A scalar that depends on every output the model produces.
torch::Tensor output_loss(const ForecastOutput& out);

// The contract, each a sequence of EXPECTs. `options` are the model's JSON options.
void expect_shapes(const std::string& name, const nlohmann::json& options,
                   const std::vector<std::array<int64_t, 3>>& l_h_c);
void expect_gradients_reach_every_parameter(const std::string& name, const ModelSpec& spec);
void expect_deterministic(const std::string& name, const ModelSpec& spec);
void expect_overfits(const std::string& name, const ModelSpec& spec, int steps = 200, double lr = 3e-3);
void expect_save_load_identical(const std::string& name, const ModelSpec& spec);
void expect_devices_match_cpu(const std::string& name, const ModelSpec& spec);

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace spikecast::models::test
