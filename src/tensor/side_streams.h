// Independent pieces of device work overlapped on the card. A member of the ensemble alone leaves
// most of a GPU idle (cuDNN's recurrent kernels run one small step at a time), so members run side
// by side: on their own CUDA streams from one host thread (inference, also inside a CUDA graph
// capture), or on their own host threads each with its own stream (training, where each member's
// step loop is long and independent). On the CPU, and in a build without CUDA, the first runs the
// tasks in order and the second runs them on threads with no streams.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace spikecast {

// Runs tasks[0..n) in order from this thread. On a CUDA device each task runs with a pool stream
// current that first waits for the current stream's queued work, and the current stream then waits
// for every task (fork/join by CUDA events), so the tasks' kernels overlap. A tensor a task
// returns through its captures must be passed to keep_for_current_stream() after this call when
// the caller may free it before the current stream's work on it is done.
void run_on_side_streams(const torch::Device& device, const std::vector<std::function<void()>>& tasks);

// Marks `t` (allocated on a side stream) as used by the current stream, so that the caching
// allocator does not hand its memory to the side stream again too early. No-op on the CPU.
void keep_for_current_stream(const torch::Tensor& t);

// Runs fn with the device's work stream current: one fixed non-default CUDA stream per device,
// joined with the caller's stream before and after (fork/join by events). Work that is captured as
// a CUDA graph (captures need a non-default stream) and the eager steps around it run there, always
// on the same stream: cuBLAS allocates a workspace per stream it sees (64 MiB on Hopper counting
// cuBLASLt's), so a fresh pool stream per capture held another 64 MiB each (measured: the peak
// training memory of the five members in turn grew by ~65 MiB per member). When the current stream
// already is not the default one (the work stream, a side-by-side thread's stream) fn runs as it is.
// Captures from two threads are serialised. On the CPU, and without CUDA, fn is simply called.
void run_on_work_stream(const torch::Device& device, const std::function<void()>& fn);

// Runs each task on its own host thread; on a CUDA device each thread's current stream is its own
// pool stream. Returns when every task has finished and (CUDA) the device is synchronised. The
// first exception a task threw is rethrown here, after every thread has been joined.
void run_on_threads(const torch::Device& device, const std::vector<std::function<void()>>& tasks);

}  // namespace spikecast
