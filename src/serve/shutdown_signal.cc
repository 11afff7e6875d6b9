#include "serve/shutdown_signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/error.h"

namespace spikecast::serve {

namespace {

int g_pipe[2] = {-1, -1};
struct sigaction g_old_term, g_old_int;

extern "C" void on_shutdown_signal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

ShutdownSignal::ShutdownSignal() {
  if (g_pipe[0] >= 0) throw Error("only one ShutdownSignal may exist at a time");
  if (::pipe2(g_pipe, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  struct sigaction sa {};
  sa.sa_handler = on_shutdown_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, &g_old_term);
  ::sigaction(SIGINT, &sa, &g_old_int);
}

ShutdownSignal::~ShutdownSignal() {
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int ShutdownSignal::wait() {
  unsigned char byte = 0;
  for (;;) {
    ssize_t n = ::read(g_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    throw Error(std::string("cannot wait for a signal: ") + std::strerror(errno));
  }
}

}  // namespace spikecast::serve
