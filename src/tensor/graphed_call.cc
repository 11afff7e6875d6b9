#include "tensor/graphed_call.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "tensor/compat.h"
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

void capture_on_work_stream(const torch::Device& device, at::cuda::CUDAGraph& graph, const std::function<void()>& fn) {
  run_on_work_stream(device, [&] {
    const at::cuda::CUDAStream stream = at::cuda::getCurrentCUDAStream(device.index());
    stream.synchronize();
    graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      fn();
    } catch (...) {
      try {
        graph.capture_end();
      } catch (const c10::Error&) {
        // The capture was invalidated: capture_end left capture mode but threw before marking the
        // capture ended, so the graph would never hand back its private memory pool (seen after an
        // out-of-memory capture at batch 16,384: 48 GiB held in private pools, and the eager
        // fallback ran out of memory). Release the pool here.
        // When the capture never began, there is no pool; the error to report is fn's, not that.
        try {
          compat::cuda_release_graph_pool(device.has_index() ? device.index() : c10::cuda::current_device(),
                                          graph.pool());
        } catch (const c10::Error&) {
        }
      }
      throw;
    }
    graph.capture_end();
    stream.synchronize();
  });
}

GraphedCall::Graph& GraphedCall::graph_for(int64_t bucket, const torch::Tensor& like) {
  auto it = graphs_.find(bucket);
  if (it != graphs_.end()) return *it->second;
  auto g = std::make_unique<Graph>();
  std::vector<int64_t> shape = like.sizes().vec();
  shape[0] = bucket;
  g->input = torch::zeros(shape, like.options());
  // Warm-up first (cuDNN/cuBLAS handles, workspace, lazy init), on the stream the capture uses.
  run_on_work_stream(device_, [&] {
    for (int i = 0; i < 3; ++i) fn_(g->input);
  });
  capture_on_work_stream(device_, g->graph, [&] { g->output = fn_(g->input); });
  return *graphs_.emplace(bucket, std::move(g)).first->second;
}

void GraphedCall::run_eagerly_from_now(int64_t bucket, const c10::Error& e) {
  // Capture keeps its own memory pool; when the card cannot hold it (e.g. out of memory at a very
  // large batch) every later call runs eagerly instead of failing. The graphs' pools and the blocks
  // cached for the failed capture stay reserved otherwise, and the eager call then runs out of memory
  // too (seen at batch 16,384 fp32: 124 GiB reserved, unallocated).
  graphs_.clear();
  graphed_ = false;
  at::cuda::getCurrentCUDAStream(device_.index()).synchronize();
  c10::cuda::CUDACachingAllocator::emptyCache();
  std::fprintf(stderr, "spikecast: CUDA graph capture failed at batch %lld, running eagerly: %s\n",
               static_cast<long long>(bucket), e.what_without_backtrace());
}

void GraphedCall::capture_all(const torch::Tensor& example_row) {
  if (!graphed_) return;
  for (int64_t bucket : buckets_) {
    try {
      graph_for(bucket, example_row);
    } catch (const c10::Error& e) {
      run_eagerly_from_now(bucket, e);
      return;
    }
  }
}

torch::Tensor GraphedCall::to_host(const torch::Tensor& x) {
  const int64_t b = x.size(0);
  const auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), b);
  if (!graphed_ || bucket == buckets_.end()) return fn_(x).to(torch::kCPU);
  Graph* found = nullptr;
  try {
    found = &graph_for(*bucket, x);
  } catch (const c10::Error& e) {
    run_eagerly_from_now(*bucket, e);
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

void GraphedCall::capture_all(const torch::Tensor&) {}  // never graphed without CUDA
#endif

GraphedCall::GraphedCall(Fn fn, torch::Device device, std::vector<int64_t> buckets, bool enabled)
    : fn_(std::move(fn)), device_(device), buckets_(std::move(buckets)),
      graphed_(enabled && available() && device.is_cuda() && !buckets_.empty()) {
  std::sort(buckets_.begin(), buckets_.end());
}

GraphedCall::~GraphedCall() = default;

std::vector<int64_t> GraphedCall::power_of_two_buckets(int64_t max_batch) {
  std::vector<int64_t> out;
  for (int64_t b = 1; b < max_batch; b *= 2) out.push_back(b);
  if (max_batch >= 1) out.push_back(max_batch);
  return out;
}

}  // namespace spikecast
