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

// Runs each task on its own host thread; on a CUDA device each thread's current stream is its own
// pool stream. Returns when every task has finished and (CUDA) the device is synchronised. The
// first exception a task threw is rethrown here, after every thread has been joined.
void run_on_threads(const torch::Device& device, const std::vector<std::function<void()>>& tasks);

}  // namespace spikecast
