#include "sentry/fs/anon/anon.h"

#include <atomic>
#include <map>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace sentry::fs::anon {

namespace {

class AnonFilesystem final : public vfs::Filesystem {
 public:
  explicit AnonFilesystem(std::string type) : Filesystem(std::move(type)) {}
  SysResult<vfs::StatFs> GetStatFs() override {
    vfs::StatFs s;
    s.type = type() == "pipefs" ? 0x50495045 : 0x09041934;  // magic numbers
    return s;
  }
};

// One filesystem and mount per kind, made on first use, kept for good.
struct Kind {
  std::shared_ptr<AnonFilesystem> fs;
  std::shared_ptr<vfs::Mount> mount;
  std::shared_ptr<vfs::Dentry> root;
};

Kind& KindOf(const std::string& type) {
  static absl::Mutex mu;
  static auto* kinds = new std::map<std::string, Kind>();
  absl::MutexLock l(&mu);
  Kind& k = (*kinds)[type];
  if (k.fs == nullptr) {
    k.fs = std::make_shared<AnonFilesystem>(type);
    k.root = std::make_shared<vfs::Dentry>(
        nullptr, "/",
        std::make_shared<AnonInode>(S_IFDIR | 0500, 1, k.fs->dev(), 0, 0));
    k.mount = std::make_shared<vfs::Mount>(k.fs, k.root, 0, type);
  }
  return k;
}

std::atomic<uint64_t> next_ino{1000};

}  // namespace

AnonInode::AnonInode(uint32_t mode, uint64_t ino, uint64_t dev, uint32_t uid,
                     uint32_t gid)
    : Inode(mode) {
  attr_.mode = mode;
  attr_.ino = ino;
  attr_.dev = dev;
  attr_.uid = uid;
  attr_.gid = gid;
  attr_.blksize = 4096;
  struct timespec now = absl::ToTimespec(absl::Now());
  attr_.atime = attr_.mtime = attr_.ctime = now;
}

SysResult<vfs::Attr> AnonInode::GetAttr() { return attr_; }

SysResult<std::shared_ptr<vfs::FileDescription>> AnonInode::Open(
    vfs::CallContext&, const vfs::VirtualDentry&, int) {
  return Errno(ENXIO);
}

vfs::VirtualDentry NewAnonFile(const std::string& fs_type, uint32_t mode,
                               uint32_t uid, uint32_t gid) {
  Kind& k = KindOf(fs_type);
  uint64_t ino = next_ino.fetch_add(1);
  auto inode = std::make_shared<AnonInode>(mode, ino, k.fs->dev(), uid, gid);
  auto dentry = std::make_shared<vfs::Dentry>(k.root, "", std::move(inode));
  return vfs::VirtualDentry{k.mount, std::move(dentry)};
}

uint64_t AnonIno(const vfs::VirtualDentry& vd) {
  SysResult<vfs::Attr> a = vd.dentry->inode()->GetAttr();
  return a.ok() ? a->ino : 0;
}

}  // namespace sentry::fs::anon
