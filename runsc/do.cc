#include "runsc/do.h"

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

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "runsc/boot_config.pb.h"
#include "runsc/flags.h"
#include "sentry/base/host_fd.h"

extern char** environ;

namespace runsc {

namespace {

using sentry::HostFd;

// Starts /proc/self/exe with `args`, giving the child the fds in `fds`
// (child fd -> our fd) and nothing else. With `new_pid_ns`, the child is
// the init of a new pid namespace where that is permitted, so the kernel
// kills everything in it when it dies.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                            const std::map<int, int>& fds, bool new_pid_ns) {
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = getpid();
  long pid = -1;
  if (new_pid_ns)
    pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, nullptr, nullptr, 0);
  if (pid < 0) pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent && getppid() != 0) _exit(125);
    // A session of its own: the terminal's job-control signals (Ctrl-C)
    // reach runsc, never the sentry or its stubs directly. The terminal
    // stays usable as stdio; it is just not their controlling terminal.
    setsid();

    // Move every source above the targets first so dup2 never clobbers one.
    int high = 1000;
    std::map<int, int> moved;
    for (const auto& [target, source] : fds) {
      int m = fcntl(source, F_DUPFD, high);
      if (m < 0) _exit(125);
      moved[target] = m;
      high = m + 1;
    }
    for (const auto& [target, m] : moved) {
      if (dup2(m, target) < 0) _exit(125);
    }
    int max_target = fds.empty() ? 2 : fds.rbegin()->first;
    syscall(SYS_close_range, max_target + 1, ~0U, 0);
    execv("/proc/self/exe", argv.data());
    const char msg[] = "runsc: cannot re-execute itself\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(125);
  }
  return static_cast<pid_t>(pid);
}

// Signals runsc passes on to the sandbox.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
volatile sig_atomic_t forward_to = -1;

void ForwardSignal(int sig) {
  int saved = errno;
  if (forward_to > 0) kill(forward_to, sig);
  errno = saved;
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

absl::StatusOr<int> RunDo(const std::vector<std::string>& command,
                          const std::vector<std::string>& env_overrides) {
  if (command.empty())
    return absl::InvalidArgumentError("runsc do: no command given");
  BootConfig cfg;
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
  for (const std::string& kv : env_overrides) {
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

  std::vector<std::string> boot_args = {
      "runsc-sandbox",
      "boot",
      "--config_fd=3",
      "--gofer_fd=4",
      absl::StrCat("--log_fd=", log.valid() ? 5 : -1),
      absl::StrCat("--debug=", FLAGS_debug ? "true" : "false")};
  std::map<int, int> boot_fds = {{0, STDIN_FILENO},
                                 {1, STDOUT_FILENO},
                                 {2, STDERR_FILENO},
                                 {3, config.get()},
                                 {4, sentry_end.get()}};
  if (log.valid()) boot_fds[5] = log.get();
  absl::StatusOr<pid_t> sandbox = Spawn(boot_args, boot_fds, true);
  if (!sandbox.ok()) {
    kill(*gofer, SIGKILL);
    waitpid(*gofer, nullptr, 0);
    return sandbox.status();
  }
  gofer_end.Reset();
  sentry_end.Reset();
  config.Reset();

  // A terminal's Ctrl-C, Ctrl-\ and hangup, and a supervisor's SIGTERM,
  // go to runsc (the sandbox has a session of its own); pass them on to
  // the sandbox, which delivers them to the guest's foreground process
  // group.
  forward_to = *sandbox;
  struct sigaction sa = {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
  int status = 0;
  while (waitpid(*sandbox, &status, 0) < 0 && errno == EINTR) {
  }
  forward_to = -1;
  // The gofer exits when the sentry's end of the socket closes; make sure.
  kill(*gofer, SIGKILL);
  while (waitpid(*gofer, nullptr, 0) < 0 && errno == EINTR) {
  }
  return ExitCodeOf(status);
}

}  // namespace runsc
