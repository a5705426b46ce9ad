#include "runsc/do.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runsc/boot_config.pb.h"
#include "runsc/dns.h"
#include "runsc/flags.h"
#include "runsc/netbroker.h"
#include "sentry/base/host_fd.h"
#include "sentry/fs/devpts/console.h"

extern char** environ;

namespace runsc {

namespace {

// The sandbox's fds from here on: the volumes' gofer sockets, then the
// network broker's.
constexpr int kVolumeFdBaseForDo = 7;

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
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent && getppid() != 0) _exit(125);
  // A session of its own: the terminal's job-control signals (Ctrl-C)
  // reach runsc, never the sentry or its stubs directly. The terminal
  // stays usable as stdio; it is just not their controlling terminal.
  setsid();

  // Move every source above the targets first so dup2 never clobbers one.
  int high = 1000;
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
// (child fd -> our fd) and nothing else. With `new_pid_ns`, the child is
// the init of a new pid namespace where that is permitted, so the kernel
// kills everything in it when it dies.
//
// The child borrows runsc's address space until it execs rather than
// copying it as fork would: on a VM copying page tables and then throwing
// them away at exec costs about a millisecond per child, all of it on the
// path of `runsc do`'s start-up. Its environment is runsc's own choice,
// not the caller's (which the guest gets through the boot config): USER
// spares glog a password-database lookup, GLOG_* settings pass through.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                            const std::map<int, int>& fds, bool new_pid_ns) {
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
  if (new_pid_ns) pid = clone(SpawnChild, top, flags | CLONE_NEWPID, &plan);
  if (pid < 0) pid = clone(SpawnChild, top, flags, &plan);
  int clone_errno = errno;
  sigprocmask(SIG_SETMASK, &plan.old_mask, nullptr);
  munmap(stack, kStackSize);
  if (pid < 0)
    return absl::InternalError(absl::StrCat("clone: ", strerror(clone_errno)));
  return pid;
}

// Signals runsc passes on to the sandbox.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
volatile sig_atomic_t forward_to = -1;

void ForwardSignal(int sig) {
  int saved = errno;
  if (forward_to > 0) kill(forward_to, sig);
  errno = saved;
}

// ---- The console of `runsc do -t` ----

// The host terminal's modes before raw mode, restored on every way out:
// the normal end, and signals that stop or end runsc (from their
// handlers, hence plain globals and async-signal-safe calls only).
struct termios saved_termios;
volatile sig_atomic_t raw_mode = 0;
// Written by SIGWINCH's handler, read by the copy loop.
int winch_pipe[2] = {-1, -1};

void EnterRawMode() {
  struct termios raw = saved_termios;
  cfmakeraw(&raw);
  // Output stays processed by the host terminal as it was: the pty inside
  // already did ONLCR.
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  raw_mode = 1;
}

void RestoreTerminal() {
  if (raw_mode) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  raw_mode = 0;
}

void OnWinch(int) {
  int saved = errno;
  (void)!write(winch_pipe[1], "w", 1);
  errno = saved;
}

// Ctrl-Z cannot reach runsc in raw mode, but `kill -TSTP` can: give the
// terminal back while stopped, and take it again when continued.
void OnStop(int sig) {
  int saved = errno;
  bool was_raw = raw_mode;
  RestoreTerminal();
  signal(sig, SIG_DFL);
  raise(sig);
  // Continued.
  struct sigaction sa = {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  if (was_raw) EnterRawMode();
  (void)!write(winch_pipe[1], "w", 1);  // the size may have changed
  errno = saved;
}

// A fatal signal runsc does not forward: the terminal is restored first.
void OnFatal(int sig) {
  RestoreTerminal();
  signal(sig, SIG_DFL);
  raise(sig);
}

// Sends a type byte and `len` bytes as one message.
bool SendMessage(int fd, char type, const void* data, size_t len) {
  char buf[4097];
  buf[0] = type;
  memcpy(buf + 1, data, len);
  ssize_t n;
  do {
    n = send(fd, buf, len + 1, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(len + 1);
}

void SendWindowSize(int sock) {
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
    SendMessage(sock, sentry::fs::devpts::kConsoleResize, &ws, sizeof(ws));
  }
}

bool WriteAll(int fd, const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Copies between the host terminal and the console socket until the
// sandbox closes its end (it has exited).
void CopyConsole(int sock) {
  SendWindowSize(sock);
  bool stdin_open = true;
  std::vector<char> buf(65536);
  for (;;) {
    struct pollfd fds[3] = {{sock, POLLIN, 0},
                            {winch_pipe[0], POLLIN, 0},
                            {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    int r = poll(fds, 3, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      char drain[64];
      (void)!read(winch_pipe[0], drain, sizeof(drain));
      SendWindowSize(sock);
    }
    if (fds[0].revents != 0) {
      ssize_t n = recv(sock, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the sandbox is gone
      WriteAll(STDOUT_FILENO, buf.data(), static_cast<size_t>(n));
    }
    if (stdin_open && fds[2].revents != 0) {
      ssize_t n = read(STDIN_FILENO, buf.data(), 4096);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        stdin_open = false;  // the guest sees no more input
        continue;
      }
      if (!SendMessage(sock, sentry::fs::devpts::kConsoleInput, buf.data(),
                       static_cast<size_t>(n))) {
        return;
      }
    }
  }
}

// The sandbox reports a guest's death by signal N as exit code 128 + N; the
// sandbox process itself dying by a signal means the sentry crashed or was
// killed, which is runsc's own failure (125, as runc and Docker use).
int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "runsc: the sandbox died with signal %d (%s)\n",
            WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return 125;
}

}  // namespace

absl::StatusOr<std::vector<VolumeSpec>> ParseVolumes(
    const std::vector<std::string>& values) {
  std::vector<VolumeSpec> out;
  for (const std::string& value : values) {
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrCat("-v ", value, ": ", why, " (expected HOST:GUEST[:ro])"));
    };
    std::vector<std::string> parts = absl::StrSplit(value, ':');
    VolumeSpec v;
    if (parts.size() == 3 && (parts[2] == "ro" || parts[2] == "rw")) {
      v.read_only = parts[2] == "ro";
    } else if (parts.size() != 2) {
      return bad(
          "neither path may contain ':' and the only options are ro "
          "and rw");
    }
    if (parts[0].empty() || parts[1].empty()) return bad("an empty path");
    char real[PATH_MAX];
    if (realpath(parts[0].c_str(), real) == nullptr) {
      return bad(absl::StrCat("host path ", parts[0], ": ", strerror(errno)));
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return bad(absl::StrCat("host path ", parts[0],
                              " is not a directory (only directories can be "
                              "volumes)"));
    }
    v.host = real;
    if (parts[1][0] != '/') return bad("GUEST must be an absolute path");
    std::vector<std::string> names;
    for (absl::string_view c : absl::StrSplit(parts[1], '/')) {
      if (c.empty()) continue;
      if (c == "." || c == "..") return bad("GUEST may not contain . or ..");
      names.emplace_back(c);
    }
    if (names.empty()) return bad("GUEST may not be /");
    if (names[0] == "proc" || names[0] == "sys" || names[0] == "dev") {
      return bad(absl::StrCat("GUEST may not be in /", names[0],
                              ", which the sandbox provides itself"));
    }
    v.guest = "/" + absl::StrJoin(names, "/");
    for (const VolumeSpec& o : out) {
      if (o.guest == v.guest) return bad(absl::StrCat(v.guest, " given twice"));
    }
    out.push_back(std::move(v));
  }
  // A parent before anything mounted below it.
  std::sort(out.begin(), out.end(),
            [](const VolumeSpec& a, const VolumeSpec& b) {
              return a.guest < b.guest;
            });
  return out;
}

namespace {

// The host's file at `path`, or "" if it cannot be read (a host without
// /etc/hosts gets only the --add-host lines).
std::string ReadHostFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// /etc/resolv.conf and /etc/hosts for --dns, --dns-search, --dns-option
// and --add-host, built on the host's and written into the root overlay
// by the sandbox.
absl::Status AddNameFiles(const DoArgs& args, BootConfig& cfg) {
  bool resolv =
      !args.dns.empty() || !args.dns_search.empty() || !args.dns_option.empty();
  if (!resolv && args.add_host.empty()) return absl::OkStatus();
  if (!FLAGS_overlay) {
    return absl::InvalidArgumentError(
        "--dns, --dns-search, --dns-option and --add-host write into the "
        "root overlay, which --overlay=false turns off");
  }
  if (resolv) {
    absl::StatusOr<std::string> conf =
        ComposeResolvConf(ReadHostFile("/etc/resolv.conf"), args.dns,
                          args.dns_search, args.dns_option);
    if (!conf.ok()) return conf.status();
    GuestFile* f = cfg.add_files();
    f->set_path("/etc/resolv.conf");
    f->set_content(*conf);
  }
  if (!args.add_host.empty()) {
    absl::StatusOr<std::string> hosts =
        ComposeHosts(ReadHostFile("/etc/hosts"), args.add_host);
    if (!hosts.ok()) return hosts.status();
    GuestFile* f = cfg.add_files();
    f->set_path("/etc/hosts");
    f->set_content(*hosts);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> RunDo(const DoArgs& args) {
  const std::vector<std::string>& command = args.command;
  const std::vector<std::string>& volume_values = args.volumes;
  const std::vector<std::string>& net_allow = args.net_allow;
  const std::vector<std::string>& net_listen = args.net_listen;
  if (command.empty())
    return absl::InvalidArgumentError("runsc do: no command given");
  BootConfig cfg;
  // The network: checked before anything starts.
  if (FLAGS_network != "none" && FLAGS_network != "host") {
    return absl::InvalidArgumentError(
        absl::StrCat("--network=", FLAGS_network, ": expected none or host"));
  }
  bool host_network = FLAGS_network == "host";
  if (!host_network && (!net_allow.empty() || !net_listen.empty())) {
    return absl::InvalidArgumentError(
        "--net-allow and --net-listen need --network=host");
  }
  std::vector<std::string> allow_rules, listen_ports;
  for (const std::string& v : net_allow) {
    absl::StatusOr<sentry::net::host::AllowRule> r =
        sentry::net::host::ParseAllowRule(v);
    if (!r.ok()) return r.status();
    allow_rules.push_back(r->ToString());
  }
  for (const std::string& v : net_listen) {
    absl::StatusOr<std::pair<uint16_t, uint16_t>> r = ParseListenPorts(v);
    if (!r.ok()) return r.status();
    listen_ports.push_back(absl::StrCat(r->first, "-", r->second));
    cfg.add_net_listen_first(r->first);
    cfg.add_net_listen_last(r->second);
  }
  for (const std::string& a : command) cfg.add_argv(a);
  // The caller's environment, with --env entries replacing or adding.
  std::map<std::string, std::string> env;
  std::vector<std::string> order;
  auto put = [&](const std::string& kv) {
    std::string key = kv.substr(0, kv.find('='));
    if (env.emplace(key, kv).second) {
      order.push_back(key);
    } else {
      env[key] = kv;
    }
  };
  for (char** e = environ; *e != nullptr; e++) put(*e);
  for (const std::string& kv : args.env) {
    if (kv.find('=') == std::string::npos || kv[0] == '=') {
      return absl::InvalidArgumentError(
          absl::StrCat("--env=", kv, ": expected KEY=VALUE"));
    }
    put(kv);
  }
  for (const std::string& key : order) cfg.add_env(env[key]);
  std::string cwd = FLAGS_cwd;
  if (cwd.empty()) {
    char buf[4096];
    cwd = getcwd(buf, sizeof(buf)) != nullptr ? buf : "/";
  }
  if (cwd[0] != '/')
    return absl::InvalidArgumentError("--cwd must be an absolute path");
  cfg.set_cwd(cwd);
  cfg.set_platform(FLAGS_platform);
  cfg.set_strace(FLAGS_strace);
  cfg.set_uid(getuid());
  cfg.set_gid(getgid());
  cfg.set_hostname(FLAGS_hostname);
  if (FLAGS_max_tasks < 1) {
    return absl::InvalidArgumentError("--max_tasks must be at least 1");
  }
  cfg.set_max_tasks(FLAGS_max_tasks);
  cfg.set_read_only_root(!FLAGS_overlay);
  absl::Status names = AddNameFiles(args, cfg);
  if (!names.ok()) return names;

  // The network broker's socket (--network=host); the sandbox gets its end
  // after the volumes' sockets.
  HostFd broker_end, broker_sentry_end;
  int broker_fd = kVolumeFdBaseForDo + static_cast<int>(volume_values.size());
  if (host_network) {
    int ns[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ns) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    broker_end.Reset(ns[0]);
    broker_sentry_end.Reset(ns[1]);
    cfg.set_net_broker_fd(broker_fd);
  }

  // Each volume: its host directory, opened now (the gofer serves this
  // directory, whatever the path names later), and a socket to its gofer.
  // The sandbox gets the sockets from kVolumeFdBase on.
  constexpr int kVolumeFdBase = kVolumeFdBaseForDo;
  struct VolumeSetup {
    VolumeSpec spec;
    HostFd root, gofer_end, sentry_end;
    pid_t pid = -1;
  };
  absl::StatusOr<std::vector<VolumeSpec>> specs = ParseVolumes(volume_values);
  if (!specs.ok()) return specs.status();
  std::vector<VolumeSetup> volumes;
  for (VolumeSpec& spec : *specs) {
    VolumeSetup v;
    v.root.Reset(open(spec.host.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!v.root.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("-v: ", spec.host, ": ", strerror(errno)));
    }
    int vs[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, vs) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    v.gofer_end.Reset(vs[0]);
    v.sentry_end.Reset(vs[1]);
    Volume* pb = cfg.add_volumes();
    pb->set_host(spec.host);
    pb->set_guest(spec.guest);
    pb->set_read_only(spec.read_only);
    pb->set_gofer_fd(kVolumeFdBase + static_cast<int>(volumes.size()));
    v.spec = std::move(spec);
    volumes.push_back(std::move(v));
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
  HostFd log;
  if (!FLAGS_debug_log.empty()) {
    log.Reset(open(FLAGS_debug_log.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--debug_log=", FLAGS_debug_log, ": ", strerror(errno)));
    }
  }
  HostFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));

  // A terminal of its own for the guest: asked for, or by default when
  // runsc runs on one both ways (output captured from a pipe must not get
  // a terminal's "\r\n").
  gflags::CommandLineFlagInfo t_info;
  gflags::GetCommandLineFlagInfo("t", &t_info);
  bool console = t_info.is_default
                     ? isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
                     : FLAGS_t;
  if (console && tcgetattr(STDIN_FILENO, &saved_termios) != 0) {
    return absl::FailedPreconditionError("-t: runsc's stdin is not a terminal");
  }
  HostFd console_runsc, console_sandbox;
  if (console) {
    int cv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cv) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    console_runsc.Reset(cv[0]);
    console_sandbox.Reset(cv[1]);
  }

  std::vector<std::string> gofer_args = {
      "runsc-gofer", "gofer", "--gofer_root=/", "--gofer_fd=3",
      absl::StrCat("--log_fd=", log.valid() ? 4 : -1)};
  std::map<int, int> gofer_fds = {{0, devnull.get()},
                                  {1, devnull.get()},
                                  {2, STDERR_FILENO},
                                  {3, gofer_end.get()}};
  if (log.valid()) gofer_fds[4] = log.get();
  absl::StatusOr<pid_t> gofer = Spawn(gofer_args, gofer_fds, false);
  if (!gofer.ok()) return gofer.status();
  // Every gofer, the root's first, to be killed and reaped at the end.
  std::vector<pid_t> gofers = {*gofer};
  auto stop_gofers = [&gofers] {
    for (pid_t pid : gofers) {
      if (pid <= 0) continue;
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  };
  for (VolumeSetup& v : volumes) {
    std::vector<std::string> args = {
        "runsc-gofer",
        "gofer",
        absl::StrCat("--gofer_root=", v.spec.host),
        "--gofer_root_fd=5",
        absl::StrCat("--gofer_read_only=", v.spec.read_only ? "true" : "false"),
        "--gofer_fd=3",
        absl::StrCat("--log_fd=", log.valid() ? 4 : -1)};
    std::map<int, int> fds = {{0, devnull.get()},
                              {1, devnull.get()},
                              {2, STDERR_FILENO},
                              {3, v.gofer_end.get()},
                              {5, v.root.get()}};
    fds[4] = log.valid() ? log.get() : devnull.get();  // no gap to inherit
    absl::StatusOr<pid_t> pid = Spawn(args, fds, false);
    if (!pid.ok()) {
      stop_gofers();
      return pid.status();
    }
    v.pid = *pid;
    gofers.push_back(*pid);
  }

  // The network broker, in the host's network namespace, under its own
  // filter: it alone makes host sockets (runsc/netbroker.h).
  pid_t broker = -1;
  if (host_network) {
    std::vector<std::string> args = {
        "runsc-net",
        "netbroker",
        "--net_fd=3",
        absl::StrCat("--net_allow_rules=", absl::StrJoin(allow_rules, ",")),
        absl::StrCat("--net_listen_ports=", absl::StrJoin(listen_ports, ",")),
        absl::StrCat("--sandbox_name=do-", getpid())};
    std::map<int, int> fds = {{0, devnull.get()},
                              {1, devnull.get()},
                              {2, STDERR_FILENO},
                              {3, broker_end.get()}};
    absl::StatusOr<pid_t> pid = Spawn(args, fds, false);
    if (!pid.ok()) {
      stop_gofers();
      return pid.status();
    }
    broker = *pid;
    gofers.push_back(broker);
  }

  std::vector<std::string> boot_args = {
      "runsc-sandbox",
      "boot",
      "--config_fd=3",
      "--gofer_fd=4",
      absl::StrCat("--log_fd=", log.valid() ? 5 : -1),
      absl::StrCat("--debug=", FLAGS_debug ? "true" : "false"),
      absl::StrCat("--console_fd=", console ? 6 : -1)};
  // With a console the sandbox gets no host terminal at all: the guest's
  // stdio is the pty inside. Its own messages still go to stderr.
  std::map<int, int> boot_fds = {{0, console ? devnull.get() : STDIN_FILENO},
                                 {1, console ? devnull.get() : STDOUT_FILENO},
                                 {2, STDERR_FILENO},
                                 {3, config.get()},
                                 {4, sentry_end.get()}};
  if (log.valid()) boot_fds[5] = log.get();
  if (console) boot_fds[6] = console_sandbox.get();
  for (size_t i = 0; i < volumes.size(); i++) {
    boot_fds[kVolumeFdBase + static_cast<int>(i)] = volumes[i].sentry_end.get();
  }
  if (host_network) boot_fds[broker_fd] = broker_sentry_end.get();
  // No fd of runsc's in a gap below the volumes' and broker's sockets.
  if (!volumes.empty() || host_network) {
    for (int fd = 5; fd < kVolumeFdBase; fd++)
      boot_fds.emplace(fd, devnull.get());
  }
  absl::StatusOr<pid_t> sandbox = Spawn(boot_args, boot_fds, true);
  if (!sandbox.ok()) {
    stop_gofers();
    return sandbox.status();
  }
  for (VolumeSetup& v : volumes) {
    v.gofer_end.Reset();
    v.sentry_end.Reset();
    v.root.Reset();
  }
  gofer_end.Reset();
  sentry_end.Reset();
  broker_end.Reset();
  broker_sentry_end.Reset();
  config.Reset();
  console_sandbox.Reset();

  // A terminal's Ctrl-C, Ctrl-\ and hangup, and a supervisor's SIGTERM,
  // go to runsc (the sandbox has a session of its own); pass them on to
  // the sandbox, which delivers them to the guest's foreground process
  // group.
  forward_to = *sandbox;
  struct sigaction sa = {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
  if (console) {
    if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
    }
    struct sigaction h = {};
    sigemptyset(&h.sa_mask);
    h.sa_handler = OnWinch;
    h.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &h, nullptr);
    h.sa_handler = OnStop;
    for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) sigaction(sig, &h, nullptr);
    h.sa_handler = OnFatal;
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGPIPE, SIGALRM,
                    SIGUSR1, SIGUSR2}) {
      sigaction(sig, &h, nullptr);
    }
    EnterRawMode();
    CopyConsole(console_runsc.get());
    RestoreTerminal();
  }
  int status = 0;
  for (;;) {
    int child_status = 0;
    pid_t pid = waitpid(-1, &child_status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0 || pid == *sandbox) {
      status = child_status;
      break;
    }
    // A gofer died before the sandbox: its files now fail with EIO inside,
    // and the sandbox runs on. Say which. (A gofer that exits 0 saw the
    // sandbox hang up: the sandbox is ending.)
    for (size_t i = 0; i < gofers.size(); i++) {
      if (gofers[i] != pid) continue;
      gofers[i] = -1;
      if (WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0) continue;
      if (pid == broker) {
        fprintf(stderr,
                "runsc: the network broker (pid %d) died; host connections "
                "fail with ENETDOWN\n",
                pid);
        continue;
      }
      std::string what = i == 0
                             ? std::string("the root filesystem")
                             : absl::StrCat("volume ", volumes[i - 1].spec.host,
                                            ":", volumes[i - 1].spec.guest);
      std::string how =
          WIFSIGNALED(child_status)
              ? absl::StrCat("killed by signal ", WTERMSIG(child_status))
              : absl::StrCat("exited with status ", WEXITSTATUS(child_status));
      fprintf(stderr,
              "runsc: the gofer of %s (pid %d) %s; its files fail with EIO\n",
              what.c_str(), pid, how.c_str());
    }
  }
  forward_to = -1;
  // A gofer exits when the sentry's end of its socket closes; make sure.
  stop_gofers();
  return ExitCodeOf(status);
}

}  // namespace runsc
