// The host cgroups of a container's sandbox (OCI cgroupsPath and
// linux.resources): the sandbox process, its stubs (forked after it joins)
// and its gofers go in one cgroup per hierarchy, which bounds their memory,
// CPU and pids together, on cgroup v1 (a hierarchy per controller), v2
// (the unified one) or both at once (hybrid, where a controller lives in
// one of them).
//
// Not thread-safe; runsc's verbs are single-threaded.

#ifndef RUNSC_CGROUP_H_
#define RUNSC_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc {

struct CgroupLimits {
  std::optional<int64_t> memory_limit;        // bytes; -1 unlimited
  std::optional<int64_t> memory_swap;         // memory + swap, bytes; -1
  std::optional<int64_t> memory_reservation;  // soft limit, bytes; -1
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;  // microseconds per period; -1 none
  std::optional<uint64_t> cpu_period;
  std::optional<int64_t> pids_limit;           // <= 0 unlimited
  std::map<std::string, std::string> unified;  // v2 file -> value
  bool Any() const {
    return memory_limit || memory_swap || memory_reservation || cpu_shares ||
           cpu_quota || cpu_period || pids_limit || !unified.empty();
  }
};

// One directory per hierarchy the container uses, as made.
struct CgroupDirs {
  std::vector<std::string> dirs;
};

// A cgroup hierarchy as /proc/self/mountinfo lists it.
struct CgroupMount {
  std::string mountpoint;
  bool v2 = false;
  std::vector<std::string> controllers;  // v1: from the mount options
};

// The cgroup hierarchies in mountinfo's text (cgroup and cgroup2 mounts).
std::vector<CgroupMount> ParseCgroupMounts(const std::string& mountinfo);

// Checks a cgroupsPath: absolute, no "." or ".." component, no NUL, at most
// 4096 bytes. With `systemd` (--systemd-cgroup), "SLICE:PREFIX:NAME" becomes
// /SLICE/PREFIX-NAME.scope, as runc's systemd driver names it.
absl::StatusOr<std::string> NormalizeCgroupPath(const std::string& path,
                                                bool systemd);

// Makes `path` (normalized) in each hierarchy of `mounts` that has a
// controller the limits need (memory, cpu, pids), plus the v2 hierarchy and
// v1's freezer, and writes the limits. A hierarchy that cannot be written
// (EROFS, EACCES, EPERM) is an error, unless `tolerate_denied` (runc's
// rootless mode: a runtime in a user namespace), when it is skipped. On
// error, what was made is removed.
absl::StatusOr<CgroupDirs> MakeCgroups(const std::vector<CgroupMount>& mounts,
                                       const std::string& path,
                                       const CgroupLimits& limits,
                                       bool tolerate_denied);

// `runsc update`: writes `limits` (the fields given) into the container's
// cgroups `dirs`, found among `mounts`. An error names a file that takes
// no value, or a limit no hierarchy here takes.
absl::Status UpdateCgroups(const std::vector<CgroupMount>& mounts,
                           const CgroupDirs& dirs, const CgroupLimits& limits);

// Moves `pid` into every directory of `c`.
absl::Status JoinCgroups(const CgroupDirs& c, pid_t pid);

// Removes the directories (deepest first) once their processes are gone;
// a parent made for them is left, as runc leaves it.
void RemoveCgroups(const CgroupDirs& c);

// What the container's cgroups have counted (runc events --stats); each
// field is set where some hierarchy keeps it.
struct CgroupStats {
  std::optional<uint64_t> cpu_total_ns, cpu_user_ns, cpu_kernel_ns;
  std::optional<uint64_t> memory_usage, memory_max_usage, memory_limit,
      memory_failcnt;
  std::optional<uint64_t> oom_kills;
  std::optional<uint64_t> pids_current, pids_limit;
};
CgroupStats ReadCgroupStats(const CgroupDirs& c);

// Whether this process is in a user namespace other than the host's.
bool InUserNamespace();

}  // namespace runsc

#endif  // RUNSC_CGROUP_H_
