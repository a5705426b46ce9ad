// `runsc do -- CMD [ARGS...]`: runs one program in a fresh sandbox with the
// host's root visible read-only, the caller's environment, cwd and stdio.

#ifndef RUNSC_DO_H_
#define RUNSC_DO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc {

// What `runsc do` was asked, beyond its single-valued gflags: the command
// and the flags that may repeat (gflags keeps only a flag's last value).
struct DoArgs {
  std::vector<std::string> command;
  std::vector<std::string> env;         // --env KEY=VALUE, in order
  std::vector<std::string> volumes;     // -v/--volume HOST:GUEST[:ro]
  std::vector<std::string> net_allow;   // --net-allow CIDR[:PORT[-PORT]]
  std::vector<std::string> net_listen;  // --net-listen PORT[-PORT]
  std::vector<std::string> dns;         // --dns IP
  std::vector<std::string> dns_search;  // --dns-search DOMAIN
  std::vector<std::string> dns_option;  // --dns-option OPTION
  std::vector<std::string> add_host;    // --add-host NAME:IP
  // `runsc exec`'s (runc's -g and -c).
  std::vector<std::string> additional_gids;  // --additional-gids GID
  std::vector<std::string> caps;             // --cap CAP
};

// Starts the gofer and the sandbox (each volume with a gofer of its own,
// and with --network=host a network broker), waits for the program, and
// returns its exit status (128 + N for death by signal N).
absl::StatusOr<int> RunDo(const DoArgs& args);

// A parsed -v/--volume.
// Also an OCI bind or tmpfs mount.
struct VolumeSpec {
  std::string host;   // canonical absolute path of a directory
  std::string guest;  // absolute, normalized
  bool read_only = false;
  bool nosuid = false, nodev = false, noexec = false;
  // A tmpfs of the sandbox's own instead of a host directory.
  bool tmpfs = false;
  std::string tmpfs_options;  // mount(2) data
  bool copy_up = false;       // tmpcopyup
};

// Parses and checks every -v value: HOST must be an existing directory;
// GUEST absolute, with no "." or ".." component, not "/" and not in /proc,
// /sys or /dev; no GUEST twice. Sorted so a parent is mounted before what
// lies below it.
absl::StatusOr<std::vector<VolumeSpec>> ParseVolumes(
    const std::vector<std::string>& values);

}  // namespace runsc

#endif  // RUNSC_DO_H_
