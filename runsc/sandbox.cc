#include "runsc/sandbox.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sentry/base/host_fd.h"

namespace runsc {
namespace {

using sentry::HostFd;

// What the child of Spawn needs, all prepared by the parent: the child
// shares runsc's memory until it execs (CLONE_VM | CLONE_VFORK), so it must
// not allocate, and runsc waits meanwhile.
struct SpawnPlan {
  pid_t parent;
  char** argv;
  char** envp;
  std::vector<std::pair<int, int>> fds;  // child fd -> our fd, ascending
  std::vector<int> moved;                // scratch, one per entry of fds
  sigset_t old_mask;  // runsc's mask; the parent blocks all around clone
  bool detached;      // outlives runsc: no parent-death signal
  int netns_fd;       // a network namespace to join, or -1
  int userns_fd;      // a user namespace to join as its root, or -1
  const std::vector<int>* cgroup_procs;  // cgroup.procs files to join
};

int SpawnChild(void* arg) {
  SpawnPlan& plan = *static_cast<SpawnPlan*>(arg);
  // Only async-signal-safe calls from here to exec. runsc's handlers must
  // not run here, on its memory: default them before unblocking signals.
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) continue;
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(sig, &sa, nullptr);
  }
  sigprocmask(SIG_SETMASK, &plan.old_mask, nullptr);
  if (!plan.detached) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != plan.parent && getppid() != 0) _exit(125);
  }
  // A session of its own: the terminal's job-control signals (Ctrl-C)
  // reach runsc, never the sentry or its stubs directly. The terminal
  // stays usable as stdio; it is just not their controlling terminal.
  setsid();

  // Into the container's cgroups before anything runs, so nothing it
  // forks can start outside them.
  for (int fd : *plan.cgroup_procs) {
    if (write(fd, "0", 1) != 1) {
      const char msg[] = "runsc: cannot join the container's cgroup\n";
      (void)!write(2, msg, sizeof(msg) - 1);
      _exit(125);
    }
  }
  if (plan.netns_fd >= 0 && setns(plan.netns_fd, CLONE_NEWNET) != 0) {
    const char msg[] = "runsc: cannot join the spec's network namespace\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(125);
  }
  // Raw system calls: glibc's set*id would also change the credentials of
  // runsc's threads, whose memory this child shares. setgroups is denied
  // where runsc itself runs in a user namespace whose setgroups is "deny"
  // (rootless): the groups then stay what they were, as with rootless runc.
  if (plan.userns_fd >= 0) {
    bool joined = setns(plan.userns_fd, CLONE_NEWUSER) == 0;
    if (joined) (void)syscall(SYS_setgroups, 0, nullptr);
    if (!joined || syscall(SYS_setresgid, 0, 0, 0) != 0 ||
        syscall(SYS_setresuid, 0, 0, 0) != 0) {
      const char msg[] = "runsc: cannot join the container's user namespace\n";
      (void)!write(2, msg, sizeof(msg) - 1);
      _exit(125);
    }
  }
  // Move every source above the targets first so dup2 never clobbers one.
  int high = std::max(1000, plan.fds.empty() ? 0 : plan.fds.back().first + 1);
  for (size_t i = 0; i < plan.fds.size(); i++) {
    int m = fcntl(plan.fds[i].second, F_DUPFD, high);
    if (m < 0) _exit(125);
    plan.moved[i] = m;
    high = m + 1;
  }
  for (size_t i = 0; i < plan.fds.size(); i++) {
    if (dup2(plan.moved[i], plan.fds[i].first) < 0) _exit(125);
  }
  int max_target = plan.fds.empty() ? 2 : plan.fds.back().first;
  syscall(SYS_close_range, max_target + 1, ~0U, 0);
  execve("/proc/self/exe", plan.argv, plan.envp);
  const char msg[] = "runsc: cannot re-execute itself\n";
  (void)!write(2, msg, sizeof(msg) - 1);
  _exit(125);
}

// Starts /proc/self/exe with `args`, giving the child the fds in `fds`
// (child fd -> our fd) and nothing else. With `sandbox`, the child is the
// init of a new pid namespace where that is permitted (so the kernel kills
// everything in it when it dies), in new ipc and uts namespaces and in a
// new network namespace, or the one `netns_fd` names: the sentry needs no
// host network (host sockets come from the broker), and engines find the
// container's network namespace at /proc/PID/ns/net. Where they cannot
// be made, with less isolation, unless `require_namespaces`. Unless
// `detached`, the child dies with runsc.
//
// The child borrows runsc's address space until it execs rather than
// copying it as fork would: on a VM copying page tables and then throwing
// them away at exec costs about a millisecond per child, all of it on the
// path of `runsc do`'s start-up. Its environment is runsc's own choice,
// not the caller's (which the guest gets through the boot config): USER
// spares glog a password-database lookup, GLOG_* settings pass through.
// `launch` gives what every process of a sandbox shares: detached,
// cgroup_procs, userns_fd; and, for the sandbox alone, netns_fd and
// require_namespaces.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                            const std::map<int, int>& fds, bool sandbox,
                            const LaunchPlan& launch) {
  int netns_fd = sandbox ? launch.netns_fd : -1;
  bool require_namespaces = sandbox && launch.require_namespaces;
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env = {"USER=runsc"};
  for (char** e = environ; *e != nullptr; e++) {
    if (strncmp(*e, "GLOG_", 5) == 0) env.push_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  SpawnPlan plan;
  plan.parent = getpid();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.fds.assign(fds.begin(), fds.end());
  plan.moved.resize(plan.fds.size());
  plan.detached = launch.detached;
  plan.netns_fd = netns_fd;
  plan.userns_fd = launch.userns_fd;
  plan.cgroup_procs = &launch.cgroup_procs;

  constexpr size_t kStackSize = 64 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return absl::InternalError(absl::StrCat("mmap: ", strerror(errno)));
  char* top = static_cast<char*>(stack) + kStackSize;
  int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &plan.old_mask);
  pid_t pid = -1;
  if (sandbox) {
    int ns = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
             (netns_fd >= 0 ? 0 : CLONE_NEWNET);
    pid = clone(SpawnChild, top, flags | ns, &plan);
    // Without the privilege for namespaces: as much isolation as allowed,
    // unless the caller needs them (an engine configures the container's
    // network in the sandbox's namespace: never the host's).
    if (pid < 0 && !require_namespaces)
      pid = clone(SpawnChild, top, flags | CLONE_NEWPID, &plan);
  }
  if (pid < 0 && !(sandbox && require_namespaces))
    pid = clone(SpawnChild, top, flags, &plan);
  int clone_errno = errno;
  sigprocmask(SIG_SETMASK, &plan.old_mask, nullptr);
  munmap(stack, kStackSize);
  if (pid < 0)
    return absl::InternalError(absl::StrCat("clone: ", strerror(clone_errno)));
  return pid;
}

}  // namespace

// With read(2), not an istreambuf_iterator: libstdc++'s filebuf throws
// from underflow when read fails, and /proc/PID files of a process that
// just exited fail with ESRCH (runsc aborted in `delete` on such a race).
std::string ReadHostFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

void KillAll(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (pid <= 0) continue;
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

absl::StatusOr<Launched> Launch(LaunchPlan plan) {
  BootConfig& cfg = plan.cfg;
  HostFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  auto log_or_null = [&] {
    return plan.log_fd >= 0 ? plan.log_fd : devnull.get();
  };
  // The sandbox's fds: 0-2 stdio, 3 config, 4 the root gofer, 5 the log,
  // 6 the console, then one per volume, the broker's, and the OCI ones.
  std::map<int, int> boot_fds;
  int next_fd = 7;

  // Each volume: its host directory, opened now (the gofer serves this
  // directory, whatever the path names later), and a socket to its gofer.
  struct VolumeSetup {
    HostFd root, gofer_end, sentry_end;
  };
  std::vector<VolumeSetup> volumes;
  for (const VolumeSpec& spec : plan.volumes) {
    VolumeSetup v;
    Volume* pb = cfg.add_volumes();
    pb->set_host(spec.host);
    pb->set_guest(spec.guest);
    pb->set_read_only(spec.read_only);
    pb->set_nosuid(spec.nosuid);
    pb->set_nodev(spec.nodev);
    pb->set_noexec(spec.noexec);
    if (spec.tmpfs) {  // the sandbox's own: no gofer
      pb->set_tmpfs(true);
      pb->set_tmpfs_options(spec.tmpfs_options);
      pb->set_copy_up(spec.copy_up);
      pb->set_gofer_fd(-1);
      volumes.push_back(std::move(v));
      continue;
    }
    v.root.Reset(open(spec.host.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!v.root.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("volume ", spec.host, ": ", strerror(errno)));
    }
    int vs[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, vs) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    v.gofer_end.Reset(vs[0]);
    v.sentry_end.Reset(vs[1]);
    pb->set_gofer_fd(next_fd);
    boot_fds[next_fd++] = v.sentry_end.get();
    volumes.push_back(std::move(v));
  }
  // The network broker's socket (--network=host).
  HostFd broker_end, broker_sentry_end;
  if (plan.host_network) {
    int ns[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ns) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    broker_end.Reset(ns[0]);
    broker_sentry_end.Reset(ns[1]);
    cfg.set_net_broker_fd(next_fd);
    boot_fds[next_fd++] = broker_sentry_end.get();
  }
  if (plan.start_fd >= 0) {
    cfg.set_start_fd(next_fd);
    boot_fds[next_fd++] = plan.start_fd;
  }
  if (plan.exit_fd >= 0) {
    cfg.set_exit_fd(next_fd);
    boot_fds[next_fd++] = plan.exit_fd;
  }
  if (plan.control_fd >= 0) {
    cfg.set_control_fd(next_fd);
    boot_fds[next_fd++] = plan.control_fd;
  }
  if (plan.ready_fd >= 0) {
    cfg.set_ready_fd(next_fd);
    boot_fds[next_fd++] = plan.ready_fd;
  }
  for (int fd : plan.preserved_fds) {
    cfg.add_preserved_fds(next_fd);
    boot_fds[next_fd++] = fd;
  }

  HostFd config(
      static_cast<int>(syscall(SYS_memfd_create, "runsc-config", MFD_CLOEXEC)));
  std::string bytes = cfg.SerializeAsString();
  if (!config.valid() || pwrite(config.get(), bytes.data(), bytes.size(), 0) !=
                             static_cast<ssize_t>(bytes.size())) {
    return absl::InternalError(
        absl::StrCat("writing the boot config: ", strerror(errno)));
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  HostFd gofer_end(sv[0]), sentry_end(sv[1]);

  Launched out;
  auto fail = [&out](absl::Status s) {
    std::vector<pid_t> all = out.gofers;
    all.push_back(out.broker);
    KillAll(all);
    return s;
  };
  std::vector<std::string> gofer_args = {
      "runsc-gofer", "gofer", absl::StrCat("--gofer_root=", plan.root),
      "--gofer_fd=3", absl::StrCat("--log_fd=", plan.log_fd >= 0 ? 4 : -1)};
  std::map<int, int> gofer_fds = {{0, devnull.get()},
                                  {1, devnull.get()},
                                  {2, plan.stdio[2]},
                                  {3, gofer_end.get()},
                                  {4, log_or_null()}};
  // In a user namespace the gofer may lack search permission on the
  // path's directories (its uid is the container's root, not the host's).
  HostFd root_dir;
  if (plan.userns_fd >= 0) {
    root_dir.Reset(open(plan.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_dir.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("root ", plan.root, ": ", strerror(errno)));
    }
    gofer_args.push_back("--gofer_root_fd=5");
    gofer_fds[5] = root_dir.get();
  }
  absl::StatusOr<pid_t> gofer = Spawn(gofer_args, gofer_fds, false, plan);
  if (!gofer.ok()) return gofer.status();
  out.gofers.push_back(*gofer);
  for (size_t i = 0; i < volumes.size(); i++) {
    const VolumeSpec& spec = plan.volumes[i];
    if (spec.tmpfs) continue;
    std::vector<std::string> args = {
        "runsc-gofer",
        "gofer",
        absl::StrCat("--gofer_root=", spec.host),
        "--gofer_root_fd=5",
        absl::StrCat("--gofer_read_only=", spec.read_only ? "true" : "false"),
        "--gofer_fd=3",
        absl::StrCat("--log_fd=", plan.log_fd >= 0 ? 4 : -1)};
    std::map<int, int> fds = {
        {0, devnull.get()},        {1, devnull.get()},
        {2, plan.stdio[2]},        {3, volumes[i].gofer_end.get()},
        {4, log_or_null()},  // no gap to inherit
        {5, volumes[i].root.get()}};
    absl::StatusOr<pid_t> pid = Spawn(args, fds, false, plan);
    if (!pid.ok()) return fail(pid.status());
    out.gofers.push_back(*pid);
  }

  // The network broker, in the host's network namespace, under its own
  // filter: it alone makes host sockets (runsc/netbroker.h).
  if (plan.host_network) {
    std::vector<std::string> args = {
        "runsc-net",
        "netbroker",
        "--net_fd=3",
        absl::StrCat("--net_allow_rules=",
                     absl::StrJoin(plan.allow_rules, ",")),
        absl::StrCat("--net_listen_ports=",
                     absl::StrJoin(plan.listen_ports, ",")),
        absl::StrCat("--sandbox_name=", plan.name)};
    std::map<int, int> fds = {{0, devnull.get()},
                              {1, devnull.get()},
                              {2, plan.stdio[2]},
                              {3, broker_end.get()}};
    absl::StatusOr<pid_t> pid = Spawn(args, fds, false, plan);
    if (!pid.ok()) return fail(pid.status());
    out.broker = *pid;
  }

  std::vector<std::string> boot_args = {
      "runsc-sandbox",
      "boot",
      "--config_fd=3",
      "--gofer_fd=4",
      absl::StrCat("--log_fd=", plan.log_fd >= 0 ? 5 : -1),
      absl::StrCat("--debug=", plan.debug ? "true" : "false"),
      absl::StrCat("--console_fd=", plan.console_fd >= 0 ? 6 : -1)};
  boot_fds[0] = plan.stdio[0];
  boot_fds[1] = plan.stdio[1];
  boot_fds[2] = plan.stdio[2];
  boot_fds[3] = config.get();
  boot_fds[4] = sentry_end.get();
  // No fd of runsc's in a gap below the later ones.
  boot_fds[5] = log_or_null();
  boot_fds[6] = plan.console_fd >= 0 ? plan.console_fd : devnull.get();
  absl::StatusOr<pid_t> sandbox = Spawn(boot_args, boot_fds, true, plan);
  if (!sandbox.ok()) return fail(sandbox.status());
  out.sandbox = *sandbox;
  return out;
}

}  // namespace runsc
