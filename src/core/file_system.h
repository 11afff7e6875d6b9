// File-system helpers that must not come from std::filesystem in binaries linked with LibTorch:
// the LibTorch of PyTorch 2.x exports its own std::filesystem::remove_all, which the dynamic
// linker binds in preference to libstdc++'s, and it crashes (seen on the GPU machine, 2026-11-26,
// PyTorch 2.11: a call through a null pointer). POSIX calls do not have that problem.
#pragma once

#include <cstddef>
#include <string>

namespace spikecast {

// Removes a file or a directory tree; a missing path is not an error. Returns false if some
// entry could not be removed.
bool remove_tree(const std::string& path) noexcept;

// Writes `size` bytes to `path` (created or truncated). Error "cannot open <what> '<path>' for
// writing" / "cannot write <what> '<path>'" when it cannot.
void write_file(const std::string& path, const void* bytes, size_t size, const std::string& what);

}  // namespace spikecast
