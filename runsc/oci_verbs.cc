#include "runsc/oci_verbs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gofer/protocol/transport.h"
#include "runsc/boot_config.pb.h"
#include "runsc/cgroup.h"
#include "runsc/control.h"
#include "runsc/control_request.h"
#include "runsc/flags.h"
#include "runsc/host_terminal.h"
#include "runsc/oci/json.h"
#include "runsc/oci/spec.h"
#include "runsc/sandbox.h"
#include "runsc/seccomp_profile.h"
#include "sentry/base/host_fd.h"
#include "sentry/kernel/syscall_table.h"
#include "sentry/syscalls/linux/table.h"

namespace runsc {
namespace {

using oci::Json;
using sentry::HostFd;

// ---- Messages ----

// A line in --log at `level` (JSON lines when --log-format=json, which
// podman and containerd read back). False without --log.
bool LogLine(const char* level, const std::string& msg) {
  if (FLAGS_log.empty()) return false;
  FILE* f = fopen(FLAGS_log.c_str(), "ae");
  if (f == nullptr) return false;
  std::string when =
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  if (FLAGS_log_format == "json") {
    fprintf(f, "{\"level\":\"%s\",\"msg\":%s,\"time\":\"%s\"}\n", level,
            oci::JsonQuote(msg).c_str(), when.c_str());
  } else {
    fprintf(f, "time=\"%s\" level=%s msg=%s\n", when.c_str(), level,
            oci::JsonQuote(msg).c_str());
  }
  fclose(f);
  return true;
}

// An error for the user, on stderr and in --log.
int Fail(const std::string& msg) {
  fprintf(stderr, "runsc: %s\n", msg.c_str());
  LogLine("error", msg);
  return 1;
}

int Fail(const absl::Status& s) { return Fail(std::string(s.message())); }

// ---- Host processes ----

// What /proc/PID/stat says of a process: its state letter, and its start
// time in clock ticks since boot (field 22), which with the pid names one
// process for good.
struct ProcStat {
  char state = 0;
  uint64_t start = 0;
};

std::optional<ProcStat> ReadStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string stat = ReadHostFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size())
    return std::nullopt;
  // Fields from the state (field 3) on.
  std::vector<std::string> f =
      absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
  ProcStat st;
  if (f.size() < 20 || f[0].size() != 1 || !absl::SimpleAtoi(f[19], &st.start))
    return std::nullopt;
  st.state = f[0][0];
  return st;
}

uint64_t StartTime(pid_t pid) {
  std::optional<ProcStat> st = ReadStat(pid);
  return st ? st->start : 0;
}

// Whether `pid` is still the process that started at `start` (and not a
// zombie, which is as good as gone).
bool Alive(pid_t pid, uint64_t start) {
  std::optional<ProcStat> st = ReadStat(pid);
  return st && st->start == start && st->state != 'Z' && st->state != 'X';
}

// ---- State ----

struct Proc {
  pid_t pid = 0;
  uint64_t start = 0;
};

struct State {
  std::string id, bundle, rootfs, created, owner;
  std::string status;  // as last written: created or running
  Proc sandbox;
  std::vector<Proc> helpers;  // gofers and the network broker
  std::map<std::string, std::string> annotations;
  std::vector<oci::Hook> start_container, poststart, poststop;
  std::vector<std::string> cgroups;  // the directories made, one per hierarchy
};

std::string Dir(const std::string& id) { return FLAGS_root + "/" + id; }

Json ProcJson(const Proc& p) {
  Json j = Json::Object();
  j.Set("pid", Json::Int(p.pid));
  j.Set("start", Json::Uint(p.start));
  return j;
}

Json HooksJson(const std::vector<oci::Hook>& hooks) {
  Json a = Json::Array();
  for (const oci::Hook& h : hooks) {
    Json j = Json::Object();
    j.Set("path", Json::String(h.path));
    Json args = Json::Array();
    for (const std::string& s : h.args) args.Append(Json::String(s));
    j.Set("args", args);
    Json env = Json::Array();
    for (const std::string& s : h.env) env.Append(Json::String(s));
    j.Set("env", env);
    if (h.timeout) j.Set("timeout", Json::Int(*h.timeout));
    a.Append(j);
  }
  return a;
}

absl::Status SaveState(const State& s) {
  Json j = Json::Object();
  j.Set("id", Json::String(s.id));
  j.Set("status", Json::String(s.status));
  j.Set("bundle", Json::String(s.bundle));
  j.Set("rootfs", Json::String(s.rootfs));
  j.Set("created", Json::String(s.created));
  j.Set("owner", Json::String(s.owner));
  j.Set("sandbox", ProcJson(s.sandbox));
  Json helpers = Json::Array();
  for (const Proc& p : s.helpers) helpers.Append(ProcJson(p));
  j.Set("helpers", helpers);
  Json ann = Json::Object();
  for (const auto& [k, v] : s.annotations) ann.Set(k, Json::String(v));
  j.Set("annotations", ann);
  j.Set("startContainer", HooksJson(s.start_container));
  j.Set("poststart", HooksJson(s.poststart));
  j.Set("poststop", HooksJson(s.poststop));
  Json cgroups = Json::Array();
  for (const std::string& c : s.cgroups) cgroups.Append(Json::String(c));
  j.Set("cgroups", cgroups);
  // Written whole or not at all: a reader never sees half a file.
  std::string tmp = Dir(s.id) + "/state.json.tmp";
  std::string text = j.Pretty() + "\n";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) {
      return absl::InternalError(
          absl::StrCat("writing ", tmp, ": ", strerror(errno)));
    }
  }
  if (rename(tmp.c_str(), (Dir(s.id) + "/state.json").c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("renaming ", tmp, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

Proc ProcOf(const Json* j) {
  Proc p;
  if (j == nullptr) return p;
  if (const Json* pid = j->Find("pid"); pid && pid->AsInt64())
    p.pid = static_cast<pid_t>(*pid->AsInt64());
  if (const Json* st = j->Find("start"); st && st->AsUint64())
    p.start = *st->AsUint64();
  return p;
}

// The state of container `id`; NotFound in runc's words if there is none.
// The file is runsc's own, but it is read as carefully as any other.
absl::StatusOr<State> LoadState(const std::string& id) {
  std::string text = ReadHostFile(Dir(id) + "/state.json");
  if (text.empty()) {
    return absl::NotFoundError(absl::StrCat("container does not exist: ", id));
  }
  absl::StatusOr<Json> j = oci::ParseJson(text);
  if (!j.ok() || !j->is_object()) {
    return absl::DataLossError(
        absl::StrCat("the state of container ", id, " is unreadable"));
  }
  State s;
  s.id = id;
  auto str = [&](const char* name, std::string* out) {
    if (const Json* v = j->Find(name); v && v->is_string()) *out = v->text();
  };
  str("status", &s.status);
  str("bundle", &s.bundle);
  str("rootfs", &s.rootfs);
  str("created", &s.created);
  str("owner", &s.owner);
  s.sandbox = ProcOf(j->Find("sandbox"));
  if (const Json* h = j->Find("helpers"); h && h->is_array()) {
    for (const Json& p : h->items()) s.helpers.push_back(ProcOf(&p));
  }
  if (const Json* a = j->Find("annotations"); a && a->is_object()) {
    for (const auto& [k, v] : a->members()) {
      if (v.is_string()) s.annotations[k] = v.text();
    }
  }
  if (const Json* c = j->Find("cgroups"); c && c->is_array()) {
    for (const Json& d : c->items()) {
      if (d.is_string()) s.cgroups.push_back(d.text());
    }
  }
  for (auto [name, out] : {std::pair{"startContainer", &s.start_container},
                           std::pair{"poststart", &s.poststart},
                           std::pair{"poststop", &s.poststop}}) {
    const Json* hooks = j->Find(name);
    if (hooks == nullptr || !hooks->is_array()) continue;
    for (const Json& h : hooks->items()) {
      oci::Hook hook;
      if (const Json* p = h.Find("path"); p && p->is_string())
        hook.path = p->text();
      if (const Json* a = h.Find("args"); a && a->is_array()) {
        for (const Json& x : a->items()) hook.args.push_back(x.text());
      }
      if (const Json* e = h.Find("env"); e && e->is_array()) {
        for (const Json& x : e->items()) hook.env.push_back(x.text());
      }
      if (const Json* t = h.Find("timeout"); t && t->AsInt64())
        hook.timeout = static_cast<int>(*t->AsInt64());
      out->push_back(hook);
    }
  }
  return s;
}

// Init's exit status, once the sandbox has written it.
std::optional<int> ExitStatus(const std::string& id) {
  std::string text = ReadHostFile(Dir(id) + "/exit");
  int code;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &code))
    return std::nullopt;
  return code;
}

// The status as the OCI spec names it: created (waiting for start),
// running, or stopped (init has exited, or the sandbox is gone).
std::string StatusOf(const State& s) {
  if (ExitStatus(s.id).has_value() || !Alive(s.sandbox.pid, s.sandbox.start))
    return "stopped";
  if (s.status == "creating" || s.status == "created" || s.status == "paused") {
    return s.status;
  }
  return "running";
}

Json StateJson(const State& s) {
  std::string status = StatusOf(s);
  Json j = Json::Object();
  j.Set("ociVersion", Json::String("1.0.2"));
  j.Set("id", Json::String(s.id));
  j.Set("pid", Json::Int(status == "stopped" ? 0 : s.sandbox.pid));
  j.Set("status", Json::String(status));
  j.Set("bundle", Json::String(s.bundle));
  j.Set("rootfs", Json::String(s.rootfs));
  j.Set("created", Json::String(s.created));
  j.Set("owner", Json::String(s.owner));
  Json ann = Json::Object();
  for (const auto& [k, v] : s.annotations) ann.Set(k, Json::String(v));
  j.Set("annotations", ann);
  return j;
}

// ---- Hooks ----

// Runs `hook` on the host with the container's state JSON on its stdin, as
// the OCI spec says; fails if it exits non-zero or outlives its timeout.
absl::Status RunHook(const oci::Hook& hook, const std::string& state_json,
                     const char* phase) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0)
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    // What the hook says goes into runsc's error, as runc reports it
    // (runsc's own stdout may be the container's).
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    int flags = fcntl(1, F_GETFL);
    fcntl(1, F_SETFL, flags & ~O_NONBLOCK);
    std::vector<char*> argv, envp;
    std::vector<std::string> args = hook.args;
    if (args.empty()) args.push_back(hook.path);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = hook.env;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  HostFd said(out[0]);
  (void)!write(in[1], state_json.data(), state_json.size());
  close(in[1]);
  absl::Time deadline =
      absl::Now() + absl::Seconds(hook.timeout ? *hook.timeout : 3600);
  int status = 0;
  std::string output;  // the first 4 KiB of it
  auto drain = [&] {
    char buf[4096];
    ssize_t n;
    while ((n = read(said.get(), buf, sizeof(buf))) > 0) {
      output.append(buf,
                    std::min(static_cast<size_t>(n),
                             4096 - std::min<size_t>(output.size(), 4096)));
    }
  };
  for (;;) {
    drain();
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(phase, " hook ", hook.path, " timed out"));
    }
    usleep(5000);
  }
  drain();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        phase, " hook ", hook.path, " failed (status ",
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ")",
        output.empty() ? "" : ": ",
        absl::StripTrailingAsciiWhitespace(output)));
  }
  return absl::OkStatus();
}

absl::Status RunHooks(const std::vector<oci::Hook>& hooks, const State& s,
                      const char* phase) {
  std::string state = StateJson(s).Dump();
  for (const oci::Hook& h : hooks) {
    absl::Status r = RunHook(h, state, phase);
    if (!r.ok()) return r;
  }
  return absl::OkStatus();
}

// ---- Terminal ----

// Sends `fd` over the unix socket at `path` (--console-socket), as runc
// does: one message with the fd in SCM_RIGHTS.
absl::Status SendConsole(const std::string& path, int fd) {
  HostFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--console-socket ", path, ": path too long"));
  }
  memcpy(a.sun_path, path.data(), path.size());
  if (!s.valid() || connect(s.get(), reinterpret_cast<struct sockaddr*>(&a),
                            sizeof(a)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("--console-socket ", path, ": ", strerror(errno)));
  }
  // What runc sends with the fd: the pty's name.
  const std::string name = "/dev/ptmx";
  int err = gofer::proto::SendPacket(
      s.get(), std::vector<uint8_t>(name.begin(), name.end()), fd);
  if (err != 0) {
    return absl::UnavailableError(
        absl::StrCat("--console-socket ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

// A new host pty: its master and its slave (sized if width > 0).
absl::Status MakePty(uint16_t width, uint16_t height, HostFd* master,
                     HostFd* slave) {
  master->Reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master->valid() || grantpt(master->get()) != 0 ||
      unlockpt(master->get()) != 0) {
    return absl::InternalError(absl::StrCat("pty: ", strerror(errno)));
  }
  slave->Reset(open(ptsname(master->get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave->valid())
    return absl::InternalError(absl::StrCat("pty: ", strerror(errno)));
  // Raw: bytes pass through to the sandbox's own pty, which does the line
  // discipline (echo, ^C, CR-NL) for the guest.
  struct termios t;
  if (tcgetattr(slave->get(), &t) != 0) {
    return absl::InternalError(absl::StrCat("pty: ", strerror(errno)));
  }
  cfmakeraw(&t);
  if (tcsetattr(slave->get(), TCSANOW, &t) != 0)
    return absl::InternalError(absl::StrCat("pty: ", strerror(errno)));
  if (width > 0) {
    struct winsize ws = {};
    ws.ws_col = width;
    ws.ws_row = height;
    ioctl(slave->get(), TIOCSWINSZ, &ws);
  }
  return absl::OkStatus();
}

// --pid-file, replaced whole. No newline: podman reads a bare number.
absl::Status WritePidFile(pid_t pid) {
  if (FLAGS_pid_file.empty()) return absl::OkStatus();
  std::string tmp = FLAGS_pid_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid;
  }
  if (rename(tmp.c_str(), FLAGS_pid_file.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("--pid-file ", FLAGS_pid_file, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// ---- Verbs ----

// runc's rule for ids: letters, digits and _ + - . (and no path tricks).
absl::Status CheckId(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid id format: ", id));
  }
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+' &&
        c != '-' && c != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid id format: ", id));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OneId(const std::vector<std::string>& args,
                                  const char* verb, size_t extra = 0) {
  if (args.empty() || args.size() > 1 + extra) {
    return absl::InvalidArgumentError(
        absl::StrCat("runsc ", verb, ": expected a container id",
                     extra ? " (and a signal)" : ""));
  }
  absl::Status s = CheckId(args[0]);
  if (!s.ok()) return s;
  return args[0];
}

// Where a spec's path lies on the host: absolute, or relative to the
// bundle.
std::string InBundle(const std::string& bundle, const std::string& p) {
  return p.empty() || p[0] == '/' ? p : bundle + "/" + p;
}

// An OCI tmpfs mount as the sandbox makes it: mount flags, the data
// tmpfs takes (mode=, size=, ...) and runc's tmpcopyup. Propagation and
// atime options mean nothing for a mount no one else sees; anything else
// is refused by name.
absl::StatusOr<VolumeSpec> TmpfsMount(const oci::Mount& m) {
  static const std::set<std::string> kIgnored = {
      "rw",          "suid",       "dev",         "exec",     "rprivate",
      "private",     "rslave",     "slave",       "rshared",  "shared",
      "runbindable", "unbindable", "strictatime", "relatime", "norelatime",
      "noatime",     "atime",      "nodiratime",  "diratime", "async"};
  static const std::set<std::string> kData = {"mode", "size",      "uid",
                                              "gid",  "nr_inodes", "nr_blocks"};
  VolumeSpec v;
  v.tmpfs = true;
  v.host = "tmpfs";
  v.guest = m.destination;
  std::vector<std::string> data;
  for (const std::string& o : m.options) {
    std::string key = o.substr(0, o.find('='));
    if (o == "ro") {
      v.read_only = true;
    } else if (o == "nosuid") {
      v.nosuid = true;
    } else if (o == "nodev") {
      v.nodev = true;
    } else if (o == "noexec") {
      v.noexec = true;
    } else if (o == "tmpcopyup") {
      v.copy_up = true;
    } else if (kData.count(key) > 0 && key != o) {
      data.push_back(o);
    } else if (kIgnored.count(o) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("mount on ", m.destination,
                                                     ": tmpfs option \"", o,
                                                     "\" is not supported"));
    }
  }
  v.tmpfs_options = absl::StrJoin(data, ",");
  return v;
}

// A process's capabilities, rlimits, noNewPrivileges and groups, for the
// sandbox (names were checked when the spec was parsed).
ProcessLimits LimitsOf(const oci::Process& p) {
  ProcessLimits l;
  const oci::Capabilities& c = p.capabilities;
  if (c.present) {
    auto mask = [](const std::vector<std::string>& names) {
      uint64_t m = 0;
      for (const std::string& n : names) {
        if (std::optional<int> bit = oci::CapabilityNumber(n))
          m |= uint64_t{1} << *bit;
      }
      return m;
    };
    l.set_caps_set(true);
    l.set_cap_bounding(mask(c.bounding));
    l.set_cap_effective(mask(c.effective));
    l.set_cap_permitted(mask(c.permitted));
    l.set_cap_inheritable(mask(c.inheritable));
    l.set_cap_ambient(mask(c.ambient));
  }
  for (const oci::Rlimit& r : p.rlimits) {
    ProcessLimits::Rlimit* out = l.add_rlimits();
    out->set_resource(r.resource);
    out->set_soft(r.soft);
    out->set_hard(r.hard);
  }
  l.set_no_new_privs(p.no_new_privileges);
  for (uint32_t g : p.user.additional_gids) l.add_additional_gids(g);
  if (p.user.umask) l.set_umask(*p.user.umask & 0777);
  return l;
}

// linux.resources as the host cgroups take them.
CgroupLimits LimitsOfResources(const oci::Resources& r) {
  CgroupLimits l;
  l.memory_limit = r.memory_limit;
  l.memory_swap = r.memory_swap;
  l.memory_reservation = r.memory_reservation;
  l.cpu_shares = r.cpu_shares;
  l.cpu_quota = r.cpu_quota;
  l.cpu_period = r.cpu_period;
  l.pids_limit = r.pids_limit;
  l.unified = r.unified;
  return l;
}

// The container's cgroups: cgroupsPath (or /runsc/ID) in every hierarchy,
// with linux.resources written. Where runc would be rootless (--rootless,
// or by default in a user namespace), hierarchies it may not write are
// skipped, as runc skips them.
absl::StatusOr<CgroupDirs> ContainerCgroups(const oci::Spec& spec,
                                            const std::string& id) {
  std::string want = spec.linux.cgroups_path.empty() ? "/runsc/" + id
                                                     : spec.linux.cgroups_path;
  absl::StatusOr<std::string> path =
      NormalizeCgroupPath(want, FLAGS_systemd_cgroup);
  if (!path.ok()) return path.status();
  CgroupLimits l = LimitsOfResources(spec.linux.resources);
  bool rootless = FLAGS_rootless == "true" ||
                  (FLAGS_rootless == "auto" && InUserNamespace());
  return MakeCgroups(ParseCgroupMounts(ReadHostFile("/proc/self/mountinfo")),
                     *path, l, rootless);
}

// The sandbox's own limit on its tasks for an OCI pids limit: the limit,
// or with none (0 or less) runsc's --max_tasks.
int32_t SandboxMaxTasks(int64_t pids_limit) {
  if (pids_limit <= 0) return FLAGS_max_tasks;
  return static_cast<int32_t>(std::min<int64_t>(pids_limit, 1 << 30));
}

// Turns the spec into the sandbox's plan. Mounts: directories bound from
// the host become volumes served by gofers of their own; a bound regular
// file (podman's /etc/hosts, resolv.conf, hostname) is copied into the
// root overlay at start; the sandbox's own proc, sysfs, devpts, /dev,
// /dev/shm, mqueue and cgroup stand in for those types.
absl::Status PlanFromSpec(const oci::Spec& spec, const std::string& bundle,
                          LaunchPlan& plan, std::string* rootfs) {
  char real[PATH_MAX];
  std::string root = InBundle(bundle, spec.root_path);
  struct stat st;
  if (realpath(root.c_str(), real) == nullptr || stat(real, &st) != 0 ||
      !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("root.path ", root, ": not a directory"));
  }
  *rootfs = real;
  plan.root = real;
  const oci::Process& p = *spec.process;
  BootConfig& cfg = plan.cfg;
  for (const std::string& a : p.args) cfg.add_argv(a);
  for (const std::string& e : p.env) cfg.add_env(e);
  cfg.set_cwd(p.cwd);
  cfg.set_uid(p.user.uid);
  cfg.set_gid(p.user.gid);
  *cfg.mutable_limits() = LimitsOf(p);
  cfg.set_hostname(spec.hostname.empty() ? "runsc" : spec.hostname);
  cfg.set_platform(FLAGS_platform);
  cfg.set_strace(FLAGS_strace);
  cfg.set_max_tasks(FLAGS_max_tasks);
  cfg.set_max_tasks_unlimited(FLAGS_max_tasks);
  if (spec.linux.resources.pids_limit) {
    cfg.set_max_tasks(SandboxMaxTasks(*spec.linux.resources.pids_limit));
  }
  cfg.set_seal_root(spec.root_readonly);
  if (spec.linux.seccomp) {
    absl::StatusOr<std::string> bpf = CompileSeccomp(*spec.linux.seccomp);
    if (!bpf.ok()) return bpf.status();
    cfg.set_seccomp_filter(*bpf);
  }
  for (const std::string& m : spec.linux.masked_paths) cfg.add_masked_paths(m);
  for (const std::string& r : spec.linux.readonly_paths)
    cfg.add_readonly_paths(r);
  for (const oci::Mount& m : spec.mounts) {
    static const std::set<std::string> kOwn = {"proc",   "sysfs",  "devpts",
                                               "mqueue", "cgroup", "cgroup2"};
    // As runc: proc and sysfs only over a directory (or nothing), never a
    // symlink the image put there to send them elsewhere.
    struct stat at;
    if ((m.type == "proc" || m.type == "sysfs") &&
        lstat((*rootfs + m.destination).c_str(), &at) == 0 &&
        !S_ISDIR(at.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount on ", m.destination, ": ", m.type,
                       " must be mounted on ordinary directory"));
    }
    if (m.type == "mqueue") cfg.add_mqueue_mounts(m.destination);
    if (kOwn.count(m.type) > 0) continue;
    if (m.destination == "/dev" || m.destination == "/dev/shm" ||
        m.destination == "/sys" || m.destination.rfind("/sys/", 0) == 0 ||
        m.destination.rfind("/dev/", 0) == 0) {
      continue;  // the sandbox's own devfs, shm and sysfs stand there
    }
    if (m.type == "tmpfs") {
      absl::StatusOr<VolumeSpec> v = TmpfsMount(m);
      if (!v.ok()) return v.status();
      plan.volumes.push_back(*v);
      continue;
    }
    if (!m.IsBind()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount on ", m.destination, ": type \"", m.type,
                       "\" is not supported (bind, tmpfs, proc, sysfs, "
                       "devpts, mqueue, cgroup)"));
    }
    std::string src = InBundle(bundle, m.source);
    if (realpath(src.c_str(), real) == nullptr || stat(real, &st) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mount on ", m.destination, ": source ", src, ": ", strerror(errno)));
    }
    if (S_ISDIR(st.st_mode)) {
      VolumeSpec v;
      v.host = real;
      v.guest = m.destination;
      v.read_only = m.HasOption("ro");
      v.nosuid = m.HasOption("nosuid");
      v.nodev = m.HasOption("nodev");
      v.noexec = m.HasOption("noexec");
      plan.volumes.push_back(v);
    } else if (S_ISREG(st.st_mode)) {
      std::string content = ReadHostFile(real);
      if (content.size() > (1 << 20)) {
        return absl::InvalidArgumentError(
            absl::StrCat("mount on ", m.destination,
                         ": file bind mounts over 1 MiB are "
                         "not supported"));
      }
      GuestFile* f = cfg.add_files();
      f->set_path(m.destination);
      f->set_content(content);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("mount on ", m.destination, ": source ", src,
                       " is neither a directory nor a regular file"));
    }
  }
  // Parents before what is mounted below them.
  std::stable_sort(plan.volumes.begin(), plan.volumes.end(),
                   [](const VolumeSpec& a, const VolumeSpec& b) {
                     return a.guest < b.guest;
                   });
  return absl::OkStatus();
}

std::string Owner() {
  struct passwd* pw = getpwuid(getuid());
  return pw != nullptr ? pw->pw_name : absl::StrCat(getuid());
}

// A linux.namespaces path to join. Only a namespace file: opening a FIFO
// or a device named there would hang create or touch the device. O_PATH
// opens neither; then the filesystem must be nsfs before the real open.
absl::StatusOr<HostFd> OpenNamespace(const oci::Namespace& n) {
  HostFd path(open(n.path.c_str(), O_PATH | O_CLOEXEC));
  struct statfs fs;
  constexpr long kNsfsMagic = 0x6e736673;
  if (!path.valid() || fstatfs(path.get(), &fs) != 0 ||
      static_cast<long>(fs.f_type) != kNsfsMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.namespaces: ", n.type, " ", n.path, ": ",
                     path.valid() ? "not a namespace file" : strerror(errno)));
  }
  HostFd ns(open(absl::StrCat("/proc/self/fd/", path.get()).c_str(),
                 O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linux.namespaces: ", n.type, " ", n.path, ": ", strerror(errno)));
  }
  return ns;
}

// A new user namespace with the spec's mappings, held by an fd: a child
// makes it and waits while runsc, its parent with the host's privileges,
// writes the maps; the fd keeps the namespace once the child is gone. The
// sandbox's processes run as its root, so container id 0 must be mapped.
absl::StatusOr<HostFd> MakeUserNamespace(const oci::Linux& l) {
  auto lines = [](const std::vector<oci::IdMapping>& m,
                  const char* name) -> absl::StatusOr<std::string> {
    if (m.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.", name, ": none given for the user namespace"));
    }
    std::string out;
    bool root = false;
    for (const oci::IdMapping& e : m) {
      if (e.size == 0 ||
          uint64_t{e.container_id} + e.size > (uint64_t{1} << 32) ||
          uint64_t{e.host_id} + e.size > (uint64_t{1} << 32)) {
        return absl::InvalidArgumentError(
            absl::StrCat("linux.", name, ": the range ", e.container_id, " ",
                         e.host_id, " ", e.size, " is empty or too large"));
      }
      if (e.container_id == 0) root = true;
      absl::StrAppend(&out, e.container_id, " ", e.host_id, " ", e.size, "\n");
    }
    if (!root) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.", name,
                       ": id 0 is not mapped (the sandbox runs as the "
                       "container's root)"));
    }
    return out;
  };
  absl::StatusOr<std::string> uid_map = lines(l.uid_mappings, "uidMappings");
  if (!uid_map.ok()) return uid_map.status();
  absl::StatusOr<std::string> gid_map = lines(l.gid_mappings, "gidMappings");
  if (!gid_map.ok()) return gid_map.status();
  int ready[2], done[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  HostFd ready_r(ready[0]), ready_w(ready[1]);
  if (pipe2(done, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  HostFd done_r(done[0]), done_w(done[1]);
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    close(done_w.get());  // its end of file is runsc's signal
    char b = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    (void)!write(ready_w.get(), &b, 1);
    (void)!read(done_r.get(), &b, 1);  // until runsc holds the namespace
    _exit(0);
  }
  ready_w.Reset();
  done_r.Reset();
  char b = 0;
  absl::Status st = absl::OkStatus();
  if (read(ready_r.get(), &b, 1) != 1 || b != 'y') {
    st = absl::FailedPreconditionError(
        "linux.namespaces: cannot make a user namespace");
  }
  HostFd ns;
  for (const auto& [file, map] :
       {std::pair<const char*, const std::string*>{"uid_map", &*uid_map},
        {"gid_map", &*gid_map}}) {
    if (!st.ok()) break;
    std::string path = absl::StrCat("/proc/", pid, "/", file);
    HostFd f(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f.valid() || write(f.get(), map->data(), map->size()) !=
                          static_cast<ssize_t>(map->size())) {
      st = absl::InvalidArgumentError(absl::StrCat(
          "linux.",
          file == std::string("uid_map") ? "uidMappings" : "gidMappings",
          ": the kernel refuses them: ", strerror(errno)));
    }
  }
  if (st.ok()) {
    ns.Reset(open(absl::StrCat("/proc/", pid, "/ns/user").c_str(),
                  O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) {
      st = absl::InternalError(
          absl::StrCat("the new user namespace: ", strerror(errno)));
    }
  }
  done_w.Reset();
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!st.ok()) return st;
  return ns;
}

// What the new sandbox says once set up (BootConfig.ready_fd): "ok", or
// why init cannot start, in runc's words; nothing if it died first.
absl::Status AwaitReady(int fd) {
  constexpr int kBootTimeoutMs = 60000;  // a tmpcopyup of a big tree
  std::string text;
  char buf[4096];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, kBootTimeoutMs);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      return absl::DeadlineExceededError(
          "the sandbox did not finish setting up within 60 s");
    }
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (text.size() < 65536) text.append(buf, static_cast<size_t>(got));
  }
  if (text == "ok") return absl::OkStatus();
  if (text.empty()) {
    return absl::InternalError(
        "the sandbox exited while setting up (its log: --debug-log)");
  }
  return absl::FailedPreconditionError(
      absl::StrCat("unable to start container process: ", text));
}

// runc's rules for process.terminal: a detached process's pty master goes
// to --console-socket; a foreground one's stays with runsc, which is its
// console (the caller's terminal). A socket with nothing to send is an
// error too.
absl::Status CheckTerminal(bool terminal, bool detach) {
  if (detach && terminal && FLAGS_console_socket.empty()) {
    return absl::InvalidArgumentError(
        "cannot allocate tty if runsc will detach without setting console "
        "socket");
  }
  if ((!detach || !terminal) && !FLAGS_console_socket.empty()) {
    return absl::InvalidArgumentError(
        "cannot use console socket if runsc will not detach or allocate tty");
  }
  return absl::OkStatus();
}

// --preserve-fds N: the caller's fds 3 .. N+2, which the process gets at
// the same numbers, as runc passes them. Each must be open.
absl::StatusOr<std::vector<int>> PreservedFds() {
  if (FLAGS_preserve_fds < 0 ||
      static_cast<size_t>(FLAGS_preserve_fds) > kMaxPreservedFds) {
    return absl::InvalidArgumentError(
        absl::StrCat("--preserve-fds: ", FLAGS_preserve_fds,
                     " is not a count from 0 to ", kMaxPreservedFds));
  }
  std::vector<int> fds;
  for (int fd = 3; fd < 3 + FLAGS_preserve_fds; fd++) {
    if (fcntl(fd, F_GETFD) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--preserve-fds: fd ", fd, " is not open"));
    }
    fds.push_back(fd);
  }
  return fds;
}

// A foreground process's terminal: the pty's master and the caller's
// terminal that runsc joins it to.
struct ForegroundConsole {
  HostFd master;
  std::unique_ptr<HostTerminal> host;
};

// Creates the container: its state directory, its processes (the sandbox
// waiting for `start`), the pid file and the terminal (sent to the console
// socket when `detach`, else left in `console`).
absl::StatusOr<State> Create(const std::string& id, bool detach,
                             ForegroundConsole* console) {
  std::string bundle = FLAGS_bundle;
  if (bundle.empty()) {
    char cwd[PATH_MAX];
    bundle = getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : ".";
  }
  char real[PATH_MAX];
  if (realpath(bundle.c_str(), real) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle ", bundle, ": ", strerror(errno)));
  }
  bundle = real;
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(bundle);
  if (!spec.ok()) return spec.status();
  if (!spec->process) {
    return absl::InvalidArgumentError(
        absl::StrCat(bundle, "/config.json: process: missing"));
  }
  absl::StatusOr<std::vector<int>> preserved = PreservedFds();
  if (!preserved.ok()) return preserved.status();
  absl::Status tty_ok = CheckTerminal(spec->process->terminal, detach);
  if (!tty_ok.ok()) return tty_ok;
  if (spec->process->terminal && !detach) {
    absl::StatusOr<std::unique_ptr<HostTerminal>> host = HostTerminal::Find();
    if (!host.ok()) return host.status();
    console->host = std::move(*host);
  }
  LaunchPlan plan;
  std::string rootfs;
  absl::Status planned = PlanFromSpec(*spec, bundle, plan, &rootfs);
  if (!planned.ok()) return planned;
  // A network namespace the engine made (podman's netavark, a CNI's): the
  // sandbox process joins it, so the engine finds it there. A user
  // namespace: the spec's, or one made with its mappings.
  HostFd netns, userns;
  bool user = false;
  for (const oci::Namespace& n : spec->linux.namespaces) {
    if (n.type == "user") user = true;
    if ((n.type != "network" && n.type != "user") || n.path.empty()) continue;
    absl::StatusOr<HostFd> fd = OpenNamespace(n);
    if (!fd.ok()) return fd.status();
    (n.type == "network" ? netns : userns) = std::move(*fd);
  }
  if (!user && (!spec->linux.uid_mappings.empty() ||
                !spec->linux.gid_mappings.empty())) {
    return absl::InvalidArgumentError(
        "linux.uidMappings, gidMappings: given, but linux.namespaces has no "
        "user namespace");
  }
  if (user && !userns.valid()) {
    absl::StatusOr<HostFd> made = MakeUserNamespace(spec->linux);
    if (!made.ok()) return made.status();
    userns = std::move(*made);
  }
  plan.netns_fd = netns.get();
  plan.userns_fd = userns.get();

  // With its parents, as runc makes it (containerd's shim names
  // /run/containerd/runc/NAMESPACE).
  for (size_t at = 1; at <= FLAGS_root.size(); at++) {
    if (at != FLAGS_root.size() && FLAGS_root[at] != '/') continue;
    std::string part = FLAGS_root.substr(0, at);
    if (mkdir(part.c_str(), 0711) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("--root ", FLAGS_root, ": ", part,
                                              ": ", strerror(errno)));
    }
  }
  std::string dir = Dir(id);
  if (mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("container with id exists: ", id));
    }
    return absl::InternalError(absl::StrCat(dir, ": ", strerror(errno)));
  }
  State s;
  s.id = id;
  s.bundle = bundle;
  s.rootfs = rootfs;
  s.status = "creating";
  s.owner = Owner();
  s.annotations = spec->annotations;
  s.start_container = spec->hooks.start_container;
  s.poststart = spec->hooks.poststart;
  s.poststop = spec->hooks.poststop;
  s.created =
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  // From here on a failure removes what was made; a runsc killed in the
  // middle leaves a state file that `delete --force` understands.
  absl::Status saved = SaveState(s);
  if (!saved.ok()) return saved;
  absl::StatusOr<CgroupDirs> cgroups = ContainerCgroups(*spec, id);
  if (!cgroups.ok()) return cgroups.status();
  s.cgroups = cgroups->dirs;
  saved = SaveState(s);
  if (!saved.ok()) return saved;
  std::vector<HostFd> procs_files;
  for (const std::string& d : s.cgroups) {
    procs_files.emplace_back(
        open((d + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs_files.back().valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cgroup ", d, ": ", strerror(errno)));
    }
    plan.cgroup_procs.push_back(procs_files.back().get());
  }

  std::string fifo = dir + "/start";
  if (mkfifo(fifo.c_str(), 0600) != 0) {
    return absl::InternalError(absl::StrCat(fifo, ": ", strerror(errno)));
  }
  HostFd start(open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  HostFd exit_file(open((dir + "/exit").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  absl::StatusOr<int> control = ListenControl(dir);
  if (!start.valid() || !exit_file.valid() || !control.ok()) {
    return absl::InternalError(absl::StrCat(
        "setting up ", dir, ": ",
        control.ok() ? strerror(errno) : control.status().message()));
  }
  HostFd control_fd(*control);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  HostFd ready_r(ready[0]), ready_w(ready[1]);
  plan.ready_fd = ready_w.get();
  plan.preserved_fds = *preserved;
  plan.start_fd = start.get();
  plan.exit_fd = exit_file.get();
  plan.control_fd = control_fd.get();
  plan.detached = true;
  plan.require_namespaces = true;
  plan.name = id;
  plan.debug = FLAGS_debug;
  HostFd log;
  if (!FLAGS_debug_log.empty()) {
    log.Reset(open(FLAGS_debug_log.c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--debug_log=", FLAGS_debug_log, ": ", strerror(errno)));
    }
    plan.log_fd = log.get();
  }
  // The terminal: a host pty whose master goes to the console socket (or
  // stays with a foreground runsc) and whose slave is the sandbox's stdio
  // (init's controlling terminal).
  HostFd master, slave, console_slave;
  if (spec->process->terminal) {
    absl::Status pty = MakePty(spec->process->console_width,
                               spec->process->console_height, &master, &slave);
    if (!pty.ok()) return pty;
    // The sandbox's own messages go there too. The console gets an open
    // file of its own: it makes it non-blocking, which the sandbox's
    // stderr must not be.
    console_slave.Reset(
        open(ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!console_slave.valid())
      return absl::InternalError(absl::StrCat("pty: ", strerror(errno)));
    plan.stdio[0] = plan.stdio[1] = plan.stdio[2] = slave.get();
    plan.console_fd = console_slave.get();
    plan.cfg.set_console_is_tty(true);
  }
  absl::StatusOr<Launched> launched = Launch(plan);
  if (!launched.ok()) return launched.status();
  s.sandbox = {launched->sandbox, StartTime(launched->sandbox)};
  for (pid_t g : launched->gofers) s.helpers.push_back({g, StartTime(g)});
  if (launched->broker > 0)
    s.helpers.push_back({launched->broker, StartTime(launched->broker)});
  saved = SaveState(s);
  if (!saved.ok()) return saved;
  // process.oomScoreAdj: the host's OOM killer sees the sandbox process
  // (and the stubs it forks, which inherit it) as runc's init. Lowering
  // it needs CAP_SYS_RESOURCE, as for runc.
  if (spec->process->oom_score_adj) {
    std::string path = absl::StrCat("/proc/", s.sandbox.pid, "/oom_score_adj");
    std::string value = absl::StrCat(*spec->process->oom_score_adj);
    HostFd f(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    int err = 0;
    if (!f.valid() || write(f.get(), value.data(), value.size()) !=
                          static_cast<ssize_t>(value.size())) {
      err = errno;
    }
    if (err != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("process.oomScoreAdj ", *spec->process->oom_score_adj,
                       ": ", path, ": ", strerror(err)));
    }
  }
  ready_w.Reset();
  absl::Status can_start = AwaitReady(ready_r.get());
  if (!can_start.ok()) return can_start;
  // Once the sandbox exists (its pid in the state, its namespaces there
  // for /proc/PID/ns: Docker's libnetwork-setkey hook needs them), before
  // `create` returns, as runc runs them.
  absl::Status hooks = RunHooks(spec->hooks.prestart, s, "prestart");
  if (hooks.ok())
    hooks = RunHooks(spec->hooks.create_runtime, s, "createRuntime");
  // The container's namespaces are the sandbox's, where no host program
  // runs: createContainer and startContainer run on the host too.
  if (hooks.ok())
    hooks = RunHooks(spec->hooks.create_container, s, "createContainer");
  if (!hooks.ok()) return hooks;
  s.status = "created";
  saved = SaveState(s);
  if (!saved.ok()) return saved;
  if (spec->process->terminal && detach) {
    absl::Status sent = SendConsole(FLAGS_console_socket, master.get());
    if (!sent.ok()) return sent;
  } else if (spec->process->terminal) {
    console->master = std::move(master);
  }
  absl::Status pid_file = WritePidFile(s.sandbox.pid);
  if (!pid_file.ok()) return pid_file;
  return s;
}

// Kills every host process of the container, waits until they are gone,
// and removes its state.
void Destroy(const State& s) {
  std::vector<Proc> all = s.helpers;
  all.insert(all.begin(), s.sandbox);
  for (const Proc& p : all) {
    if (Alive(p.pid, p.start)) kill(p.pid, SIGKILL);
  }
  for (const Proc& p : all) {
    // Ours to reap after `run`; otherwise the parent (conmon, a shim)
    // reaps, and a zombie counts as gone.
    waitpid(p.pid, nullptr, WNOHANG);
    for (int i = 0; i < 2000 && Alive(p.pid, p.start); i++) usleep(1000);
  }
  RemoveCgroups(CgroupDirs{s.cgroups});
  std::string dir = Dir(s.id);
  for (const char* f :
       {"state.json", "state.json.tmp", "start", "exit", "control"}) {
    unlink((dir + "/" + f).c_str());
  }
  rmdir(dir.c_str());
}

// Create, and on failure remove what it made (unless the id was another
// container's).
absl::StatusOr<State> CreateOrCleanUp(const std::string& id, bool detach,
                                      ForegroundConsole* console) {
  absl::StatusOr<State> s = Create(id, detach, console);
  if (!s.ok() && !absl::IsAlreadyExists(s.status())) {
    absl::StatusOr<State> partial = LoadState(id);
    if (partial.ok()) Destroy(*partial);
  }
  return s;
}

// Destroy, then the poststop hooks (whose failure is only reported).
void DestroyAndRunPoststop(const State& s) {
  Destroy(s);
  absl::Status hooks = RunHooks(s.poststop, s, "poststop");
  if (!hooks.ok())
    fprintf(stderr, "runsc: %s\n", std::string(hooks.message()).c_str());
}

int CmdCreate(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "create");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = CreateOrCleanUp(*id, /*detach=*/true, nullptr);
  if (!s.ok()) return Fail(s.status());
  return 0;
}

absl::Status Start(State& s) {
  std::string status = StatusOf(s);
  if (status != "created") {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a container that has ",
                     status == "stopped" ? "stopped" : "already started"));
  }
  // Before the process runs; one that fails ends the container.
  absl::Status before = RunHooks(s.start_container, s, "startContainer");
  if (!before.ok()) {
    if (Alive(s.sandbox.pid, s.sandbox.start)) kill(s.sandbox.pid, SIGKILL);
    return before;
  }
  HostFd fifo(
      open((Dir(s.id) + "/start").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo.valid() || write(fifo.get(), "s", 1) != 1) {
    return absl::InternalError(
        absl::StrCat("starting ", s.id, ": ", strerror(errno)));
  }
  s.status = "running";
  absl::Status saved = SaveState(s);
  if (!saved.ok()) return saved;
  // Once the process runs, as runc runs them; one that fails ends the
  // container, as under runc.
  absl::Status hooks = RunHooks(s.poststart, s, "poststart");
  if (!hooks.ok()) {
    if (Alive(s.sandbox.pid, s.sandbox.start)) kill(s.sandbox.pid, SIGKILL);
    return hooks;
  }
  return absl::OkStatus();
}

int CmdStart(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "start");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  absl::Status r = Start(*s);
  if (!r.ok()) return Fail(r);
  return 0;
}

int CmdState(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "state");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  printf("%s\n", StateJson(*s).Pretty().c_str());
  return 0;
}

std::optional<int> ParseSignal(const std::string& text) {
  int n;
  if (absl::SimpleAtoi(text, &n)) {
    // 0, as kill(2)'s: is it there at all.
    if (n >= 0 && n <= 64) return n;
    return std::nullopt;
  }
  std::string name = text;
  for (char& c : name) c = static_cast<char>(toupper(c));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; sig++) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  if (name.rfind("RTMIN+", 0) == 0 && absl::SimpleAtoi(name.substr(6), &n) &&
      SIGRTMIN + n <= SIGRTMAX) {
    return SIGRTMIN + n;
  }
  return std::nullopt;
}

int CmdKill(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "kill", 1);
  if (!id.ok()) return Fail(id.status());
  std::optional<int> sig = ParseSignal(args.size() > 1 ? args[1] : "SIGTERM");
  if (!sig) return Fail(absl::StrCat("invalid signal \"", args[1], "\""));
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  std::string status = StatusOf(*s);
  // As runc's: --all signals whatever is left in the container's cgroup,
  // which for a stopped one is nothing, and succeeds.
  if (status == "stopped" && FLAGS_all) return 0;
  if (status == "stopped") return Fail("container not running");
  if (*sig == 0) return 0;  // init is there: the sandbox lives
  if (status == "created") {
    // Init has not started: nothing inside to signal, and runc's waiting
    // init would die of anything but an ignored signal.
    if (*sig == SIGCHLD || *sig == SIGCONT || *sig == SIGURG ||
        *sig == SIGWINCH) {
      return 0;
    }
    kill(s->sandbox.pid, SIGKILL);
    return 0;
  }
  ControlRequest req;
  req.mutable_signal()->set_signo(*sig);
  req.mutable_signal()->set_all(FLAGS_all);
  absl::StatusOr<ControlReply> reply = CallSandbox(Dir(*id), req);
  if (!reply.ok()) {
    // The signal may have ended init, and the sandbox with it, before the
    // reply was written: then it was delivered.
    for (int i = 0; i < 100 && StatusOf(*s) != "stopped"; i++) usleep(10000);
    if (StatusOf(*s) == "stopped") return 0;
    return Fail(reply.status());
  }
  if (reply->errno_value() != 0) return Fail(reply->message());
  return 0;
}

int CmdDelete(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "delete");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) {
    // A container killed in the middle of create may have no state file:
    // --force removes its directory anyway.
    if (FLAGS_force && absl::IsNotFound(s.status())) {
      rmdir(Dir(*id).c_str());
      return 0;
    }
    return Fail(s.status());
  }
  std::string status = StatusOf(*s);
  if (status != "stopped" && !FLAGS_force) {
    return Fail(absl::StrCat("cannot delete container ", *id,
                             " that is not stopped: ", status));
  }
  DestroyAndRunPoststop(*s);
  return 0;
}

// Signals a foreground `runsc run` passes on to the container's init, as
// runc's does: what a terminal, a shell's job control or a supervisor
// sends. (SIGWINCH resizes the terminal instead.)
const std::vector<int> kRunForwarded = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                        SIGUSR1, SIGUSR2, SIGALRM, SIGCONT,
                                        SIGTSTP, SIGTTIN, SIGTTOU};

// Stops a terminal relay and waits for it to end.
void StopRelay(std::thread& relay, int stop) {
  if (!relay.joinable()) return;
  eventfd_write(stop, 1);
  relay.join();
}

int CmdRun(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "run");
  if (!id.ok()) return Fail(id.status());
  ForegroundConsole console;
  absl::StatusOr<State> s = CreateOrCleanUp(*id, FLAGS_detach, &console);
  if (!s.ok()) return Fail(s.status());
  // Held from before start, so none sent meanwhile is lost, and in every
  // thread (the relay's too).
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : kRunForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGWINCH);
  sigaddset(&set, SIGCHLD);
  if (!FLAGS_detach) sigprocmask(SIG_BLOCK, &set, &old);
  absl::Status started = Start(*s);
  if (!started.ok()) {
    Destroy(*s);
    return Fail(started);
  }
  if (FLAGS_detach) return 0;
  HostFd sigfd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  HostFd stop(eventfd(0, EFD_CLOEXEC));
  std::thread relay;
  if (console.master.valid() && console.host != nullptr && stop.valid()) {
    console.host->ResizePty(console.master.get());
    console.host->MakeRaw();
    relay = std::thread(HostTerminal::Relay, console.master.get(), stop.get());
  }
  int status = 0;
  for (;;) {
    pid_t r = waitpid(s->sandbox.pid, &status, sigfd.valid() ? WNOHANG : 0);
    if (r == s->sandbox.pid || (r < 0 && errno != EINTR)) break;
    if (r != 0) continue;
    struct pollfd p = {sigfd.get(), POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    struct signalfd_siginfo si;
    while (read(sigfd.get(), &si, sizeof(si)) == sizeof(si)) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) continue;
      if (sig == SIGWINCH) {
        if (console.master.valid())
          console.host->ResizePty(console.master.get());
        continue;
      }
      ControlRequest req;
      req.mutable_signal()->set_signo(sig);
      (void)CallSandbox(Dir(s->id), req);
    }
  }
  StopRelay(relay, stop.get());
  console.host.reset();  // the caller's terminal as it was
  sigprocmask(SIG_SETMASK, &old, nullptr);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!FLAGS_keep) DestroyAndRunPoststop(*s);
  return code;
}

// Signals a `runsc exec` passes on to its process (what a terminal, a
// shell's job control or an engine's stop sends).
const std::vector<int> kExecForwarded = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                         SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH,
                                         SIGCONT, SIGTSTP};

// The process an exec runs: --process FILE, or the container's own process
// (env, cwd, user) with the command line's args and overrides, as runc
// builds it.
absl::StatusOr<oci::Process> ExecProcess(const State& s, const DoArgs& args) {
  oci::Process p;
  if (!FLAGS_process.empty()) {
    if (args.command.size() > 1) {
      return absl::InvalidArgumentError(
          "runsc exec: --process and a command line are exclusive");
    }
    absl::StatusOr<oci::Process> from_file = oci::LoadProcess(FLAGS_process);
    if (!from_file.ok()) return from_file.status();
    p = std::move(*from_file);
  } else {
    if (args.command.size() < 2) {
      return absl::InvalidArgumentError(
          "runsc exec: expected a container id and a command");
    }
    absl::StatusOr<oci::Spec> spec = oci::LoadSpec(s.bundle);
    if (spec.ok() && spec->process) p = *spec->process;
    p.args.assign(args.command.begin() + 1, args.command.end());
    p.terminal = FLAGS_tty;
  }
  for (const std::string& e : args.env) {
    if (e.find('=') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--env ", e, ": expected KEY=VALUE"));
    }
    // The last value of a name wins, as under runc.
    std::string key = e.substr(0, e.find('=') + 1);
    p.env.erase(std::remove_if(
                    p.env.begin(), p.env.end(),
                    [&](const std::string& v) { return v.rfind(key, 0) == 0; }),
                p.env.end());
    p.env.push_back(e);
  }
  if (!FLAGS_cwd.empty()) {
    if (FLAGS_cwd[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--cwd ", FLAGS_cwd, ": not an absolute path"));
    }
    p.cwd = FLAGS_cwd;
  }
  if (!FLAGS_user.empty()) {
    std::vector<std::string> ids = absl::StrSplit(FLAGS_user, ':');
    uint32_t uid = 0, gid = 0;
    if (ids.size() > 2 || !absl::SimpleAtoi(ids[0], &uid) ||
        (ids.size() == 2 && !absl::SimpleAtoi(ids[1], &gid))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--user ", FLAGS_user, ": expected UID[:GID], numeric"));
    }
    p.user.uid = uid;
    p.user.gid = gid;
  }
  // --cap adds to every set, as runc's does (to a process whose spec
  // names no capabilities it adds nothing: root has them all).
  for (const std::string& c : args.caps) {
    if (!oci::CapabilityNumber(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cap ", c, ": unknown capability"));
    }
    oci::Capabilities& caps = p.capabilities;
    for (std::vector<std::string>* set :
         {&caps.bounding, &caps.effective, &caps.permitted, &caps.inheritable,
          &caps.ambient}) {
      set->push_back(c);
    }
  }
  for (const std::string& g : args.additional_gids) {
    uint32_t gid;
    if (!absl::SimpleAtoi(g, &gid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--additional-gids ", g, ": expected a number"));
    }
    p.user.additional_gids.push_back(gid);
  }
  return p;
}

// A process raises `sig` on itself to end as the sandbox's process ended,
// so that whoever waits for it (conmon, a shim) sees the same status.
[[noreturn]] void EndAs(const ExecSession::End& end) {
  if (end.signal == 0) exit(end.code & 0xff);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(end.signal, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, end.signal);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), end.signal);
  _exit(128 + end.signal);  // a signal that does not kill (SIGCHLD...)
}

// `runsc exec`: a new process in the running sandbox (never a host
// process). This runsc, or with --detach a child it leaves behind, stands
// for it outside: its pid is the pid file's, it passes signals on, and it
// ends with the process's status.
// exec's failures, as runc's: status 255, apart from any status of the
// process's own.
template <typename T>
int ExecFail(const T& why) {
  Fail(why);
  return 255;
}

int CmdExec(const DoArgs& args) {
  if (args.command.empty()) {
    return ExecFail("runsc exec: expected a container id and a command");
  }
  absl::Status id_ok = CheckId(args.command[0]);
  if (!id_ok.ok()) return ExecFail(id_ok);
  absl::StatusOr<State> s = LoadState(args.command[0]);
  if (!s.ok()) return ExecFail(s.status());
  std::string status = StatusOf(*s);
  if (status == "stopped")
    return ExecFail("cannot exec in a stopped container");
  if (status == "paused" && !FLAGS_ignore_paused) {
    return ExecFail(
        "cannot exec in a paused container (use --ignore-paused to override)");
  }
  if (status == "paused") status = "running";
  if (status != "running") {
    return ExecFail(absl::StrCat("cannot exec in a ", status,
                                 " container: the sandbox takes execs once "
                                 "it has started"));
  }
  absl::StatusOr<std::vector<int>> preserved = PreservedFds();
  if (!preserved.ok()) return ExecFail(preserved.status());
  absl::StatusOr<oci::Process> p = ExecProcess(*s, args);
  if (!p.ok()) return ExecFail(p.status());
  absl::Status tty_ok = CheckTerminal(p->terminal, FLAGS_detach);
  if (!tty_ok.ok()) return ExecFail(tty_ok);
  // In the foreground, the caller's terminal is the process's console.
  std::unique_ptr<HostTerminal> host;
  if (p->terminal && !FLAGS_detach) {
    absl::StatusOr<std::unique_ptr<HostTerminal>> found = HostTerminal::Find();
    if (!found.ok()) return ExecFail(found.status());
    host = std::move(*found);
  }
  ExecRequest req;
  for (const std::string& a : p->args) req.add_argv(a);
  for (const std::string& e : p->env) req.add_env(e);
  req.set_cwd(p->cwd);
  req.set_uid(p->user.uid);
  req.set_gid(p->user.gid);
  for (uint32_t g : p->user.additional_gids) req.add_additional_gids(g);
  *req.mutable_limits() = LimitsOf(*p);
  req.set_terminal(p->terminal);
  HostFd master, slave;
  std::vector<int> fds = {0, 1, 2};
  if (p->terminal) {
    absl::Status pty =
        MakePty(p->console_width, p->console_height, &master, &slave);
    if (!pty.ok()) return ExecFail(pty);
    if (host) host->ResizePty(master.get());
    fds = {slave.get()};
  }
  req.set_preserve_fds(static_cast<uint32_t>(preserved->size()));
  fds.insert(fds.end(), preserved->begin(), preserved->end());
  for (int fd : fds) {
    char name[PATH_MAX];
    ssize_t n = readlink(absl::StrCat("/proc/self/fd/", fd).c_str(), name,
                         sizeof(name) - 1);
    req.add_fd_names(n > 0 ? std::string(name, static_cast<size_t>(n)) : "");
  }
  if (p->terminal && !host) {
    absl::Status sent = SendConsole(FLAGS_console_socket, master.get());
    if (!sent.ok()) return ExecFail(sent);
    master.Reset();
  }
  absl::StatusOr<ExecSession> session =
      ExecSession::Start(Dir(s->id), req, fds);
  if (!session.ok()) {
    return ExecFail(
        absl::StrCat("exec failed: unable to start container process: ",
                     session.status().message()));
  }
  slave.Reset();
  if (FLAGS_detach) {
    // A child stands for the process; this runsc is done once it has
    // written the child's pid. The child keeps no stdio of its own: the
    // process's readers see its end, not ours.
    pid_t child = fork();
    if (child < 0) return ExecFail(absl::StrCat("fork: ", strerror(errno)));
    if (child == 0) {
      int null = open("/dev/null", O_RDWR | O_CLOEXEC);
      for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
      EndAs(session->Wait(kExecForwarded));
    }
    absl::Status written = WritePidFile(child);
    if (!written.ok()) {
      kill(child, SIGKILL);
      return ExecFail(written);
    }
    return 0;
  }
  absl::Status written = WritePidFile(getpid());
  if (!written.ok()) return ExecFail(written);
  if (!host) EndAs(session->Wait(kExecForwarded));
  // The relay's thread must not take the signals Wait passes on.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kExecForwarded) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  HostFd stop(eventfd(0, EFD_CLOEXEC));
  if (!stop.valid())
    return ExecFail(absl::StrCat("eventfd: ", strerror(errno)));
  host->MakeRaw();
  std::thread relay(HostTerminal::Relay, master.get(), stop.get());
  ExecSession::End end = session->Wait(kExecForwarded, [&](int sig) {
    if (sig == SIGWINCH) host->ResizePty(master.get());
  });
  StopRelay(relay, stop.get());
  host.reset();  // the caller's terminal as it was
  EndAs(end);
}

// The host pids of the sandbox process's descendants (its stubs), by
// their pids in its pid namespace: /proc/PID/status's NSpid lists a pid
// from ours down to the process's own.
std::map<int, int> StubHostPids(pid_t sandbox) {
  std::map<int, int> out;
  std::vector<pid_t> todo = {sandbox};
  std::set<pid_t> seen;
  while (!todo.empty() && seen.size() < 100000) {
    pid_t p = todo.back();
    todo.pop_back();
    if (!seen.insert(p).second) continue;
    std::string status = ReadHostFile(absl::StrCat("/proc/", p, "/status"));
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      if (!absl::ConsumePrefix(&line, "NSpid:")) continue;
      std::vector<std::string> ids =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      int inner;
      if (!ids.empty() && absl::SimpleAtoi(ids.back(), &inner)) out[inner] = p;
    }
    DIR* d = opendir(absl::StrCat("/proc/", p, "/task").c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = readdir(d)) {
      std::string children = ReadHostFile(
          absl::StrCat("/proc/", p, "/task/", e->d_name, "/children"));
      for (absl::string_view c :
           absl::StrSplit(children, ' ', absl::SkipEmpty())) {
        int child;
        if (absl::SimpleAtoi(c, &child)) todo.push_back(child);
      }
    }
    closedir(d);
  }
  return out;
}

// `runsc ps`: the sandbox's processes. --format json prints what runc
// does, the host pids (here those of the processes running each one's
// guest code); the table shows the sandbox's view and the host pid.
// `runsc ps ID PS-OPTIONS...`: as runc, the host's ps(1) with those
// options, and of its lines the header and those of the container's host
// processes (the sandbox, its stubs running guest code, its gofers).
int HostPs(const std::vector<std::string>& options, const std::set<int>& pids) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return Fail(absl::StrCat("pipe: ", strerror(errno)));
  HostFd r(out[0]), w(out[1]);
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), options.begin(), options.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) return Fail(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    dup2(w.get(), STDOUT_FILENO);
    execvp("ps", cargv.data());
    _exit(127);
  }
  w.Reset();
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(r.get(), buf, sizeof(buf))) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Fail(absl::StrCat("ps ", absl::StrJoin(options, " "), " failed"));
  }
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  std::vector<std::string> header =
      absl::StrSplit(lines[0], ' ', absl::SkipWhitespace());
  size_t column =
      std::find(header.begin(), header.end(), "PID") - header.begin();
  if (column == header.size()) {
    return Fail(absl::StrCat("ps ", absl::StrJoin(options, " "),
                             ": no PID column in its output"));
  }
  printf("%s\n", lines[0].c_str());
  for (size_t i = 1; i < lines.size(); i++) {
    std::vector<std::string> fields =
        absl::StrSplit(lines[i], ' ', absl::SkipWhitespace());
    int pid;
    if (fields.size() > column && absl::SimpleAtoi(fields[column], &pid) &&
        pids.count(pid) > 0) {
      printf("%s\n", lines[i].c_str());
    }
  }
  return 0;
}

int CmdPs(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id =
      OneId(args, "ps", args.empty() ? 0 : args.size() - 1);
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  std::string status = StatusOf(*s);
  if (args.size() > 1) {
    std::set<int> pids;
    if (status != "stopped") {
      pids.insert(s->sandbox.pid);
      for (const Proc& h : s->helpers)
        if (Alive(h.pid, h.start)) pids.insert(h.pid);
      for (const auto& [inner, host] : StubHostPids(s->sandbox.pid))
        pids.insert(host);
    }
    return HostPs({args.begin() + 1, args.end()}, pids);
  }
  std::vector<ProcessEntry> procs;
  // Before start no process runs inside; after the end none is left (as
  // runc lists an empty cgroup's).
  if (status != "created" && status != "stopped") {
    ControlRequest req;
    req.mutable_ps();
    absl::StatusOr<ControlReply> reply = CallSandbox(Dir(*id), req);
    if (!reply.ok()) return Fail(reply.status());
    procs.assign(reply->processes().begin(), reply->processes().end());
  }
  std::map<int, int> host = StubHostPids(s->sandbox.pid);
  auto host_pid = [&](const ProcessEntry& p) {
    auto it = host.find(p.stub_pid());
    return it == host.end() ? -1 : it->second;
  };
  if (FLAGS_format == "json") {
    Json pids = Json::Array();
    std::set<int> listed;
    for (const ProcessEntry& p : procs) {
      int h = host_pid(p);
      if (h > 0 && listed.insert(h).second) pids.Append(Json::Int(h));
    }
    printf("%s\n", pids.Dump().c_str());
    return 0;
  }
  if (FLAGS_format != "table") {
    return Fail(absl::StrCat("invalid format option \"", FLAGS_format, "\""));
  }
  // ps -ef's columns, as runc's default, with the sandbox's pids (the
  // JSON has the host's).
  printf("%-8s %7s %7s %2s %-5s %-8s %8s %s\n", "UID", "PID", "PPID", "C",
         "STIME", "TTY", "TIME", "CMD");
  int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const ProcessEntry& p : procs) {
    int64_t secs = p.cpu_ms() / 1000;
    std::string time = absl::StrFormat("%02d:%02d:%02d", secs / 3600,
                                       secs / 60 % 60, secs % 60);
    int64_t ran_ms = now_ms - p.start_unix_ms();
    int64_t cpu = ran_ms > 0 ? p.cpu_ms() * 100 / ran_ms : 0;
    std::string stime =
        absl::FormatTime("%H:%M", absl::FromUnixMillis(p.start_unix_ms()),
                         absl::LocalTimeZone());
    std::string uid = p.uid() == 0 ? "root" : absl::StrCat(p.uid());
    printf("%-8s %7d %7d %2d %-5s %-8s %8s %s\n", uid.c_str(), p.pid(),
           p.ppid(), static_cast<int>(std::min<int64_t>(cpu, 99)),
           stime.c_str(), "?", time.c_str(), p.comm().c_str());
  }
  return 0;
}

// runc's stats event: what the container's cgroups counted, and the
// sandbox's own process count where no pids hierarchy counts them.
Json StatsEvent(const State& s) {
  CgroupStats st = ReadCgroupStats(CgroupDirs{s.cgroups});
  if (!st.pids_current) {
    ControlRequest req;
    req.mutable_ps();
    absl::StatusOr<ControlReply> reply = CallSandbox(Dir(s.id), req);
    if (reply.ok()) st.pids_current = reply->processes_size();
  }
  auto set = [](Json& j, const char* key, std::optional<uint64_t> v) {
    if (v) j.Set(key, Json::Uint(*v));
  };
  Json usage = Json::Object();
  set(usage, "total", st.cpu_total_ns);
  set(usage, "kernel", st.cpu_kernel_ns);
  set(usage, "user", st.cpu_user_ns);
  Json cpu = Json::Object();
  cpu.Set("usage", usage);
  Json mem_usage = Json::Object();
  set(mem_usage, "usage", st.memory_usage);
  set(mem_usage, "max", st.memory_max_usage);
  set(mem_usage, "limit", st.memory_limit);
  set(mem_usage, "failcnt", st.memory_failcnt);
  Json memory = Json::Object();
  memory.Set("usage", mem_usage);
  Json pids = Json::Object();
  set(pids, "current", st.pids_current);
  set(pids, "limit", st.pids_limit);
  Json data = Json::Object();
  data.Set("cpu", cpu);
  data.Set("memory", memory);
  data.Set("pids", pids);
  Json e = Json::Object();
  e.Set("type", Json::String("stats"));
  e.Set("id", Json::String(s.id));
  e.Set("data", data);
  return e;
}

// `runsc events`: one stats event with --stats, or one every --interval,
// and an oom event when the memory cgroup kills, until the container
// stops (runc's JSON, one per line).
int CmdEvents(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "events");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  if (StatusOf(*s) == "stopped") return Fail("container not running");
  if (FLAGS_stats) {
    printf("%s\n", StatsEvent(*s).Dump().c_str());
    return 0;
  }
  absl::Duration interval;
  if (!absl::ParseDuration(FLAGS_interval, &interval) ||
      interval <= absl::ZeroDuration()) {
    return Fail(absl::StrCat("--interval ", FLAGS_interval,
                             ": expected a duration such as 5s"));
  }
  uint64_t ooms = ReadCgroupStats(CgroupDirs{s->cgroups}).oom_kills.value_or(0);
  auto report_oom = [&] {
    uint64_t now =
        ReadCgroupStats(CgroupDirs{s->cgroups}).oom_kills.value_or(0);
    if (now <= ooms) return;
    Json oom = Json::Object();
    oom.Set("type", Json::String("oom"));
    oom.Set("id", Json::String(s->id));
    printf("%s\n", oom.Dump().c_str());
    fflush(stdout);
    ooms = now;
  };
  while (StatusOf(*s) != "stopped") {
    report_oom();
    printf("%s\n", StatsEvent(*s).Dump().c_str());
    fflush(stdout);
    absl::SleepFor(interval);
  }
  // The OOM kill may be what stopped it: the sandbox is one process.
  report_oom();
  return 0;
}

// `runsc pause` and `runsc resume`: the sandbox stops every task before
// it next runs guest code (runc freezes the container's cgroup).
int CmdPause(const std::vector<std::string>& args, bool pause) {
  absl::StatusOr<std::string> id = OneId(args, pause ? "pause" : "resume");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  std::string status = StatusOf(*s);
  if (pause && status != "running") return Fail("container not running");
  if (!pause && status != "paused") return Fail("container not paused");
  ControlRequest req;
  req.mutable_pause()->set_pause(pause);
  absl::StatusOr<ControlReply> reply = CallSandbox(Dir(*id), req);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->errno_value() != 0) return Fail(reply->message());
  s->status = pause ? "paused" : "running";
  absl::Status saved = SaveState(*s);
  if (!saved.ok()) return Fail(saved);
  return 0;
}

// `runsc debug ID`: --stacks prints what each task of the sandbox is
// doing (in guest code, or in which system call and for how long);
// --strace=on sends a line per system call of every task to this
// command's stdout from then on (redirect it to a file), until
// --strace=off.
int CmdDebug(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "debug");
  if (!id.ok()) return Fail(id.status());
  ControlRequest req;
  DebugRequest* d = req.mutable_debug();
  d->set_stacks(FLAGS_stacks);
  std::vector<int> fds;
  if (FLAGS_debug_strace == "on") {
    d->set_strace(DebugRequest::ON);
    fds.push_back(STDOUT_FILENO);
  } else if (FLAGS_debug_strace == "off") {
    d->set_strace(DebugRequest::OFF);
  } else if (!FLAGS_debug_strace.empty()) {
    return Fail(
        absl::StrCat("--strace=", FLAGS_debug_strace, ": expected on or off"));
  }
  if (!FLAGS_stacks && FLAGS_debug_strace.empty()) {
    return Fail("debug: give --stacks or --strace=on|off");
  }
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  std::string status = StatusOf(*s);
  // The control socket is served once init runs.
  if (status != "running" && status != "paused") {
    return Fail("container not running");
  }
  absl::StatusOr<ControlReply> reply = CallSandbox(Dir(*id), req, fds);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->errno_value() != 0) return Fail(reply->message());
  if (!FLAGS_stacks) return 0;
  const sentry::kernel::SyscallTable& table = sentry::syscalls::LinuxTable();
  printf("%-7s %-7s %-8s %-20s %-9s %-18s %-18s %s\n", "TID", "PID", "STATE",
         "SYSCALL", "WAITING", "IP", "SP", "COMM");
  for (const TaskState& t : reply->tasks()) {
    std::string state = t.stopped()        ? "stopped"
                        : t.syscall() >= 0 ? "syscall"
                                           : "guest";
    std::string call = "-";
    if (t.syscall() >= 0) {
      const char* name = table.Name(static_cast<uint64_t>(t.syscall()));
      call = name[0] != '\0' ? name : absl::StrCat("#", t.syscall());
    }
    std::string waiting =
        t.blocked_ms() > 0
            ? absl::StrFormat("%.1fs",
                              static_cast<double>(t.blocked_ms()) / 1e3)
            : "-";
    printf("%-7d %-7d %-8s %-20s %-9s 0x%016lx 0x%016lx %s\n", t.tid(), t.pid(),
           state.c_str(), call.c_str(), waiting.c_str(),
           static_cast<unsigned long>(t.ip()),
           static_cast<unsigned long>(t.sp()), t.comm().c_str());
  }
  return 0;
}

std::vector<std::string> Ids() {
  std::vector<std::string> ids;
  DIR* d = opendir(FLAGS_root.c_str());
  if (d == nullptr) return ids;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !CheckId(name).ok()) continue;
    ids.push_back(name);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

int CmdList(const std::vector<std::string>&) {
  std::string format = FLAGS_format == "markdown" ? "table" : FLAGS_format;
  Json all = Json::Array();
  if (!FLAGS_quiet && format == "table") {
    printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
           "CREATED", "OWNER");
  }
  for (const std::string& id : Ids()) {
    absl::StatusOr<State> s = LoadState(id);
    if (!s.ok()) continue;
    Json j = StateJson(*s);
    if (FLAGS_quiet) {
      printf("%s\n", id.c_str());
    } else if (format == "json") {
      all.Append(j);
    } else {
      printf("%-12s %-8s %-10s %-40s %-30s %s\n", id.c_str(),
             j.Find("pid")->text().c_str(), j.Find("status")->text().c_str(),
             s->bundle.c_str(), s->created.c_str(), s->owner.c_str());
    }
  }
  if (!FLAGS_quiet && format == "json") printf("%s\n", all.Dump().c_str());
  return 0;
}

int CmdWait(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "wait");
  if (!id.ok()) return Fail(id.status());
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  while (StatusOf(*s) != "stopped") usleep(10000);
  std::optional<int> code = ExitStatus(*id);
  printf("%d\n", code.value_or(137));
  return code.value_or(137);
}

int CmdSpec(const std::vector<std::string>&) {
  std::string dir = FLAGS_bundle.empty() ? "." : FLAGS_bundle;
  std::string path = dir + "/config.json";
  if (access(path.c_str(), F_OK) == 0)
    return Fail("File config.json exists. Remove it first");
  std::ofstream out(path);
  // As runc: a cgroup namespace only where cgroups are v2 alone.
  struct statfs fs;
  bool unified =
      statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
  out << oci::DefaultSpecJson(unified);
  if (!out) return Fail(absl::StrCat(path, ": ", strerror(errno)));
  return 0;
}

// A size as runc's flags take it: -1 (unlimited), or a number with an
// optional binary unit (50M, 1.5g, 64KiB).
std::optional<int64_t> ParseBytes(const std::string& text) {
  if (text == "-1") return -1;
  size_t end = 0;
  while (end < text.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(text[end])) ||
          text[end] == '.')) {
    end++;
  }
  double n;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), &n))
    return std::nullopt;
  std::string unit = absl::AsciiStrToLower(text.substr(end));
  if (!unit.empty() && unit[0] == ' ') unit = unit.substr(1);
  static const std::map<std::string, int> kShift = {
      {"", 0},     {"b", 0},   {"k", 10},   {"kb", 10}, {"kib", 10},
      {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},  {"gb", 30},
      {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40}};
  auto it = kShift.find(unit);
  if (it == kShift.end()) return std::nullopt;
  double v = n * static_cast<double>(int64_t{1} << it->second);
  if (v > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(v);
}

// `runsc update`: new cgroup limits for a running container, from
// --resources (linux.resources JSON) and the flags, which win.
int CmdUpdate(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> id = OneId(args, "update");
  if (!id.ok()) return Fail(id.status());
  const std::pair<const char*, const std::string*> unsupported[] = {
      {"kernel-memory", &FLAGS_kernel_memory},
      {"kernel-memory-tcp", &FLAGS_kernel_memory_tcp},
      {"cpuset-cpus", &FLAGS_cpuset_cpus},
      {"cpuset-mems", &FLAGS_cpuset_mems},
      {"cpu-rt-period", &FLAGS_cpu_rt_period},
      {"cpu-rt-runtime", &FLAGS_cpu_rt_runtime},
      {"blkio-weight", &FLAGS_blkio_weight},
      {"l3-cache-schema", &FLAGS_l3_cache_schema},
      {"mem-bw-schema", &FLAGS_mem_bw_schema}};
  for (const auto& [name, value] : unsupported) {
    if (!value->empty()) {
      return Fail(absl::StrCat("update --", name,
                               ": not supported (runsc updates memory, CPU "
                               "shares and quota, and pids limits)"));
    }
  }
  absl::StatusOr<State> s = LoadState(*id);
  if (!s.ok()) return Fail(s.status());
  if (StatusOf(*s) == "stopped") return Fail("container not running");
  CgroupLimits l;
  if (!FLAGS_resources.empty()) {
    std::string text;
    if (FLAGS_resources == "-") {
      std::ostringstream in;
      in << std::cin.rdbuf();
      text = in.str();
    } else {
      text = ReadHostFile(FLAGS_resources);
    }
    if (text.size() > (1 << 20))
      return Fail("update --resources: larger than 1 MiB");
    // Checked as config.json's linux.resources is.
    absl::StatusOr<oci::Spec> spec = oci::ParseSpec(absl::StrCat(
        R"({"ociVersion": "1.0.2", "root": {"path": "r"}, "linux": {"resources": )",
        text, "}}"));
    if (!spec.ok()) {
      return Fail(absl::StrCat("update --resources ", FLAGS_resources, ": ",
                               spec.status().message()));
    }
    l = LimitsOfResources(spec->linux.resources);
  }
  const std::pair<const char*, const std::string*> sizes[] = {
      {"memory", &FLAGS_memory},
      {"memory-swap", &FLAGS_memory_swap},
      {"memory-reservation", &FLAGS_memory_reservation}};
  std::optional<int64_t>* size_out[] = {&l.memory_limit, &l.memory_swap,
                                        &l.memory_reservation};
  for (size_t i = 0; i < 3; i++) {
    if (sizes[i].second->empty()) continue;
    std::optional<int64_t> v = ParseBytes(*sizes[i].second);
    if (!v) {
      return Fail(absl::StrCat("update --", sizes[i].first, " ",
                               *sizes[i].second, ": not a size"));
    }
    *size_out[i] = v;
  }
  // A number flag, if given; false if given and not a number.
  auto number = [](const char* name, const std::string& text, auto* out) {
    if (text.empty()) return true;
    typename std::remove_reference_t<decltype(*out)>::value_type v;
    if (!absl::SimpleAtoi(text, &v)) {
      Fail(absl::StrCat("update --", name, " ", text, ": not a number"));
      return false;
    }
    *out = v;
    return true;
  };
  if (!number("cpu-share", FLAGS_cpu_share, &l.cpu_shares) ||
      !number("cpu-period", FLAGS_cpu_period, &l.cpu_period) ||
      !number("cpu-quota", FLAGS_cpu_quota, &l.cpu_quota) ||
      !number("pids-limit", FLAGS_pids_limit, &l.pids_limit)) {
    return 1;
  }
  if (!l.Any()) return 0;
  // The pids limit is also the sandbox's own limit on its tasks, as create
  // set it; a created sandbox serves no requests before it starts.
  if (l.pids_limit && StatusOf(*s) == "created") {
    return Fail("update --pids-limit: the sandbox takes it once started");
  }
  CgroupLimits host = l;
  if (s->cgroups.empty()) {
    // Rootless: no host cgroups; the sandbox's limit is the only one.
    host.pids_limit.reset();
    if (host.Any()) {
      return Fail(
          "update: this container has no cgroups of its own (rootless)");
    }
  } else {
    absl::Status updated =
        UpdateCgroups(ParseCgroupMounts(ReadHostFile("/proc/self/mountinfo")),
                      CgroupDirs{s->cgroups}, host);
    if (!updated.ok()) return Fail(updated);
  }
  if (l.pids_limit) {
    ControlRequest req;
    // No limit (0 or less): the sandbox's --max_tasks from create.
    req.mutable_limits()->set_max_tasks(
        *l.pids_limit > 0 ? SandboxMaxTasks(*l.pids_limit) : 0);
    absl::StatusOr<ControlReply> reply = CallSandbox(Dir(*id), req);
    if (!reply.ok()) return Fail(reply.status());
    if (reply->errno_value() != 0) return Fail(reply->message());
  }
  return 0;
}

int CmdFeatures(const std::vector<std::string>&) {
  Json j = Json::Object();
  j.Set("ociVersionMin", Json::String("1.0.0"));
  j.Set("ociVersionMax", Json::String("1.1.0"));
  Json hooks = Json::Array();
  for (const char* h : {"prestart", "createRuntime", "createContainer",
                        "startContainer", "poststart", "poststop"})
    hooks.Append(Json::String(h));
  j.Set("hooks", hooks);
  Json mounts = Json::Array();
  for (const char* o : {"bind", "rbind", "ro", "rw"})
    mounts.Append(Json::String(o));
  j.Set("mountOptions", mounts);
  Json linux = Json::Object();
  Json ns = Json::Array();
  for (const char* n : {"pid", "network", "ipc", "uts", "mount"})
    ns.Append(Json::String(n));
  linux.Set("namespaces", ns);
  j.Set("linux", linux);
  Json ann = Json::Object();
  ann.Set("org.opencontainers.runtime-spec.features.runtime",
          Json::String("runsc"));
  j.Set("annotations", ann);
  printf("%s\n", j.Pretty().c_str());
  return 0;
}

}  // namespace

bool IsOciVerb(const std::string& verb) {
  static const std::set<std::string> kVerbs = {
      "create", "start", "state",  "kill",     "delete", "run",
      "list",   "wait",  "spec",   "features", "exec",   "pause",
      "resume", "ps",    "events", "debug",    "update"};
  return kVerbs.count(verb) > 0;
}

int RunOciVerb(const std::string& verb, const DoArgs& all) {
  if (verb == "exec") return CmdExec(all);
  if (verb == "ps") return CmdPs(all.command);
  if (verb == "events") return CmdEvents(all.command);
  if (verb == "debug") return CmdDebug(all.command);
  if (verb == "pause") return CmdPause(all.command, true);
  if (verb == "resume") return CmdPause(all.command, false);
  const std::vector<std::string>& args = all.command;
  if (verb == "create") return CmdCreate(args);
  if (verb == "start") return CmdStart(args);
  if (verb == "state") return CmdState(args);
  if (verb == "kill") return CmdKill(args);
  if (verb == "delete") return CmdDelete(args);
  if (verb == "run") return CmdRun(args);
  if (verb == "list") return CmdList(args);
  if (verb == "wait") return CmdWait(args);
  if (verb == "spec") return CmdSpec(args);
  if (verb == "features") return CmdFeatures(args);
  if (verb == "update") return CmdUpdate(args);
  return Fail(absl::StrCat("unknown verb ", verb));
}

}  // namespace runsc
