// An exclusive flock(2) on a lock file, held for the lifetime of the object: serializes the
// writers of a directory (the model registry, the ingest store) across processes. The kernel
// drops the lock when the process dies, so a killed writer never leaves a stale lock.
#pragma once

#include <string>

namespace spikecast {

class WriterLock {
 public:
  // Creates `lock_path` when missing and blocks until the lock is ours. Throws Error naming it.
  explicit WriterLock(const std::string& lock_path);
  ~WriterLock();  // closing releases the lock
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace spikecast
