#include "sentry/fs/dev/devfs.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "glog/logging.h"
#include "sentry/fs/host/host_file.h"
#include "sentry/kernel/job_control.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::dev {

namespace {

using tmpfs::TmpfsDir;
using tmpfs::TmpfsFilesystem;
using tmpfs::TmpfsInode;

enum class Kind { kNull, kZero, kFull, kRandom };

// The memory devices (drivers/char/mem.c and random.c).
class MemDeviceFD final : public vfs::FileDescription {
 public:
  MemDeviceFD(vfs::VirtualDentry vd, int flags, Kind kind)
      : FileDescription(std::move(vd), flags), kind_(kind) {}

  SysResult<size_t> Read(vfs::CallContext&, char* buf, size_t len,
                         int64_t*) override {
    switch (kind_) {
      case Kind::kNull:
        return size_t{0};
      case Kind::kZero:
      case Kind::kFull:
        memset(buf, 0, len);
        return len;
      case Kind::kRandom: {
        size_t done = 0;
        while (done < len) {
          ssize_t n = getrandom(buf + done, len - done, 0);
          if (n < 0) {
            if (errno == EINTR) continue;
            return Errno::FromHost();
          }
          done += static_cast<size_t>(n);
        }
        return len;
      }
    }
    return Errno(EIO);
  }

  SysResult<size_t> Write(vfs::CallContext&, const char*, size_t len,
                          int64_t*) override {
    // Writes to /dev/random "add entropy" in Linux; here they are dropped,
    // which no program can tell apart.
    if (kind_ == Kind::kFull) return Errno(ENOSPC);
    return len;
  }

  // These devices have no position: lseek succeeds and stays at 0.
  SysResult<int64_t> Seek(int64_t, int, int64_t* pos) override {
    *pos = 0;
    return 0;
  }

  bool MapsAsAnonymous() const override { return kind_ == Kind::kZero; }

 private:
  const Kind kind_;
};

// A character device node: a tmpfs inode that reports its device number.
class DeviceInode : public TmpfsInode {
 public:
  DeviceInode(TmpfsFilesystem* fs, uint32_t perm, uint32_t major,
              uint32_t minor)
      : TmpfsInode(fs, S_IFCHR | perm, 0, 0), rdev_(makedev(major, minor)) {}

  SysResult<vfs::Attr> GetAttr() override {
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, TmpfsInode::GetAttr());
    a.rdev = rdev_;
    return a;
  }

 private:
  const uint64_t rdev_;
};

class MemDevice final : public DeviceInode {
 public:
  MemDevice(TmpfsFilesystem* fs, Kind kind, uint32_t minor)
      : DeviceInode(fs, 0666, 1, minor), kind_(kind) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<MemDeviceFD>(vd, flags, kind_));
  }

 private:
  const Kind kind_;
};

// /dev/tty: the caller's controlling terminal, whichever it is.
class TtyDevice final : public DeviceInode {
 public:
  explicit TtyDevice(TmpfsFilesystem* fs) : DeviceInode(fs, 0666, 5, 0) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override {
    auto* task = dynamic_cast<kernel::Task*>(&ctx);
    std::shared_ptr<kernel::Terminal> tty =
        task != nullptr ? kernel::ControllingTerminal(*task) : nullptr;
    if (!tty) return Errno(ENXIO);  // no controlling terminal
    return tty->OpenTty(ctx, vd, flags);
  }
};

// /dev/console: the host terminal the sandbox runs on, if any.
class ConsoleDevice final : public DeviceInode {
 public:
  ConsoleDevice(TmpfsFilesystem* fs, std::shared_ptr<kernel::Terminal> console)
      : DeviceInode(fs, 0600, 5, 1), console_(std::move(console)) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override {
    if (!console_) return Errno(ENXIO);
    return console_->OpenTty(ctx, vd, flags);
  }

 private:
  const std::shared_ptr<kernel::Terminal> console_;
};

void Add(TmpfsDir& dir, const std::string& name,
         std::shared_ptr<TmpfsInode> inode) {
  CHECK(dir.AddChild(name, std::move(inode)).ok()) << "devfs: adding " << name;
}

}  // namespace

std::shared_ptr<TmpfsFilesystem> CreateDevfs(
    std::shared_ptr<kernel::Terminal> console) {
  auto fs = TmpfsFilesystem::Create(0755, 0, 0, "devtmpfs");
  auto& root = static_cast<TmpfsDir&>(*fs->root()->inode());
  TmpfsFilesystem* raw = fs.get();
  Add(root, "null", std::make_shared<MemDevice>(raw, Kind::kNull, 3));
  Add(root, "zero", std::make_shared<MemDevice>(raw, Kind::kZero, 5));
  Add(root, "full", std::make_shared<MemDevice>(raw, Kind::kFull, 7));
  Add(root, "random", std::make_shared<MemDevice>(raw, Kind::kRandom, 8));
  Add(root, "urandom", std::make_shared<MemDevice>(raw, Kind::kRandom, 9));
  Add(root, "tty", std::make_shared<TtyDevice>(raw));
  Add(root, "console",
      std::make_shared<ConsoleDevice>(raw, std::move(console)));
  // Pseudo-terminals: devpts is mounted on /dev/pts.
  Add(root, "ptmx",
      std::make_shared<tmpfs::TmpfsSymlink>(raw, 0, 0, "pts/ptmx"));
  Add(root, "fd",
      std::make_shared<tmpfs::TmpfsSymlink>(raw, 0, 0, "/proc/self/fd"));
  Add(root, "stdin",
      std::make_shared<tmpfs::TmpfsSymlink>(raw, 0, 0, "/proc/self/fd/0"));
  Add(root, "stdout",
      std::make_shared<tmpfs::TmpfsSymlink>(raw, 0, 0, "/proc/self/fd/1"));
  Add(root, "stderr",
      std::make_shared<tmpfs::TmpfsSymlink>(raw, 0, 0, "/proc/self/fd/2"));
  Add(root, "shm", std::make_shared<TmpfsDir>(raw, S_IFDIR | 01777, 0, 0));
  Add(root, "pts", std::make_shared<TmpfsDir>(raw, S_IFDIR | 0755, 0, 0));
  return fs;
}

}  // namespace sentry::fs::dev
