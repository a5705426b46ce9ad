// Boots a sandbox: the sentry process's whole life after runsc starts it.

#ifndef SENTRY_BOOT_BOOT_H_
#define SENTRY_BOOT_BOOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sentry::boot {

struct BootOptions {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string platform = "ptrace";
  bool strace = false;
  uint32_t uid = 0, gid = 0;
  std::string hostname = "sandbox";
  int gofer_fd = -1;  // the sentry's end of the gofer socket
  int max_tasks = 4096;
  // After setting up, give up the host filesystem: a private mount
  // namespace whose root is an empty read-only tmpfs.
  bool lockdown = true;
};

// Sets up the kernel, its mounts and the init process, runs the sandbox
// until init exits, and returns its status as a shell reports it (the exit
// code, or 128 + the signal).
absl::StatusOr<int> RunSandbox(const BootOptions& options);

// Takes the host filesystem away from this process (see BootOptions).
absl::Status LockDown();

}  // namespace sentry::boot

#endif  // SENTRY_BOOT_BOOT_H_
