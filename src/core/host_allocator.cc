#include "core/host_allocator.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace spikecast {
namespace {

bool opted_out() {
  const char* v = std::getenv("SPIKECAST_HOST_MALLOC");
  return v != nullptr && std::strcmp(v, "system") == 0;
}

bool& tuned() {
  static bool applied = false;
  return applied;
}

}  // namespace

bool tune_host_allocator() {
#if defined(__GLIBC__)
  if (tuned()) return true;
  if (opted_out()) return false;
  // Every block from the heap (no mmap per block), and the heap's free top kept up to INT_MAX bytes;
  // both settings also stop glibc's dynamic threshold from changing them.
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  tuned() = ok;
  return ok;
#else
  return false;
#endif
}

std::string host_allocator_description() {
#if defined(__GLIBC__)
  return tuned() ? "retained (glibc, no per-block mmap)" : "system";
#else
  return "system (not glibc)";
#endif
}

}  // namespace spikecast
