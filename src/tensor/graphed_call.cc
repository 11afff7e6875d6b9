#include "tensor/graphed_call.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "tensor/side_streams.h"

#ifdef SPIKECAST_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace spikecast {

#ifdef SPIKECAST_WITH_CUDA
struct GraphedCall::Graph {
  at::cuda::CUDAGraph graph;
  torch::Tensor input, output;  // static buffers the graph reads and writes
};

bool GraphedCall::available() { return true; }

GraphedCall::Graph& GraphedCall::graph_for(int64_t bucket, const torch::Tensor& like) {
  auto it = graphs_.find(bucket);
  if (it != graphs_.end()) return *it->second;
  auto g = std::make_unique<Graph>();
  std::vector<int64_t> shape = like.sizes().vec();
  shape[0] = bucket;
  g->input = torch::zeros(shape, like.options());
  // Capture runs on the device's work stream (tensor/side_streams.h), the same for every bucket;
  // warm-up first (cuDNN/cuBLAS handles, workspace, lazy init).
  run_on_work_stream(device_, [&] {
    for (int i = 0; i < 3; ++i) fn_(g->input);
    const at::cuda::CUDAStream stream = at::cuda::getCurrentCUDAStream(device_.index());
    stream.synchronize();
    // Thread-local capture: another thread loading a model (hot reload) does not break it.
    g->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    g->output = fn_(g->input);
    g->graph.capture_end();
    stream.synchronize();
  });
  return *graphs_.emplace(bucket, std::move(g)).first->second;
}

torch::Tensor GraphedCall::to_host(const torch::Tensor& x) {
  const int64_t b = x.size(0);
  const auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), b);
  if (!graphed_ || bucket == buckets_.end()) return fn_(x).to(torch::kCPU);
  Graph* found = nullptr;
  try {
    found = &graph_for(*bucket, x);
  } catch (const c10::Error& e) {
    // Capture keeps its own memory pool; when the card cannot hold it (e.g. out of memory at a
    // very large batch) every later call runs eagerly instead of failing.
    graphs_.clear();
    graphed_ = false;
    // The failed capture's pool and the blocks cached for it stay reserved otherwise, and the eager
    // call then runs out of memory too (seen at batch 16,384 fp32: 124 GiB reserved, unallocated).
    at::cuda::getCurrentCUDAStream(device_.index()).synchronize();
    c10::cuda::CUDACachingAllocator::emptyCache();
    std::fprintf(stderr, "spikecast: CUDA graph capture failed at batch %lld, running eagerly: %s\n",
                 static_cast<long long>(*bucket), e.what_without_backtrace());
    return fn_(x).to(torch::kCPU);
  }
  Graph& g = *found;
  g.input.narrow(0, 0, b).copy_(x);
  if (b < *bucket) g.input.narrow(0, b, *bucket - b).zero_();
  g.graph.replay();
  return g.output.narrow(0, 0, b).to(torch::kCPU);
}

#else
struct GraphedCall::Graph {};

bool GraphedCall::available() { return false; }

GraphedCall::Graph& GraphedCall::graph_for(int64_t, const torch::Tensor&) {
  throw ModelError("this build of spikecast has no CUDA: CUDA graphs are not available");
}

torch::Tensor GraphedCall::to_host(const torch::Tensor& x) { return fn_(x).to(torch::kCPU); }
#endif

GraphedCall::GraphedCall(Fn fn, torch::Device device, std::vector<int64_t> buckets, bool enabled)
    : fn_(std::move(fn)), device_(device), buckets_(std::move(buckets)),
      graphed_(enabled && available() && device.is_cuda() && !buckets_.empty()) {
  std::sort(buckets_.begin(), buckets_.end());
}

GraphedCall::~GraphedCall() = default;

void GraphedCall::capture_all(const torch::Tensor& example_row) {
  if (!graphed_) return;
  for (int64_t bucket : buckets_) graph_for(bucket, example_row);
}

std::vector<int64_t> GraphedCall::power_of_two_buckets(int64_t max_batch) {
  std::vector<int64_t> out;
  for (int64_t b = 1; b < max_batch; b *= 2) out.push_back(b);
  if (max_batch >= 1) out.push_back(max_batch);
  return out;
}

}  // namespace spikecast
