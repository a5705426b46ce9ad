// The sentry's own confinement, applied once the sandbox is set up: no
// capabilities, and a seccomp allowlist of the system calls it makes.

#ifndef SENTRY_BOOT_SENTRY_SECCOMP_H_
#define SENTRY_BOOT_SENTRY_SECCOMP_H_

#include "absl/status/status.h"

namespace sentry::boot {

// Drops every capability, the bounding set included. Tracing and reading
// the memory of its own stubs (same uid) needs none.
absl::Status DropCapabilities();

// Installs the sentry's filter on every thread. A call outside it stops
// the sandbox with a message naming the call; open and openat fail with
// EPERM; clone may not create namespaces; clone3 is ENOSYS. The sentry
// sends only without an address (send(2), never sendmsg), makes no socket
// and connects nothing. With `host_network`, it may also use the host
// sockets the network broker donates: shut them down, read and set their
// options and addresses, and accept on listeners (sentry/net/host). With
// `control_fd` >= 0 it may accept on that listener (the OCI control
// socket).
absl::Status InstallSentryFilter(bool host_network, int control_fd = -1);

}  // namespace sentry::boot

#endif  // SENTRY_BOOT_SENTRY_SECCOMP_H_
