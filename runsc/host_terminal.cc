#include "runsc/host_terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace runsc {

using sentry::HostFd;

absl::StatusOr<std::unique_ptr<HostTerminal>> HostTerminal::Find() {
  struct termios t;
  // Usually all three are the terminal, but any may be redirected.
  for (int fd : {STDERR_FILENO, STDOUT_FILENO, STDIN_FILENO}) {
    if (tcgetattr(fd, &t) == 0) {
      return std::unique_ptr<HostTerminal>(new HostTerminal(HostFd(), fd, t));
    }
  }
  // All redirected, but there may still be a controlling terminal.
  HostFd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty.valid() || tcgetattr(tty.get(), &t) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process.terminal is set, runsc runs in the foreground without "
        "--console-socket, and it has no terminal of its own to be the "
        "console (stdin, stdout and stderr are none, /dev/tty: ",
        strerror(errno), ")"));
  }
  int fd = tty.get();
  return std::unique_ptr<HostTerminal>(new HostTerminal(std::move(tty), fd, t));
}

HostTerminal::~HostTerminal() {
  if (raw_) tcsetattr(fd_, TCSANOW, &saved_);
}

void HostTerminal::MakeRaw() {
  struct termios raw = saved_;
  cfmakeraw(&raw);
  if (tcsetattr(fd_, TCSANOW, &raw) == 0) raw_ = true;
}

void HostTerminal::ResizePty(int master) const {
  struct winsize ws;
  if (ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    ioctl(master, TIOCSWINSZ, &ws);
  }
}

bool WriteAll(int fd, const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

void HostTerminal::Relay(int master, int stop) {
  // Input goes in as the pty has room, so a container that does not read
  // can never stop its output from coming out.
  int flags = fcntl(master, F_GETFL);
  if (flags >= 0) fcntl(master, F_SETFL, flags | O_NONBLOCK);
  std::string pending;
  bool in_open = true, out_open = true, stopping = false;
  char buf[16384];
  for (;;) {
    struct pollfd p[3] = {
        {in_open && pending.empty() ? STDIN_FILENO : -1, POLLIN, 0},
        {master, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)),
         0},
        {stopping ? -1 : stop, POLLIN, 0}};
    int ready = poll(p, 3, stopping ? 100 : -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (ready == 0) return;  // stopping, and nothing more came
    if (p[2].revents != 0) stopping = true;
    if (p[0].revents != 0) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n > 0) {
        pending.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        // As runc: the end of input is not passed on (a terminal has no
        // end; ^D is a byte).
        in_open = false;
      }
    }
    if (!pending.empty()) {
      ssize_t n = write(master, pending.data(), pending.size());
      if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        pending.clear();
        in_open = false;
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof(buf));
      if (n > 0) {
        if (out_open) {
          out_open = WriteAll(STDOUT_FILENO, buf, static_cast<size_t>(n));
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EIO: every holder of the slave has closed it; what it wrote
        // was read first.
        return;
      }
    }
  }
}

}  // namespace runsc
