// The OCI runtime specification's config.json, as runsc reads it: the
// parts a sandbox acts on, decoded from hostile JSON with errors that name
// the offending field ("process.user.uid: expected an integer from 0 to
// 4294967295, got \"root\""). Unknown members are ignored, as the
// specification requires; known ones of the wrong type are errors.

#ifndef RUNSC_OCI_SPEC_H_
#define RUNSC_OCI_SPEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runsc/oci/json.h"

namespace runsc::oci {

// Bounds on what one config.json may ask for. Real engines stay far below
// them; a document beyond them is refused, naming the field.
constexpr size_t kMaxArgs = 4096;       // process.args, env, hook args
constexpr size_t kMaxMounts = 1024;     // mounts
constexpr size_t kMaxListItems = 4096;  // masked paths, gids, options, ...
constexpr size_t kMaxPathLen = 4096;

struct User {
  uint32_t uid = 0, gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;   // "RLIMIT_NOFILE"
  int resource = -1;  // RLIMIT_NOFILE
  uint64_t hard = 0, soft = 0;
};

struct Capabilities {
  bool present = false;  // the spec has process.capabilities
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

// Linux's number of a capability named as the spec names it ("CAP_CHOWN"
// is 0), or nullopt for a name Linux does not have.
std::optional<int> CapabilityNumber(std::string_view name);

struct Process {
  bool terminal = false;
  uint16_t console_width = 0, console_height = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  Capabilities capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile, selinux_label;
};

struct Mount {
  std::string destination;  // absolute, normalized
  std::string type;         // "bind", "tmpfs", "proc", ... ("" = bind)
  std::string source;
  std::vector<std::string> options;

  bool IsBind() const;  // type bind/rbind or a "bind"/"rbind" option
  bool HasOption(std::string_view o) const;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container,
      poststart, poststop;
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
  std::string path;  // join this one instead of making a new one
};

struct Resources {
  std::optional<int64_t> memory_limit;  // bytes; -1 unlimited
  std::optional<int64_t> memory_swap;
  std::optional<int64_t> memory_reservation;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;  // microseconds per period; -1 none
  std::optional<uint64_t> cpu_period;
  std::optional<int64_t> pids_limit;  // -1 or 0: unlimited
  // cgroup v2 files and their values, as given (names checked: a file of
  // the container's cgroup directory, nothing else).
  std::map<std::string, std::string> unified;
};

// linux.seccomp: the profile applied to the container's processes (runc's
// names: SCMP_ACT_*, SCMP_CMP_*, SCMP_ARCH_*, SECCOMP_FILTER_FLAG_*).
struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;
};
struct SeccompRule {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};
struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures, flags;
  std::string listener_path;
  std::vector<SeccompRule> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  Resources resources;
  std::string cgroups_path;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
};

struct Spec {
  std::string oci_version;
  std::string root_path;  // as written: relative to the bundle or absolute
  bool root_readonly = false;
  std::optional<Process> process;  // absent: nothing to run (exec-only)
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Decodes and checks a config.json document. Checks beyond types: root.path
// present; process.args non-empty and cwd absolute; every mount destination
// absolute with no ".." (normalized); no mount other than a proc mount at
// /proc and none below it (the sandbox's procfs is its own); rlimit types
// known; namespace types known and not repeated; list sizes within the
// bounds above.
absl::StatusOr<Spec> ParseSpec(std::string_view config_json);

// Decodes a process object alone (`runsc exec --process FILE`), checked
// as ParseSpec checks config.json's; errors name fields under "process".
absl::StatusOr<Process> ParseProcess(std::string_view json);

// Reads `bundle`/config.json and parses it; errors start with the path.
absl::StatusOr<Spec> LoadSpec(const std::string& bundle);
// Reads a process file (`runsc exec --process`) and parses it; errors
// start with the path.
absl::StatusOr<Process> LoadProcess(const std::string& path);

// The default config.json `runsc spec` writes (runc's defaults: sh on a
// terminal, rootfs "rootfs", the usual mounts and namespaces; a cgroup
// namespace too where the host's cgroups are v2 only, as runc adds one
// there).
std::string DefaultSpecJson(bool cgroup_namespace = false);

}  // namespace runsc::oci

#endif  // RUNSC_OCI_SPEC_H_
