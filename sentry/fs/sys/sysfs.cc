#include "sentry/fs/sys/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::sys {

namespace {

constexpr uint64_t kSysfsMagic = 0x62656572;

// What every sysfs attribute reports as its size, whatever it holds.
constexpr uint64_t kAttrSize = 4096;

class SysInode : public vfs::Inode {
 public:
  SysInode(const vfs::Filesystem& fs, uint32_t mode, uint64_t ino)
      : Inode(mode) {
    attr_.ino = ino;
    attr_.dev = fs.dev();
    attr_.mode = mode;
    attr_.nlink = S_ISDIR(mode) ? 2 : 1;
    attr_.size = S_ISDIR(mode) ? 0 : kAttrSize;
    clock_gettime(CLOCK_REALTIME, &attr_.mtime);
    attr_.atime = attr_.ctime = attr_.mtime;
  }
  SysResult<vfs::Attr> GetAttr() override { return attr_; }

 protected:
  vfs::Attr attr_;
};

class SysDir final : public SysInode {
 public:
  using SysInode::SysInode;

  void Add(const std::string& name, std::shared_ptr<vfs::Inode> child) {
    if (child->IsDir()) attr_.nlink++;
    children_[name] = std::move(child);
  }

  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext&, const std::string& name) override {
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    return it->second;
  }
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext&) override {
    std::vector<vfs::Dirent> out;
    for (const auto& [name, inode] : children_) {
      SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, inode->GetAttr());
      out.push_back(vfs::Dirent{name, a.ino, vfs::DirentType(a.mode)});
    }
    return out;
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    if ((flags & O_ACCMODE) != O_RDONLY) return Errno(EISDIR);
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<vfs::DirectoryFD>(vd, flags));
  }

 private:
  std::map<std::string, std::shared_ptr<vfs::Inode>> children_;
};

// An open attribute: reads its fixed text at the file position.
class AttrFD final : public vfs::FileDescription {
 public:
  AttrFD(vfs::VirtualDentry vd, int flags, const std::string* text)
      : FileDescription(std::move(vd), flags), text_(text) {}

  SysResult<size_t> Read(vfs::CallContext&, char* buf, size_t len,
                         int64_t* offset) override {
    if (*offset < 0) return Errno(EINVAL);
    if (static_cast<uint64_t>(*offset) >= text_->size()) return size_t{0};
    size_t n = std::min(len, text_->size() - static_cast<size_t>(*offset));
    memcpy(buf, text_->data() + *offset, n);
    *offset += static_cast<int64_t>(n);
    return n;
  }

 private:
  // Owned by the inode, which the description's dentry keeps alive.
  const std::string* const text_;
};

class SysFile final : public SysInode {
 public:
  SysFile(const vfs::Filesystem& fs, uint64_t ino, std::string text)
      : SysInode(fs, S_IFREG | 0444, ino), text_(std::move(text)) {}

  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    if ((flags & O_ACCMODE) != O_RDONLY) return Errno(EACCES);
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<AttrFD>(vd, flags, &text_));
  }

 private:
  const std::string text_;
};

// Builds the tree, numbering inodes as it goes.
class Builder {
 public:
  explicit Builder(const vfs::Filesystem& fs) : fs_(fs) {}

  std::shared_ptr<SysDir> Dir() {
    return std::make_shared<SysDir>(fs_, S_IFDIR | 0755, next_ino_++);
  }
  std::shared_ptr<SysDir> Dir(SysDir& parent, const std::string& name) {
    std::shared_ptr<SysDir> d = Dir();
    parent.Add(name, d);
    return d;
  }
  void File(SysDir& parent, const std::string& name, std::string text) {
    parent.Add(name,
               std::make_shared<SysFile>(fs_, next_ino_++, std::move(text)));
  }

 private:
  const vfs::Filesystem& fs_;
  uint64_t next_ino_ = 1;
};

}  // namespace

std::string CpuRange(int ncpus) {
  if (ncpus <= 1) return "0";
  return absl::StrCat("0-", ncpus - 1);
}

std::shared_ptr<SysFilesystem> SysFilesystem::Create(
    const SysOptions& options) {
  auto fs = std::shared_ptr<SysFilesystem>(new SysFilesystem());
  Builder b(*fs);
  std::shared_ptr<SysDir> root = b.Dir();

  // /sys/devices/system/cpu: what glibc's get_nprocs and get_nprocs_conf
  // read, and the per-CPU directories that others count.
  std::shared_ptr<SysDir> devices = b.Dir(*root, "devices");
  std::shared_ptr<SysDir> system = b.Dir(*devices, "system");
  std::shared_ptr<SysDir> cpu = b.Dir(*system, "cpu");
  int ncpus = std::max(options.ncpus, 1);
  std::string all = CpuRange(ncpus) + "\n";
  b.File(*cpu, "online", all);
  b.File(*cpu, "possible", all);
  b.File(*cpu, "present", all);
  b.File(*cpu, "offline", "\n");
  for (int i = 0; i < ncpus; i++) {
    std::shared_ptr<SysDir> c = b.Dir(*cpu, absl::StrCat("cpu", i));
    // As in Linux, the boot CPU cannot go offline and has no switch.
    if (i > 0) b.File(*c, "online", "1\n");
  }

  // /sys/kernel/mm/transparent_hugepage.
  std::shared_ptr<SysDir> kernel = b.Dir(*root, "kernel");
  std::shared_ptr<SysDir> mm = b.Dir(*kernel, "mm");
  std::shared_ptr<SysDir> thp = b.Dir(*mm, "transparent_hugepage");
  b.File(*thp, "enabled",
         options.thp_always ? "[always] madvise never\n"
                            : "always madvise [never]\n");
  b.File(*thp, "hpage_pmd_size", "2097152\n");

  // /sys/fs/cgroup: there, and empty: no cgroup hierarchy is offered.
  std::shared_ptr<SysDir> fsdir = b.Dir(*root, "fs");
  b.Dir(*fsdir, "cgroup");

  fs->root_ = std::make_shared<vfs::Dentry>(nullptr, "", root);
  return fs;
}

SysResult<vfs::StatFs> SysFilesystem::GetStatFs() {
  vfs::StatFs s;
  s.type = kSysfsMagic;
  return s;
}

}  // namespace sentry::fs::sys
