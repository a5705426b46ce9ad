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
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runsc/boot_config.pb.h"
#include "runsc/dns.h"
#include "runsc/flags.h"
#include "runsc/host_terminal.h"
#include "runsc/netbroker.h"
#include "runsc/sandbox.h"
#include "sentry/base/host_fd.h"
#include "sentry/fs/devpts/console.h"

extern char** environ;

namespace runsc {

namespace {

using sentry::HostFd;

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
  cfg.add_mqueue_mounts("/dev/mqueue");
  cfg.set_read_only_root(!FLAGS_overlay);
  absl::Status names = AddNameFiles(args, cfg);
  if (!names.ok()) return names;

  LaunchPlan plan;
  absl::StatusOr<std::vector<VolumeSpec>> specs = ParseVolumes(volume_values);
  if (!specs.ok()) return specs.status();
  plan.volumes = std::move(*specs);
  plan.host_network = host_network;
  plan.allow_rules = std::move(allow_rules);
  plan.listen_ports = std::move(listen_ports);
  plan.name = absl::StrCat("do-", getpid());
  HostFd log;
  if (!FLAGS_debug_log.empty()) {
    log.Reset(open(FLAGS_debug_log.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--debug_log=", FLAGS_debug_log, ": ", strerror(errno)));
    }
  }
  plan.log_fd = log.get();
  plan.debug = FLAGS_debug;
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
    // With a console the sandbox gets no host terminal at all: the
    // guest's stdio is the pty inside. Its own messages still go to
    // stderr.
    plan.stdio[0] = plan.stdio[1] = devnull.get();
    plan.console_fd = console_sandbox.get();
  }
  plan.cfg = std::move(cfg);
  absl::StatusOr<Launched> launched = Launch(plan);
  if (!launched.ok()) return launched.status();
  console_sandbox.Reset();
  pid_t sandbox = launched->sandbox;
  pid_t broker = launched->broker;
  // Every gofer, the root's first, and the broker, to be killed and reaped
  // at the end.
  std::vector<pid_t> gofers = launched->gofers;
  if (broker > 0) gofers.push_back(broker);

  // A terminal's Ctrl-C, Ctrl-\ and hangup, and a supervisor's SIGTERM,
  // go to runsc (the sandbox has a session of its own); pass them on to
  // the sandbox, which delivers them to the guest's foreground process
  // group.
  forward_to = sandbox;
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
    if (pid < 0 || pid == sandbox) {
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
                             : absl::StrCat("volume ", plan.volumes[i - 1].host,
                                            ":", plan.volumes[i - 1].guest);
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
  KillAll(gofers);
  return ExitCodeOf(status);
}

}  // namespace runsc
