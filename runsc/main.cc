// runsc: the command line of the sandbox.
//
//   runsc do [flags] [--] CMD [ARGS...]   run CMD in a new sandbox
//   runsc syscalls [--format=table|markdown]
//
// runsc also runs itself as the sandbox ("boot") and the gofer ("gofer");
// those verbs are internal.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gofer/gofer.h"
#include "runsc/boot_config.pb.h"
#include "runsc/control.h"
#include "runsc/do.h"
#include "runsc/flags.h"
#include "runsc/log_sink.h"
#include "runsc/netbroker.h"
#include "runsc/oci_verbs.h"
#include "sentry/boot/boot.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/syscalls/linux/table.h"

namespace runsc {
namespace {

constexpr char kUsage[] =
    "usage: runsc VERB [flags] [--] [args]\n"
    "\n"
    "verbs:\n"
    "  do [flags] [--] CMD [ARGS...]  run CMD in a new sandbox; exits with its "
    "status\n"
    "  syscalls [--format=table|markdown]  print the system call table\n"
    "  create, start, state, kill, delete, run, exec, ps, pause, resume,\n"
    "  list, wait, spec, features, events, update\n"
    "                       the OCI runtime (runc's command line; see the\n"
    "                       README), with --root=DIR (default /run/runsc)\n"
    "  debug [--stacks] [--strace=on|off] ID\n"
    "                       what each task of a running container is doing;\n"
    "                       trace its system calls to stdout from now on\n"
    "\n"
    "flags of `do`:\n"
    "  --platform=NAME      how guest code runs: systrap, ptrace, or auto\n"
    "                       (default: systrap where the kernel allows it)\n"
    "  --strace             print every guest system call on stderr\n"
    "  --debug-log=FILE     write the sandbox's and the gofer's logs to FILE\n"
    "  --debug              verbose logs\n"
    "  --cwd=DIR            working directory (default: the current one)\n"
    "  --env=KEY=VALUE      set an environment variable (repeatable)\n"
    "  -v, --volume=HOST:GUEST[:ro]\n"
    "                       bind the host directory HOST at GUEST, read-write\n"
    "                       (writes reach the host) or with :ro read-only;\n"
    "                       GUEST is absolute, not under /proc, /sys or /dev\n"
    "                       (repeatable)\n"
    "  --hostname=NAME      host name inside the sandbox (default sandbox)\n"
    "  --overlay=false      mount the host root read-only instead of under a\n"
    "                       sandbox-private in-memory overlay\n"
    "  -t[=false]           run on a pseudo-terminal connected to this one\n"
    "                       (default: when stdin and stdout are terminals)\n"
    "  --network=none|host  none (default): the sandbox's own loopback only;\n"
    "                       host: also host sockets, made by a broker outside\n"
    "                       the sandbox, to what --net-allow names\n"
    "  --net-allow=CIDR[:PORT[-PORT]]\n"
    "                       with --network=host, a destination the sandbox\n"
    "                       may reach (IPv6 as [CIDR]:PORT; repeatable);\n"
    "                       others fail with EACCES and a denial line here\n"
    "  --net-listen=PORT[-PORT]\n"
    "                       with --network=host, host ports the sandbox may\n"
    "                       also listen on (repeatable)\n"
    "  --dns=IP             a nameserver for the sandbox's /etc/resolv.conf\n"
    "                       (repeatable, at most 3; replaces the host's)\n"
    "  --dns-search=DOMAIN  a search domain (repeatable; replaces the host's)\n"
    "  --dns-option=OPTION  a resolv.conf option, e.g. ndots:2 (repeatable)\n"
    "  --add-host=NAME:IP   a line for the sandbox's /etc/hosts, ahead of the\n"
    "                       host's entries (repeatable)\n"
    "                       (without these, /etc/resolv.conf and /etc/hosts\n"
    "                       are the host's; with them, new files in the\n"
    "                       overlay: the host's never change)\n";

struct Parsed {
  std::string verb;
  std::vector<std::string> flags;  // for gflags
  DoArgs args;                     // the repeatable flags and the command
  bool help = false;               // -h, --help
  bool version = false;            // -v, --version before the verb
};

// This build's version, and the runtime spec version it implements.
constexpr char kVersion[] = "0.1.0";
constexpr char kSpecVersion[] = "1.0.2";

// One line on each verb, for `runsc VERB --help` (runc's layout: engines
// and people read the NAME and USAGE lines).
const std::map<std::string, std::pair<std::string, std::string>>& VerbHelp() {
  static const auto* help =
      new std::map<std::string, std::pair<std::string, std::string>>{
          {"do",
           {"[flags] [--] CMD [ARGS...]",
            "run CMD in a new sandbox; exits with its status"}},
          {"syscalls",
           {"[--format=table|markdown]",
            "print the system call table with support levels"}},
          {"create",
           {"[--bundle DIR] [--pid-file FILE] [--console-socket "
            "SOCKET] ID",
            "create a container"}},
          {"start",
           {"ID",
            "execute the user-defined process of a created "
            "container"}},
          {"run",
           {"[--bundle DIR] [--detach] [--keep] [--pid-file FILE] "
            "[--console-socket SOCKET] ID",
            "create and run a container"}},
          {"state", {"ID", "output the state of a container"}},
          {"kill",
           {"[--all] ID [SIGNAL]",
            "send a signal (default SIGTERM) to a container's init"}},
          {"delete",
           {"[--force] ID",
            "delete a container and everything "
            "it holds on the host"}},
          {"exec",
           {"[flags] ID CMD [ARGS...] | --process FILE ID",
            "execute a new process inside a container"}},
          {"ps",
           {"[--format table|json] ID",
            "list the processes running inside a container"}},
          {"list", {"[--format table|json] [--quiet]", "list containers"}},
          {"events",
           {"[--stats] [--interval DURATION] ID",
            "display container events and statistics"}},
          {"pause", {"ID", "suspend all processes inside a container"}},
          {"resume", {"ID", "resume all processes of a paused container"}},
          {"wait",
           {"ID",
            "wait for a container's init and print its exit "
            "status"}},
          {"spec", {"[--bundle DIR]", "create a new specification file"}},
          {"features", {"", "show the enabled features"}},
          {"update",
           {"[--resources FILE|-] [--memory N] [--memory-swap N] "
            "[--memory-reservation N] [--cpu-share N] "
            "[--cpu-period N] [--cpu-quota N] [--pids-limit N] ID",
            "update a running container's cgroup limits"}},
          {"debug",
           {"[--stacks] [--strace=on|off] ID",
            "what each task of a running container is doing; trace "
            "its system calls to stdout from now on"}},
      };
  return *help;
}

// `runsc --help`, `runsc VERB --help`: the verb's or the whole usage on
// stdout, status 0; a verb there is none of: runc's error, status 3.
int PrintHelp(const std::string& verb) {
  if (verb.empty() || verb == "help") {
    printf(
        "NAME:\n   runsc - Open Container Initiative runtime that runs "
        "containers in a user-space kernel sandbox\n\n%s",
        kUsage);
    return 0;
  }
  auto it = VerbHelp().find(verb);
  if (it == VerbHelp().end()) {
    fprintf(stderr, "No help topic for '%s'\n", verb.c_str());
    return 3;
  }
  printf(
      "NAME:\n   runsc %s - %s\n\nUSAGE:\n   runsc %s %s\n\n"
      "(flags: runsc --help)\n",
      verb.c_str(), it->second.second.c_str(), verb.c_str(),
      it->second.first.c_str());
  return 0;
}

// The flags that may repeat, by gflags-style name, and where they go.
std::vector<std::string>* Repeated(DoArgs& a, const std::string& name) {
  if (name == "env") return &a.env;
  if (name == "v" || name == "volume") return &a.volumes;
  if (name == "net_allow") return &a.net_allow;
  if (name == "net_listen") return &a.net_listen;
  if (name == "dns") return &a.dns;
  if (name == "dns_search") return &a.dns_search;
  if (name == "dns_option") return &a.dns_option;
  if (name == "add_host") return &a.add_host;
  if (name == "additional_gids") return &a.additional_gids;
  if (name == "cap") return &a.caps;
  return nullptr;
}

// Splits `runsc VERB [flags] [--] [args]`. Flags stop at "--" or at the
// first argument that is not a flag, so a command's own flags are never
// taken for runsc's. Flags that may repeat (--env, -v, ...) are collected
// here rather than by gflags, which keeps only the last value of a flag.
absl::StatusOr<Parsed> Split(int argc, char** argv) {
  Parsed p;
  int i = 1;
  auto take_flags = [&]() -> absl::Status {
    while (i < argc) {
      std::string a = argv[i];
      if (a == "--") {
        i++;
        return absl::OkStatus();
      }
      if (a.size() < 2 || a[0] != '-') return absl::OkStatus();
      std::string body = a.substr(a[1] == '-' ? 2 : 1);
      std::string name = body.substr(0, body.find('='));
      if (a == "-h" || a == "--help") {
        p.help = true;
        i++;
        continue;
      }
      // -v is `do`'s volume flag after the verb.
      if ((a == "-v" && p.verb.empty()) || a == "--version") {
        p.version = true;
        i++;
        continue;
      }
      // runc's one-letter flags.
      static const std::map<std::string, std::string> kShort = {{"b", "bundle"},
                                                                {"d", "detach"},
                                                                {"f", "force"},
                                                                {"a", "all"},
                                                                {"q", "quiet"}};
      // exec's own (runc's; `do -t` keeps its meaning).
      static const std::map<std::string, std::string> kExecShort = {
          {"t", "tty"},     {"e", "env"},
          {"u", "user"},    {"g", "additional_gids"},
          {"p", "process"}, {"c", "cap"}};
      if (a[1] != '-' && p.verb == "exec" && kExecShort.count(name) > 0) {
        name = kExecShort.at(name);
      } else if (a == "-f" && (p.verb == "ps" || p.verb == "list")) {
        name = "format";
      } else if (a == "-r" && p.verb == "update") {
        name = "resources";
      } else if (a[1] != '-' && kShort.count(name) > 0) {
        name = kShort.at(name);
      }
      // --debug-log and --debug_log are the same flag.
      std::replace(name.begin(), name.end(), '-', '_');
      // debug's --strace takes on|off; do's and create's is a bool.
      if (p.verb == "debug" && name == "strace") name = "debug_strace";
      std::string value;
      bool has_value = body.find('=') != std::string::npos;
      if (has_value) value = body.substr(body.find('=') + 1);
      gflags::CommandLineFlagInfo info;
      bool known = gflags::GetCommandLineFlagInfo(name.c_str(), &info);
      std::vector<std::string>* repeated = Repeated(p.args, name);
      bool takes_value = repeated != nullptr || (known && info.type != "bool");
      if (takes_value && !has_value) {
        if (i + 1 >= argc)
          return absl::InvalidArgumentError(absl::StrCat(a, " needs a value"));
        value = argv[++i];
        has_value = true;
      }
      if (repeated != nullptr) {
        repeated->push_back(value);
      } else if (!known && name != "help") {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", a));
      } else {
        p.flags.push_back(has_value ? absl::StrCat("--", name, "=", value)
                                    : "--" + name);
      }
      i++;
    }
    return absl::OkStatus();
  };
  absl::Status s = take_flags();
  if (!s.ok()) return s;
  if (i < argc) p.verb = argv[i++];
  s = take_flags();
  if (!s.ok()) return s;
  // runc's update takes its flags after the id too.
  if (p.verb == "update" && i < argc) {
    p.args.command.push_back(argv[i++]);
    s = take_flags();
    if (!s.ok()) return s;
  }
  for (; i < argc; i++) p.args.command.push_back(argv[i]);
  return p;
}

std::string ReadFd(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

int Boot() {
  InitLogging("runsc-sandbox", FLAGS_log_fd, FLAGS_debug);
  // Debian's abseil checks every Mutex acquisition for lock-order cycles
  // (a global graph under a global lock), on every guest system call;
  // --debug keeps the check.
  if (!FLAGS_debug) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  BootConfig cfg;
  if (FLAGS_config_fd < 0 || !cfg.ParseFromString(ReadFd(FLAGS_config_fd))) {
    fprintf(stderr, "runsc: sandbox: unreadable boot configuration\n");
    return 125;
  }
  close(FLAGS_config_fd);
  sentry::boot::BootOptions o;
  o.argv.assign(cfg.argv().begin(), cfg.argv().end());
  o.env.assign(cfg.env().begin(), cfg.env().end());
  o.cwd = cfg.cwd();
  o.platform = cfg.platform();
  o.strace = cfg.strace();
  o.uid = cfg.uid();
  o.gid = cfg.gid();
  o.limits = LimitsFromProto(cfg.limits());
  o.hostname = cfg.hostname();
  o.gofer_fd = FLAGS_gofer_fd;
  o.console_fd = FLAGS_console_fd;
  o.console_is_tty = cfg.console_is_tty();
  o.preserved_fds.assign(cfg.preserved_fds().begin(),
                         cfg.preserved_fds().end());
  o.mqueue_mounts.assign(cfg.mqueue_mounts().begin(),
                         cfg.mqueue_mounts().end());
  if (cfg.max_tasks() > 0) o.max_tasks = cfg.max_tasks();
  o.max_tasks_unlimited =
      cfg.max_tasks_unlimited() > 0 ? cfg.max_tasks_unlimited() : o.max_tasks;
  if (cfg.net_broker_fd() > 0) o.net_broker_fd = cfg.net_broker_fd();
  for (int i = 0;
       i < cfg.net_listen_first_size() && i < cfg.net_listen_last_size(); i++) {
    o.net_listen.emplace_back(static_cast<uint16_t>(cfg.net_listen_first(i)),
                              static_cast<uint16_t>(cfg.net_listen_last(i)));
  }
  o.root_overlay = !cfg.read_only_root();
  o.seal_root = cfg.seal_root();
  {
    // Whole instructions only; the sentry checks the program itself.
    const std::string& bpf = cfg.seccomp_filter();
    o.seccomp.resize(bpf.size() / sizeof(struct sock_filter));
    if (!o.seccomp.empty())
      memcpy(o.seccomp.data(), bpf.data(),
             o.seccomp.size() * sizeof(struct sock_filter));
  }
  for (const GuestFile& f : cfg.files())
    o.files.push_back({f.path(), f.content()});
  o.masked_paths.assign(cfg.masked_paths().begin(), cfg.masked_paths().end());
  o.readonly_paths.assign(cfg.readonly_paths().begin(),
                          cfg.readonly_paths().end());
  for (const Volume& v : cfg.volumes()) {
    sentry::boot::BootOptions::Volume bv;
    bv.host = v.host();
    bv.guest = v.guest();
    bv.read_only = v.read_only();
    bv.gofer_fd = v.gofer_fd();
    bv.nosuid = v.nosuid();
    bv.nodev = v.nodev();
    bv.noexec = v.noexec();
    bv.tmpfs = v.tmpfs();
    bv.tmpfs_options = v.tmpfs_options();
    bv.copy_up = v.copy_up();
    o.volumes.push_back(std::move(bv));
  }
  // Not for the stubs the sentry starts.
  for (int fd : {cfg.start_fd(), cfg.exit_fd(), cfg.control_fd()}) {
    if (fd > 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (cfg.start_fd() > 0) o.start_fd = cfg.start_fd();
  // Said once: the set-up's verdict, or the error that ended it first.
  auto ready = std::make_shared<int>(cfg.ready_fd() > 0 ? cfg.ready_fd() : -1);
  auto say_ready = [ready](const std::string& problem) {
    if (*ready < 0) return;
    std::string text = problem.empty() ? "ok" : problem;
    (void)!write(*ready, text.data(), text.size());
    close(*ready);
    *ready = -1;
  };
  if (*ready >= 0) {
    fcntl(*ready, F_SETFD, FD_CLOEXEC);
    o.on_ready = say_ready;
  }
  if (cfg.control_fd() > 0) {
    int control = cfg.control_fd();
    o.control_fd = control;
    o.on_started = [control](sentry::kernel::Kernel* k) {
      StartControlServer(control, k);
    };
  }
  absl::StatusOr<int> code = sentry::boot::RunSandbox(o);
  if (!code.ok()) say_ready(std::string(code.status().message()));
  if (!code.ok()) {
    fprintf(stderr, "runsc: %s\n", code.status().ToString().c_str());
    return 125;
  }
  if (cfg.exit_fd() > 0) {
    // For `runsc state` and `wait`, which are not the sandbox's parent.
    std::string text = absl::StrCat(*code, "\n");
    (void)!pwrite(cfg.exit_fd(), text.data(), text.size(), 0);
  }
  fflush(stdout);
  fflush(stderr);
  // Task threads may still be unwinding; the status is final.
  _exit(*code);
}

int Gofer() {
  InitLogging("runsc-gofer", FLAGS_log_fd, FLAGS_debug);
  gofer::GoferConfig c;
  c.root = FLAGS_gofer_root;
  c.root_fd = FLAGS_gofer_root_fd;
  c.sock_fd = FLAGS_gofer_fd;
  c.read_only = FLAGS_gofer_read_only;
  absl::Status s = gofer::RunGofer(c);
  if (!s.ok()) {
    fprintf(stderr, "runsc: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

int NetBroker() {
  NetBrokerConfig c;
  c.sock_fd = FLAGS_net_fd;
  c.sandbox = FLAGS_sandbox_name;
  for (absl::string_view r :
       absl::StrSplit(FLAGS_net_allow_rules, ',', absl::SkipEmpty())) {
    absl::StatusOr<sentry::net::host::AllowRule> rule =
        sentry::net::host::ParseAllowRule(std::string(r));
    if (!rule.ok()) {
      fprintf(stderr, "runsc: %s\n", rule.status().ToString().c_str());
      return 1;
    }
    c.allow.push_back(*rule);
  }
  for (absl::string_view r :
       absl::StrSplit(FLAGS_net_listen_ports, ',', absl::SkipEmpty())) {
    absl::StatusOr<std::pair<uint16_t, uint16_t>> ports =
        ParseListenPorts(std::string(r));
    if (!ports.ok()) {
      fprintf(stderr, "runsc: %s\n", ports.status().ToString().c_str());
      return 1;
    }
    c.listen.push_back(*ports);
  }
  absl::Status s = RunNetBroker(c);
  if (!s.ok()) {
    fprintf(stderr, "runsc: network broker: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

int Syscalls() {
  const sentry::kernel::SyscallTable& t = sentry::syscalls::LinuxTable();
  bool md = FLAGS_format == "markdown";
  if (md) {
    printf("| # | System call | Support | Notes |\n|---:|---|---|---|\n");
  } else {
    printf("%-4s %-24s %-14s %s\n", "NR", "NAME", "SUPPORT", "NOTES");
  }
  for (uint64_t nr = 0; nr <= sentry::syscalls::kMaxSyscall; nr++) {
    const char* name = t.Name(nr);
    if (name[0] == '\0') continue;
    const sentry::kernel::SyscallEntry* e = t.Lookup(nr);
    std::string support = "unimplemented";
    std::string note = "fails with ENOSYS";
    if (e != nullptr) {
      note = e->note;
      switch (e->support) {
        case sentry::kernel::Support::kFull:
          support = "full";
          break;
        case sentry::kernel::Support::kPartial:
          support = "partial";
          break;
        case sentry::kernel::Support::kError:
          support = "error";
          break;
      }
    }
    if (md) {
      printf("| %lu | %s | %s | %s |\n", nr, name, support.c_str(),
             note.c_str());
    } else {
      printf("%-4lu %-24s %-14s %s\n", nr, name, support.c_str(), note.c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace runsc

int main(int argc, char** argv) {
  gflags::SetUsageMessage(runsc::kUsage);
  absl::StatusOr<runsc::Parsed> p = runsc::Split(argc, argv);
  if (!p.ok()) {
    fprintf(stderr, "runsc: %s\n\n%s",
            std::string(p.status().message()).c_str(), runsc::kUsage);
    return 2;
  }
  if (p->help) return runsc::PrintHelp(p->verb);
  if (p->version) {
    // runc's three lines; this build carries no commit stamp.
    printf("runsc version %s\ncommit: unknown\nspec: %s\n", runsc::kVersion,
           runsc::kSpecVersion);
    return 0;
  }
  std::vector<char*> fargv = {argv[0]};
  for (std::string& f : p->flags) fargv.push_back(f.data());
  int fargc = static_cast<int>(fargv.size());
  char** fargs = fargv.data();
  gflags::ParseCommandLineFlags(&fargc, &fargs, /*remove_flags=*/true);

  if (p->verb == "do") {
    absl::StatusOr<int> code = runsc::RunDo(p->args);
    if (!code.ok()) {
      fprintf(stderr, "runsc: %s\n",
              std::string(code.status().message()).c_str());
      return 125;
    }
    return *code;
  }
  if (runsc::IsOciVerb(p->verb)) return runsc::RunOciVerb(p->verb, p->args);
  if (p->verb == "boot") return runsc::Boot();
  if (p->verb == "gofer") return runsc::Gofer();
  if (p->verb == "netbroker") return runsc::NetBroker();
  if (p->verb == "syscalls") return runsc::Syscalls();
  if (p->verb.empty() || p->verb == "help") {
    fputs(runsc::kUsage, p->verb.empty() ? stderr : stdout);
    return p->verb.empty() ? 2 : 0;
  }
  if (p->verb == "checkpoint" || p->verb == "restore") {
    // runc's verbs for CRIU; named, so a caller learns why, not a typo.
    fprintf(stderr,
            "runsc: %s: not supported: a sandbox's state cannot be saved "
            "and restored\n",
            p->verb.c_str());
    return 1;
  }
  fprintf(stderr, "runsc: unknown verb \"%s\"\n\n%s", p->verb.c_str(),
          runsc::kUsage);
  return 2;
}
