#include "sentry/fs/tmpfs/tmpfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "sentry/base/host_memory.h"
#include "sentry/fs/host/host_file.h"
#include "sentry/vfs/file.h"

namespace sentry::fs::tmpfs {

namespace {
constexpr uint64_t kTmpfsMagic = 0x01021994;

constexpr size_t kCopyChunk = 256 << 10;

struct timespec Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

// A tmpfs size: bytes with an optional k, m, g or t suffix, or a
// percentage of the RAM, as tmpfs(5) spells it.
SysResult<uint64_t> ParseSize(const std::string& v) {
  if (v.empty()) return Errno(EINVAL);
  char* end = nullptr;
  errno = 0;
  unsigned long long n = strtoull(v.c_str(), &end, 10);
  if (end == v.c_str() || errno != 0) return Errno(EINVAL);
  std::string suffix(end);
  uint64_t shift = 0;
  if (suffix == "%") {
    if (n > 100) return Errno(EINVAL);
    return HostRamShare(n);
  }
  if (suffix == "k" || suffix == "K") {
    shift = 10;
  } else if (suffix == "m" || suffix == "M") {
    shift = 20;
  } else if (suffix == "g" || suffix == "G") {
    shift = 30;
  } else if (suffix == "t" || suffix == "T") {
    shift = 40;
  } else if (!suffix.empty()) {
    return Errno(EINVAL);
  }
  if (n > (UINT64_MAX >> shift)) return Errno(EINVAL);
  // Whole pages, as tmpfs rounds it.
  return ((n << shift) + 4095) & ~uint64_t{4095};
}

}  // namespace

std::shared_ptr<TmpfsFilesystem> TmpfsFilesystem::Create(uint32_t root_mode,
                                                         uint32_t uid,
                                                         uint32_t gid,
                                                         std::string type) {
  auto fs =
      std::shared_ptr<TmpfsFilesystem>(new TmpfsFilesystem(std::move(type)));
  auto root = std::make_shared<TmpfsDir>(
      fs.get(), S_IFDIR | (root_mode & 07777), uid, gid);
  root->AdjustLinks(1);  // "." of the root; its ".." is itself
  fs->root_ = std::make_shared<vfs::Dentry>(nullptr, "", std::move(root));
  // Linux's default bound: half the RAM.
  fs->set_size_limit(HostRamShare(50));
  return fs;
}

SysResult<std::shared_ptr<TmpfsFilesystem>> TmpfsFilesystem::FromOptions(
    const std::string& data) {
  uint32_t mode = 01777, uid = 0, gid = 0;
  std::optional<uint64_t> size;
  for (absl::string_view opt : absl::StrSplit(data, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(opt, absl::MaxSplits('=', 1));
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    uint32_t n;
    if (k == "mode") {
      char* end = nullptr;
      unsigned long m = strtoul(v.c_str(), &end, 8);
      if (v.empty() || *end != '\0' || m > 07777) return Errno(EINVAL);
      mode = static_cast<uint32_t>(m);
    } else if (k == "uid" || k == "gid") {
      if (!absl::SimpleAtoi(v, &n)) return Errno(EINVAL);
      (k == "uid" ? uid : gid) = n;
    } else if (k == "size") {
      SENTRY_ASSIGN_OR_RETURN(size, ParseSize(v));
    } else if (k == "nr_blocks" || k == "nr_inodes" || k == "huge" ||
               k == "mpol" || k == "inode32" || k == "inode64" ||
               k == "noswap") {
      continue;
    } else {
      return Errno(EINVAL);
    }
  }
  auto fs = Create(mode, uid, gid);
  if (size) fs->set_size_limit(*size == 0 ? UINT64_MAX / 2 : *size);
  return fs;
}

SysResult<vfs::StatFs> TmpfsFilesystem::GetStatFs() {
  vfs::StatFs s;
  s.type = kTmpfsMagic;
  uint64_t limit = space_->limit.load();
  int64_t used = std::max<int64_t>(space_->used.load(), 0);
  s.blocks = limit / s.bsize;
  s.bfree = s.bavail =
      limit > static_cast<uint64_t>(used) ? (limit - used) / s.bsize : 0;
  s.files = s.ffree = s.blocks;
  return s;
}

TmpfsInode::TmpfsInode(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid,
                       uint32_t gid)
    : Inode(mode), fs_(fs) {
  attr_.ino = fs->NextIno();
  attr_.dev = fs->dev();
  attr_.mode = mode;
  attr_.nlink = S_ISDIR(mode) ? 1 : 0;
  attr_.uid = uid;
  attr_.gid = gid;
  attr_.atime = attr_.mtime = attr_.ctime = Now();
}

SysResult<vfs::Attr> TmpfsInode::GetAttr() {
  absl::MutexLock l(&attr_mu_);
  return attr_;
}

SysResult<void> TmpfsInode::SetAttr(vfs::CallContext&,
                                    const AttrChange& change) {
  absl::MutexLock l(&attr_mu_);
  if (change.mode) attr_.mode = (attr_.mode & S_IFMT) | (*change.mode & 07777);
  if (change.uid) attr_.uid = *change.uid;
  if (change.gid) attr_.gid = *change.gid;
  if (change.atime) attr_.atime = *change.atime;
  if (change.mtime) attr_.mtime = *change.mtime;
  attr_.ctime = Now();
  return Ok();
}

SysResult<std::string> TmpfsInode::GetXattr(vfs::CallContext&,
                                            const std::string& name) {
  absl::MutexLock l(&attr_mu_);
  auto it = xattrs_.find(name);
  if (it == xattrs_.end()) return Errno(ENODATA);
  return it->second;
}

SysResult<void> TmpfsInode::SetXattr(vfs::CallContext&, const std::string& name,
                                     const std::string& value, int flags) {
  absl::MutexLock l(&attr_mu_);
  auto it = xattrs_.find(name);
  if ((flags & XATTR_CREATE) != 0 && it != xattrs_.end()) {
    return Errno(EEXIST);
  }
  if ((flags & XATTR_REPLACE) != 0 && it == xattrs_.end()) {
    return Errno(ENODATA);
  }
  size_t old = it == xattrs_.end() ? 0 : name.size() + it->second.size();
  size_t bytes = xattr_bytes_ - old + name.size() + value.size();
  // A bound per inode, as Linux's tmpfs bounds its xattr space.
  if (bytes > kMaxXattrBytes) return Errno(ENOSPC);
  xattrs_[name] = value;
  xattr_bytes_ = bytes;
  attr_.ctime = Now();
  return Ok();
}

SysResult<std::vector<std::string>> TmpfsInode::ListXattr(vfs::CallContext&) {
  absl::MutexLock l(&attr_mu_);
  std::vector<std::string> names;
  names.reserve(xattrs_.size());
  for (const auto& [name, value] : xattrs_) names.push_back(name);
  return names;
}

SysResult<void> TmpfsInode::RemoveXattr(vfs::CallContext&,
                                        const std::string& name) {
  absl::MutexLock l(&attr_mu_);
  auto it = xattrs_.find(name);
  if (it == xattrs_.end()) return Errno(ENODATA);
  xattr_bytes_ -= name.size() + it->second.size();
  xattrs_.erase(it);
  attr_.ctime = Now();
  return Ok();
}

void TmpfsInode::AdjustLinks(int delta) {
  bool gone;
  {
    absl::MutexLock l(&attr_mu_);
    attr_.nlink = static_cast<uint32_t>(static_cast<int>(attr_.nlink) + delta);
    attr_.ctime = Now();
    gone = delta < 0 && attr_.nlink == 0;
  }
  if (gone) OnUnlinked();
}

uint32_t TmpfsInode::links() const {
  absl::MutexLock l(&attr_mu_);
  return attr_.nlink;
}

void TmpfsInode::Touch(bool modify) {
  absl::MutexLock l(&attr_mu_);
  struct timespec now = Now();
  if (modify) attr_.mtime = now;
  attr_.ctime = now;
}

// --- directories ---

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::Lookup(
    vfs::CallContext&, const std::string& name) {
  absl::MutexLock l(&fs()->tree_mu());
  auto it = children_.find(name);
  if (it == children_.end()) return Errno(ENOENT);
  return std::shared_ptr<vfs::Inode>(it->second);
}

SysResult<std::vector<vfs::Dirent>> TmpfsDir::ReadDir(vfs::CallContext&) {
  std::vector<std::pair<std::string, std::shared_ptr<TmpfsInode>>> kids;
  {
    absl::MutexLock l(&fs()->tree_mu());
    kids.assign(children_.begin(), children_.end());
  }
  std::vector<vfs::Dirent> out;
  out.reserve(kids.size());
  for (auto& [name, inode] : kids) {
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, inode->GetAttr());
    out.push_back(vfs::Dirent{name, a.ino, vfs::DirentType(a.mode)});
  }
  return out;
}

SysResult<std::shared_ptr<vfs::FileDescription>> TmpfsDir::Open(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<vfs::DirectoryFD>(vd, flags));
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::AddNew(
    const std::string& name, std::shared_ptr<TmpfsInode> child) {
  {
    absl::MutexLock l(&fs()->tree_mu());
    if (!children_.emplace(name, child).second) return Errno(EEXIST);
  }
  child->AdjustLinks(1);
  if (child->IsDir()) AdjustLinks(1);  // the child's ".."
  Touch(/*modify=*/true);
  return std::shared_ptr<vfs::Inode>(std::move(child));
}

SysResult<void> TmpfsDir::AddChild(const std::string& name,
                                   std::shared_ptr<TmpfsInode> child) {
  SENTRY_RETURN_IF_ERROR(AddNew(name, std::move(child)));
  return Ok();
}

SysResult<void> TmpfsDir::AddWhiteout(const std::string& name) {
  return AddChild(name, std::make_shared<TmpfsWhiteout>(fs()));
}

void TmpfsDir::DropWhiteouts() {
  std::vector<std::shared_ptr<TmpfsInode>> dropped;
  {
    absl::MutexLock l(&fs()->tree_mu());
    for (auto it = children_.begin(); it != children_.end();) {
      if (dynamic_cast<TmpfsWhiteout*>(it->second.get()) != nullptr) {
        dropped.push_back(std::move(it->second));
        it = children_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Released outside the lock: their attribute locks come after it.
  dropped.clear();
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::Create(vfs::CallContext& ctx,
                                                        const std::string& name,
                                                        uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<TmpfsFile> file,
                          TmpfsFile::New(fs(), S_IFREG | (mode & 07777),
                                         ctx.creds().fsuid, ctx.creds().fsgid));
  return AddNew(name, std::move(file));
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::CreateTmpfile(
    vfs::CallContext& ctx, uint32_t mode) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<TmpfsFile> file,
                          TmpfsFile::New(fs(), S_IFREG | (mode & 07777),
                                         ctx.creds().fsuid, ctx.creds().fsgid));
  return std::shared_ptr<vfs::Inode>(std::move(file));
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::Mkdir(vfs::CallContext& ctx,
                                                       const std::string& name,
                                                       uint32_t mode) {
  auto dir = std::make_shared<TmpfsDir>(fs(), S_IFDIR | (mode & 07777),
                                        ctx.creds().fsuid, ctx.creds().fsgid);
  return AddNew(name, std::move(dir));
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::Symlink(
    vfs::CallContext& ctx, const std::string& name, const std::string& target) {
  auto link = std::make_shared<TmpfsSymlink>(fs(), ctx.creds().fsuid,
                                             ctx.creds().fsgid, target);
  return AddNew(name, std::move(link));
}

SysResult<std::shared_ptr<vfs::Inode>> TmpfsDir::Mknod(vfs::CallContext& ctx,
                                                       const std::string& name,
                                                       uint32_t mode) {
  switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
      return Create(ctx, name, mode & 07777);
    case S_IFIFO:
      return AddNew(name,
                    std::make_shared<TmpfsFifo>(fs(), mode, ctx.creds().fsuid,
                                                ctx.creds().fsgid));
    case S_IFSOCK:
      return AddNew(
          name, std::make_shared<TmpfsSocketNode>(fs(), mode, ctx.creds().fsuid,
                                                  ctx.creds().fsgid));
    default:
      // Device nodes: not supported in the sandbox's tmpfs.
      return Errno(EPERM);
  }
}

SysResult<void> TmpfsDir::Link(vfs::CallContext&, const std::string& name,
                               const std::shared_ptr<vfs::Inode>& target) {
  auto inode = std::dynamic_pointer_cast<TmpfsInode>(target);
  if (inode == nullptr || inode->fs() != fs()) return Errno(EXDEV);
  {
    absl::MutexLock l(&fs()->tree_mu());
    if (!children_.emplace(name, inode).second) return Errno(EEXIST);
  }
  inode->AdjustLinks(1);
  Touch(/*modify=*/true);
  return Ok();
}

SysResult<void> TmpfsDir::Unlink(vfs::CallContext&, const std::string& name) {
  std::shared_ptr<TmpfsInode> child;
  {
    absl::MutexLock l(&fs()->tree_mu());
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    if (it->second->IsDir()) return Errno(EISDIR);
    child = std::move(it->second);
    children_.erase(it);
  }
  child->AdjustLinks(-1);
  Touch(/*modify=*/true);
  return Ok();
}

SysResult<void> TmpfsDir::Rmdir(vfs::CallContext& ctx,
                                const std::string& name) {
  std::shared_ptr<TmpfsInode> child;
  {
    absl::MutexLock l(&fs()->tree_mu());
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    if (!it->second->IsDir()) return Errno(ENOTDIR);
    auto* dir = static_cast<TmpfsDir*>(it->second.get());
    if (!dir->children_.empty()) return Errno(ENOTEMPTY);
    child = std::move(it->second);
    children_.erase(it);
  }
  child->AdjustLinks(-2);  // its name and its "."
  AdjustLinks(-1);         // its ".."
  Touch(/*modify=*/true);
  return Ok();
}

SysResult<void> TmpfsDir::Rename(vfs::CallContext&, const std::string& old_name,
                                 vfs::Inode&, vfs::Inode& new_dir_inode,
                                 const std::string& new_name, vfs::Inode*,
                                 unsigned flags) {
  auto* new_dir = dynamic_cast<TmpfsDir*>(&new_dir_inode);
  if (new_dir == nullptr || new_dir->fs() != fs()) return Errno(EXDEV);
  bool exchange = (flags & RENAME_EXCHANGE) != 0;
  std::shared_ptr<TmpfsInode> src, dst;
  {
    absl::MutexLock l(&fs()->tree_mu());
    auto from = children_.find(old_name);
    if (from == children_.end()) return Errno(ENOENT);
    src = from->second;
    auto to = new_dir->children_.find(new_name);
    if (to != new_dir->children_.end()) dst = to->second;
    if (exchange) {
      if (dst == nullptr) return Errno(ENOENT);
      std::swap(from->second, to->second);
    } else {
      if (dst != nullptr) {
        if ((flags & RENAME_NOREPLACE) != 0) return Errno(EEXIST);
        if (src->IsDir() && !dst->IsDir()) return Errno(ENOTDIR);
        if (!src->IsDir() && dst->IsDir()) return Errno(EISDIR);
        if (dst->IsDir() &&
            !static_cast<TmpfsDir*>(dst.get())->children_.empty()) {
          return Errno(ENOTEMPTY);
        }
      }
      new_dir->children_[new_name] = src;
      children_.erase(old_name);
    }
  }
  // A directory's ".." counts as a link of its parent.
  if (new_dir != this) {
    if (src->IsDir()) {
      AdjustLinks(-1);
      new_dir->AdjustLinks(1);
    }
    if (exchange && dst->IsDir()) {
      new_dir->AdjustLinks(-1);
      AdjustLinks(1);
    }
  }
  if (!exchange && dst != nullptr) {
    if (dst->IsDir()) {
      dst->AdjustLinks(-2);
      new_dir->AdjustLinks(-1);
    } else {
      dst->AdjustLinks(-1);
    }
  }
  src->Touch(/*modify=*/false);
  if (exchange) dst->Touch(/*modify=*/false);
  Touch(/*modify=*/true);
  if (new_dir != this) new_dir->Touch(/*modify=*/true);
  return Ok();
}

// --- regular files ---

namespace {

// Every tmpfs file holds a host memfd, and the sentry's host fd limit is
// finite (20000 on the development VM, which root cannot raise): files stop
// short of it, leaving the sentry fds for its own work (pipes, waiters,
// the gofer's donations). Past it, creating a file fails with ENOSPC, as a
// tmpfs out of inodes does.
std::atomic<int64_t> memfds_in_use{0};

int64_t MaxMemfds() {
  static const int64_t max = [] {
    struct rlimit rl;
    int64_t n =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
            ? static_cast<int64_t>(rl.rlim_cur)
            : 1 << 20;
    int64_t reserve = std::min<int64_t>(4096, n / 4);
    return n - reserve;
  }();
  return max;
}

}  // namespace

TmpfsFile::TmpfsFile(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid,
                     uint32_t gid, std::shared_ptr<HostFd> memfd)
    : TmpfsInode(fs, mode, uid, gid),
      memfd_(std::move(memfd)),
      space_(fs->space()) {}

TmpfsFile::~TmpfsFile() {
  space_->used.fetch_sub(charged_.load());
  memfds_in_use.fetch_sub(1);
}

void TmpfsFile::Opened() { opens_.fetch_add(1); }

void TmpfsFile::Closed() {
  if (opens_.fetch_sub(1) == 1 && links() == 0) Release();
}

void TmpfsFile::OnUnlinked() {
  if (opens_.load() == 0) Release();
}

void TmpfsFile::Release() {
  // The dentry cache may keep the inode a while; its memory goes now, as
  // Linux frees an unlinked file's pages at its last close.
  if (ftruncate(memfd_->get(), 0) == 0) Remeasure();
}

SysResult<void> TmpfsFile::FillFrom(vfs::CallContext& ctx,
                                    vfs::FileDescription& src) {
  std::vector<char> buf(kCopyChunk);
  int64_t off = 0;
  for (;;) {
    int64_t at = off;
    SENTRY_ASSIGN_OR_RETURN(size_t n,
                            src.Read(ctx, buf.data(), buf.size(), &off));
    if (n == 0) break;
    // Bounded by the filesystem's size as any write is, chunk by chunk:
    // a huge (or sparse) source must not fill the host's memory first.
    SysResult<size_t> room = Room(at, n);
    if (!room.ok() || *room < n) {
      Remeasure();
      return Errno(ENOSPC);
    }
    for (size_t done = 0; done < n;) {
      ssize_t w = pwrite(memfd_->get(), buf.data() + done, n - done,
                         static_cast<off_t>(at + done));
      if (w < 0) {
        Remeasure();
        return Errno::FromHost();
      }
      done += static_cast<size_t>(w);
    }
    Remeasure();
  }
  Remeasure();
  return Ok();
}

void TmpfsFile::Remeasure() {
  struct stat st;
  if (fstat(memfd_->get(), &st) != 0) return;
  int64_t now = static_cast<int64_t>(st.st_blocks) * 512;
  space_->used.fetch_add(now - charged_.exchange(now));
}

SysResult<size_t> TmpfsFile::Room(int64_t offset, size_t len) {
  uint64_t limit = space_->limit.load();
  int64_t used = space_->used.load();
  int64_t room = static_cast<int64_t>(limit) - used;
  if (static_cast<int64_t>(len) <= room) return len;
  // Worst case it does not fit: count what the write would newly allocate,
  // the holes in its range (an overwrite allocates nothing).
  int fd = memfd_->get();
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno::FromHost();
  int64_t start = offset < 0 ? st.st_size : offset;
  int64_t end = start + static_cast<int64_t>(len);
  int64_t fresh = 0;
  for (int64_t at = start; at < end;) {
    off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0 || data >= end) {
      fresh += end - at;
      break;
    }
    fresh += data - at;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) break;
    at = hole;
  }
  if (fresh <= room) return len;
  // A prefix: as much as the free space holds (a write stops at the first
  // page it cannot allocate, as Linux's does).
  if (room < 4096) return Errno(ENOSPC);
  return static_cast<size_t>(room & ~int64_t{4095});
}

namespace {

// A tmpfs file opened: writes are bounded by the filesystem's size and
// charged to it.
class TmpfsFileFD final : public HostFileFD {
 public:
  TmpfsFileFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<HostFd> fd,
              TmpfsFile* file)
      : HostFileFD(std::move(vd), flags, std::move(fd), /*seekable=*/true),
        file_(file) {
    file_->Opened();
  }
  ~TmpfsFileFD() override { file_->Closed(); }

  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override {
    if (len == 0) return HostFileFD::Write(ctx, buf, len, offset);
    bool at_end = offset == nullptr || (flags() & O_APPEND) != 0;
    SENTRY_ASSIGN_OR_RETURN(size_t fits,
                            file_->Room(at_end ? -1 : *offset, len));
    SysResult<size_t> n = HostFileFD::Write(ctx, buf, fits, offset);
    file_->Remeasure();
    return n;
  }

 private:
  // Kept alive by the description's dentry (or the overlay inode above it).
  TmpfsFile* const file_;
};

}  // namespace

SysResult<std::shared_ptr<TmpfsFile>> TmpfsFile::New(TmpfsFilesystem* fs,
                                                     uint32_t mode,
                                                     uint32_t uid, uint32_t gid,
                                                     bool allow_sealing) {
  if (memfds_in_use.fetch_add(1) >= MaxMemfds()) {
    memfds_in_use.fetch_sub(1);
    return Errno(ENOSPC);
  }
  unsigned flags = MFD_CLOEXEC | (allow_sealing ? MFD_ALLOW_SEALING : 0);
  int fd = static_cast<int>(syscall(SYS_memfd_create, "tmpfs", flags));
  if (fd < 0) {
    memfds_in_use.fetch_sub(1);
    return errno == EMFILE || errno == ENFILE ? Errno(ENOSPC)
                                              : Errno::FromHost();
  }
  return std::make_shared<TmpfsFile>(fs, mode, uid, gid,
                                     std::make_shared<HostFd>(fd));
}

SysResult<vfs::Attr> TmpfsFile::GetAttr() {
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, TmpfsInode::GetAttr());
  struct stat st;
  if (fstat(memfd_->get(), &st) != 0) return Errno::FromHost();
  a.size = static_cast<uint64_t>(st.st_size);
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  // Writes go straight to the memfd, so its times are the file's.
  a.atime = st.st_atim;
  a.mtime = st.st_mtim;
  if (st.st_ctim.tv_sec > a.ctime.tv_sec ||
      (st.st_ctim.tv_sec == a.ctime.tv_sec &&
       st.st_ctim.tv_nsec > a.ctime.tv_nsec)) {
    a.ctime = st.st_ctim;
  }
  return a;
}

SysResult<std::shared_ptr<vfs::FileDescription>> TmpfsFile::Open(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY) {
    SENTRY_RETURN_IF_ERROR(Truncate(0));
  }
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<TmpfsFileFD>(vd, flags, memfd_, this));
}

SysResult<void> TmpfsFile::SetAttr(vfs::CallContext& ctx,
                                   const AttrChange& change) {
  if (change.atime || change.mtime) {
    // The memfd keeps the file's times (GetAttr reads them back).
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (change.atime) ts[0] = *change.atime;
    if (change.mtime) ts[1] = *change.mtime;
    if (futimens(memfd_->get(), ts) != 0) return Errno::FromHost();
  }
  return TmpfsInode::SetAttr(ctx, change);
}

SysResult<void> TmpfsFile::Allocate(int mode, uint64_t offset, uint64_t len) {
  // Only an allocation must fit; punching holes frees space.
  if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE)) == 0) {
    SENTRY_ASSIGN_OR_RETURN(size_t fits,
                            Room(static_cast<int64_t>(offset), len));
    if (fits < len) return Errno(ENOSPC);
  }
  int r = fallocate(memfd_->get(), mode, static_cast<off_t>(offset),
                    static_cast<off_t>(len));
  Remeasure();
  if (r != 0) return Errno::FromHost();
  Touch(/*modify=*/true);
  return Ok();
}

SysResult<void> TmpfsFile::Truncate(uint64_t size) {
  if (size > static_cast<uint64_t>(INT64_MAX)) return Errno(EFBIG);
  if (ftruncate(memfd_->get(), static_cast<off_t>(size)) != 0)
    return Errno::FromHost();
  Remeasure();
  Touch(/*modify=*/true);
  return Ok();
}

// --- symlinks ---

TmpfsSymlink::TmpfsSymlink(TmpfsFilesystem* fs, uint32_t uid, uint32_t gid,
                           std::string target)
    : TmpfsInode(fs, S_IFLNK | 0777, uid, gid), target_(std::move(target)) {}

SysResult<std::string> TmpfsSymlink::ReadLink(vfs::CallContext&) {
  return target_;
}

SysResult<vfs::Attr> TmpfsSymlink::GetAttr() {
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, TmpfsInode::GetAttr());
  a.size = target_.size();
  return a;
}

SysResult<std::shared_ptr<vfs::FileDescription>> TmpfsSymlink::Open(
    vfs::CallContext&, const vfs::VirtualDentry&, int) {
  return Errno(ELOOP);
}

TmpfsFifo::TmpfsFifo(TmpfsFilesystem* fs, uint32_t mode, uint32_t uid,
                     uint32_t gid)
    : TmpfsInode(fs, S_IFIFO | (mode & 07777), uid, gid),
      pipe_(std::make_shared<pipe::Pipe>()) {}

SysResult<std::shared_ptr<vfs::FileDescription>> TmpfsFifo::Open(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  return pipe::OpenFifo(ctx, vd, flags, pipe_);
}

TmpfsSocketNode::TmpfsSocketNode(TmpfsFilesystem* fs, uint32_t mode,
                                 uint32_t uid, uint32_t gid)
    : TmpfsInode(fs, S_IFSOCK | (mode & 07777), uid, gid) {}

SysResult<std::shared_ptr<vfs::FileDescription>> TmpfsSocketNode::Open(
    vfs::CallContext&, const vfs::VirtualDentry&, int) {
  return Errno(ENXIO);  // as Linux answers open(2) of a socket
}

SysResult<vfs::VirtualDentry> NewMemfd(const std::string& name, uint32_t uid,
                                       uint32_t gid, bool allow_sealing) {
  // One internal filesystem for every memfd, never mounted anywhere.
  static const auto* memfs = [] {
    auto fs = TmpfsFilesystem::Create(01777, 0, 0);
    return new std::pair<std::shared_ptr<TmpfsFilesystem>,
                         std::shared_ptr<vfs::Mount>>(
        fs, std::make_shared<vfs::Mount>(fs, fs->root(), 0, "memfd"));
  }();
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<TmpfsFile> file,
                          TmpfsFile::New(memfs->first.get(), S_IFREG | 0777,
                                         uid, gid, allow_sealing));
  auto dentry = std::make_shared<vfs::Dentry>(memfs->first->root(),
                                              "memfd:" + name, std::move(file));
  dentry->deleted.store(true);
  return vfs::VirtualDentry{memfs->second, std::move(dentry)};
}

}  // namespace sentry::fs::tmpfs
