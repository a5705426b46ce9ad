#include "sentry/fs/host/host_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "glog/logging.h"

namespace sentry::fs {

namespace {

// The kernel's struct termios, which TCGETS/TCSETS move: 36 bytes. glibc's
// struct termios is larger (60 bytes), and copying that much would write
// past the guest's buffer and leak sentry stack into it.
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36, "the kernel ABI's struct termios");

// Host fds imported into the sandbox live on this anonymous filesystem.

class HostFilesystem final : public vfs::Filesystem {
 public:
  HostFilesystem() : Filesystem("hostfd") {}
  SysResult<vfs::StatFs> GetStatFs() override { return vfs::StatFs{}; }
};

const std::shared_ptr<HostFilesystem>& HostFs() {
  static const auto* fs =
      new std::shared_ptr<HostFilesystem>(std::make_shared<HostFilesystem>());
  return *fs;
}

}  // namespace

vfs::Attr AttrFromHostStat(const struct stat& st, uint64_t dev) {
  vfs::Attr a;
  a.ino = st.st_ino;
  a.dev = dev;
  a.mode = st.st_mode;
  a.nlink = static_cast<uint32_t>(st.st_nlink);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.rdev = st.st_rdev;
  a.size = static_cast<uint64_t>(st.st_size);
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  a.blksize = static_cast<uint32_t>(st.st_blksize);
  a.atime = st.st_atim;
  a.mtime = st.st_mtim;
  a.ctime = st.st_ctim;
  return a;
}

HostFileFD::HostFileFD(vfs::VirtualDentry vd, int flags,
                       std::shared_ptr<HostFd> fd, bool seekable,
                       bool host_position, std::string host_name)
    : FileDescription(std::move(vd), flags),
      fd_(std::move(fd)),
      seekable_(seekable),
      host_position_(host_position),
      host_name_(std::move(host_name)),
      terminal_(!seekable && isatty(fd_->get()) == 1) {}

namespace {

// Polls host fd `fd` for `events` without blocking; returns the revents.
short PollNow(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r > 0 ? p.revents : 0;
}

}  // namespace

SysResult<void> HostFileFD::WaitReady(vfs::CallContext& ctx, short events) {
  // The guest's O_NONBLOCK lives on this description only: the host's own
  // description is shared with host processes (a user's shell), whose
  // flags the guest must not change. So ask the host whether the call
  // would block, and wait for it in the sentry, where a signal can
  // interrupt the wait, instead of in a blocking host call.
  for (;;) {
    if (PollNow(fd_->get(), events) != 0) return Ok();
    if ((flags() & O_NONBLOCK) != 0) return Errno(EAGAIN);
    std::vector<struct pollfd> host = {{fd_->get(), events, 0}};
    SysResult<void> r = ctx.Block(std::nullopt, &host);
    // A context that cannot wait does the blocking call itself.
    if (!r.ok()) return r.err() == EAGAIN ? Ok() : r;
  }
}

uint32_t HostFileFD::Readiness(uint32_t mask) {
  if (seekable_) return FileDescription::Readiness(mask);
  short want = static_cast<short>(
      mask & (POLLIN | POLLOUT | POLLPRI | POLLRDNORM | POLLWRNORM));
  return static_cast<uint16_t>(PollNow(fd_->get(), want));
}

SysResult<int64_t> HostFileFD::Seek(int64_t offset, int whence, int64_t* pos) {
  if (!host_position_) return FileDescription::Seek(offset, whence, pos);
  off_t r = lseek(fd_->get(), offset, whence);
  if (r < 0) return Errno::FromHost();
  return static_cast<int64_t>(r);
}

SysResult<size_t> HostFileFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                   int64_t* offset) {
  if (!readable()) return Errno(EBADF);
  bool positional = seekable_ && offset != nullptr;
  if (!positional) SENTRY_RETURN_IF_ERROR(WaitReady(ctx, POLLIN));
  ssize_t n;
  do {
    n = positional ? pread(fd_->get(), buf, len, *offset)
                   : read(fd_->get(), buf, len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno::FromHost();
  if (positional) *offset += n;
  return static_cast<size_t>(n);
}

SysResult<size_t> HostFileFD::Write(vfs::CallContext& ctx, const char* buf,
                                    size_t len, int64_t* offset) {
  if (!writable()) return Errno(EBADF);
  ssize_t n;
  bool positional = seekable_ && offset != nullptr;
  if (!positional) SENTRY_RETURN_IF_ERROR(WaitReady(ctx, POLLOUT));
  if (!positional) {
    do {
      n = write(fd_->get(), buf, len);
    } while (n < 0 && errno == EINTR);
  } else if ((flags() & O_APPEND) != 0) {
    absl::MutexLock l(&append_mu_);
    struct stat st;
    if (fstat(fd_->get(), &st) != 0) return Errno::FromHost();
    *offset = st.st_size;
    n = pwrite(fd_->get(), buf, len, *offset);
  } else {
    n = pwrite(fd_->get(), buf, len, *offset);
  }
  if (n < 0) return Errno::FromHost();
  if (positional) *offset += n;
  return static_cast<size_t>(n);
}

SysResult<int64_t> HostFileFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                     uint64_t arg) {
  // Terminal ioctls on an inherited host terminal pass through, so programs
  // can query and set its modes and size; nothing else reaches the host.
  switch (cmd) {
    case TCGETS: {
      KernelTermios t{};
      if (ioctl(fd_->get(), TCGETS, &t) != 0) return Errno::FromHost();
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), t));
      return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      KernelTermios t{};
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(GuestAddr(arg), &t));
      if (ioctl(fd_->get(), cmd, &t) != 0) return Errno::FromHost();
      return 0;
    }
    case TIOCGWINSZ: {
      struct winsize ws;
      if (ioctl(fd_->get(), TIOCGWINSZ, &ws) != 0) return Errno::FromHost();
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), ws));
      return 0;
    }
    case TIOCSWINSZ: {
      struct winsize ws;
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(GuestAddr(arg), &ws));
      if (ioctl(fd_->get(), TIOCSWINSZ, &ws) != 0) return Errno::FromHost();
      return 0;
    }
    default:
      return Errno(ENOTTY);
  }
}

SysResult<vfs::MmapTarget> HostFileFD::GetMmapTarget() {
  if (!seekable_) return Errno(ENODEV);
  return vfs::MmapTarget{fd_->get(), 0};
}

SysResult<void> HostFileFD::Sync() {
  if (!seekable_) return Errno(EINVAL);
  return HostCall(fsync(fd_->get()));
}

SysResult<std::shared_ptr<vfs::FileDescription>> HostTerminal::OpenTty(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  auto f = std::make_shared<HostFileFD>(
      vd, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), fd_,
      /*seekable=*/false);
  f->set_terminal(shared_from_this());
  return std::shared_ptr<vfs::FileDescription>(std::move(f));
}

HostInode::HostInode(std::shared_ptr<HostFd> fd, uint32_t type, uint64_t dev,
                     std::string host_name)
    : Inode(type),
      fd_(std::move(fd)),
      dev_(dev),
      host_name_(std::move(host_name)) {}

SysResult<vfs::Attr> HostInode::GetAttr() {
  struct stat st;
  if (fstat(fd_->get(), &st) != 0) return Errno::FromHost();
  return AttrFromHostStat(st, dev_);
}

SysResult<std::shared_ptr<vfs::FileDescription>> HostInode::Open(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  // Reopening an inherited fd (via /proc/self/fd) shares the host fd.
  bool seekable = S_ISREG(type()) || S_ISBLK(type());
  return std::shared_ptr<vfs::FileDescription>(std::make_shared<HostFileFD>(
      vd, flags, fd_, seekable, /*host_position=*/true, host_name_));
}

SysResult<std::shared_ptr<vfs::FileDescription>> ImportHostFd(
    HostFd fd, std::string host_name) {
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno::FromHost();
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0) return Errno::FromHost();
  auto shared = std::make_shared<HostFd>(std::move(fd));
  auto inode = std::make_shared<HostInode>(shared, st.st_mode, HostFs()->dev(),
                                           host_name);
  auto dentry = std::make_shared<vfs::Dentry>(nullptr, "", inode);
  vfs::VirtualDentry vd{
      std::make_shared<vfs::Mount>(HostFs(), dentry, 0, "hostfd"), dentry};
  bool seekable = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
  return std::shared_ptr<vfs::FileDescription>(std::make_shared<HostFileFD>(
      vd, flags & ~O_CLOEXEC, shared, seekable, /*host_position=*/true,
      std::move(host_name)));
}

}  // namespace sentry::fs
