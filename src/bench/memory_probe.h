// Peak memory of one measured phase. On CUDA: the caching allocator's bytes held by live tensors
// (PyTorch's max_memory_allocated), peak since reset(). On the CPU: the process's peak resident
// set (VmHWM), reset through /proc/self/clear_refs; it counts LibTorch itself and everything else
// the process holds, so it is reported under a different name and never compared with GPU bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace spikecast::bench {

struct MemoryReading {
  std::string kind;            // "cuda_allocated" | "cpu_peak_rss" | "unavailable"
  int64_t baseline_bytes = 0;  // held when the phase began (e.g. the resident dataset)
  int64_t peak_bytes = 0;      // the phase's peak, baseline included
  int64_t reserved_peak_bytes = -1;  // CUDA: the allocator's peak of reserved bytes (live + cached)
  bool peak_is_lifetime = false;  // CPU only: the peak could not be reset (whole-process peak)

  int64_t phase_bytes() const { return peak_bytes - baseline_bytes; }  // what the phase added
  nlohmann::json to_json() const;
};

class MemoryProbe {
 public:
  explicit MemoryProbe(torch::Device device);
  // Starts a phase: records the baseline and resets the peak.
  void reset();
  MemoryReading read() const;

 private:
  torch::Device device_;
  int64_t baseline_ = 0;
  bool reset_ok_ = false;
};

// The process's resident set now and at its peak (bytes), from /proc/self/status; -1 if unreadable.
int64_t current_rss_bytes();
int64_t peak_rss_bytes();

}  // namespace spikecast::bench
