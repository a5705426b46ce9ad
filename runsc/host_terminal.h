// The caller's terminal for a container run in the foreground with
// process.terminal and no --console-socket: runc then is the console's
// receiver itself, copying between its own stdio and the pty's master
// with the caller's terminal in raw mode. runsc does the same.
//
// Threads: Relay runs in a thread of its own; ResizePty may be called
// from another (it only issues ioctls on fds that outlive both).
#ifndef RUNSC_HOST_TERMINAL_H_
#define RUNSC_HOST_TERMINAL_H_

#include <termios.h>

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "sentry/base/host_fd.h"

namespace runsc {

class HostTerminal {
 public:
  // The caller's terminal, found as runc finds it: stderr, stdout or
  // stdin, whichever is a terminal, else /dev/tty. An error if there is
  // none: a foreground terminal needs one.
  static absl::StatusOr<std::unique_ptr<HostTerminal>> Find();
  // Restores the terminal's modes.
  ~HostTerminal();
  HostTerminal(const HostTerminal&) = delete;
  HostTerminal& operator=(const HostTerminal&) = delete;

  // Raw mode, as runc sets it: bytes pass through to the container's
  // terminal, which does the line discipline.
  void MakeRaw();
  // Gives the pty whose master is `master` this terminal's size.
  void ResizePty(int master) const;
  // Copies runsc's stdin to `master` and `master` to runsc's stdout
  // until every holder of the pty's other side has closed it, or, once
  // `stop` is readable, until the master has been quiet for a moment
  // (a process that kept the pty must not keep runsc). SIGWINCH is the
  // caller's: it calls ResizePty.
  static void Relay(int master, int stop);

 private:
  HostTerminal(sentry::HostFd owned, int fd, const struct termios& saved)
      : owned_(std::move(owned)), fd_(fd), saved_(saved) {}

  sentry::HostFd owned_;  // /dev/tty when opened here
  int fd_;
  struct termios saved_;
  bool raw_ = false;
};

// Writes all of `buf` to `fd`, waiting while it has no room (a
// non-blocking terminal). False once `fd` takes no more (a closed pipe).
bool WriteAll(int fd, const char* buf, size_t len);

}  // namespace runsc

#endif  // RUNSC_HOST_TERMINAL_H_
