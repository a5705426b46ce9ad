#include "sentry/boot/boot.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "platform/platform.h"
#include "sentry/boot/sentry_seccomp.h"
#include "sentry/fs/dev/devfs.h"
#include "sentry/fs/devpts/console.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/fs/gofer/gofer_fs.h"
#include "sentry/fs/host/host_file.h"
#include "sentry/fs/mqueue/mqueue.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/proc/procfs.h"
#include "sentry/fs/sys/sysfs.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/seccomp.h"
#include "sentry/net/host/host.h"
#include "sentry/strace/strace.h"
#include "sentry/syscalls/linux/table.h"
#include "sentry/vdso/vdso_clock.h"
#include "sentry/vdso/vdso_image.h"
#include "sentry/vfs/kernel_context.h"
#include "sentry/vfs/ops.h"
#include "sentry/vfs/resolve.h"

namespace sentry::boot {

namespace {

// Makes every missing directory of absolute `path` (mode 0755), as runc
// makes a container's mountpoints. Fails with the first error other than
// EEXIST.
SysResult<void> MakeDirs(vfs::MountNamespace& ns, const std::string& path) {
  vfs::KernelContext ctx;  // the kernel itself, as root
  vfs::PathContext pc{&ns, ns.Root(), ns.Root()};
  for (size_t at = 1; at <= path.size(); at++) {
    if (at != path.size() && path[at] != '/') continue;
    SysResult<void> made = vfs::MkdirAt(ctx, pc, path.substr(0, at), 0755);
    if (!made.ok() && made.err() != EEXIST) return made;
  }
  return Ok();
}

// Mounts `fs` (rooted at `root`) on `path`, making the path if it is
// missing and the root is writable (an image without /proc).
void MountAt(vfs::MountNamespace& ns, const std::string& path,
             std::shared_ptr<vfs::Filesystem> fs,
             std::shared_ptr<vfs::Dentry> root, int flags,
             const std::string& source) {
  vfs::KernelContext ctx;  // the kernel itself, as root
  (void)MakeDirs(ns, path);
  vfs::Resolver r(ctx, ns, ns.Root(), ns.Root());
  SysResult<vfs::VirtualDentry> at = r.Resolve(path);
  if (!at.ok()) {
    LOG(WARNING) << "not mounting " << fs->type() << " on " << path << ": "
                 << strerror(at.err());
    return;
  }
  SysResult<void> m =
      ns.Attach(*at, std::make_shared<vfs::Mount>(fs, root, flags, source));
  if (!m.ok())
    LOG(WARNING) << "mounting on " << path << ": " << strerror(m.err());
}

// The credentials, rlimits and no_new_privs of a process the sandbox
// starts for runsc (init, an exec).
void ApplyLimits(const ProcessLimits& l, uint32_t uid, uint32_t gid,
                 kernel::InitProcess& p) {
  p.creds = auth::Credentials::ForUser(uid, gid);
  p.creds.groups = l.groups;
  if (l.caps_set) {
    p.creds.cap_bounding = l.cap_bounding;
    p.creds.cap_effective = l.cap_effective;
    p.creds.cap_permitted = l.cap_permitted;
    p.creds.cap_inheritable = l.cap_inheritable;
    p.creds.cap_ambient = l.cap_ambient;
  }
  for (const ProcessLimits::Rlimit& r : l.rlimits) {
    struct rlimit lim;
    lim.rlim_cur = r.soft;
    lim.rlim_max = r.hard;
    p.rlimits.emplace_back(r.resource, lim);
  }
  p.no_new_privs = l.no_new_privs;
  p.umask = l.umask;
}

int MountFlags(const BootOptions::Volume& v) {
  return (v.read_only ? vfs::kMountReadOnly : 0) |
         (v.nosuid ? vfs::kMountNoSuid : 0) | (v.nodev ? vfs::kMountNoDev : 0) |
         (v.noexec ? vfs::kMountNoExec : 0);
}

// tmpcopyup: copies the tree at `src` into the empty tmpfs directory
// `dst`, keeping modes, owners and symlinks (what runc does for podman's
// --tmpfs and --read-only). Device nodes and sockets are not copied; the
// copy is bounded by the tmpfs's size and by `depth`.
SysResult<void> CopyTree(vfs::CallContext& ctx, const vfs::VirtualDentry& src,
                         vfs::Inode& dst, int depth) {
  if (depth > 64) return Errno(ELOOP);
  vfs::Inode& dir = *src.dentry->inode();
  SENTRY_ASSIGN_OR_RETURN(std::vector<vfs::Dirent> entries, dir.ReadDir(ctx));
  for (const vfs::Dirent& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::Inode> child,
                            dir.Lookup(ctx, e.name));
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, child->GetAttr());
    vfs::VirtualDentry cvd{
        src.mount, std::make_shared<vfs::Dentry>(nullptr, e.name, child)};
    std::shared_ptr<vfs::Inode> made;
    if (child->IsDir()) {
      SENTRY_ASSIGN_OR_RETURN(made, dst.Mkdir(ctx, e.name, a.mode & 07777));
      SENTRY_RETURN_IF_ERROR(CopyTree(ctx, cvd, *made, depth + 1));
    } else if (child->IsSymlink()) {
      SENTRY_ASSIGN_OR_RETURN(std::string target, child->ReadLink(ctx));
      SENTRY_ASSIGN_OR_RETURN(made, dst.Symlink(ctx, e.name, target));
    } else if (child->IsRegular()) {
      SENTRY_ASSIGN_OR_RETURN(made, dst.Create(ctx, e.name, a.mode & 07777));
      SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<vfs::FileDescription> in,
                              child->Open(ctx, cvd, O_RDONLY));
      // FillFrom stops at the tmpfs's size.
      SENTRY_RETURN_IF_ERROR(
          static_cast<fs::tmpfs::TmpfsFile*>(made.get())->FillFrom(ctx, *in));
    } else {
      continue;
    }
    vfs::Inode::AttrChange owner;
    owner.uid = a.uid;
    owner.gid = a.gid;
    if (!child->IsSymlink()) owner.mode = a.mode & 07777;
    (void)made->SetAttr(ctx, owner);
  }
  return Ok();
}

// Mounts an OCI tmpfs mount: a new tmpfs, with the image's contents copied
// in for tmpcopyup.
absl::Status MountTmpfs(vfs::MountNamespace& ns, const BootOptions::Volume& v,
                        const vfs::VirtualDentry& at) {
  SysResult<std::shared_ptr<fs::tmpfs::TmpfsFilesystem>> fs =
      fs::tmpfs::TmpfsFilesystem::FromOptions(v.tmpfs_options);
  if (!fs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tmpfs on ", v.guest, ": options \"", v.tmpfs_options,
                     "\": ", strerror(fs.err())));
  }
  if (v.copy_up) {
    vfs::KernelContext ctx;
    SysResult<void> copied = CopyTree(ctx, at, *(*fs)->root()->inode(), 0);
    if (!copied.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("tmpcopyup into the tmpfs on ", v.guest, ": ",
                       strerror(copied.err())));
    }
  }
  SysResult<void> m = ns.Attach(
      at,
      std::make_shared<vfs::Mount>(*fs, (*fs)->root(), MountFlags(v), "tmpfs"));
  if (!m.ok()) {
    return absl::InternalError(
        absl::StrCat("mounting a tmpfs on ", v.guest, ": ", strerror(m.err())));
  }
  return absl::OkStatus();
}

// Mounts a -v volume's gofer tree (or an OCI tmpfs) at its guest path,
// making the missing directories of that path first.
absl::Status MountVolume(vfs::MountNamespace& ns,
                         const BootOptions::Volume& v) {
  if (v.tmpfs) {
    SysResult<void> made = MakeDirs(ns, v.guest);
    vfs::KernelContext ctx;
    vfs::Resolver r(ctx, ns, ns.Root(), ns.Root());
    SysResult<vfs::VirtualDentry> at = r.Resolve(v.guest);
    if (!made.ok() || !at.ok() || !at->dentry->inode()->IsDir()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the mountpoint ", v.guest, " of a tmpfs is not a directory"));
    }
    return MountTmpfs(ns, v, *at);
  }
  SysResult<std::shared_ptr<fs::gofer::GoferFilesystem>> fs =
      fs::gofer::GoferFilesystem::Create(HostFd(v.gofer_fd));
  if (!fs.ok()) {
    return absl::UnavailableError(
        absl::StrCat("attaching to the gofer of volume ", v.guest, ": ",
                     strerror(fs.err())));
  }
  vfs::KernelContext ctx;  // the kernel itself, as root
  SysResult<void> made = MakeDirs(ns, v.guest);
  if (!made.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("making the mountpoint ", v.guest, " of volume ", v.host,
                     ": ", strerror(made.err())));
  }
  vfs::Resolver r(ctx, ns, ns.Root(), ns.Root());
  SysResult<vfs::VirtualDentry> at = r.Resolve(v.guest);
  if (!at.ok() || !at->dentry->inode()->IsDir()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the mountpoint ", v.guest, " of volume ", v.host,
                     " is not a directory"));
  }
  SysResult<void> m = ns.Attach(
      *at,
      std::make_shared<vfs::Mount>(*fs, (*fs)->root(), MountFlags(v), v.host));
  if (!m.ok()) {
    return absl::InternalError(absl::StrCat("mounting ", v.host, " on ",
                                            v.guest, ": ", strerror(m.err())));
  }
  return absl::OkStatus();
}

// OCI maskedPaths and readonlyPaths (see BootOptions). Runs as the kernel
// itself before any guest code, over the sandbox's own tree, so a symlink
// in the image can only lead elsewhere inside the sandbox.
absl::Status MaskPaths(vfs::MountNamespace& ns, const BootOptions& options) {
  vfs::KernelContext ctx;
  auto resolve = [&](const std::string& path) {
    vfs::Resolver r(ctx, ns, ns.Root(), ns.Root());
    return r.Resolve(path);
  };
  constexpr int kMasked = vfs::kMountReadOnly | vfs::kMountNoSuid |
                          vfs::kMountNoDev | vfs::kMountNoExec;
  for (const std::string& path : options.masked_paths) {
    SysResult<vfs::VirtualDentry> at = resolve(path);
    if (!at.ok() && at.err() == ENOENT) continue;
    if (!at.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("masking ", path, ": ", strerror(at.err())));
    }
    std::shared_ptr<vfs::Mount> mask;
    if (at->dentry->inode()->IsDir()) {
      auto empty = fs::tmpfs::TmpfsFilesystem::Create(0555, 0, 0);
      mask =
          std::make_shared<vfs::Mount>(empty, empty->root(), kMasked, "tmpfs");
    } else {
      SysResult<vfs::VirtualDentry> null = resolve("/dev/null");
      if (!null.ok()) {
        return absl::InternalError(absl::StrCat(
            "masking ", path, ": /dev/null: ", strerror(null.err())));
      }
      mask = std::make_shared<vfs::Mount>(null->mount->fs(), null->dentry,
                                          kMasked, "devtmpfs");
    }
    SysResult<void> m = ns.Attach(*at, mask);
    if (!m.ok()) {
      return absl::InternalError(
          absl::StrCat("masking ", path, ": ", strerror(m.err())));
    }
  }
  for (const std::string& path : options.readonly_paths) {
    SysResult<vfs::VirtualDentry> at = resolve(path);
    if (!at.ok() && at.err() == ENOENT) continue;
    if (!at.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("making ", path, " read-only: ", strerror(at.err())));
    }
    SysResult<void> m = ns.Attach(
        *at,
        std::make_shared<vfs::Mount>(at->mount->fs(), at->dentry,
                                     at->mount->flags() | vfs::kMountReadOnly,
                                     at->mount->source()));
    if (!m.ok()) {
      return absl::InternalError(
          absl::StrCat("making ", path, " read-only: ", strerror(m.err())));
    }
  }
  return absl::OkStatus();
}

// Why init cannot start, in runc's words (podman and Docker tell 127 from
// 126 by them), or "": its working directory is missing, or its program
// is not found as execvp would look for it. Checked as the kernel itself;
// whether the file may run is left to the exec at start.
std::string CheckInit(vfs::MountNamespace& ns,
                      const kernel::InitProcess& init) {
  vfs::KernelContext ctx;
  std::string cwd_path = init.cwd.empty() ? "/" : init.cwd;
  vfs::ResolveOptions dir;
  dir.must_be_dir = true;
  SysResult<vfs::VirtualDentry> cwd =
      vfs::Resolver(ctx, ns, ns.Root(), ns.Root()).Resolve(cwd_path, dir);
  if (!cwd.ok()) {
    return absl::StrCat("chdir to cwd (\"", cwd_path,
                        "\") set in config.json failed: ", strerror(cwd.err()));
  }
  if (init.argv.empty()) return "exec: no program to run";
  const std::string& name = init.argv[0];
  auto exists = [&](const std::string& path) {
    SysResult<vfs::VirtualDentry> vd =
        vfs::Resolver(ctx, ns, ns.Root(), *cwd).Resolve(path);
    return vd.ok() && !vd->dentry->inode()->IsDir();
  };
  if (name.find('/') != std::string::npos) {
    if (exists(name)) return "";
    return absl::StrCat("exec: \"", name, "\": stat ", name,
                        ": no such file or directory");
  }
  std::string path_env =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : init.envp) {
    if (e.rfind("PATH=", 0) == 0) path_env = e.substr(5);
  }
  for (absl::string_view d : absl::StrSplit(path_env, ':')) {
    if (exists(absl::StrCat(d.empty() ? "." : d, "/", name))) return "";
  }
  return absl::StrCat("exec: \"", name,
                      "\": executable file not found in $PATH");
}

// Replaces the file at f.path in the root overlay with one holding
// f.content (mode 0644, root's). Called before anything is mounted over
// the root, so no volume can take the write to the host.
absl::Status WriteRootFile(vfs::MountNamespace& ns,
                           const BootOptions::File& f) {
  vfs::KernelContext ctx;
  vfs::PathContext pc{&ns, ns.Root(), ns.Root()};
  SysResult<void> dirs = MakeDirs(ns, f.path.substr(0, f.path.rfind('/')));
  if (!dirs.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "making the directory of ", f.path, ": ", strerror(dirs.err())));
  }
  SysResult<void> gone = vfs::UnlinkAt(ctx, pc, f.path, /*dir=*/false);
  if (!gone.ok() && gone.err() != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replacing ", f.path, " in the sandbox: ", strerror(gone.err())));
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> fd = vfs::OpenAt(
      ctx, pc, f.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (!fd.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "writing ", f.path, " in the sandbox: ", strerror(fd.err())));
  }
  int64_t off = 0;
  while (static_cast<size_t>(off) < f.content.size()) {
    SysResult<size_t> n =
        (*fd)->Write(ctx, f.content.data() + off, f.content.size() - off, &off);
    if (!n.ok() || *n == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("writing ", f.path,
                       " in the sandbox: ", strerror(n.ok() ? EIO : n.err())));
    }
  }
  return absl::OkStatus();
}

// What the host calls the sandbox's `fd` ("/dev/pts/0", "pipe:[123]"), for
// the guest's /proc/PID/fd: read while the host's /proc is reachable.
std::string HostFdName(int fd) {
  char name[4096];
  std::string link = absl::StrCat("/proc/self/fd/", fd);
  ssize_t n = readlink(link.c_str(), name, sizeof(name) - 1);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : "";
}

std::string ReadHostFile(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

}  // namespace

absl::Status LockDown() {
  if (unshare(CLONE_NEWNS) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("unshare(CLONE_NEWNS): ", strerror(errno)));
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("making mounts private: ", strerror(errno)));
  }
  // An empty tmpfs on some directory of this private namespace, then
  // pivot_root(".", ".") into it and detach the old root stacked beneath:
  // nothing of the host's tree stays reachable.
  const char* where = nullptr;
  for (const char* dir : {"/tmp", "/mnt", "/run", "/proc"}) {
    if (mount("uksandbox", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,mode=0555") == 0) {
      where = dir;
      break;
    }
  }
  if (where == nullptr) {
    return absl::InternalError(
        absl::StrCat("mounting an empty root: ", strerror(errno)));
  }
  if (chdir(where) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
      umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    return absl::InternalError(
        absl::StrCat("pivoting to the empty root: ", strerror(errno)));
  }
  if (mount(nullptr, "/", nullptr,
            MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("remounting the root read-only: ", strerror(errno)));
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(absl::StrCat("no_new_privs: ", strerror(errno)));
  }
  return absl::OkStatus();
}

namespace {

// Signals from outside (runsc passing on a terminal's Ctrl-C) that the
// guest's foreground process group receives.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

sigset_t ForwardedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  return set;
}

// The vDSO's image in a sealed memfd, and its clock's parameter page.
SysResult<loader::VdsoSource*> MakeVdso() {
  static vdso::VdsoClock* clock = vdso::VdsoClock::Create().release();
  if (clock == nullptr) return Errno(ENOMEM);
  int fd = static_cast<int>(
      syscall(SYS_memfd_create, "[vdso]", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return Errno::FromHost();
  auto image = std::make_shared<HostFd>(fd);
  size_t size = vdso::kVdsoImageSize;
  if (pwrite(fd, vdso::kVdsoImage, size, 0) != static_cast<ssize_t>(size) ||
      ftruncate(fd, static_cast<off_t>((size + 4095) & ~size_t{4095})) != 0 ||
      fcntl(fd, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Errno::FromHost();
  }
  int params = fcntl(clock->params_fd(), F_DUPFD_CLOEXEC, 3);
  if (params < 0) return Errno::FromHost();
  clock->Start();
  auto* source = new loader::VdsoSource;
  source->params = std::make_shared<HostFd>(params);
  source->image = std::move(image);
  source->image_size = size;
  return source;
}

}  // namespace

absl::StatusOr<int> RunSandbox(const BootOptions& options) {
  // Every thread (task threads, the platform's) inherits this mask; one
  // thread alone takes the forwarded signals.
  sigset_t forwarded = ForwardedSet();
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);
  // What the kernel needs from the host filesystem, read before it goes.
  fs::proc::ProcOptions proc_options;
  proc_options.cpuinfo = ReadHostFile("/proc/cpuinfo");
  int ncpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  fs::sys::SysOptions sys_options;
  sys_options.ncpus = ncpus > 0 ? ncpus : 1;
  sys_options.thp_always =
      ReadHostFile("/sys/kernel/mm/transparent_hugepage/enabled")
          .find("[always]") != std::string::npos;
  // Every file a guest opens, every tmpfs file and every shared mapping
  // holds a host fd in the sentry: use all the host lets us have.
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  std::string error;
  SysResult<std::unique_ptr<platform::Platform>> platform =
      platform::Platform::Create(options.platform, &error);
  if (!platform.ok())
    return absl::FailedPreconditionError("platform: " + error);

  SysResult<std::shared_ptr<fs::gofer::GoferFilesystem>> gofer =
      fs::gofer::GoferFilesystem::Create(HostFd(options.gofer_fd));
  if (!gofer.ok()) {
    return absl::UnavailableError(
        absl::StrCat("attaching to the gofer: ", strerror(gofer.err())));
  }
  std::shared_ptr<vfs::Mount> root_mount;
  if (options.root_overlay) {
    SysResult<std::shared_ptr<fs::overlay::OverlayFilesystem>> overlay =
        fs::overlay::OverlayFilesystem::Create(
            *gofer, (*gofer)->root(),
            fs::tmpfs::TmpfsFilesystem::Create(0755, 0, 0));
    if (!overlay.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "setting up the root overlay: ", strerror(overlay.err())));
    }
    root_mount = std::make_shared<vfs::Mount>(*overlay, (*overlay)->root(), 0,
                                              "overlay");
  } else {
    root_mount = std::make_shared<vfs::Mount>(*gofer, (*gofer)->root(),
                                              vfs::kMountReadOnly, "/");
  }
  auto ns = std::make_shared<vfs::MountNamespace>(std::move(root_mount));
  if (!options.files.empty() && !options.root_overlay) {
    return absl::InvalidArgumentError(
        "files to write into the root need the root overlay");
  }
  for (const BootOptions::File& f : options.files) {
    absl::Status s = WriteRootFile(*ns, f);
    if (!s.ok()) return s;
  }

  // The guest's stdio are the host's, and the host terminal, if the
  // sandbox runs on one, is init's controlling terminal. With a console
  // (`runsc do -t`) they are a pty's instead, set up once /dev/pts is.
  std::vector<std::shared_ptr<vfs::FileDescription>> stdio;
  std::shared_ptr<fs::HostTerminal> terminal;
  dev_t terminal_rdev = 0;
  for (int fd = 0; fd < 3 && options.console_fd < 0; fd++) {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
      stdio.push_back(nullptr);
      continue;
    }
    struct stat st;
    bool tty = isatty(copy) && fstat(copy, &st) == 0;
    if (!terminal && tty) {
      int t = fcntl(copy, F_DUPFD_CLOEXEC, 3);
      if (t >= 0) {
        terminal =
            std::make_shared<fs::HostTerminal>(std::make_shared<HostFd>(t));
        terminal_rdev = st.st_rdev;
      }
    }
    SysResult<std::shared_ptr<vfs::FileDescription>> f =
        fs::ImportHostFd(HostFd(copy), HostFdName(fd));

    // Stdio on the same terminal shares its job control.
    if (f.ok() && terminal && tty && st.st_rdev == terminal_rdev) {
      if (auto* h = dynamic_cast<fs::HostFileFD*>(f->get()))
        h->set_terminal(terminal);
    }
    stdio.push_back(f.ok() ? *f : nullptr);
  }
  // --preserve-fds: init's 3, 4, ..., whatever a console makes of stdio.
  std::vector<std::shared_ptr<vfs::FileDescription>> preserved;
  for (int fd : options.preserved_fds) {
    std::string name = HostFdName(fd);
    SysResult<std::shared_ptr<vfs::FileDescription>> f =
        fs::ImportHostFd(HostFd(fd), std::move(name));
    if (!f.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--preserve-fds: the container's fd ",
                       3 + preserved.size(), ": ", strerror(f.err())));
    }
    preserved.push_back(*f);
  }

  const kernel::SyscallTable& table = syscalls::LinuxTable();
  std::unique_ptr<strace::Strace> tracer;
  if (options.strace)
    tracer = std::make_unique<strace::Strace>(table, STDERR_FILENO);
  kernel::KernelOptions kopts;
  kopts.platform = platform->get();
  kopts.mount_ns = ns;
  kopts.syscalls = &table;
  kopts.observer = tracer.get();
  kopts.hostname = options.hostname;
  kopts.ncpus = ncpus > 0 ? ncpus : 1;
  kopts.max_tasks = options.max_tasks;
  kopts.max_tasks_unlimited = options.max_tasks_unlimited;
  if (!options.seccomp.empty()) {
    SysResult<std::shared_ptr<const kernel::SeccompFilter>> f =
        kernel::SeccompFilter::Load(options.seccomp, nullptr);
    if (!f.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.seccomp: the compiled filter is refused: ",
                       strerror(f.err())));
    }
    kopts.seccomp = *f;
  }
  SysResult<loader::VdsoSource*> vdso = MakeVdso();
  if (vdso.ok()) {
    kopts.vdso = *vdso;
  } else {
    LOG(WARNING) << "no vDSO for guests: " << strerror(vdso.err());
  }
  // The kernel lives until the process exits: task threads may still be
  // running when init's status is known, and exit tears everything down.
  auto* k = new kernel::Kernel(kopts);

  auto devfs = fs::dev::CreateDevfs(terminal);
  MountAt(*ns, "/dev", devfs, devfs->root(), 0, "devtmpfs");
  auto devpts = fs::devpts::DevptsFilesystem::Create(k);
  MountAt(*ns, "/dev/pts", devpts, devpts->root(),
          vfs::kMountNoSuid | vfs::kMountNoExec, "devpts");
  auto shm = fs::tmpfs::TmpfsFilesystem::Create(01777, 0, 0);
  MountAt(*ns, "/dev/shm", shm, shm->root(),
          vfs::kMountNoSuid | vfs::kMountNoDev, "shm");
  for (const std::string& path : options.mqueue_mounts) {
    const auto& mq = fs::mqueue::MqueueFilesystem::Instance();
    MountAt(*ns, path, mq, mq->root(),
            vfs::kMountNoSuid | vfs::kMountNoDev | vfs::kMountNoExec, "mqueue");
  }
  auto tmp = fs::tmpfs::TmpfsFilesystem::Create(01777, 0, 0);
  MountAt(*ns, "/tmp", tmp, tmp->root(), vfs::kMountNoSuid | vfs::kMountNoDev,
          "tmpfs");
  // The sentry's own small sysfs: the host's stays hidden (the gofer
  // refuses it too).
  auto sys = fs::sys::SysFilesystem::Create(sys_options);
  MountAt(*ns, "/sys", sys, sys->root(),
          vfs::kMountReadOnly | vfs::kMountNoSuid | vfs::kMountNoDev |
              vfs::kMountNoExec,
          "sysfs");
  auto proc = fs::proc::ProcFilesystem::Create(k, proc_options);

  MountAt(*ns, "/proc", proc, proc->root(),
          vfs::kMountNoSuid | vfs::kMountNoDev | vfs::kMountNoExec, "proc");

  // After the sandbox's own mounts, so a volume may go below /tmp.
  for (const BootOptions::Volume& v : options.volumes) {
    absl::Status s = MountVolume(*ns, v);
    if (!s.ok()) return s;
  }
  absl::Status masked = MaskPaths(*ns, options);
  if (!masked.ok()) return masked;
  if (options.seal_root) {
    ns->Root().mount->set_flags(ns->Root().mount->flags() |
                                vfs::kMountReadOnly);
  }

  if (options.lockdown) {
    absl::Status s = LockDown();
    if (!s.ok()) {
      // Without privileges to make namespaces the sentry still never opens
      // a host path for the guest; say so in the log.
      LOG(WARNING) << "running without filesystem lockdown: " << s;
    }
    s = DropCapabilities();
    if (!s.ok()) return s;
    s = InstallSentryFilter(options.net_broker_fd >= 0, options.control_fd);
    if (!s.ok()) return s;
  }
  if (options.net_broker_fd >= 0) {
    net::host::BrokerClient::Install(HostFd(options.net_broker_fd),
                                     options.net_listen);
  }
  // Confined now: what the platform starts inherits the confinement.
  (*platform)->Prepare();

  // The console's copying thread holds it until the host side closes.
  std::shared_ptr<fs::devpts::HostConsole> console;
  std::shared_ptr<kernel::Terminal> init_tty = terminal;
  if (options.console_fd >= 0) {
    SysResult<std::shared_ptr<fs::devpts::HostConsole>> c =
        fs::devpts::HostConsole::Create(
            *ns, HostFd(options.console_fd),
            options.console_is_tty
                ? fs::devpts::HostConsole::Kind::kHostTty
                : fs::devpts::HostConsole::Kind::kRunscSocket,
            options.uid);
    if (!c.ok()) {
      return absl::InternalError(
          absl::StrCat("making the console pty: ", strerror(c.err())));
    }
    console = *c;
    stdio.assign(3, console->slave());
    init_tty = console->terminal();
    console->Start();
  }

  kernel::InitProcess init;
  init.argv = options.argv;
  init.envp = options.env;
  init.cwd = options.cwd;
  ApplyLimits(options.limits, options.uid, options.gid, init);
  init.stdio = std::move(stdio);
  init.stdio.resize(3);
  init.stdio.insert(init.stdio.end(), preserved.begin(), preserved.end());
  init.tty = std::move(init_tty);
  if (options.on_ready) {
    std::string problem = CheckInit(*ns, init);
    options.on_ready(problem);
    if (!problem.empty()) return absl::FailedPreconditionError(problem);
  }
  if (options.start_fd >= 0) {
    // `runsc create` is done; wait for `runsc start`.
    char byte;
    ssize_t n;
    do {
      n = read(options.start_fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    close(options.start_fd);
  }
  k->StartInit(std::move(init));
  if (options.on_started) options.on_started(k);
  std::thread([k, forwarded] {
    for (;;) {
      siginfo_t info;
      int sig = sigwaitinfo(&forwarded, &info);
      if (sig > 0) k->SendExternalSignal(sig);
    }
  }).detach();
  kernel::ExitStatus status = k->WaitForExit();
  // What the guest wrote last reaches runsc before the sandbox exits.
  if (console) console->Flush(absl::Seconds(2));
  return status.ShellStatus();
}

ExecStarted StartExec(kernel::Kernel* k, ExecOptions o) {
  ExecStarted out;
  auto fail = [&out](int err, std::string message) {
    out.err = err;
    out.message = std::move(message);
    return out;
  };
  size_t nstdio = o.terminal ? 1u : 3u;
  if (o.fds.size() != nstdio + o.preserved) {
    return fail(EINVAL,
                absl::StrCat("exec: ", o.fds.size(), " fds for ", nstdio,
                             " stdio and ", o.preserved, " preserved"));
  }
  kernel::InitProcess spec;
  spec.argv = std::move(o.argv);
  spec.envp = std::move(o.env);
  spec.cwd = std::move(o.cwd);
  ApplyLimits(o.limits, o.uid, o.gid, spec);
  if (o.terminal) {
    // A pty of the sandbox's own (so `tty` names it and job control is
    // the sandbox's), copied to and from the host pty runsc made.
    SysResult<std::shared_ptr<fs::devpts::HostConsole>> c =
        fs::devpts::HostConsole::Create(k->mount_ns(), std::move(o.fds[0]),
                                        fs::devpts::HostConsole::Kind::kHostTty,
                                        o.uid);
    if (!c.ok()) {
      return fail(c.err(), absl::StrCat("exec: making its terminal: ",
                                        strerror(c.err())));
    }
    out.console = *c;
    spec.stdio.assign(3, out.console->slave());
    spec.tty = out.console->terminal();
  }
  // Stdio (unless a terminal took it), then the preserved fds: the
  // process's 0, 1, 2, then 3, 4, ...
  for (size_t i = o.terminal ? 1 : 0; i < o.fds.size(); i++) {
    SysResult<std::shared_ptr<vfs::FileDescription>> f = fs::ImportHostFd(
        std::move(o.fds[i]), i < o.fd_names.size() ? o.fd_names[i] : "");
    if (!f.ok()) {
      return fail(f.err(), absl::StrCat("exec: fd ", spec.stdio.size(), ": ",
                                        strerror(f.err())));
    }
    spec.stdio.push_back(*f);
  }
  struct Started {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    int err ABSL_GUARDED_BY(mu) = 0;
    std::string message ABSL_GUARDED_BY(mu);
  };
  auto started = std::make_shared<Started>();
  spec.started = [started](int err, const std::string& message) {
    absl::MutexLock l(&started->mu);
    started->done = true;
    started->err = err;
    started->message = message;
  };
  std::string name = spec.argv.empty() ? "" : spec.argv[0];
  SysResult<std::shared_ptr<kernel::ThreadGroup>> tg =
      k->StartProcess(std::move(spec));
  if (!tg.ok()) {
    return fail(tg.err(), tg.err() == ESRCH
                              ? "container not running"
                              : absl::StrCat("exec: ", strerror(tg.err())));
  }
  absl::MutexLock l(&started->mu);
  started->mu.Await(absl::Condition(&started->done));
  if (started->err == 0) {
    out.tg = *tg;
    if (out.console) out.console->Start();
    return out;
  }
  // How runc says it (podman tells 127 from 126 by these words).
  std::string why = strerror(started->err);
  if (!why.empty()) why[0] = static_cast<char>(tolower(why[0]));
  if (started->message.rfind("chdir to cwd", 0) == 0) {
    return fail(started->err, started->message);
  }
  if (started->err == ENOENT && name.find('/') == std::string::npos) {
    return fail(ENOENT, absl::StrCat("exec: \"", name,
                                     "\": executable file not found in $PATH"));
  }
  return fail(started->err, absl::StrCat("exec ", name, ": ", why));
}

}  // namespace sentry::boot
