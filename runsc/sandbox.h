// Starting a sandbox's processes: the gofers (one for the root, one per
// volume), the network broker (--network=host) and the sandbox process
// itself, each a re-execution of runsc with the fds it needs and nothing
// else. Shared by `runsc do` (which waits for the sandbox) and the OCI
// verbs (where `create` leaves it running, detached, for `start`).

#ifndef RUNSC_SANDBOX_H_
#define RUNSC_SANDBOX_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runsc/boot_config.pb.h"
#include "runsc/do.h"

namespace runsc {

// What to start. The caller keeps ownership of every fd named here; Launch
// duplicates what the children need.
struct LaunchPlan {
  BootConfig cfg;  // all but the fd numbers, which Launch assigns
  // The host directory the root gofer serves.
  std::string root = "/";
  std::vector<VolumeSpec> volumes;
  // --network=host: the broker's allowlist and listen ports, as the
  // broker's flags spell them, and the sandbox's name in its denials.
  bool host_network = false;
  std::vector<std::string> allow_rules, listen_ports;
  std::string name;
  int stdio[3] = {0, 1, 2};  // the sandbox's stdin, stdout, stderr
  int console_fd = -1;       // `runsc do -t`: the sandbox's console end
  int log_fd = -1;           // --debug_log, or -1
  bool debug = false;
  // OCI: every process outlives runsc (no parent-death signal) and the
  // sandbox waits for a byte on start_fd before running init, writes
  // init's status to exit_fd, and serves control requests on control_fd
  // (a listening unix socket). -1: not used.
  bool detached = false;
  int start_fd = -1, exit_fd = -1, control_fd = -1;
  // The write end of a pipe where the sandbox says whether init can start
  // (BootConfig.ready_fd). -1: not used.
  int ready_fd = -1;
  // --preserve-fds: fds init gets as its 3, 4, ... (BootConfig.preserved_fds).
  std::vector<int> preserved_fds;
  // OCI linux.namespaces network path: the sandbox process joins it (where
  // engines set up the container's network) instead of a new one. -1: new.
  int netns_fd = -1;
  // OCI: fail rather than start the sandbox without its own pid, network,
  // ipc and uts namespaces (`runsc do` takes what the host allows).
  bool require_namespaces = false;
  // The container's cgroup.procs files, open for writing: every process
  // Launch starts joins them before it execs.
  std::vector<int> cgroup_procs;
  // OCI linux.namespaces user: every process Launch starts joins this user
  // namespace as its root (the spec's mappings say which host ids that
  // is), after the cgroups and the network namespace, which take the
  // host's privileges. The root gofer then serves `root` by an fd opened
  // here, as the volumes' gofers do. -1: the host's.
  int userns_fd = -1;
};

struct Launched {
  pid_t sandbox = -1;
  pid_t broker = -1;
  // The root's gofer first, then one per volume (not tmpfs) in plan order.
  std::vector<pid_t> gofers;
};

// Starts every process of `plan`. On error, whatever was started is
// killed and reaped.
absl::StatusOr<Launched> Launch(LaunchPlan plan);

// The host file at `path` (the host's resolv.conf, a bundle's bound file,
// a container's state), or "" if it cannot be read.
std::string ReadHostFile(const std::string& path);

// Kills and reaps (if ours) each pid > 0.
void KillAll(const std::vector<pid_t>& pids);

}  // namespace runsc

#endif  // RUNSC_SANDBOX_H_
