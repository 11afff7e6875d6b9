#include "bench/memory_probe.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tensor/compat.h"

namespace spikecast::bench {
namespace {

// "VmRSS:     123456 kB" -> bytes.
int64_t status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') {
      return std::stoll(line.substr(n + 1)) * 1024;
    }
  }
  return -1;
}

// Linux >= 4.0: writing 5 resets the peak RSS (VmHWM) to the current RSS.
bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int64_t current_rss_bytes() { return status_kb("VmRSS"); }
int64_t peak_rss_bytes() { return status_kb("VmHWM"); }

nlohmann::json MemoryReading::to_json() const {
  nlohmann::json j = {{"kind", kind}};
  if (kind == "unavailable") return j;
  j["baseline_mib"] = baseline_bytes / 1048576.0;
  j["peak_mib"] = peak_bytes / 1048576.0;
  j["phase_mib"] = phase_bytes() / 1048576.0;
  if (peak_is_lifetime) j["peak_is_lifetime"] = true;
  if (reserved_peak_bytes >= 0) j["reserved_peak_mib"] = reserved_peak_bytes / 1048576.0;
  return j;
}

MemoryProbe::MemoryProbe(torch::Device device) : device_(device) {}

void MemoryProbe::reset() {
  compat::synchronize(device_);
  if (device_.is_cuda()) {
    const int index = device_.has_index() ? device_.index() : 0;
    compat::cuda_reset_peak(index);
    baseline_ = compat::cuda_allocated(index).current;
    reset_ok_ = compat::kCudaAllocatorStats;
  } else {
    reset_ok_ = reset_peak_rss();
    baseline_ = current_rss_bytes();
  }
}

MemoryReading MemoryProbe::read() const {
  compat::synchronize(device_);
  MemoryReading r;
  if (device_.is_cuda()) {
    if (!compat::kCudaAllocatorStats) {
      r.kind = "unavailable";
      return r;
    }
    r.kind = "cuda_allocated";
    r.baseline_bytes = baseline_;
    const compat::CudaAllocated a = compat::cuda_allocated(device_.has_index() ? device_.index() : 0);
    r.peak_bytes = a.peak;
    r.reserved_peak_bytes = a.reserved_peak;
    return r;
  }
  r.kind = "cpu_peak_rss";
  r.baseline_bytes = baseline_;
  r.peak_bytes = peak_rss_bytes();
  r.peak_is_lifetime = !reset_ok_;
  if (r.baseline_bytes < 0 || r.peak_bytes < 0) r.kind = "unavailable";
  return r;
}

}  // namespace spikecast::bench
