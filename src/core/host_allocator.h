// Host memory for tensors. LibTorch's CPU tensors come from malloc; glibc's malloc gives every block
// above its mmap threshold (128 KiB, rising to at most 32 MiB) its own mmap, unmaps it on free, and
// returns the heap's free top to the system past twice that threshold. A forward or training step
// allocates and frees hundreds of MB of activations, so every call faults its memory in again page by
// page: on 2 cores that was 60-75 % of a recurrent member's CPU time (measured: docs/performance.md,
// "Host memory"). tune_host_allocator() makes malloc keep what it has: no per-block mmaps, and the
// heap's free top kept up to 2 GiB. The cost is that a process's resident memory stays at its peak.
#pragma once

#include <string>

namespace spikecast {

// Applies the settings once per process, before the first large allocation (call it first in main).
// Returns false, changing nothing, where malloc is not glibc's or SPIKECAST_HOST_MALLOC=system is set.
bool tune_host_allocator();

// "retained (glibc, no per-block mmap)", "system" or "system (not glibc)": for --version and bench JSON.
std::string host_allocator_description();

}  // namespace spikecast
