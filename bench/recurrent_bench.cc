// One recurrent layer at inference, spikecast's cell-kernel path (models/recurrent_inference.h: the
// CPU step kernels, or the CUDA kernel on sm_90) against the module's own forward (LibTorch on the
// CPU, cuDNN on CUDA), for the layer shapes of the users' members, 100 steps, small batches (and on
// CUDA large batches under bf16 autocast: the tensor-core kernel); then the members' stacks of layers
// (run_recurrent_stack: one launch on sm_90) against the modules one after another. Prints one JSON object per line: shape, batch, p50 microseconds of each path and
// the ratio. On the CPU first the step kernels alone (models/recurrent_cells.h), one sequence of 100
// steps, in every instruction-set variant this CPU runs.
// Usage: recurrent_bench [cpu|cuda] [runs]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/host_allocator.h"
#include "models/recurrent_cells.h"
#include "models/recurrent_inference.h"
#include "tensor/compat.h"
#include "timing.h"

namespace {

struct Shape {
  const char* where;  // the member and layer
  bool gru;
  int64_t input, hidden;
  bool bidirectional;
};

// Median microseconds of f() over `runs` calls after 10 warm-up calls.
template <typename F>
double p50_us(F&& f, const torch::Device& device, int runs) {
  return spikecast::bench_timing::p50_us(f, device, runs, 10);
}

template <typename M>
void measure_at(M& m, const Shape& s, const torch::Device& device, int64_t batch, const char* precision, int runs) {
  const torch::Tensor x = torch::randn({batch, 100, s.input}, torch::TensorOptions().device(device));
  const bool fast = spikecast::models::uses_cell_kernels(*m, x);
  const double ours = p50_us([&] { spikecast::models::run_recurrent(m, x); }, device, runs);
  const double module = p50_us([&] { m->forward(x); }, device, runs);
  std::printf(
      "{\"layer\": \"%s\", \"cell\": \"%s\", \"input\": %lld, \"hidden\": %lld, \"bidirectional\": %s, "
      "\"batch\": %lld, \"precision\": \"%s\", \"device\": \"%s\", \"cell_kernels\": %s, \"ours_p50_us\": %.1f, "
      "\"module_p50_us\": %.1f, \"speedup\": %.2f, \"ours_windows_per_s\": %.0f}\n",
      s.where, s.gru ? "gru" : "lstm", static_cast<long long>(s.input), static_cast<long long>(s.hidden),
      s.bidirectional ? "true" : "false", static_cast<long long>(batch), precision, device.str().c_str(),
      fast ? "true" : "false", ours, module, module / ours, static_cast<double>(batch) / ours * 1e6);
}

// Small batches in float32 (the cell kernels); on CUDA also large batches under bf16 autocast (the
// tensor-core kernel, recurrent_tiled_cuda.h) against cuDNN under the same autocast.
template <typename M>
void measure(M m, const Shape& s, const torch::Device& device, int runs) {
  m->eval();
  m->to(device);
  torch::NoGradGuard no_grad;
  for (int64_t batch : {1, 8}) measure_at(m, s, device, batch, "fp32", runs);
  if (!device.is_cuda()) return;
  spikecast::compat::AutocastScope autocast(torch::kCUDA, torch::kBFloat16, true);
  for (int64_t batch : {64, 512, 4096, 8192}) measure_at(m, s, device, batch, "bf16", std::max(runs / 10, 20));
}

// A member's stack (widths after the input, residual connections from the second layer on).
struct StackShape {
  const char* where;
  bool gru;
  int64_t input;
  std::vector<int64_t> hidden;
  bool residual;
};

void measure_stack(const StackShape& s, const torch::Device& device, int runs) {
  std::vector<std::shared_ptr<torch::nn::Module>> keep;
  std::vector<spikecast::models::StackedLayer> stack;
  int64_t d = s.input;
  for (size_t i = 0; i < s.hidden.size(); ++i) {
    if (s.gru)
      keep.push_back(std::make_shared<torch::nn::GRUImpl>(torch::nn::GRUOptions(d, s.hidden[i]).batch_first(true)));
    else
      keep.push_back(std::make_shared<torch::nn::LSTMImpl>(torch::nn::LSTMOptions(d, s.hidden[i]).batch_first(true)));
    spikecast::models::StackedLayer layer{keep.back().get(), s.residual && i > 0};
    if (layer.residual && d != s.hidden[i]) {
      layer.projection = torch::nn::Linear(d, s.hidden[i]);
      keep.push_back(layer.projection.ptr());
    }
    stack.push_back(layer);
    d = s.hidden[i];
  }
  torch::nn::Dropout dropout(0.0);
  dropout->eval();
  for (auto& m : keep) {
    m->eval();
    m->to(device);
  }
  torch::NoGradGuard no_grad;
  // The modules one after another (cuDNN on CUDA), with the same residual connections.
  const auto modules = [&](const torch::Tensor& x) {
    torch::Tensor h = x;
    for (auto& l : stack) {
      torch::Tensor y = s.gru ? std::get<0>(dynamic_cast<torch::nn::GRUImpl&>(*l.layer).forward(h))
                              : std::get<0>(dynamic_cast<torch::nn::LSTMImpl&>(*l.layer).forward(h));
      if (l.residual) y = y + (l.projection ? l.projection->forward(h) : h);
      h = y;
    }
    return h;
  };
  for (int64_t batch : {1, 8}) {
    const torch::Tensor x = torch::randn({batch, 100, s.input}, torch::TensorOptions().device(device));
    const bool fused = spikecast::models::runs_as_one_kernel(stack, dropout, x);
    const double ours = p50_us([&] { spikecast::models::run_recurrent_stack(stack, dropout, x); }, device, runs);
    const double module = p50_us([&] { modules(x); }, device, runs);
    std::printf(
        "{\"stack\": \"%s\", \"cell\": \"%s\", \"layers\": %zu, \"batch\": %lld, \"device\": \"%s\", "
        "\"one_launch\": %s, \"ours_p50_us\": %.1f, \"module_p50_us\": %.1f, \"speedup\": %.2f}\n",
        s.where, s.gru ? "gru" : "lstm", s.hidden.size(), static_cast<long long>(batch), device.str().c_str(),
        fused ? "true" : "false", ours, module, module / ours);
  }
}

// The CPU step kernels alone on one sequence of 100 steps (random projections and weights), in each
// variant this CPU runs: which instruction set pays at the members' widths.
void measure_variants(int runs) {
  namespace cells = spikecast::models::cells;
  const cells::KernelIsa isas[] = {cells::KernelIsa::kPortable, cells::KernelIsa::kAvx2, cells::KernelIsa::kAvx512};
  for (bool gru : {false, true})
    for (int64_t hidden : {32, 64, 128}) {
      const int64_t steps = 100, g = (gru ? 3 : 4) * hidden;
      torch::manual_seed(1);
      const torch::Tensor xp = torch::randn({steps, g}), whh_t = torch::randn({hidden, g}) / std::sqrt(hidden),
                          bhh = torch::randn({g}) / std::sqrt(hidden);
      torch::Tensor out = torch::empty({steps, hidden});
      const cells::RecurrentShape shape{steps, hidden};
      for (cells::KernelIsa isa : isas) {
        if (!cells::isa_supported(isa)) continue;
        const double us = p50_us(
            [&] {
              if (gru)
                cells::gru_sequence(isa, xp.data_ptr<float>(), whh_t.data_ptr<float>(), bhh.data_ptr<float>(), shape,
                                    false, out.data_ptr<float>(), hidden);
              else
                cells::lstm_sequence(isa, xp.data_ptr<float>(), whh_t.data_ptr<float>(), shape, false,
                                     out.data_ptr<float>(), hidden);
            },
            torch::kCPU, runs);
        std::printf("{\"kernel\": \"%s\", \"hidden\": %lld, \"steps\": %lld, \"isa\": \"%s\", \"chosen\": %s, "
                    "\"p50_us\": %.1f}\n",
                    gru ? "gru" : "lstm", static_cast<long long>(hidden), static_cast<long long>(steps),
                    cells::to_string(isa), isa == cells::kernel_isa() ? "true" : "false", us);
      }
    }
}

}  // namespace

int main(int argc, char** argv) {
  spikecast::tune_host_allocator();  // as the spikecast binary does
  const std::string dev = argc > 1 ? argv[1] : (torch::cuda::is_available() ? "cuda" : "cpu");
  const int runs = argc > 2 ? std::atoi(argv[2]) : 200;
  try {
    const torch::Device device(dev);
    if (device.is_cpu()) measure_variants(runs);
    const std::vector<Shape> shapes = {
        {"lstm layer 1", false, 13, 128, false}, {"lstm layer 3", false, 128, 64, false},
        {"gru layer 1", true, 13, 128, false},   {"gru layer 3", true, 128, 64, false},
        {"spike bilstm", false, 64, 128, true},  {"rule lstm", false, 13, 32, false},
    };
    for (const Shape& s : shapes) {
      torch::manual_seed(1);
      if (s.gru)
        measure(torch::nn::GRU(torch::nn::GRUOptions(s.input, s.hidden).batch_first(true).bidirectional(s.bidirectional)),
                s, device, runs);
      else
        measure(torch::nn::LSTM(torch::nn::LSTMOptions(s.input, s.hidden).batch_first(true).bidirectional(s.bidirectional)),
                s, device, runs);
    }
    const std::vector<StackShape> stacks = {{"lstm member", false, 13, {128, 128, 64}, false},
                                            {"gru member", true, 13, {128, 128, 64}, true},
                                            {"cnn_lstm member", false, 192, {128, 64}, false}};
    for (const StackShape& s : stacks) {
      torch::manual_seed(1);
      measure_stack(s, device, runs);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recurrent_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
