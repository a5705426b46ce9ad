// The gofer process: serves one container's root over a socket to the sentry.

#ifndef GOFER_GOFER_H_
#define GOFER_GOFER_H_

#include <string>

#include "absl/status/status.h"

namespace gofer {

struct GoferConfig {
  std::string root = "/";  // host path of the served tree
  // An O_PATH directory fd of the served tree, opened by runsc (a volume of
  // `runsc do -v`); used instead of `root` when >= 0.
  int root_fd = -1;
  int sock_fd = -1;  // our end of the sentry's socketpair
  // A read-write gofer also allows the calls that change the tree.
  bool read_only = true;
  // Install the gofer's seccomp filter (off only in tests that trace it).
  bool seccomp = true;
};

// Confines the process to `config.root` (chroot where permitted,
// no_new_privs, a seccomp allowlist) and serves until the sentry hangs up.
absl::Status RunGofer(const GoferConfig& config);

}  // namespace gofer

#endif  // GOFER_GOFER_H_
