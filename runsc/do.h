// `runsc do -- CMD [ARGS...]`: runs one program in a fresh sandbox with the
// host's root visible read-only, the caller's environment, cwd and stdio.

#ifndef RUNSC_DO_H_
#define RUNSC_DO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc {

// Starts the gofer and the sandbox, waits for the program, and returns its
// exit status (128 + N for death by signal N). `volumes` are the values of
// -v/--volume, "HOST:GUEST[:ro]": each gets a gofer of its own.
// With --network=host, `net_allow` (--net-allow values) and `net_listen`
// (--net-listen values) configure the network broker.
absl::StatusOr<int> RunDo(const std::vector<std::string>& command,
                          const std::vector<std::string>& env_overrides,
                          const std::vector<std::string>& volumes = {},
                          const std::vector<std::string>& net_allow = {},
                          const std::vector<std::string>& net_listen = {});

// A parsed -v/--volume.
struct VolumeSpec {
  std::string host;   // canonical absolute path of a directory
  std::string guest;  // absolute, normalized
  bool read_only = false;
};

// Parses and checks every -v value: HOST must be an existing directory;
// GUEST absolute, with no "." or ".." component, not "/" and not in /proc,
// /sys or /dev; no GUEST twice. Sorted so a parent is mounted before what
// lies below it.
absl::StatusOr<std::vector<VolumeSpec>> ParseVolumes(
    const std::vector<std::string>& values);

}  // namespace runsc

#endif  // RUNSC_DO_H_
