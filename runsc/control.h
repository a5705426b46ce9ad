// The sandbox's control socket (OCI verbs): the server side, a thread in
// the sandbox process, and the client side used by `runsc kill` and the
// other verbs that act on a running container.

#ifndef RUNSC_CONTROL_H_
#define RUNSC_CONTROL_H_

#include <string>

#include "absl/status/statusor.h"
#include "runsc/control.pb.h"

namespace sentry::kernel {
class Kernel;
}  // namespace sentry::kernel

namespace runsc {

// Serves requests on `listen_fd` (a listening SOCK_SEQPACKET unix socket)
// for the life of the sandbox process, on a thread of its own. Each
// connection carries one request and gets one reply; a malformed request
// gets EINVAL, never a crash.
void StartControlServer(int listen_fd, sentry::kernel::Kernel* kernel);

// Sends `req` to the sandbox listening at `dir`/control and returns its
// reply. `dir` may be longer than a sockaddr_un allows.
absl::StatusOr<ControlReply> CallSandbox(const std::string& dir,
                                         const ControlRequest& req);

// Makes the listening socket at `dir`/control for a new sandbox.
absl::StatusOr<int> ListenControl(const std::string& dir);

}  // namespace runsc

#endif  // RUNSC_CONTROL_H_
