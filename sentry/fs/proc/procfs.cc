#include "sentry/fs/proc/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "sentry/fs/mqueue/mqueue.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/task.h"
#include "sentry/net/proc_net.h"

namespace sentry::fs::proc {

namespace {

constexpr uint64_t kProcSuperMagic = 0x9fa0;

// USER_HZ: the unit of every tick count /proc reports.
constexpr int64_t kClockTicksPerSecond = 100;

// Task flags (PF_*) that /proc/PID/stat shows.
constexpr uint32_t kPfExiting = 0x00000004;
constexpr uint32_t kPfPostCoredump = 0x00000008;
constexpr uint32_t kPfForkNoExec = 0x00000040;
constexpr uint32_t kPfNoFreeze = 0x00008000;
constexpr uint32_t kPfRandomize = 0x00400000;

// Stable inode numbers from a path inside /proc (FNV-1a).
uint64_t InoOf(const std::string& path) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : path) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h | 1;
}

int64_t Ticks(absl::Duration d) {
  return absl::ToInt64Nanoseconds(d) / (1000000000 / kClockTicksPerSecond);
}

// Generated contents, read like a regular file. Like seq_file, every read
// at offset 0 generates them afresh: programs that poll with
// pread(fd, buf, n, 0) (top, monitoring agents) see new values, and a file
// of a process reaped since the open fails with ESRCH. Reads further on
// continue the same snapshot. (They are also generated at open, so that
// errors such as a zombie's EINVAL show there, as in Linux.)
class SnapshotFD final : public vfs::FileDescription {
 public:
  SnapshotFD(vfs::VirtualDentry vd, int flags, SynthFile::Generator gen,
             SynthFile::Writer writer, std::string data)
      : FileDescription(std::move(vd), flags),
        gen_(std::move(gen)),
        writer_(std::move(writer)),
        data_(std::move(data)) {}

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override {
    if (*offset < 0) return Errno(EINVAL);
    absl::MutexLock l(&mu_);
    if (*offset == 0) {
      SENTRY_ASSIGN_OR_RETURN(data_, gen_(ctx));
    }
    if (static_cast<uint64_t>(*offset) >= data_.size()) return size_t{0};
    size_t n = std::min(len, data_.size() - static_cast<size_t>(*offset));
    memcpy(buf, data_.data() + *offset, n);
    *offset += static_cast<int64_t>(n);
    return n;
  }
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t*) override {
    if (!writer_) return Errno(EIO);
    return writer_(ctx, std::string(buf, len));
  }
  SysResult<vfs::Attr> Stat() override {
    // Like Linux's proc files: size 0, whatever they contain.
    return inode()->GetAttr();
  }

 private:
  const SynthFile::Generator gen_;
  const SynthFile::Writer writer_;
  absl::Mutex mu_;
  std::string data_ ABSL_GUARDED_BY(mu_);
};

kernel::Task* CallerTask(vfs::CallContext& ctx) {
  return dynamic_cast<kernel::Task*>(&ctx);
}

std::string Hex16(uint64_t v) { return absl::StrFormat("%016x", v); }

std::string ModeOptions(int flags) {
  std::string o = (flags & vfs::kMountReadOnly) != 0 ? "ro" : "rw";
  if ((flags & vfs::kMountNoSuid) != 0) o += ",nosuid";
  if ((flags & vfs::kMountNoDev) != 0) o += ",nodev";
  if ((flags & vfs::kMountNoExec) != 0) o += ",noexec";
  return o;
}

// Reads [start, end) of an address space (argv or environment strings).
std::string ReadGuestRange(const std::shared_ptr<mm::MemoryManager>& mm,
                           uint64_t start, uint64_t end) {
  if (!mm || end <= start) return std::string();
  std::string out(std::min<uint64_t>(end - start, 1 << 20), '\0');
  SysResult<size_t> n = mm->CopyIn(GuestAddr(start), out.data(), out.size());
  if (!n.ok()) return std::string();
  out.resize(*n);
  return out;
}

// Which of `ncpus` CPUs `affinity` allows (CPUs past bit 63 always).
std::vector<bool> CpuSet(uint64_t affinity, int ncpus) {
  std::vector<bool> set(std::max(ncpus, 1));
  for (size_t i = 0; i < set.size(); i++)
    set[i] = i >= 64 || ((affinity >> i) & 1) != 0;
  return set;
}

// A bitmap as the kernel's "%*pb" prints it: 32-bit hex chunks from the
// top, comma-separated, the first one only as wide as its bits need.
std::string BitmapHex(const std::vector<bool>& bits) {
  size_t n = bits.size();
  size_t first = n % 32 == 0 ? 32 : n % 32;
  std::string out;
  for (size_t hi = n; hi > 0;) {
    size_t width = out.empty() ? first : 32;
    size_t lo = hi - width;
    uint32_t chunk = 0;
    for (size_t i = lo; i < hi; i++) chunk |= uint32_t{bits[i]} << (i - lo);
    if (!out.empty()) out += ',';
    out += absl::StrFormat("%0*x", static_cast<int>((width + 3) / 4), chunk);
    hi = lo;
  }
  return out;
}

// A bitmap as "%*pbl" prints it: "0-3,5".
std::string BitmapList(const std::vector<bool>& bits) {
  std::vector<std::string> ranges;
  for (size_t i = 0; i < bits.size();) {
    if (!bits[i]) {
      i++;
      continue;
    }
    size_t j = i;
    while (j + 1 < bits.size() && bits[j + 1]) j++;
    ranges.push_back(j == i ? absl::StrCat(i) : absl::StrCat(i, "-", j));
    i = j + 1;
  }
  return absl::StrJoin(ranges, ",");
}

// A task name as /proc/PID/status prints it: newlines and backslashes
// escaped, so the line stays one line.
std::string EscapeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

// What the memory counters of /proc/PID/status, stat and statm are built
// from. The memory manager keeps no counters of its own, so they are
// derived from its VMA list, walked through the maps text (the one view of
// every VMA it offers). Resident sizes are unknown: pages are the host's,
// in the stub process, which the sentry cannot see, so they read 0.
struct MemStats {
  uint64_t size = 0;   // every mapping
  uint64_t exe = 0;    // the program's own executable mappings
  uint64_t lib = 0;    // other executable mappings
  uint64_t data = 0;   // private writable mappings but the stack
  uint64_t stack = 0;  // [stack]
  uint64_t start_code = 0, end_code = 0, start_brk = 0;
};

MemStats MemStatsOf(const mm::MemoryManager& mm, std::optional<vfs::Attr> exe) {
  MemStats s;
  for (absl::string_view line : absl::StrSplit(mm.MapsText(), '\n')) {
    // "start-end perms offset major:minor inode   name"
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::MaxSplits(' ', 5));
    if (f.size() < 5) continue;
    std::pair<absl::string_view, absl::string_view> range =
        absl::StrSplit(f[0], '-');
    std::pair<absl::string_view, absl::string_view> dev =
        absl::StrSplit(f[3], ':');
    uint64_t start = 0, end = 0, ino = 0;
    uint32_t major_dev = 0, minor_dev = 0;
    if (!absl::SimpleHexAtoi(range.first, &start) ||
        !absl::SimpleHexAtoi(range.second, &end) ||
        !absl::SimpleHexAtoi(dev.first, &major_dev) ||
        !absl::SimpleHexAtoi(dev.second, &minor_dev) ||
        !absl::SimpleAtoi(f[4], &ino) || f[1].size() != 4) {
      continue;
    }
    absl::string_view name =
        f.size() > 5 ? absl::StripLeadingAsciiWhitespace(f[5]) : "";
    uint64_t len = end - start;
    bool write = f[1][1] == 'w', exec = f[1][2] == 'x', priv = f[1][3] == 'p';
    bool stack = name == "[stack]";
    s.size += len;
    if (stack) s.stack += len;
    if (write && priv && !stack) s.data += len;
    if (name == "[heap]" && s.start_brk == 0) s.start_brk = start;
    if (exec && !write && !stack) {
      bool own = exe.has_value() && ino == exe->ino &&
                 makedev(major_dev, minor_dev) == exe->dev;
      if (own) {
        s.exe += len;
        if (s.start_code == 0) s.start_code = start;
        s.end_code = end;
      } else {
        s.lib += len;
      }
    }
  }
  return s;
}

// /proc/meminfo: every line Linux's meminfo_proc_show prints (as a kernel
// built without CMA, hugetlb pools or zswap would), in its layout. Totals
// come from sysinfo(2) of the host, as the sysinfo system call reports
// them; the sentry cannot see the host's page cache or its LRU lists, so
// every figure sysinfo does not give reads 0, and MemAvailable is free
// plus buffer memory.
std::string MemInfo() {
  struct sysinfo si = {};
  sysinfo(&si);
  uint64_t unit = si.mem_unit != 0 ? si.mem_unit : 1;
  auto kb = [unit](uint64_t v) { return v * unit / 1024; };
  const std::pair<const char*, uint64_t> lines[] = {
      {"MemTotal", kb(si.totalram)},
      {"MemFree", kb(si.freeram)},
      {"MemAvailable", kb(si.freeram + si.bufferram)},
      {"Buffers", kb(si.bufferram)},
      {"Cached", 0},
      {"SwapCached", 0},
      {"Active", 0},
      {"Inactive", 0},
      {"Active(anon)", 0},
      {"Inactive(anon)", 0},
      {"Active(file)", 0},
      {"Inactive(file)", 0},
      {"Unevictable", 0},
      {"Mlocked", 0},
      {"SwapTotal", kb(si.totalswap)},
      {"SwapFree", kb(si.freeswap)},
      {"Dirty", 0},
      {"Writeback", 0},
      {"AnonPages", 0},
      {"Mapped", 0},
      {"Shmem", kb(si.sharedram)},
      {"KReclaimable", 0},
      {"Slab", 0},
      {"SReclaimable", 0},
      {"SUnreclaim", 0},
      {"KernelStack", 0},
      {"PageTables", 0},
      {"NFS_Unstable", 0},
      {"Bounce", 0},
      {"WritebackTmp", 0},
      {"CommitLimit", kb(si.totalram / 2 + si.totalswap)},
      {"Committed_AS", 0},
      {"VmallocTotal", 34359738367},
      {"VmallocUsed", 0},
      {"VmallocChunk", 0},
      {"Percpu", 0},
      {"AnonHugePages", 0},
      {"ShmemHugePages", 0},
      {"ShmemPmdMapped", 0},
      {"FileHugePages", 0},
      {"FilePmdMapped", 0},
  };
  std::string out;
  for (const auto& [key, value] : lines) {
    out += absl::StrFormat("%-16s%8u kB\n", absl::StrCat(key, ":"), value);
  }
  out +=
      "HugePages_Total:       0\nHugePages_Free:        0\n"
      "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
      "Hugepagesize:       2048 kB\nHugetlb:               0 kB\n";
  return out;
}

// A path or source as /proc/PID/mounts and mountinfo print it: space, tab,
// newline and backslash in octal (Linux's mangle), so fields stay fields.
std::string MangleField(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      out += absl::StrFormat("\\%03o", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

// Where a mount's root lies inside its filesystem ("/" unless it is a
// bind mount of a subdirectory).
std::string RootWithinFs(const std::shared_ptr<vfs::Dentry>& root) {
  std::vector<std::string> names;
  for (std::shared_ptr<vfs::Dentry> d = root; d && d->parent();
       d = d->parent()) {
    names.push_back(d->name());
  }
  std::string out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) out += "/" + *it;
  return out.empty() ? "/" : out;
}

// /proc/PID/limits: the names and units of Linux's fs/proc/base.c.
struct LimitName {
  const char* name;
  const char* unit;
};
constexpr LimitName kLimitNames[RLIM_NLIMITS] = {
    {"Max cpu time", "seconds"},        {"Max file size", "bytes"},
    {"Max data size", "bytes"},         {"Max stack size", "bytes"},
    {"Max core file size", "bytes"},    {"Max resident set", "bytes"},
    {"Max processes", "processes"},     {"Max open files", "files"},
    {"Max locked memory", "bytes"},     {"Max address space", "bytes"},
    {"Max file locks", "locks"},        {"Max pending signals", "signals"},
    {"Max msgqueue size", "bytes"},     {"Max nice priority", nullptr},
    {"Max realtime priority", nullptr}, {"Max realtime timeout", "us"},
};

std::string LimitValue(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : absl::StrCat(v);
}

}  // namespace

namespace {

// What /proc shows of one thread, read under Kernel::mu_ in one go so that
// its fields agree with each other.
struct ThreadView {
  std::shared_ptr<kernel::ThreadGroup> tg;
  int tid = 0;  // the thread described
  // That thread while it lives; null once it has exited (a zombie process,
  // or a leader that ended with pthread_exit while other threads run:
  // Linux keeps such a leader as a zombie thread, and so does /proc here).
  std::shared_ptr<kernel::Task> task;
  // A live thread of the process, for what its threads share (address
  // space, files, cwd, signal handlers): `task` if it lives. Null for a
  // zombie.
  std::shared_ptr<kernel::Task> any;
  bool zombie = false;  // the whole process
  int tty_nr = 0;       // the controlling terminal's device, encoded
  int tpgid = -1;       // its foreground process group
  bool stopped = false;
  bool dumpable = true;
  bool did_exec = false;
  int ppid = 0, pgid = 0, sid = 0;
  int threads = 0;
  int exit_signal = 0;
  int exit_code = 0;  // wait status of a dead thread, else 0
  uint32_t exit_uid = 0;
  kernel::Usage thread_usage, group_usage, children_usage;
  kernel::SigSet pending = 0, shared_pending = 0, blocked = 0;
  kernel::SigSet ignored = 0, caught = 0;
};

// Which kind of directory a PID directory is: /proc/PID (and /proc/TID),
// whose stat counts the whole process, or /proc/PID/task/TID, whose stat
// counts one thread.
enum class PidDirKind { kProcess, kThread };

}  // namespace

class ProcBuilder {
 public:
  explicit ProcBuilder(ProcFilesystem* fs)
      : fs_(fs), k_(&fs->kernel()), boot_(k_->boot_time()) {}

  std::shared_ptr<vfs::Inode> Root() {
    return std::make_shared<SynthDir>(
        fs_, InoOf("/"), S_IFDIR | 0555,
        [this](vfs::CallContext&) { return RootEntries(); }, 0,
        [this](vfs::CallContext&, const std::string& name) {
          return HiddenThread(name);
        });
  }

 private:
  using Gen = SynthFile::Generator;
  using ViewFn = std::function<SysResult<std::string>(const ThreadView&,
                                                      vfs::CallContext&)>;
  using TgRef = std::weak_ptr<kernel::ThreadGroup>;

  std::vector<SynthDir::Entry> RootEntries() {
    std::vector<SynthDir::Entry> e;
    e.push_back(Link("self", "/self",
                     [](vfs::CallContext& ctx) -> SysResult<std::string> {
                       kernel::Task* t = CallerTask(ctx);
                       if (t == nullptr) return Errno(ENOENT);
                       return std::to_string(t->tgid());
                     }));
    e.push_back(Link("thread-self", "/thread-self",
                     [](vfs::CallContext& ctx) -> SysResult<std::string> {
                       kernel::Task* t = CallerTask(ctx);
                       if (t == nullptr) return Errno(ENOENT);
                       return absl::StrCat(t->tgid(), "/task/", t->tid());
                     }));
    e.push_back(Link("mounts", "/mounts",
                     [](vfs::CallContext&) -> SysResult<std::string> {
                       return std::string("self/mounts");
                     }));
    // The filesystem types the sentry has, in the layout of Linux's
    // (nodev: needs no block device; all of them here).
    e.push_back(
        File("filesystems", "/filesystems", 0444, [](vfs::CallContext&) {
          return SysResult<std::string>(
              "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n"
              "nodev\tpipefs\nnodev\tdevpts\nnodev\toverlay\nnodev\t9p\nnodev\t"
              "mqueue\n");
        }));
    e.push_back(File("uptime", "/uptime", 0444, [this](vfs::CallContext&) {
      return SysResult<std::string>(Uptime());
    }));
    e.push_back(File("loadavg", "/loadavg", 0444, [this](vfs::CallContext& c) {
      return SysResult<std::string>(LoadAvg(c));
    }));
    e.push_back(File("stat", "/stat", 0444, [this](vfs::CallContext& c) {
      return SysResult<std::string>(KernelStat(c));
    }));
    e.push_back(File("version", "/version", 0444, [](vfs::CallContext&) {
      struct utsname u;
      uname(&u);
      return SysResult<std::string>(absl::StrCat(
          "Linux version ", u.release, " (uksandbox) #1 SMP uksandbox\n"));
    }));
    e.push_back(File("meminfo", "/meminfo", 0444, [](vfs::CallContext&) {
      return SysResult<std::string>(MemInfo());
    }));
    e.push_back(File("cpuinfo", "/cpuinfo", 0444, [this](vfs::CallContext&) {
      return SysResult<std::string>(fs_->options().cpuinfo);
    }));
    e.push_back(SysDir());
    e.push_back(NetDir());
    // Every process, zombies included; a reaped one is gone (ENOENT).
    for (int pid : k_->ThreadGroupIds()) {
      std::string path = absl::StrCat("/", pid);
      e.push_back(SynthDir::Entry{
          std::to_string(pid), DT_DIR, InoOf(path),
          [this, pid, path]() -> SysResult<std::shared_ptr<vfs::Inode>> {
            std::shared_ptr<kernel::ThreadGroup> tg = k_->FindThreadGroup(pid);
            if (!tg) return Errno(ENOENT);
            return PidDir(tg, pid, PidDirKind::kProcess, path);
          }});
    }
    return e;
  }

  // /proc/TID of a thread that is not a leader: not listed, but found, as
  // Linux does (it describes that thread, with its process's task/).
  std::optional<SynthDir::Entry> HiddenThread(const std::string& name) {
    int tid = 0;
    if (!absl::SimpleAtoi(name, &tid) || std::to_string(tid) != name) {
      return std::nullopt;
    }
    std::shared_ptr<kernel::Task> t = k_->FindTask(tid);
    if (!t || t->tgid() == tid) return std::nullopt;
    std::shared_ptr<kernel::ThreadGroup> tg = t->tg_ptr();
    std::string path = "/" + name;
    return SynthDir::Entry{
        name, DT_DIR, InoOf(path),
        [this, tg, tid, path]() -> SysResult<std::shared_ptr<vfs::Inode>> {
          return PidDir(tg, tid, PidDirKind::kProcess, path);
        }};
  }

  SynthDir::Entry File(const std::string& name, const std::string& path,
                       uint32_t perm, Gen g, uint32_t uid = 0,
                       SynthFile::Writer w = nullptr) {
    return SynthDir::Entry{
        name, DT_REG, InoOf(path),
        [=]() -> SysResult<std::shared_ptr<vfs::Inode>> {
          return std::shared_ptr<vfs::Inode>(
              std::make_shared<SynthFile>(fs_, InoOf(path), perm, g, uid, w));
        }};
  }

  SynthDir::Entry Link(const std::string& name, const std::string& path,
                       SynthLink::Target t, SynthLink::Magic m = nullptr,
                       uint32_t uid = 0) {
    return SynthDir::Entry{
        name, DT_LNK, InoOf(path),
        [=]() -> SysResult<std::shared_ptr<vfs::Inode>> {
          return std::shared_ptr<vfs::Inode>(
              std::make_shared<SynthLink>(fs_, InoOf(path), t, m, uid));
        }};
  }

  SynthDir::Entry Dir(const std::string& name, const std::string& path,
                      uint32_t perm, SynthDir::Lister l, uint32_t uid = 0) {
    return SynthDir::Entry{
        name, DT_DIR, InoOf(path),
        [=]() -> SysResult<std::shared_ptr<vfs::Inode>> {
          return std::shared_ptr<vfs::Inode>(std::make_shared<SynthDir>(
              fs_, InoOf(path), S_IFDIR | perm, l, uid));
        }};
  }

  SynthDir::Entry Static(const std::string& name, const std::string& path,
                         std::string text) {
    return File(name, path, 0444, [text](vfs::CallContext&) {
      return SysResult<std::string>(text);
    });
  }

  // /proc/net: the sandbox's network as ss(8) and netstat(8) read it.
  // (Linux makes it a link to self/net; there is one network namespace
  // per sandbox here.)
  SynthDir::Entry NetDir() {
    return Dir("net", "/net", 0555, [this](vfs::CallContext&) {
      std::vector<SynthDir::Entry> e;
      for (const std::string& name : net::ProcNetFiles()) {
        e.push_back(File(name, "/net/" + name, 0444, [name](vfs::CallContext&) {
          return SysResult<std::string>(net::ProcNetFile(name));
        }));
      }
      return e;
    });
  }

  // /proc/sys: the few values common programs read.
  SynthDir::Entry SysDir() {
    return Dir("sys", "/sys", 0555, [this](vfs::CallContext&) {
      std::vector<SynthDir::Entry> e;
      e.push_back(Dir("kernel", "/sys/kernel", 0555, [this](vfs::CallContext&) {
        struct utsname u;
        uname(&u);
        return std::vector<SynthDir::Entry>{
            Static("hostname", "/sys/kernel/hostname", k_->hostname() + "\n"),
            Static("ostype", "/sys/kernel/ostype", "Linux\n"),
            Static("osrelease", "/sys/kernel/osrelease",
                   std::string(u.release) + "\n"),
            Static("pid_max", "/sys/kernel/pid_max", "4194304\n"),
        };
      }));
      e.push_back(Dir("fs", "/sys/fs", 0555, [this](vfs::CallContext&) {
        return std::vector<SynthDir::Entry>{
            Static("file-max", "/sys/fs/file-max", "9223372036854775807\n"),
            Static("nr_open", "/sys/fs/nr_open", "1048576\n"),
            Dir("mqueue", "/sys/fs/mqueue", 0555,
                [this](vfs::CallContext&) {
                  // The limits sentry/fs/mqueue applies (Linux's defaults;
                  // not settable here).
                  using namespace fs::mqueue;  // NOLINT: five constants
                  auto n = [](int64_t v) { return absl::StrCat(v, "\n"); };
                  return std::vector<SynthDir::Entry>{
                      Static("msg_default", "/sys/fs/mqueue/msg_default",
                             n(QueueAttr().maxmsg)),
                      Static("msg_max", "/sys/fs/mqueue/msg_max", n(kMsgMax)),
                      Static("msgsize_default",
                             "/sys/fs/mqueue/msgsize_default",
                             n(QueueAttr().msgsize)),
                      Static("msgsize_max", "/sys/fs/mqueue/msgsize_max",
                             n(kMsgsizeMax)),
                      Static("queues_max", "/sys/fs/mqueue/queues_max",
                             n(kQueuesMax)),
                  };
                }),
        };
      }));
      e.push_back(Dir("vm", "/sys/vm", 0555, [this](vfs::CallContext&) {
        return std::vector<SynthDir::Entry>{
            Static("overcommit_memory", "/sys/vm/overcommit_memory", "0\n"),
            Static("mmap_min_addr", "/sys/vm/mmap_min_addr", "65536\n"),
        };
      }));
      return e;
    });
  }

  // ---- Processes and threads ----

  // Snapshots thread `tid` of the process `ref`. ESRCH once the process
  // has been reaped (even if the ThreadGroup object lingers while its last
  // references go) or the thread has exited; a leader that has exited is
  // described as a zombie thread as long as its process exists.
  SysResult<ThreadView> View(const TgRef& ref, int tid) const {
    ThreadView v;
    v.tg = ref.lock();
    if (!v.tg) return Errno(ESRCH);
    v.tid = tid;
    kernel::ThreadGroup& g = *v.tg;
    absl::MutexLock l(&k_->mu());
    if (k_->FindThreadGroupLocked(g.tgid()) != &g) return Errno(ESRCH);
    kernel::Task* task = nullptr;
    bool leader_lives = false;
    for (kernel::Task* t : g.tasks) {
      if (t->tid() == tid) task = t;
      if (t->tid() == g.tgid()) leader_lives = true;
    }
    if (task == nullptr && tid != g.tgid()) return Errno(ESRCH);
    kernel::Task* any = task != nullptr   ? task
                        : g.tasks.empty() ? nullptr
                                          : g.tasks.front();
    // Under Kernel::mu_ a listed task is still owned by the kernel.
    if (task != nullptr) v.task = task->weak_from_this().lock();
    if (any != nullptr) v.any = any->weak_from_this().lock();
    v.zombie = g.zombie;
    v.stopped = g.stopped || (task != nullptr && task->group_stopped);
    v.dumpable = g.dumpable;
    v.did_exec = g.did_exec;
    v.ppid = g.parent != nullptr ? g.parent->tgid() : 0;
    v.pgid = g.pgid;
    v.sid = g.sid;
    if (g.tty) {
      v.tpgid = g.tty->fg_pgrp;
      uint64_t dev = g.tty->DeviceNumber();
      v.tty_nr = static_cast<int>((minor(dev) & 0xff) | (major(dev) << 8) |
                                  ((minor(dev) & ~0xffu) << 12));
    }
    // Linux counts an exited leader until the process is reaped.
    v.threads = static_cast<int>(g.tasks.size()) + (leader_lives ? 0 : 1);
    // Threads other than the leader have no exit signal (-1 in Linux).
    v.exit_signal = tid == g.tgid() ? g.exit_signal : -1;
    if (task == nullptr) {
      v.exit_code = g.zombie ? g.exit_status.WaitStatus()
                             : g.leader_exit_status.WaitStatus();
    }
    v.exit_uid = g.exit_uid;
    v.group_usage = k_->GroupUsageLocked(&g);
    v.children_usage = g.children_usage;
    if (task != nullptr) {
      v.thread_usage = task->usage();
      v.pending = task->pending_mask_locked();
      v.blocked = task->signal_mask();
    }
    if (!g.zombie) v.shared_pending = g.pending.pending();
    if (any != nullptr) {
      for (int sig = 1; sig <= kernel::kMaxSignal; sig++) {
        uint64_t h = any->sighand().actions[sig - 1].handler;
        if (h == kernel::kSigIgn) v.ignored |= kernel::SigBit(sig);
        if (h != kernel::kSigIgn && h != kernel::kSigDfl) {
          v.caught |= kernel::SigBit(sig);
        }
      }
    }
    return v;
  }

  // The thread's name. An exited leader's own name is gone with its Task:
  // a live sibling's stands in (threads inherit it), and for a zombie the
  // executable's name, which is what exec set it to unless the program
  // renamed itself (prctl PR_SET_NAME) or ran through a symlink.
  static std::string CommOf(const ThreadView& v) {
    if (v.task) return v.task->comm();
    if (v.any) return v.any->comm();
    std::shared_ptr<vfs::FileDescription> exe = v.tg->executable();
    if (!exe || !exe->vd().dentry) return "";
    return exe->vd().dentry->name().substr(0, 15);  // TASK_COMM_LEN - 1
  }

  // Credentials of the thread, or of a live sibling. A zombie keeps only
  // its real uid; the rest is reconstructed as a fresh process of that uid
  // (with gid = uid) would have it: an approximation, flagged here.
  static auth::Credentials CredsOf(const ThreadView& v) {
    if (v.task) return v.task->GetCreds();
    if (v.any) return v.any->GetCreds();
    return auth::Credentials::ForUser(v.exit_uid, v.exit_uid);
  }

  // Who owns /proc/PID: the euid, or root for an undumpable process.
  static uint32_t OwnerOf(const ThreadView& v) {
    return v.dumpable ? CredsOf(v).euid : 0;
  }

  // The state letter: S for a thread blocked in a wait (as Linux's
  // interruptible sleep: from the moment it waits, so a thread seen in S
  // has registered for what it waits on), R for one running guest code or
  // a system call; stopped and zombie as Linux.
  static char StateOf(const ThreadView& v, vfs::CallContext& ctx) {
    if (!v.task) return 'Z';
    if (v.stopped) return 'T';
    if (CallerTask(ctx) == v.task.get()) return 'R';
    return v.task->activity().blocked_since_ns != 0 ? 'S' : 'R';
  }

  static const char* StateName(char s) {
    switch (s) {
      case 'R':
        return "R (running)";
      case 'T':
        return "T (stopped)";
      case 'Z':
        return "Z (zombie)";
      default:
        return "S (sleeping)";
    }
  }

  // The memory of the thread described: none once it has exited (as in
  // Linux, whose exited leader has dropped its mm).
  static std::shared_ptr<mm::MemoryManager> MMOf(const ThreadView& v) {
    return v.task ? v.task->GetMM() : nullptr;
  }

  static MemStats MemOf(const ThreadView& v) {
    std::shared_ptr<mm::MemoryManager> mm = MMOf(v);
    if (!mm) return MemStats();
    std::optional<vfs::Attr> exe_attr;
    std::shared_ptr<vfs::FileDescription> exe = v.tg->executable();
    if (exe) {
      SysResult<vfs::Attr> a = exe->Stat();
      if (a.ok()) exe_attr = *a;
    }
    return MemStatsOf(*mm, exe_attr);
  }

  // Generates a file of a PID directory from a fresh snapshot.
  Gen ViewGen(const TgRef& ref, int tid, ViewFn fn) const {
    return
        [this, ref, tid, fn](vfs::CallContext& ctx) -> SysResult<std::string> {
          SENTRY_ASSIGN_OR_RETURN(ThreadView v, View(ref, tid));
          return fn(v, ctx);
        };
  }

  SysResult<std::shared_ptr<vfs::Inode>> PidDir(
      const std::shared_ptr<kernel::ThreadGroup>& tg, int tid, PidDirKind kind,
      const std::string& base) {
    TgRef ref = tg;
    SysResult<ThreadView> v = View(ref, tid);
    if (!v.ok()) return Errno(ENOENT);
    uint32_t uid = OwnerOf(*v);
    return std::shared_ptr<vfs::Inode>(std::make_shared<SynthDir>(
        fs_, InoOf(base), S_IFDIR | 0555,
        [this, ref, tid, kind, base, uid](vfs::CallContext&) {
          return PidEntries(ref, tid, kind, base, uid);
        },
        uid));
  }

  std::vector<SynthDir::Entry> PidEntries(const TgRef& ref, int tid,
                                          PidDirKind kind,
                                          const std::string& base,
                                          uint32_t uid) {
    std::vector<SynthDir::Entry> e;
    // Listed even once the process is reaped: opening a file through a
    // directory fd taken before then fails with ESRCH, as in Linux.
    bool whole = kind == PidDirKind::kProcess;
    auto file = [&](const char* name, uint32_t perm, ViewFn fn,
                    SynthFile::Writer w = nullptr) {
      e.push_back(File(name, absl::StrCat(base, "/", name), perm,
                       ViewGen(ref, tid, std::move(fn)), uid, std::move(w)));
    };
    file("status", 0444, [this](const ThreadView& v, vfs::CallContext& ctx) {
      return SysResult<std::string>(Status(v, ctx));
    });
    file("stat", 0444,
         [this, whole](const ThreadView& v, vfs::CallContext& ctx) {
           return SysResult<std::string>(StatLine(v, ctx, whole));
         });
    file("statm", 0444, [](const ThreadView& v, vfs::CallContext&) {
      MemStats m = MemOf(v);
      uint64_t page = 4096;
      return SysResult<std::string>(
          absl::StrCat(m.size / page, " 0 0 ", m.exe / page, " 0 ",
                       (m.data + m.stack) / page, " 0\n"));
    });
    file("limits", 0444, [](const ThreadView& v, vfs::CallContext&) {
      return SysResult<std::string>(Limits(*v.tg));
    });
    // What the threads share comes from a live one, so a process whose
    // leader has exited still shows its memory, files and directories.
    file("maps", 0444, [](const ThreadView& v, vfs::CallContext&) {
      std::shared_ptr<mm::MemoryManager> mm = v.any ? v.any->GetMM() : nullptr;
      return SysResult<std::string>(mm ? mm->MapsText() : "");
    });
    file("cmdline", 0444, [](const ThreadView& v, vfs::CallContext&) {
      // A zombie's is empty: its memory is gone.
      if (!v.any) return SysResult<std::string>(std::string());
      kernel::ThreadGroup::ArgRange r = v.tg->args();
      return SysResult<std::string>(
          ReadGuestRange(v.any->GetMM(), r.arg_start, r.arg_end));
    });
    file("environ", 0400,
         [](const ThreadView& v, vfs::CallContext&) -> SysResult<std::string> {
           if (!v.any) return Errno(ESRCH);
           kernel::ThreadGroup::ArgRange r = v.tg->args();
           return ReadGuestRange(v.any->GetMM(), r.env_start, r.env_end);
         });
    file("auxv", 0400,
         [](const ThreadView& v, vfs::CallContext&) -> SysResult<std::string> {
           if (!v.any) return Errno(ESRCH);
           std::vector<uint64_t> a = v.tg->auxv();
           return std::string(reinterpret_cast<const char*>(a.data()),
                              a.size() * sizeof(uint64_t));
         });
    file(
        "comm", 0644,
        [](const ThreadView& v, vfs::CallContext&) {
          return SysResult<std::string>(CommOf(v) + "\n");
        },
        CommWriter(ref, tid));
    file("mounts", 0444,
         [this](const ThreadView& v,
                vfs::CallContext&) -> SysResult<std::string> {
           if (!v.any) return Errno(EINVAL);  // as Linux, for a zombie
           return Mounts(*v.any);
         });
    file("mountinfo", 0444,
         [this](const ThreadView& v,
                vfs::CallContext&) -> SysResult<std::string> {
           if (!v.any) return Errno(EINVAL);
           return MountInfo(*v.any);
         });
    e.push_back(Link("exe", base + "/exe", LinkText(ref, tid, ExeOf),
                     LinkMagic(ref, tid, ExeOf), uid));
    e.push_back(Link("cwd", base + "/cwd", LinkText(ref, tid, CwdOf),
                     LinkMagic(ref, tid, CwdOf), uid));
    e.push_back(Link("root", base + "/root", LinkText(ref, tid, RootOf),
                     LinkMagic(ref, tid, RootOf), uid));
    e.push_back(Dir(
        "fd", base + "/fd", 0500,
        [this, ref, tid, base, uid](vfs::CallContext&) {
          return FdEntries(ref, tid, base, uid);
        },
        uid));
    e.push_back(Dir(
        "fdinfo", base + "/fdinfo", 0555,
        [this, ref, tid, base, uid](vfs::CallContext&) {
          return FdInfoEntries(ref, tid, base, uid);
        },
        uid));
    if (kind == PidDirKind::kProcess) {
      std::shared_ptr<kernel::ThreadGroup> tg = ref.lock();
      int tgid = tg ? tg->tgid() : tid;
      std::string task_base = absl::StrCat("/", tgid, "/task");
      e.push_back(Dir(
          "task", task_base, 0555,
          [this, ref, task_base](vfs::CallContext&) {
            return TaskEntries(ref, task_base);
          },
          uid));
    }
    return e;
  }

  // /proc/PID/task: every live thread, and an exited leader while its
  // process exists (Linux lists it too, as a zombie).
  std::vector<SynthDir::Entry> TaskEntries(const TgRef& ref,
                                           const std::string& base) {
    std::vector<SynthDir::Entry> e;
    std::shared_ptr<kernel::ThreadGroup> tg = ref.lock();
    if (!tg) return e;
    std::vector<int> tids;
    {
      absl::MutexLock l(&k_->mu());
      if (k_->FindThreadGroupLocked(tg->tgid()) != tg.get()) return e;
      tids.push_back(tg->tgid());  // the leader first, live or not
      for (kernel::Task* t : tg->tasks) {
        // A thread on its way out (its joiner may already have been woken)
        // is gone, as Linux releases it right after.
        if (t->tid() != tg->tgid() && !t->ShouldExit()) {
          tids.push_back(t->tid());
        }
      }
    }
    for (int tid : tids) {
      std::string path = absl::StrCat(base, "/", tid);
      e.push_back(SynthDir::Entry{
          std::to_string(tid), DT_DIR, InoOf(path),
          [this, tg, tid, path]() -> SysResult<std::shared_ptr<vfs::Inode>> {
            return PidDir(tg, tid, PidDirKind::kThread, path);
          }});
    }
    return e;
  }

  // Writes to /proc/PID/comm rename that thread, as prctl(PR_SET_NAME):
  // at most 15 bytes are kept, up to a NUL, with no newline stripped;
  // the whole write counts as done. Only threads of the caller's own
  // process may be renamed (EINVAL otherwise, as Linux).
  SynthFile::Writer CommWriter(const TgRef& ref, int tid) const {
    return [this, ref, tid](vfs::CallContext& ctx,
                            const std::string& data) -> SysResult<size_t> {
      SENTRY_ASSIGN_OR_RETURN(ThreadView v, View(ref, tid));
      if (!v.task) return Errno(ESRCH);
      kernel::Task* caller = CallerTask(ctx);
      if (caller == nullptr || caller->tgid() != v.tg->tgid()) {
        return Errno(EINVAL);
      }
      std::string name = data.substr(0, 15);
      name.resize(strnlen(name.c_str(), name.size()));
      v.task->set_comm(std::move(name));
      return data.size();
    };
  }

  using Locate = SysResult<vfs::VirtualDentry> (*)(kernel::Task&);
  static SysResult<vfs::VirtualDentry> ExeOf(kernel::Task& t) {
    std::shared_ptr<vfs::FileDescription> exe = t.tg().executable();
    if (!exe) return Errno(ENOENT);
    return exe->vd();
  }
  static SysResult<vfs::VirtualDentry> CwdOf(kernel::Task& t) {
    return t.Cwd();
  }
  static SysResult<vfs::VirtualDentry> RootOf(kernel::Task& t) {
    return t.Root();
  }

  // A live thread of the process, for links and fds; ENOENT for a zombie
  // (as Linux's readlink of a zombie's exe).
  SysResult<std::shared_ptr<kernel::Task>> LiveTask(const TgRef& ref,
                                                    int tid) const {
    SENTRY_ASSIGN_OR_RETURN(ThreadView v, View(ref, tid));
    if (!v.any) return Errno(ENOENT);
    return v.any;
  }

  SynthLink::Target LinkText(const TgRef& ref, int tid, Locate where) {
    return
        [this, ref, tid, where](vfs::CallContext&) -> SysResult<std::string> {
          SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                  LiveTask(ref, tid));
          SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, where(*t));
          return t->PathOf(vd);
        };
  }
  SynthLink::Magic LinkMagic(const TgRef& ref, int tid, Locate where) {
    return [this, ref, tid,
            where](vfs::CallContext&) -> SysResult<vfs::VirtualDentry> {
      SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                              LiveTask(ref, tid));
      return where(*t);
    };
  }

  // Calls fn with each open fd of thread `tid`, if it is still alive.
  void ForEachFd(const TgRef& ref, int tid,
                 const std::function<void(int)>& fn) {
    SysResult<std::shared_ptr<kernel::Task>> task = LiveTask(ref, tid);
    if (!task.ok()) return;
    std::shared_ptr<vfs::FdTable> fds = (*task)->GetFdTable();
    if (!fds) return;
    fds->ForEach(
        [&](int fd, const std::shared_ptr<vfs::FileDescription>&) { fn(fd); });
  }

  std::vector<SynthDir::Entry> FdEntries(const TgRef& ref, int tid,
                                         const std::string& base,
                                         uint32_t uid) {
    std::vector<SynthDir::Entry> e;
    ForEachFd(ref, tid, [&](int fd) {
      auto file_of =
          [this, ref, tid,
           fd]() -> SysResult<std::shared_ptr<vfs::FileDescription>> {
        SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                LiveTask(ref, tid));
        std::shared_ptr<vfs::FdTable> table = t->GetFdTable();
        if (!table) return Errno(ENOENT);
        return table->Get(fd);
      };
      e.push_back(Link(
          std::to_string(fd), absl::StrCat(base, "/fd/", fd),
          [this, ref, tid,
           file_of](vfs::CallContext&) -> SysResult<std::string> {
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                                    file_of());
            std::string anon = f->AnonName();
            if (!anon.empty()) return anon;
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                    LiveTask(ref, tid));
            return t->PathOf(f->vd());
          },
          [file_of](vfs::CallContext&) -> SysResult<vfs::VirtualDentry> {
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                                    file_of());
            return f->vd();
          },
          uid));
    });
    return e;
  }

  // /proc/PID/fdinfo/N, as Linux's seq_show: position, flags (with
  // O_CLOEXEC from the fd), mount id and inode; a pidfd adds its pid (-1
  // once the process is reaped).
  std::vector<SynthDir::Entry> FdInfoEntries(const TgRef& ref, int tid,
                                             const std::string& base,
                                             uint32_t uid) {
    std::vector<SynthDir::Entry> e;
    ForEachFd(ref, tid, [&](int fd) {
      e.push_back(File(
          std::to_string(fd), absl::StrCat(base, "/fdinfo/", fd), 0444,
          [this, ref, tid, fd](vfs::CallContext&) -> SysResult<std::string> {
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                    LiveTask(ref, tid));
            std::shared_ptr<vfs::FdTable> table = t->GetFdTable();
            if (!table) return Errno(ENOENT);
            bool cloexec = false;
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                                    table->Get(fd, &cloexec));
            return FdInfo(*f, cloexec);
          },
          uid));
    });
    return e;
  }

  std::string FdInfo(vfs::FileDescription& f, bool cloexec) const {
    int64_t pos = 0;
    // A reader or writer may hold the position lock while it blocks: the
    // position then reads 0 rather than /proc waiting for it.
    if (f.pos_mu.TryLock()) {
      pos = f.pos;
      f.pos_mu.Unlock();
    }
    SysResult<vfs::Attr> attr = f.Stat();
    std::string out = absl::StrFormat(
        "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%u\n", pos,
        f.flags() | (cloexec ? O_CLOEXEC : 0),
        f.vd().mount ? f.vd().mount->id() : 0, attr.ok() ? attr->ino : 0);
    if (auto* pidfd = dynamic_cast<kernel::PidFD*>(&f)) {
      const std::shared_ptr<kernel::ThreadGroup>& tg = pidfd->tg();
      int pid = k_->FindThreadGroup(tg->tgid()) == tg ? tg->tgid() : -1;
      absl::StrAppend(&out, "Pid:\t", pid, "\nNSpid:\t", pid, "\n");
    }
    return out;
  }

  // FDSize: the size of the fd array, which Linux grows from 64 to
  // multiples of 128 (a power of two of them) as higher fds are used.
  static int FdSizeOf(const vfs::FdTable& fds) {
    int max_fd = -1;
    fds.ForEach([&](int fd, const std::shared_ptr<vfs::FileDescription>&) {
      max_fd = std::max(max_fd, fd);
    });
    if (max_fd < 64) return 64;
    int n = max_fd / 128 + 1;
    int pow2 = 1;
    while (pow2 < n) pow2 <<= 1;
    return pow2 * 128;
  }

  // /proc/PID/status, in the order and layout of Linux's proc_pid_status.
  // A thread that has exited (a zombie) has no fs, files or mm: like
  // Linux, its status then has no Umask line, FDSize 0 and no Vm* block.
  std::string Status(const ThreadView& v, vfs::CallContext& ctx) const {
    auth::Credentials c = CredsOf(v);
    const kernel::Task* t = v.task.get();
    std::string out;
    auto line = [&out](absl::string_view key, const auto& value) {
      absl::StrAppend(&out, key, ":\t", value, "\n");
    };
    auto kb = [&out](absl::string_view key, uint64_t bytes) {
      absl::StrAppend(&out,
                      absl::StrFormat("%s:\t%8u kB\n", key, bytes / 1024));
    };
    line("Name", EscapeName(CommOf(v)));
    if (t != nullptr) line("Umask", absl::StrFormat("%04o", t->umask()));
    line("State", StateName(StateOf(v, ctx)));
    line("Tgid", v.tg->tgid());
    line("Ngid", 0);
    line("Pid", v.tid);
    line("PPid", v.ppid);
    line("TracerPid", 0);
    line("Uid",
         absl::StrCat(c.ruid, "\t", c.euid, "\t", c.suid, "\t", c.fsuid));
    line("Gid",
         absl::StrCat(c.rgid, "\t", c.egid, "\t", c.sgid, "\t", c.fsgid));
    std::shared_ptr<vfs::FdTable> fds =
        t != nullptr ? t->GetFdTable() : nullptr;
    line("FDSize", fds ? FdSizeOf(*fds) : 0);
    std::string groups;
    for (uint32_t g : c.groups)
      absl::StrAppend(&groups, groups.empty() ? "" : " ", g);
    line("Groups", groups + " ");  // Linux leaves a trailing space
    // One pid namespace: each NS* line has one level.
    line("NStgid", v.tg->tgid());
    line("NSpid", v.tid);
    line("NSpgid", v.pgid);
    line("NSsid", v.sid);
    line("Kthread", 0);
    if (MMOf(v)) {
      MemStats m = MemOf(v);
      // No peak is tracked: the current size stands in for VmPeak.
      kb("VmPeak", m.size);
      kb("VmSize", m.size);
      kb("VmLck", 0);
      kb("VmPin", 0);
      kb("VmHWM", 0);
      kb("VmRSS", 0);
      kb("RssAnon", 0);
      kb("RssFile", 0);
      kb("RssShmem", 0);
      kb("VmData", m.data);
      kb("VmStk", m.stack);
      kb("VmExe", m.exe);
      kb("VmLib", m.lib);
      kb("VmPTE", 0);
      kb("VmSwap", 0);
      kb("HugetlbPages", 0);
      line("CoreDumping", 0);
      line("THP_enabled", 1);
      line("untag_mask", "0xffffffffffffffff");
    }
    line("Threads", v.threads);
    // Linux counts the signals queued for the user; the sentry keeps
    // pending sets, not counts: this counts the process's pending signals.
    int queued = __builtin_popcountll(v.pending | v.shared_pending);
    line("SigQ", absl::StrCat(queued, "/",
                              v.tg->GetRlimit(RLIMIT_SIGPENDING).rlim_cur));
    line("SigPnd", Hex16(v.pending));
    line("ShdPnd", Hex16(v.shared_pending));
    line("SigBlk", Hex16(v.blocked));
    line("SigIgn", Hex16(v.ignored));
    line("SigCgt", Hex16(v.caught));
    line("CapInh", Hex16(c.cap_inheritable));
    line("CapPrm", Hex16(c.cap_permitted));
    line("CapEff", Hex16(c.cap_effective));
    line("CapBnd", Hex16(c.cap_bounding));
    line("CapAmb", Hex16(c.cap_ambient));
    const kernel::Task* live = v.any.get();
    line("NoNewPrivs", live != nullptr && live->no_new_privs ? 1 : 0);
    std::shared_ptr<const kernel::SeccompFilter> filter =
        live != nullptr ? live->seccomp_filter() : nullptr;
    line("Seccomp", live != nullptr ? live->seccomp_mode() : 0);
    line("Seccomp_filters", filter != nullptr ? filter->count() : 0);
    // What a kernel says when it cannot control speculation for the task.
    line("Speculation_Store_Bypass", "unknown");
    line("SpeculationIndirectBranch", "unknown");
    std::vector<bool> cpus =
        CpuSet(t != nullptr ? t->affinity.load() : ~0ULL, k_->ncpus());
    line("Cpus_allowed", BitmapHex(cpus));
    line("Cpus_allowed_list", BitmapList(cpus));
    // One memory node, as a kernel without NUMA prints it.
    line("Mems_allowed", "1");
    line("Mems_allowed_list", "0");
    // Context switches happen in the host; the sentry does not count them.
    line("voluntary_ctxt_switches", 0);
    line("nonvoluntary_ctxt_switches", 0);
    return out;
  }

  // /proc/PID/stat: the 52 fields of proc_pid_stat(5), as do_task_stat
  // prints them. `whole` sums CPU times over the process's threads.
  std::string StatLine(const ThreadView& v, vfs::CallContext& ctx,
                       bool whole) const {
    const kernel::Task* t = v.task.get();
    MemStats m = MemOf(v);
    kernel::ThreadGroup::ArgRange args;
    if (t != nullptr) args = v.tg->args();
    kernel::Usage u = whole ? v.group_usage : v.thread_usage;
    char state = StateOf(v, ctx);
    uint32_t flags = k_->randomize() ? kPfRandomize : 0;
    // Set by clone, cleared by exec; threads made after exec keep it.
    if (v.tid != v.tg->tgid() || !v.did_exec) flags |= kPfForkNoExec;
    // What Linux's exit path adds.
    if (t == nullptr) flags |= kPfExiting | kPfPostCoredump | kPfNoFreeze;
    int nice = t != nullptr ? t->nice.load() : 0;
    // Threads share their process's start time: the sentry records no
    // other.
    int64_t start = Ticks(v.tg->start_time() - boot_);
    // The obsolete signal fields hold only signals 1-31, as in Linux.
    constexpr uint64_t kLow31 = 0x7fffffff;
    std::vector<std::string> f;
    auto add = [&f](const auto& x) { f.push_back(absl::StrCat(x)); };
    add(v.tid);                                      // 1 pid
    f.push_back(absl::StrCat("(", CommOf(v), ")"));  // 2 comm
    f.push_back(std::string(1, state));              // 3 state
    add(v.ppid);                                     // 4 ppid
    add(v.pgid);                                     // 5 pgrp
    add(v.sid);                                      // 6 session
    add(v.tty_nr);                                   // 7 tty_nr
    add(v.tpgid);                                    // 8 tpgid
    add(flags);                                      // 9 flags
    for (int i = 0; i < 4; i++) add(0);              // 10-13 faults
    add(Ticks(u.user));                              // 14 utime
    add(Ticks(u.sys));                               // 15 stime
    add(Ticks(v.children_usage.user));               // 16 cutime
    add(Ticks(v.children_usage.sys));                // 17 cstime
    add(20 + nice);                                  // 18 priority
    add(nice);                                       // 19 nice
    add(v.threads);                                  // 20 num_threads
    add(0);                                          // 21 itrealvalue
    add(start);                                      // 22 starttime
    add(m.size);                                     // 23 vsize
    add(0);                                          // 24 rss
    add(v.tg->GetRlimit(RLIMIT_RSS).rlim_cur);       // 25 rsslim
    add(m.start_code);                               // 26 startcode
    add(m.end_code);                                 // 27 endcode
    add(0);                                          // 28 startstack
    add(0);                                          // 29 kstkesp
    add(0);                                          // 30 kstkeip
    add(v.pending & kLow31);                         // 31 signal
    add(v.blocked & kLow31);                         // 32 blocked
    add(v.ignored & kLow31);                         // 33 sigignore
    add(v.caught & kLow31);                          // 34 sigcatch
    add(state == 'R' ? 0 : 1);                       // 35 wchan
    add(0);                                          // 36 nswap
    add(0);                                          // 37 cnswap
    add(v.exit_signal);                              // 38 exit_signal
    add(0);                                          // 39 processor
    add(0);                                          // 40 rt_priority
    add(0);                                          // 41 policy
    add(0);                                          // 42 blkio ticks
    add(0);                                          // 43 guest_time
    add(0);                                          // 44 cguest_time
    add(0);                                          // 45 start_data
    add(0);                                          // 46 end_data
    add(m.start_brk);                                // 47 start_brk
    add(args.arg_start);                             // 48 arg_start
    add(args.arg_end);                               // 49 arg_end
    add(args.env_start);                             // 50 env_start
    add(args.env_end);                               // 51 env_end
    add(v.exit_code);                                // 52 exit_code
    return absl::StrJoin(f, " ") + "\n";
  }

  // /proc/PID/limits, in the widths of Linux's proc_pid_limits.
  static std::string Limits(const kernel::ThreadGroup& tg) {
    std::string out = absl::StrFormat("%-25s %-20s %-20s %-10s\n", "Limit",
                                      "Soft Limit", "Hard Limit", "Units");
    for (int i = 0; i < RLIM_NLIMITS; i++) {
      struct rlimit r = tg.GetRlimit(i);
      absl::StrAppend(
          &out,
          absl::StrFormat("%-25s %-20s %-20s ", kLimitNames[i].name,
                          LimitValue(r.rlim_cur), LimitValue(r.rlim_max)));
      if (kLimitNames[i].unit != nullptr) {
        absl::StrAppend(&out, absl::StrFormat("%-10s", kLimitNames[i].unit));
      }
      out += '\n';
    }
    return out;
  }

  std::string Mounts(kernel::Task& t) {
    std::string out;
    vfs::MountNamespace& ns = k_->mount_ns();
    for (const auto& m : ns.Mounts()) {
      std::string path = t.PathOf(vfs::VirtualDentry{m, m->root()});
      absl::StrAppend(&out, MangleField(m->source()), " ", MangleField(path),
                      " ", m->fs()->type(), " ", ModeOptions(m->flags()),
                      " 0 0\n");
    }
    return out;
  }

  // /proc/PID/mountinfo, as proc(5) documents it: mount ID, parent ID
  // (the mount's own for the root of the tree), major:minor, root within
  // the filesystem, mount point, mount options, no optional fields (no
  // mount is shared), "-", type, source, superblock options.
  std::string MountInfo(kernel::Task& t) {
    std::string out;
    vfs::MountNamespace& ns = k_->mount_ns();
    for (const auto& m : ns.Mounts()) {
      vfs::VirtualDentry at = m->mountpoint();
      uint64_t parent = at.mount ? at.mount->id() : m->id();
      uint64_t dev = m->fs()->dev();
      std::string path = t.PathOf(vfs::VirtualDentry{m, m->root()});
      absl::StrAppend(&out,
                      absl::StrFormat("%d %d %d:%d ", m->id(), parent,
                                      major(dev), minor(dev)),
                      MangleField(RootWithinFs(m->root())), " ",
                      MangleField(path), " ", ModeOptions(m->flags()), " - ",
                      m->fs()->type(), " ", MangleField(m->source()), " ",
                      m->readonly() ? "ro" : "rw", "\n");
    }
    return out;
  }

  // ---- System-wide files ----

  // CPU time used by the sandbox since boot: every process's threads, live
  // and exited, and what reaped processes left to their parents. (Children
  // reaped automatically, with SIGCHLD ignored, are not counted.)
  kernel::Usage SandboxUsage() const {
    std::vector<int> ids = k_->ThreadGroupIds();
    kernel::Usage u;
    absl::MutexLock l(&k_->mu());
    for (int id : ids) {
      kernel::ThreadGroup* g = k_->FindThreadGroupLocked(id);
      if (g == nullptr) continue;
      u.Add(k_->GroupUsageLocked(g));
      u.Add(g->children_usage);
    }
    return u;
  }

  // Tasks running now: those in guest code, and the caller, which is
  // running this system call (as Linux counts the reader of /proc).
  int RunningTasks(vfs::CallContext& ctx) const {
    return k_->running_tasks() + (CallerTask(ctx) != nullptr ? 1 : 0);
  }

  absl::Duration UptimeDuration() const { return absl::Now() - boot_; }

  // /proc/uptime: seconds since the sandbox booted, and the idle time of
  // its CPUs: what the sandbox's tasks did not use of ncpus × uptime.
  std::string Uptime() const {
    absl::Duration up = UptimeDuration();
    kernel::Usage u = SandboxUsage();
    absl::Duration idle =
        std::max(absl::ZeroDuration(), up * k_->ncpus() - u.user - u.sys);
    return absl::StrFormat("%.2f %.2f\n", absl::ToDoubleSeconds(up),
                           absl::ToDoubleSeconds(idle));
  }

  // /proc/loadavg: no load average is kept, so the averages read 0.
  std::string LoadAvg(vfs::CallContext& ctx) const {
    return absl::StrFormat("0.00 0.00 0.00 %d/%u %d\n", RunningTasks(ctx),
                           k_->TaskCount(), k_->last_pid());
  }

  // /proc/stat. The host's counters cannot be read once the sentry is
  // locked down, and would describe other tenants anyway: user and system
  // time are the sandbox's own (spread evenly over the CPUs, since the
  // sentry does not know where the host ran each thread), idle is the rest
  // of each CPU's uptime (so that top and vmstat, which divide by the
  // total, see the sandbox's real share), and every other column is 0.
  // Interrupts and context switches are the host's business: 0.
  std::string KernelStat(vfs::CallContext& ctx) const {
    int ncpus = std::max(k_->ncpus(), 1);
    kernel::Usage u = SandboxUsage();
    int64_t up = Ticks(UptimeDuration());
    int64_t user = Ticks(u.user), sys = Ticks(u.sys);
    auto share = [ncpus](int64_t total, int cpu) {
      return total / ncpus + (cpu < total % ncpus ? 1 : 0);
    };
    auto cpu_line = [](const std::string& name, int64_t usr, int64_t sy,
                       int64_t idle) {
      return absl::StrFormat("%s %d 0 %d %d 0 0 0 0 0 0\n", name, usr, sy,
                             idle);
    };
    std::string per_cpu;
    int64_t idle_total = 0;
    for (int i = 0; i < ncpus; i++) {
      int64_t cu = share(user, i), cs = share(sys, i);
      int64_t idle = std::max<int64_t>(0, up - cu - cs);
      idle_total += idle;
      per_cpu += cpu_line(absl::StrCat("cpu", i), cu, cs, idle);
    }
    std::string out = cpu_line("cpu ", user, sys, idle_total) + per_cpu;
    absl::StrAppend(&out, "intr 0\nctxt 0\nbtime ", absl::ToUnixSeconds(boot_),
                    "\nprocesses ", k_->forks(), "\nprocs_running ",
                    RunningTasks(ctx),
                    "\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n");
    return out;
  }

  ProcFilesystem* const fs_;
  kernel::Kernel* const k_;
  const absl::Time boot_;
};

std::shared_ptr<ProcFilesystem> ProcFilesystem::Create(kernel::Kernel* kernel,
                                                       ProcOptions options) {
  auto fs = std::shared_ptr<ProcFilesystem>(
      new ProcFilesystem(kernel, std::move(options)));
  fs->builder_ = std::make_unique<ProcBuilder>(fs.get());
  fs->root_ = std::make_shared<vfs::Dentry>(nullptr, "", fs->builder_->Root());
  return fs;
}

ProcFilesystem::ProcFilesystem(kernel::Kernel* kernel, ProcOptions options)
    : Filesystem("proc"), kernel_(kernel), options_(std::move(options)) {}

ProcFilesystem::~ProcFilesystem() = default;

SysResult<vfs::StatFs> ProcFilesystem::GetStatFs() {
  vfs::StatFs s;
  s.type = kProcSuperMagic;
  s.blocks = s.bfree = s.bavail = 0;
  return s;
}

SynthInode::SynthInode(ProcFilesystem* fs, uint32_t mode, uint64_t ino,
                       uint32_t uid, uint32_t gid)
    : Inode(mode), fs_(fs) {
  attr_.ino = ino;
  attr_.dev = fs->dev();
  attr_.mode = mode;
  attr_.nlink = S_ISDIR(mode) ? 2 : 1;
  attr_.uid = uid;
  attr_.gid = gid;
  attr_.blksize = 1024;
  clock_gettime(CLOCK_REALTIME, &attr_.mtime);
  attr_.atime = attr_.ctime = attr_.mtime;
}

SysResult<vfs::Attr> SynthInode::GetAttr() { return attr_; }

SynthDir::SynthDir(ProcFilesystem* fs, uint64_t ino, uint32_t mode, Lister list,
                   uint32_t uid, Finder hidden)
    : SynthInode(fs, mode, ino, uid, uid == 0 ? 0 : uid),
      list_(std::move(list)),
      hidden_(std::move(hidden)) {}

SysResult<std::shared_ptr<vfs::Inode>> SynthDir::Lookup(
    vfs::CallContext& ctx, const std::string& name) {
  for (const Entry& e : list_(ctx)) {
    if (e.name == name) return e.make();
  }
  if (hidden_) {
    std::optional<Entry> e = hidden_(ctx, name);
    if (e.has_value()) return e->make();
  }
  return Errno(ENOENT);
}

SysResult<std::vector<vfs::Dirent>> SynthDir::ReadDir(vfs::CallContext& ctx) {
  std::vector<vfs::Dirent> out;
  for (const Entry& e : list_(ctx))
    out.push_back(vfs::Dirent{e.name, e.ino, e.type});
  return out;
}

SysResult<std::shared_ptr<vfs::FileDescription>> SynthDir::Open(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<vfs::DirectoryFD>(vd, flags));
}

SynthFile::SynthFile(ProcFilesystem* fs, uint64_t ino, uint32_t perm,
                     Generator gen, uint32_t uid, Writer writer)
    : SynthInode(fs, S_IFREG | perm, ino, uid, uid),
      gen_(std::move(gen)),
      writer_(std::move(writer)) {}

SysResult<std::shared_ptr<vfs::FileDescription>> SynthFile::Open(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY && !writer_) return Errno(EACCES);
  std::string data;
  if (acc != O_WRONLY) {
    SENTRY_ASSIGN_OR_RETURN(data, gen_(ctx));
  }
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<SnapshotFD>(vd, flags, gen_, writer_, std::move(data)));
}

SynthLink::SynthLink(ProcFilesystem* fs, uint64_t ino, Target target,
                     Magic magic, uint32_t uid)
    : SynthInode(fs, S_IFLNK | 0777, ino, uid, uid),
      target_(std::move(target)),
      magic_(std::move(magic)) {}

SysResult<std::string> SynthLink::ReadLink(vfs::CallContext& ctx) {
  return target_(ctx);
}

SysResult<std::optional<vfs::VirtualDentry>> SynthLink::FollowMagic(
    vfs::CallContext& ctx) {
  if (!magic_) return std::optional<vfs::VirtualDentry>();
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, magic_(ctx));
  return std::optional<vfs::VirtualDentry>(std::move(vd));
}

SysResult<std::shared_ptr<vfs::FileDescription>> SynthLink::Open(
    vfs::CallContext&, const vfs::VirtualDentry&, int) {
  return Errno(ELOOP);
}

}  // namespace sentry::fs::proc
