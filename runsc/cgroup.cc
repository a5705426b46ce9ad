#include "runsc/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace runsc {
namespace {

bool Has(const CgroupMount& m, const std::string& controller) {
  return std::find(m.controllers.begin(), m.controllers.end(), controller) !=
         m.controllers.end();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Writes `value` to the cgroup file at `path`: 0 or the errno.
int WriteValue(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, value.data(), value.size());
  int err = n == static_cast<ssize_t>(value.size()) ? 0 : errno;
  close(fd);
  return err;
}

bool Denied(int err) { return err == EROFS || err == EACCES || err == EPERM; }

// Whether someone froze the cgroup at `dir` (v1's freezer.state, v2's
// cgroup.freeze): the sandbox would freeze as it joined.
bool Frozen(const CgroupMount& m, const std::string& dir) {
  std::ifstream in(dir + (m.v2 ? "/cgroup.freeze" : "/freezer.state"));
  std::string word;
  if (!(in >> word)) return false;
  return m.v2 ? word == "1" : word != "THAWED";
}

// cgroup v2 hands a controller to a child only if its parent's
// cgroup.subtree_control enables it: enables memory, cpu and pids (those
// each ancestor has) down to `path`'s parent, as runc does. Best effort:
// where it fails, the check for limits no hierarchy took says so.
void EnableV2Controllers(const std::string& mountpoint,
                         const std::string& path) {
  std::string dir = mountpoint;
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  for (size_t i = 0; i < parts.size(); i++) {
    std::ifstream in(dir + "/cgroup.controllers");
    std::set<std::string> have;
    for (std::string c; in >> c;) have.insert(c);
    std::string enable;
    for (const char* c : {"memory", "cpu", "pids"}) {
      if (have.count(c) > 0)
        absl::StrAppend(&enable, enable.empty() ? "" : " ", "+", c);
    }
    if (!enable.empty())
      (void)WriteValue(dir + "/cgroup.subtree_control", enable);
    dir += "/" + parts[i];
  }
}

// What one hierarchy applies of the limits: (file, value) in order.
std::vector<std::pair<std::string, std::string>> Settings(
    const CgroupMount& m, const std::string& dir, const CgroupLimits& l) {
  std::vector<std::pair<std::string, std::string>> out;
  auto num = [](int64_t v) { return absl::StrCat(v); };
  if (m.v2) {
    // Only the controllers the parent hands down have files here.
    if (l.memory_limit && Exists(dir + "/memory.max")) {
      out.push_back(
          {"memory.max", *l.memory_limit < 0 ? "max" : num(*l.memory_limit)});
      if (l.memory_swap && Exists(dir + "/memory.swap.max")) {
        // v2 bounds swap alone; OCI gives memory + swap.
        std::string swap = "max";
        if (*l.memory_swap >= 0 && *l.memory_limit >= 0) {
          swap = num(std::max<int64_t>(0, *l.memory_swap - *l.memory_limit));
        }
        out.push_back({"memory.swap.max", swap});
      }
    }
    if (l.cpu_shares && *l.cpu_shares > 0 && Exists(dir + "/cpu.weight")) {
      // runc's conversion of shares [2, 262144] to weight [1, 10000].
      uint64_t s = std::clamp<uint64_t>(*l.cpu_shares, 2, 262144);
      out.push_back({"cpu.weight", num(1 + ((s - 2) * 9999) / 262142)});
    }
    if ((l.cpu_quota || l.cpu_period) && Exists(dir + "/cpu.max")) {
      std::string quota =
          l.cpu_quota && *l.cpu_quota > 0 ? num(*l.cpu_quota) : "max";
      out.push_back(
          {"cpu.max",
           absl::StrCat(quota, " ", l.cpu_period ? *l.cpu_period : 100000)});
    }
    if (l.pids_limit && Exists(dir + "/pids.max")) {
      out.push_back(
          {"pids.max", *l.pids_limit <= 0 ? "max" : num(*l.pids_limit)});
    }
    if (l.memory_reservation && Exists(dir + "/memory.low")) {
      out.push_back({"memory.low", *l.memory_reservation < 0
                                       ? "max"
                                       : num(*l.memory_reservation)});
    }
    return out;
  }
  if (Has(m, "memory")) {
    if (l.memory_limit)
      out.push_back({"memory.limit_in_bytes", num(*l.memory_limit)});
    // Without swap accounting the file is missing, and swap unbounded.
    if (l.memory_swap && Exists(dir + "/memory.memsw.limit_in_bytes"))
      out.push_back({"memory.memsw.limit_in_bytes", num(*l.memory_swap)});
    if (l.memory_reservation) {
      out.push_back({"memory.soft_limit_in_bytes", num(*l.memory_reservation)});
    }
  }
  if (Has(m, "cpu")) {
    if (l.cpu_shares && *l.cpu_shares > 0)
      out.push_back({"cpu.shares", num(static_cast<int64_t>(*l.cpu_shares))});
    if (l.cpu_period)
      out.push_back(
          {"cpu.cfs_period_us", num(static_cast<int64_t>(*l.cpu_period))});
    if (l.cpu_quota) out.push_back({"cpu.cfs_quota_us", num(*l.cpu_quota)});
  }
  if (Has(m, "pids") && l.pids_limit) {
    out.push_back(
        {"pids.max", *l.pids_limit <= 0 ? "max" : num(*l.pids_limit)});
  }
  return out;
}

// As runc: v2's own files (linux.resources.unified) only where v2 is
// all there is.
absl::Status CheckUnified(const std::vector<CgroupMount>& mounts,
                          const CgroupLimits& limits) {
  if (!limits.unified.empty() &&
      std::any_of(mounts.begin(), mounts.end(),
                  [](const CgroupMount& m) { return !m.v2; })) {
    return absl::InvalidArgumentError(
        "invalid configuration: linux.resources.unified needs cgroup v2 "
        "alone; this host has v1 hierarchies");
  }
  return absl::OkStatus();
}

// A limit asked for and written nowhere would be a silent no-op: an
// error, unless cgroups may be skipped (rootless). A swap limit is
// checked only when asked for by itself (`update`): at create, engines
// pass one with every memory limit, and a host without swap accounting
// has no swap to bound.
absl::Status CheckApplied(const CgroupLimits& l,
                          const std::set<std::string>& applied,
                          bool tolerate_denied, bool check_swap) {
  struct Want {
    bool asked;
    std::initializer_list<const char*> files;
    const char* what;
  };
  const Want wants[] = {
      {l.memory_limit.has_value(),
       {"memory.limit_in_bytes", "memory.max"},
       "a memory limit"},
      {check_swap && l.memory_swap.has_value(),
       {"memory.memsw.limit_in_bytes", "memory.swap.max"},
       "a memory+swap limit"},
      {l.memory_reservation.has_value(),
       {"memory.soft_limit_in_bytes", "memory.low"},
       "a memory reservation"},
      {l.cpu_quota.has_value() && *l.cpu_quota > 0,
       {"cpu.cfs_quota_us", "cpu.max"},
       "a CPU quota"},
      {l.pids_limit.has_value() && *l.pids_limit > 0,
       {"pids.max"},
       "a pids limit"},
  };
  if (tolerate_denied) return absl::OkStatus();
  for (const Want& w : wants) {
    if (!w.asked) continue;
    bool found = false;
    for (const char* f : w.files) found |= applied.count(f) > 0;
    if (!found) {
      return absl::FailedPreconditionError(
          absl::StrCat("linux.resources: ", w.what,
                       " asked for, but no cgroup hierarchy here takes it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<CgroupMount> ParseCgroupMounts(const std::string& mountinfo) {
  std::vector<CgroupMount> out;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& type = dash[1];
    if (type != "cgroup" && type != "cgroup2") continue;
    CgroupMount m;
    m.mountpoint = f[4];
    m.v2 = type == "cgroup2";
    if (!m.v2) {
      for (absl::string_view o : absl::StrSplit(dash[3], ',')) {
        if (o != "rw" && o != "ro" && o.find('=') == absl::string_view::npos)
          m.controllers.emplace_back(o);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::string> NormalizeCgroupPath(const std::string& path,
                                                bool systemd) {
  std::string p = path;
  if (systemd && !p.empty() && p[0] != '/') {
    std::vector<std::string> parts = absl::StrSplit(p, ':');
    if (parts.size() != 3 || parts[0].empty() || parts[2].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cgroupsPath \"", path, "\": expected SLICE:PREFIX:NAME"));
    }
    p = absl::StrCat("/", parts[0], "/", parts[1].empty() ? "" : parts[1] + "-",
                     parts[2], ".scope");
  }
  if (p.empty() || p[0] != '/' || p.size() > 4096 ||
      p.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroupsPath \"", path, "\": not an absolute path"));
  }
  std::string out;
  for (absl::string_view c : absl::StrSplit(p, '/', absl::SkipEmpty())) {
    if (c == "." || c == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("cgroupsPath \"", path, "\": contains . or .."));
    }
    absl::StrAppend(&out, "/", c);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroupsPath \"", path, "\": the root cgroup"));
  }
  return out;
}

absl::StatusOr<CgroupDirs> MakeCgroups(const std::vector<CgroupMount>& mounts,
                                       const std::string& path,
                                       const CgroupLimits& limits,
                                       bool tolerate_denied) {
  CgroupDirs made;
  auto fail = [&made](absl::Status s) {
    RemoveCgroups(made);
    return s;
  };
  absl::Status unified = CheckUnified(mounts, limits);
  if (!unified.ok()) return unified;
  std::set<std::string> applied;  // files written, for the check below
  bool warned_busy = false;
  for (const CgroupMount& m : mounts) {
    bool wanted = m.v2 || Has(m, "memory") || Has(m, "cpu") ||
                  Has(m, "cpuacct") || Has(m, "pids") || Has(m, "freezer");
    if (!wanted) continue;
    std::string dir = m.mountpoint + path;
    int err = 0;
    for (size_t at = m.mountpoint.size() + 1; at <= dir.size(); at++) {
      if (at != dir.size() && dir[at] != '/') continue;
      if (mkdir(dir.substr(0, at).c_str(), 0755) != 0 && errno != EEXIST) {
        err = errno;
        break;
      }
    }
    if (err != 0) {
      if (tolerate_denied && Denied(err)) continue;
      return fail(absl::FailedPreconditionError(
          absl::StrCat("cgroup ", dir, ": ", strerror(err))));
    }
    if (m.v2) EnableV2Controllers(m.mountpoint, path);
    if ((m.v2 || Has(m, "freezer")) && Frozen(m, dir)) {
      // Not removed: it is not ours, and stays frozen, as runc leaves it.
      return fail(absl::FailedPreconditionError(
          absl::StrCat("container's cgroup unexpectedly frozen (", dir,
                       "): thaw it or give another cgroupsPath")));
    }
    // One there already (a container restarted on its old path) is ours
    // to remove all the same: the path is this container's. If something
    // runs in it, say so, as runc does (once).
    made.dirs.push_back(dir);
    if (!warned_busy) {
      std::ifstream procs(dir + "/cgroup.procs");
      std::string line;
      int n = 0;
      while (std::getline(procs, line)) n += line.empty() ? 0 : 1;
      if (n > 0) {
        fprintf(stderr,
                "runsc: warning: container's cgroup is not empty: %d "
                "process(es) found in %s\n",
                n, dir.c_str());
        warned_busy = true;
      }
    }
    std::vector<std::pair<std::string, std::string>> settings =
        Settings(m, dir, limits);
    if (m.v2) {
      settings.insert(settings.end(), limits.unified.begin(),
                      limits.unified.end());
    }
    for (const auto& [file, value] : settings) {
      int werr = WriteValue(dir + "/" + file, value);
      if (werr != 0) {
        return fail(absl::FailedPreconditionError(absl::StrCat(
            "cgroup ", dir, "/", file, " = ", value, ": ", strerror(werr))));
      }
      applied.insert(file);
    }
  }
  absl::Status s = CheckApplied(limits, applied, tolerate_denied, false);
  if (!s.ok()) return fail(s);
  return made;
}

absl::Status UpdateCgroups(const std::vector<CgroupMount>& mounts,
                           const CgroupDirs& dirs, const CgroupLimits& limits) {
  absl::Status unified = CheckUnified(mounts, limits);
  if (!unified.ok()) return unified;
  std::set<std::string> applied;
  for (const std::string& dir : dirs.dirs) {
    const CgroupMount* m = nullptr;
    for (const CgroupMount& c : mounts) {
      if (dir.rfind(c.mountpoint + "/", 0) == 0 &&
          (m == nullptr || c.mountpoint.size() > m->mountpoint.size())) {
        m = &c;
      }
    }
    if (m == nullptr) continue;
    if (m->v2 && limits.memory_swap && !limits.memory_limit &&
        Exists(dir + "/memory.swap.max")) {
      return absl::InvalidArgumentError(
          "--memory-swap: on cgroup v2 give --memory with it (v2 bounds "
          "swap apart from memory)");
    }
    std::vector<std::pair<std::string, std::string>> settings =
        Settings(*m, dir, limits);
    if (m->v2) {
      settings.insert(settings.end(), limits.unified.begin(),
                      limits.unified.end());
    }
    for (size_t i = 0; i < settings.size(); i++) {
      const auto& [file, value] = settings[i];
      int err = WriteValue(dir + "/" + file, value);
      // v1 refuses a memory limit above memory+swap's: raise that first.
      if (err == EINVAL && file == "memory.limit_in_bytes" &&
          i + 1 < settings.size() &&
          settings[i + 1].first == "memory.memsw.limit_in_bytes") {
        err = WriteValue(dir + "/" + settings[i + 1].first,
                         settings[i + 1].second);
        if (err == 0) err = WriteValue(dir + "/" + file, value);
        if (err == 0) {
          applied.insert(file);
          applied.insert(settings[++i].first);
          continue;
        }
      }
      if (err != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cgroup ", dir, "/", file, " = ", value, ": ", strerror(err)));
      }
      applied.insert(file);
    }
  }
  return CheckApplied(limits, applied, false, true);
}

absl::Status JoinCgroups(const CgroupDirs& c, pid_t pid) {
  for (const std::string& dir : c.dirs) {
    int err = WriteValue(dir + "/cgroup.procs", absl::StrCat(pid));
    if (err != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("joining cgroup ", dir, ": ", strerror(err)));
    }
  }
  return absl::OkStatus();
}

void RemoveCgroups(const CgroupDirs& c) {
  for (auto it = c.dirs.rbegin(); it != c.dirs.rend(); ++it) {
    // A dying process may still be counted for a moment.
    for (int i = 0; i < 100 && rmdir(it->c_str()) != 0 && errno == EBUSY; i++)
      usleep(10000);
  }
}

namespace {

std::optional<uint64_t> ReadNumber(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  uint64_t v;
  if (!(in >> word) || word == "max" || !absl::SimpleAtoi(word, &v))
    return std::nullopt;
  return v;
}

// "key value" lines (cpu.stat, memory.events, memory.oom_control).
std::optional<uint64_t> ReadKey(const std::string& path,
                                const std::string& key) {
  std::ifstream in(path);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

CgroupStats ReadCgroupStats(const CgroupDirs& c) {
  CgroupStats s;
  auto take = [](std::optional<uint64_t>& field, std::optional<uint64_t> v) {
    if (!field && v) field = v;
  };
  // USER_HZ, which cpuacct.stat counts in.
  constexpr uint64_t kNsPerTick = 1000000000 / 100;
  for (const std::string& d : c.dirs) {
    take(s.cpu_total_ns, ReadNumber(d + "/cpuacct.usage"));
    if (auto u = ReadKey(d + "/cpuacct.stat", "user"))
      take(s.cpu_user_ns, *u * kNsPerTick);
    if (auto k = ReadKey(d + "/cpuacct.stat", "system"))
      take(s.cpu_kernel_ns, *k * kNsPerTick);
    if (auto u = ReadKey(d + "/cpu.stat", "usage_usec"))
      take(s.cpu_total_ns, *u * 1000);
    if (auto u = ReadKey(d + "/cpu.stat", "user_usec"))
      take(s.cpu_user_ns, *u * 1000);
    if (auto k = ReadKey(d + "/cpu.stat", "system_usec"))
      take(s.cpu_kernel_ns, *k * 1000);
    take(s.memory_usage, ReadNumber(d + "/memory.usage_in_bytes"));
    take(s.memory_usage, ReadNumber(d + "/memory.current"));
    take(s.memory_max_usage, ReadNumber(d + "/memory.max_usage_in_bytes"));
    take(s.memory_max_usage, ReadNumber(d + "/memory.peak"));
    take(s.memory_limit, ReadNumber(d + "/memory.limit_in_bytes"));
    take(s.memory_limit, ReadNumber(d + "/memory.max"));
    take(s.memory_failcnt, ReadNumber(d + "/memory.failcnt"));
    take(s.oom_kills, ReadKey(d + "/memory.oom_control", "oom_kill"));
    take(s.oom_kills, ReadKey(d + "/memory.events", "oom_kill"));
    take(s.pids_current, ReadNumber(d + "/pids.current"));
    take(s.pids_limit, ReadNumber(d + "/pids.max"));
  }
  return s;
}

bool InUserNamespace() {
  std::ifstream in("/proc/self/uid_map");
  std::string inside, outside, count;
  in >> inside >> outside >> count;
  return !(inside == "0" && outside == "0" && count == "4294967295");
}

}  // namespace runsc
