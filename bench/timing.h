// The benchmark programs' timing: the median wall time of a call, each call bracketed by device
// synchronisation (compat::synchronize), after warm-up calls.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "tensor/compat.h"

namespace spikecast::bench_timing {

// Median microseconds of f() over `runs` calls after `warmup` untimed calls.
template <typename F>
double p50_us(F&& f, const torch::Device& device, int runs, int warmup) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> us;
  for (int i = 0; i < runs; ++i) {
    compat::synchronize(device);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    compat::synchronize(device);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

}  // namespace spikecast::bench_timing
