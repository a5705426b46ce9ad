// The control socket's requests as the sandbox receives them: untrusted
// bytes (and fds) to decode and check before anything acts on them.

#ifndef RUNSC_CONTROL_REQUEST_H_
#define RUNSC_CONTROL_REQUEST_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "runsc/control.pb.h"

namespace runsc {

// Limits on one request: fds it may carry (an exec's stdio and preserved
// fds: one SCM_RIGHTS message's worth, SCM_MAX_FD), and argv, env and
// group entries of an exec.
inline constexpr size_t kMaxPreservedFds = 250;
inline constexpr size_t kMaxControlFds = 3 + kMaxPreservedFds;
inline constexpr size_t kMaxExecStrings = 65536;

// Decodes one request that came with `nfds` fds and checks it: an exec
// names a program, an absolute working directory and KEY=VALUE variables,
// and comes with its stdio (three fds, or one with a terminal) and the
// fds it preserves; a debug
// request switching the trace on comes with one; others carry none. Every
// request is untrusted input.
absl::Status ParseRequest(std::string_view bytes, size_t nfds,
                          ControlRequest* req);

}  // namespace runsc

#endif  // RUNSC_CONTROL_REQUEST_H_
