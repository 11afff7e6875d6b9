// SIGTERM/SIGINT -> a graceful drain. The handler only writes a byte to a pipe (async-signal-safe);
// the waiting thread reads it, whichever thread the kernel delivered the signal to.
#pragma once

namespace spikecast::serve {

class ShutdownSignal {
 public:
  // Installs handlers for SIGTERM and SIGINT (the previous ones are restored on destruction).
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Blocks until one of the signals arrives; returns its number.
  int wait();
};

}  // namespace spikecast::serve
