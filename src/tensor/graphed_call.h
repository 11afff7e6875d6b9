// Replays a function of a batch as a captured CUDA graph: one launch instead of the ~thousands of
// kernel launches of an ensemble forward (the recurrent members alone run ~1,100 cell steps).
// Inputs are padded up to the next batch bucket, so one graph per bucket serves every batch size;
// rows must be independent (each output row depends on its input row only).
// In a build without CUDA, or for a CPU device, the function is simply called.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#ifdef SPIKECAST_WITH_CUDA
namespace at::cuda {
struct CUDAGraph;
}
#endif

namespace spikecast {

#ifdef SPIKECAST_WITH_CUDA
// Captures fn's kernels into `graph` on the device's work stream (tensor/side_streams.h), in
// thread-local mode (another thread loading a model does not break it), synchronised before and
// after. When fn throws, the capture is ended first, so that the stream, the allocator's pool and the
// random generator leave capture mode (were the capture left open, the next call joining the work
// stream would fail), and the error is rethrown.
void capture_on_work_stream(const torch::Device& device, at::cuda::CUDAGraph& graph, const std::function<void()>& fn);
#endif

class GraphedCall {
 public:
  // x [B, ...] on `device` -> y [B, ...] on `device`.
  using Fn = std::function<torch::Tensor(const torch::Tensor&)>;

  // buckets: the padded batch sizes (ascending); a batch larger than the last runs eagerly.
  // enabled = false (or a CPU device, or a build without CUDA) always runs eagerly.
  GraphedCall(Fn fn, torch::Device device, std::vector<int64_t> buckets, bool enabled);
  ~GraphedCall();
  GraphedCall(const GraphedCall&) = delete;
  GraphedCall& operator=(const GraphedCall&) = delete;

  // fn(x) copied to the host (the graph's output buffer is reused by the next call). Not thread-safe.
  torch::Tensor to_host(const torch::Tensor& x);

  // Captures every bucket now (model warm-up), so no request pays for a capture.
  void capture_all(const torch::Tensor& example_row);

  // Whether calls replay graphs (CUDA build, CUDA device, enabled).
  bool graphed() const { return graphed_; }
  // Batch buckets: powers of two from 1 up to max_batch (max_batch itself last).
  static std::vector<int64_t> power_of_two_buckets(int64_t max_batch);
  // Whether this build can capture CUDA graphs at all.
  static bool available();

 private:
  struct Graph;
  Graph& graph_for(int64_t bucket, const torch::Tensor& like);
#ifdef SPIKECAST_WITH_CUDA
  // After a failed capture at `bucket`: drops every graph and its memory; later calls run eagerly.
  void run_eagerly_from_now(int64_t bucket, const c10::Error& e);
#endif

  Fn fn_;
  torch::Device device_;
  std::vector<int64_t> buckets_;
  bool graphed_;
  std::map<int64_t, std::unique_ptr<Graph>> graphs_;
};

}  // namespace spikecast
