#include "sentry/fs/proc/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::proc {

namespace {

constexpr uint64_t kProcSuperMagic = 0x9fa0;

// Stable inode numbers from a path inside /proc (FNV-1a).
uint64_t InoOf(const std::string& path) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : path) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h | 1;
}

// A snapshot of generated contents, read like a regular file.
class SnapshotFD final : public vfs::FileDescription {
 public:
  SnapshotFD(vfs::VirtualDentry vd, int flags, std::string data)
      : FileDescription(std::move(vd), flags), data_(std::move(data)) {}

  SysResult<size_t> Read(vfs::CallContext&, char* buf, size_t len,
                         int64_t* offset) override {
    if (*offset < 0) return Errno(EINVAL);
    if (static_cast<uint64_t>(*offset) >= data_.size()) return size_t{0};
    size_t n = std::min(len, data_.size() - static_cast<size_t>(*offset));
    memcpy(buf, data_.data() + *offset, n);
    *offset += static_cast<int64_t>(n);
    return n;
  }
  SysResult<size_t> Write(vfs::CallContext&, const char*, size_t,
                          int64_t*) override {
    return Errno(EIO);
  }
  SysResult<vfs::Attr> Stat() override {
    // Like Linux's proc files: size 0, whatever they contain.
    return inode()->GetAttr();
  }

 private:
  const std::string data_;
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

// Reads [start, end) of a task's memory (its argv or environment strings).
SysResult<std::string> ReadGuestRange(kernel::Task& task, uint64_t start,
                                      uint64_t end) {
  std::shared_ptr<mm::MemoryManager> mm = task.GetMM();
  if (!mm || end <= start) return std::string();
  std::string out(std::min<uint64_t>(end - start, 1 << 20), '\0');
  SysResult<size_t> n = mm->CopyIn(GuestAddr(start), out.data(), out.size());
  if (!n.ok()) return std::string();
  out.resize(*n);
  return out;
}

}  // namespace

class ProcBuilder {
 public:
  explicit ProcBuilder(ProcFilesystem* fs) : fs_(fs), k_(&fs->kernel()) {}

  std::shared_ptr<vfs::Inode> Root() {
    return std::make_shared<
        SynthDir>(fs_, InoOf("/"), S_IFDIR | 0555, [this](vfs::CallContext&) {
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
      e.push_back(
          File("filesystems", "/filesystems", 0444, [](vfs::CallContext&) {
            return SysResult<std::string>(
                "nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\t9p\n");
          }));
      e.push_back(File("uptime", "/uptime", 0444, [this](vfs::CallContext&) {
        double up = absl::ToDoubleSeconds(absl::Now() - k_->boot_time());
        return SysResult<std::string>(absl::StrFormat("%.2f %.2f\n", up, 0.0));
      }));
      e.push_back(File("version", "/version", 0444, [](vfs::CallContext&) {
        struct utsname u;
        uname(&u);
        return SysResult<std::string>(absl::StrCat(
            "Linux version ", u.release, " (uksandbox) #1 SMP uksandbox\n"));
      }));
      e.push_back(File("meminfo", "/meminfo", 0444, [](vfs::CallContext&) {
        struct sysinfo si;
        sysinfo(&si);
        uint64_t unit = si.mem_unit;
        return SysResult<std::string>(absl::StrFormat(
            "MemTotal:       %8u kB\nMemFree:        %8u kB\nMemAvailable:   "
            "%8u kB\n"
            "Buffers:        %8u kB\nSwapTotal:      %8u kB\nSwapFree:       "
            "%8u kB\n",
            si.totalram * unit / 1024, si.freeram * unit / 1024,
            (si.freeram + si.bufferram) * unit / 1024,
            si.bufferram * unit / 1024, si.totalswap * unit / 1024,
            si.freeswap * unit / 1024));
      }));
      e.push_back(File("cpuinfo", "/cpuinfo", 0444, [this](vfs::CallContext&) {
        return SysResult<std::string>(fs_->options().cpuinfo);
      }));
      e.push_back(SysDir());
      for (int pid : k_->ThreadGroupIds()) {
        e.push_back(SynthDir::Entry{std::to_string(pid), DT_DIR,
                                    InoOf("/" + std::to_string(pid)),
                                    [this, pid]() { return PidDir(pid); }});
      }
      return e;
    });
  }

 private:
  using Gen = SynthFile::Generator;

  SynthDir::Entry File(const std::string& name, const std::string& path,
                       uint32_t perm, Gen g, uint32_t uid = 0) {
    return SynthDir::Entry{
        name, DT_REG, InoOf(path),
        [=]() -> SysResult<std::shared_ptr<vfs::Inode>> {
          return std::shared_ptr<vfs::Inode>(
              std::make_shared<SynthFile>(fs_, InoOf(path), perm, g, uid));
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

  // Finds the task of a /proc/PID directory, or ESRCH once it is gone.
  SysResult<std::shared_ptr<kernel::Task>> TaskOf(int pid) const {
    std::shared_ptr<kernel::Task> t = k_->FindTask(pid);
    if (!t) return Errno(ESRCH);
    return t;
  }

  SysResult<std::shared_ptr<vfs::Inode>> PidDir(int pid) {
    SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> task, TaskOf(pid));
    uint32_t uid = task->creds().euid;
    std::string base = absl::StrCat("/", pid);
    return std::shared_ptr<vfs::Inode>(std::make_shared<SynthDir>(
        fs_, InoOf(base), S_IFDIR | 0555,
        [this, pid, base, uid](vfs::CallContext&) {
          auto task_gen = [this, pid](auto fn) {
            return
                [this, pid, fn](vfs::CallContext&) -> SysResult<std::string> {
                  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                          TaskOf(pid));
                  return fn(*t);
                };
          };
          std::vector<SynthDir::Entry> e;
          e.push_back(File("status", base + "/status", 0444,
                           task_gen([this](kernel::Task& t) {
                             return SysResult<std::string>(Status(t));
                           }),
                           uid));
          e.push_back(File("stat", base + "/stat", 0444,
                           task_gen([this](kernel::Task& t) {
                             return SysResult<std::string>(StatLine(t));
                           }),
                           uid));
          e.push_back(
              File("maps", base + "/maps", 0444, task_gen([](kernel::Task& t) {
                     std::shared_ptr<mm::MemoryManager> mm = t.GetMM();
                     return SysResult<std::string>(mm ? mm->MapsText() : "");
                   }),
                   uid));
          e.push_back(File("cmdline", base + "/cmdline", 0444,
                           task_gen([](kernel::Task& t) {
                             auto r = t.tg().args();
                             return ReadGuestRange(t, r.arg_start, r.arg_end);
                           }),
                           uid));
          e.push_back(File("environ", base + "/environ", 0400,
                           task_gen([](kernel::Task& t) {
                             auto r = t.tg().args();
                             return ReadGuestRange(t, r.env_start, r.env_end);
                           }),
                           uid));
          e.push_back(File("comm", base + "/comm", 0644,
                           task_gen([](kernel::Task& t) {
                             return SysResult<std::string>(t.comm() + "\n");
                           }),
                           uid));
          e.push_back(File(
              "auxv", base + "/auxv", 0400, task_gen([](kernel::Task& t) {
                std::vector<uint64_t> v = t.tg().auxv();
                return SysResult<std::string>(std::string(
                    reinterpret_cast<const char*>(v.data()), v.size() * 8));
              }),
              uid));
          e.push_back(File("mounts", base + "/mounts", 0444,
                           task_gen([this](kernel::Task& t) {
                             return SysResult<std::string>(Mounts(t));
                           }),
                           uid));
          e.push_back(Link("exe", base + "/exe", LinkText(pid, ExeOf),
                           LinkMagic(pid, ExeOf), uid));
          e.push_back(Link("cwd", base + "/cwd", LinkText(pid, CwdOf),
                           LinkMagic(pid, CwdOf), uid));
          e.push_back(Link("root", base + "/root", LinkText(pid, RootOf),
                           LinkMagic(pid, RootOf), uid));
          e.push_back(Dir(
              "fd", base + "/fd", 0500,
              [this, pid, base, uid](vfs::CallContext&) {
                return FdEntries(pid, base, uid);
              },
              uid));
          return e;
        },
        uid));
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

  SynthLink::Target LinkText(int pid, Locate where) {
    return [this, pid, where](vfs::CallContext&) -> SysResult<std::string> {
      SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t, TaskOf(pid));
      SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, where(*t));
      return t->PathOf(vd);
    };
  }
  SynthLink::Magic LinkMagic(int pid, Locate where) {
    return
        [this, pid, where](vfs::CallContext&) -> SysResult<vfs::VirtualDentry> {
          SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t, TaskOf(pid));
          return where(*t);
        };
  }

  std::vector<SynthDir::Entry> FdEntries(int pid, const std::string& base,
                                         uint32_t uid) {
    std::vector<SynthDir::Entry> e;
    std::shared_ptr<kernel::Task> task = k_->FindTask(pid);
    if (!task) return e;
    task->GetFdTable()->ForEach(
        [&](int fd, const std::shared_ptr<vfs::FileDescription>&) {
          auto file_of =
              [this, pid,
               fd]() -> SysResult<std::shared_ptr<vfs::FileDescription>> {
            SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                    TaskOf(pid));
            return t->GetFdTable()->Get(fd);
          };
          e.push_back(Link(
              std::to_string(fd), absl::StrCat(base, "/fd/", fd),
              [this, pid,
               file_of](vfs::CallContext&) -> SysResult<std::string> {
                SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> f,
                                        file_of());
                std::string anon = f->AnonName();
                if (!anon.empty()) return anon;
                SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<kernel::Task> t,
                                        TaskOf(pid));
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

  std::string Status(kernel::Task& t) {
    const auth::Credentials& c = t.creds();
    uint64_t ignored = 0, caught = 0;
    {
      absl::MutexLock l(&t.sighand().mu);
      for (int i = 0; i < 64; i++) {
        uint64_t h = t.sighand().actions[i].handler;
        if (h == 1) ignored |= 1ULL << i;
        if (h > 1) caught |= 1ULL << i;
      }
    }
    std::shared_ptr<mm::MemoryManager> mm = t.GetMM();
    long ncpu = k_->ncpus();
    std::string groups;
    for (uint32_t g : c.groups) absl::StrAppend(&groups, g, " ");
    return absl::StrFormat(
        "Name:\t%s\nUmask:\t%04o\nState:\tR "
        "(running)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
        "PPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%"
        "u\nFDSize:\t%d\n"
        "Groups:\t%s\nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\nVmSize:"
        "\t%8u kB\n"
        "Threads:\t%d\nSigQ:\t0/"
        "63476\nSigPnd:\t%s\nShdPnd:\t%s\nSigBlk:\t%s\nSigIgn:\t%s\n"
        "SigCgt:\t%s\nCapInh:\t%s\nCapPrm:\t%s\nCapEff:\t%s\nCapBnd:\t%"
        "s\nCapAmb:\t%s\n"
        "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\nCpus_allowed_list:"
        "\t0-%d\n",
        t.comm(), t.umask(), t.tgid(), t.tid(), t.tg().ppid(), c.ruid, c.euid,
        c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid, 64, groups, t.tgid(),
        t.tid(), t.tgid(), t.tgid(), (mm ? mm->MappedBytes() : 0) / 1024,
        t.tg().live_tasks.load(), Hex16(0), Hex16(0), Hex16(t.signal_mask()),
        Hex16(ignored), Hex16(caught), Hex16(c.cap_inheritable),
        Hex16(c.cap_permitted), Hex16(c.cap_effective), Hex16(c.cap_bounding),
        Hex16(c.cap_ambient), t.no_new_privs ? 1 : 0, ncpu - 1);
  }

  std::string StatLine(kernel::Task& t) {
    std::shared_ptr<mm::MemoryManager> mm = t.GetMM();
    auto args = t.tg().args();
    int64_t start_ticks =
        absl::ToInt64Milliseconds(t.tg().start_time() - k_->boot_time()) / 10;
    // The 52 fields of proc_pid_stat(5); CPU times and fault counts are not
    // accounted yet (#3) and read 0.
    return absl::StrFormat(
        "%d (%s) R %d %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 %d 0 %d %u 0 "
        "18446744073709551615 0 0 0 0 0 0 %u 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 %u "
        "%u %u %u 0\n",
        t.tgid(), t.comm(), t.tg().ppid(), t.tgid(), t.tgid(),
        t.tg().live_tasks.load(), start_ticks, mm ? mm->MappedBytes() : 0,
        t.signal_mask(), args.arg_start, args.arg_end, args.env_start,
        args.env_end);
  }

  std::string Mounts(kernel::Task& t) {
    std::string out;
    vfs::MountNamespace& ns = k_->mount_ns();
    for (const auto& m : ns.Mounts()) {
      std::string path = t.PathOf(vfs::VirtualDentry{m, m->root()});
      absl::StrAppend(&out, m->source(), " ", path, " ", m->fs()->type(), " ",
                      ModeOptions(m->flags()), " 0 0\n");
    }
    return out;
  }

  ProcFilesystem* const fs_;
  kernel::Kernel* const k_;
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
                   uint32_t uid)
    : SynthInode(fs, mode, ino, uid, uid == 0 ? 0 : uid),
      list_(std::move(list)) {}

SysResult<std::shared_ptr<vfs::Inode>> SynthDir::Lookup(
    vfs::CallContext& ctx, const std::string& name) {
  for (const Entry& e : list_(ctx)) {
    if (e.name == name) return e.make();
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
                     Generator gen, uint32_t uid)
    : SynthInode(fs, S_IFREG | perm, ino, uid, uid), gen_(std::move(gen)) {}

SysResult<std::shared_ptr<vfs::FileDescription>> SynthFile::Open(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY) return Errno(EACCES);
  SENTRY_ASSIGN_OR_RETURN(std::string data, gen_(ctx));
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<SnapshotFD>(vd, flags, std::move(data)));
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
