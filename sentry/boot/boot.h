// Boots a sandbox: the sentry process's whole life after runsc starts it.

#ifndef SENTRY_BOOT_BOOT_H_
#define SENTRY_BOOT_BOOT_H_

#include <linux/filter.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sentry/base/host_fd.h"

namespace sentry::kernel {
class Kernel;
class ThreadGroup;
}  // namespace sentry::kernel
namespace sentry::fs::devpts {
class HostConsole;
}  // namespace sentry::fs::devpts

namespace sentry::boot {

// OCI process settings beyond the program and user: capabilities (bit N
// = capability N; without caps_set, root has them all), rlimits,
// noNewPrivileges and supplementary groups.
struct ProcessLimits {
  bool caps_set = false;
  uint64_t cap_bounding = 0, cap_effective = 0, cap_permitted = 0,
           cap_inheritable = 0, cap_ambient = 0;
  struct Rlimit {
    int resource;
    uint64_t soft, hard;
  };
  std::vector<Rlimit> rlimits;
  bool no_new_privs = false;
  std::vector<uint32_t> groups;
  std::optional<uint32_t> umask;  // else 0022
};

struct BootOptions {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string platform = "ptrace";
  bool strace = false;
  uint32_t uid = 0, gid = 0;
  ProcessLimits limits;  // init's
  std::string hostname = "sandbox";
  int gofer_fd = -1;  // the sentry's end of the gofer socket
  int max_tasks = 4096;
  // What `update --pids-limit 0` (no limit) restores.
  int max_tasks_unlimited = 4096;
  // The root is the host's root under a tmpfs overlay (writes succeed and
  // stay in the sandbox); false mounts the host's root read-only.
  bool root_overlay = true;
  // With root_overlay: make the root read-only once the sandbox's own
  // mountpoints and `files` are written (OCI root.readonly).
  bool seal_root = false;
  // The sentry's end of runsc's console socket (`runsc do -t`): the guest
  // runs on a pty served over it (sentry/fs/devpts/console.h). -1: the
  // guest's stdio are the sandbox's own.
  int console_fd = -1;
  // The console fd is a host pty's slave (OCI process.terminal), not
  // runsc's socket.
  bool console_is_tty = false;
  // Host fds init gets as its fds 3, 4, ... (`runsc create
  // --preserve-fds`), after its stdio.
  std::vector<int> preserved_fds;
  // Guest paths where the POSIX message queue filesystem is mounted.
  std::vector<std::string> mqueue_mounts;
  // After setting up, give up the host filesystem: a private mount
  // namespace whose root is an empty read-only tmpfs.
  bool lockdown = true;
  // `runsc do -v` and OCI binds: a gofer's tree mounted at `guest` (made
  // in the root if missing), read-only or read-write; and OCI tmpfs
  // mounts. In this order, after the sandbox's own mounts.
  // An OCI tmpfs mount is one too, with `tmpfs` set and no gofer.
  struct Volume {
    std::string host;   // shown as the mount's source
    std::string guest;  // absolute, normalized
    bool read_only = false;
    int gofer_fd = -1;  // the sentry's end of the volume's gofer socket
    bool nosuid = false, nodev = false, noexec = false;
    bool tmpfs = false;
    std::string tmpfs_options;  // mount(2) data: mode=, size=, ...
    bool copy_up = false;       // tmpcopyup: the image's contents go in
  };
  std::vector<Volume> volumes;
  // Files written into the root overlay before init starts (`runsc do
  // --dns`, `--add-host`), replacing what is there; needs root_overlay.
  struct File {
    std::string path;  // absolute
    std::string content;
  };
  std::vector<File> files;
  // OCI linux.maskedPaths and readonlyPaths, applied after every mount:
  // a masked file gets /dev/null bound over it, a masked directory an
  // empty read-only tmpfs; a read-only path is bound on itself read-only.
  // Paths missing in the sandbox are skipped, as runc skips them.
  std::vector<std::string> masked_paths, readonly_paths;
  // OCI linux.seccomp, compiled by runsc: a classic BPF program over
  // seccomp_data (checked here as seccomp(2) checks a guest's). Empty:
  // none.
  std::vector<struct sock_filter> seccomp;
  // OCI (`runsc create`): init starts once a byte can be read from
  // start_fd; -1 starts it at once.
  int start_fd = -1;
  // OCI: called once the sandbox is set up, before it waits on start_fd,
  // with "" or why init cannot start (its working directory or program
  // is missing), as runc's create finds out before start. In the latter
  // case RunSandbox then fails with that message.
  std::function<void(const std::string& problem)> on_ready;
  // Called once init has started, with the running kernel (the OCI
  // control server starts here).
  std::function<void(kernel::Kernel*)> on_started;
  // A listening unix socket the sentry's filter lets it accept on (the
  // OCI control socket); -1: none.
  int control_fd = -1;
  // --network=host: the sentry's end of the network broker's socket
  // (sentry/net/host); -1 for the sandbox's own network only.
  int net_broker_fd = -1;
  // --net-listen: host ports a listener in the sandbox also listens on.
  std::vector<std::pair<uint16_t, uint16_t>> net_listen;
};

// Sets up the kernel, its mounts and the init process, runs the sandbox
// until init exits, and returns its status as a shell reports it (the exit
// code, or 128 + the signal).
absl::StatusOr<int> RunSandbox(const BootOptions& options);

// `runsc exec`: a process started in the running sandbox from outside.
struct ExecOptions {
  std::vector<std::string> argv, env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  ProcessLimits limits;
  // The host fds runsc sent: stdin, stdout and stderr; or with `terminal`
  // one, a pty slave, which is also the controlling terminal. Then
  // `preserved` more (`runsc exec --preserve-fds`), the process's 3, 4, ...
  bool terminal = false;
  size_t preserved = 0;
  std::vector<HostFd> fds;
  std::vector<std::string> fd_names;  // the host's names, for /proc/PID/fd
};

struct ExecStarted {
  std::shared_ptr<kernel::ThreadGroup> tg;  // null on failure
  // With a terminal, its console: stop it once the process has exited, so
  // its last output reaches the host and the host pty sees the end.
  std::shared_ptr<fs::devpts::HostConsole> console;
  int err = 0;
  std::string message;  // why it failed, in runc's words where it has them
};

// Starts the process and waits until its program runs (or could not: then
// `err` is set and the process is ending by itself).
ExecStarted StartExec(kernel::Kernel* k, ExecOptions options);

// Takes the host filesystem away from this process (see BootOptions).
absl::Status LockDown();

}  // namespace sentry::boot

#endif  // SENTRY_BOOT_BOOT_H_
