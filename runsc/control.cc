#include "runsc/control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "sentry/kernel/kernel.h"

namespace runsc {
namespace {

constexpr size_t kMaxMessage = 64 * 1024;

ControlReply Handle(const ControlRequest& req, sentry::kernel::Kernel* k) {
  ControlReply reply;
  switch (req.request_case()) {
    case ControlRequest::kSignal: {
      int sig = req.signal().signo();
      if (sig < 1 || sig >= 65) {
        reply.set_errno_value(EINVAL);
        reply.set_message(absl::StrCat("invalid signal ", sig));
      } else if (!k->SendRuntimeSignal(sig, req.signal().all())) {
        reply.set_errno_value(ESRCH);
        reply.set_message("container not running");
      }
      break;
    }
    default:
      reply.set_errno_value(EINVAL);
      reply.set_message("unknown request");
  }
  return reply;
}

// Runs `f` with the working directory at `dir`, so a socket path of any
// length binds or connects as "control". Only for runsc's verbs, which
// are single-threaded.
template <typename F>
int InDir(const std::string& dir, F f) {
  int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (here < 0 || chdir(dir.c_str()) != 0) {
    int e = errno;
    if (here >= 0) close(here);
    errno = e;
    return -1;
  }
  int rc = f();
  int e = errno;
  (void)!fchdir(here);
  close(here);
  errno = e;
  return rc;
}

struct sockaddr_un ControlAddr() {
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, "control");
  return a;
}

}  // namespace

void StartControlServer(int listen_fd, sentry::kernel::Kernel* k) {
  std::thread([listen_fd, k] {
    std::string buf(kMaxMessage, '\0');
    for (;;) {
      int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        LOG(ERROR) << "control socket: accept: " << strerror(errno);
        return;
      }
      ssize_t n;
      do {
        n = read(c, buf.data(), buf.size());
      } while (n < 0 && errno == EINTR);
      ControlRequest req;
      ControlReply reply;
      if (n <= 0 || !req.ParseFromArray(buf.data(), static_cast<int>(n))) {
        reply.set_errno_value(EINVAL);
        reply.set_message("malformed request");
      } else {
        reply = Handle(req, k);
      }
      reply.set_done(true);
      std::string out = reply.SerializeAsString();
      (void)!write(c, out.data(), out.size());
      close(c);
    }
  }).detach();
}

absl::StatusOr<int> ListenControl(const std::string& dir) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  struct sockaddr_un a = ControlAddr();
  int rc = InDir(dir, [&] {
    return bind(s, reinterpret_cast<struct sockaddr*>(&a), sizeof(a));
  });
  if (rc != 0 || listen(s, 16) != 0) {
    int e = errno;
    close(s);
    return absl::InternalError(
        absl::StrCat("control socket in ", dir, ": ", strerror(e)));
  }
  return s;
}

absl::StatusOr<ControlReply> CallSandbox(const std::string& dir,
                                         const ControlRequest& req) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  struct sockaddr_un a = ControlAddr();
  int rc = InDir(dir, [&] {
    return connect(s, reinterpret_cast<struct sockaddr*>(&a), sizeof(a));
  });
  if (rc != 0) {
    int e = errno;
    close(s);
    return absl::UnavailableError(
        absl::StrCat("the sandbox does not answer: ", strerror(e)));
  }
  std::string out = req.SerializeAsString();
  std::string buf(kMaxMessage, '\0');
  ssize_t n = -1;
  if (send(s, out.data(), out.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(out.size())) {
    do {
      n = read(s, buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
  }
  close(s);
  ControlReply reply;
  if (n <= 0 || !reply.ParseFromArray(buf.data(), static_cast<int>(n)) ||
      !reply.done()) {
    return absl::UnavailableError("the sandbox closed the control socket");
  }
  return reply;
}

}  // namespace runsc
