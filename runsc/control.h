// The sandbox's control socket (OCI verbs): the server side, a thread in
// the sandbox process, and the client side used by `runsc kill` and the
// other verbs that act on a running container.

#ifndef RUNSC_CONTROL_H_
#define RUNSC_CONTROL_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runsc/control.pb.h"
#include "sentry/base/host_fd.h"
#include "sentry/boot/boot.h"

namespace sentry::kernel {
class Kernel;
}  // namespace sentry::kernel

namespace runsc {

// A process's OCI settings as the sandbox applies them, from the form
// `create` and `exec` send: unknown capability bits and rlimits that are
// not real resources or whose soft limit exceeds the hard one are dropped.
sentry::boot::ProcessLimits LimitsFromProto(const ProcessLimits& p);

// Serves requests on `listen_fd` (a listening SOCK_SEQPACKET unix socket)
// for the life of the sandbox process, on a thread of its own. Each
// connection carries one request and gets one reply; a malformed request
// gets EINVAL, never a crash.
void StartControlServer(int listen_fd, sentry::kernel::Kernel* kernel);

// Sends `req` to the sandbox listening at `dir`/control and returns its
// reply. `dir` may be longer than a sockaddr_un allows.
absl::StatusOr<ControlReply> CallSandbox(const std::string& dir,
                                         const ControlRequest& req,
                                         const std::vector<int>& fds = {});

// The runsc side of an exec: the connection that stands for the process
// while it runs in the sandbox.
class ExecSession final {
 public:
  // Sends `exec` with its stdio `fds` (three, or one pty slave) to the
  // sandbox at `dir` and waits until the process runs or could not start
  // (FailedPrecondition, with the sandbox's message in runc's words).
  static absl::StatusOr<ExecSession> Start(const std::string& dir,
                                           const ExecRequest& exec,
                                           const std::vector<int>& fds);
  ExecSession(ExecSession&&) = default;
  ExecSession& operator=(ExecSession&&) = default;

  // The process's pid in the sandbox.
  int pid() const { return pid_; }

  // Waits for the process to end, passing each of the `forward` signals
  // this process gets on to it (over the exec's own connection). How it ended:
  // an exit code, or the signal that killed it (SIGKILL if the sandbox itself
  // went away).
  struct End {
    int code = 0;
    int signal = 0;
  };
  // `before` sees each signal first (a terminal's SIGWINCH resizes).
  End Wait(const std::vector<int>& forward,
           const std::function<void(int)>& before = nullptr);

 private:
  ExecSession(sentry::HostFd conn, int pid)
      : conn_(std::move(conn)), pid_(pid) {}

  sentry::HostFd conn_;
  int pid_;
};

// Makes the listening socket at `dir`/control for a new sandbox.
absl::StatusOr<int> ListenControl(const std::string& dir);

}  // namespace runsc

#endif  // RUNSC_CONTROL_H_
