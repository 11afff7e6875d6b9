#include "core/file_system.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace spikecast {
namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return std::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

}  // namespace

bool remove_tree(const std::string& path) noexcept {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return std::remove(path.c_str()) == 0;
  // Depth first (FTW_DEPTH), without following symbolic links (FTW_PHYS).
  return ::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS) == 0;
}

void write_file(const std::string& path, const void* bytes, size_t size, const std::string& what) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot open " + what + " '" + path + "' for writing");
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  if (!f) throw Error("cannot write " + what + " '" + path + "'");
}

}  // namespace spikecast
