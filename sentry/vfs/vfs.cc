#include "sentry/vfs/vfs.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <list>

#include "sentry/vfs/inotify.h"

namespace sentry::vfs {

namespace {
std::atomic<uint64_t> next_anon_minor{16};
std::atomic<uint64_t> next_mount_id{1};
}  // namespace

SysResult<void> CallContext::CopyInFull(GuestAddr addr, void* dst, size_t len) {
  SENTRY_ASSIGN_OR_RETURN(size_t n, CopyIn(addr, dst, len));
  if (n != len) return Errno(EFAULT);
  return Ok();
}

SysResult<void> CallContext::CopyOutFull(GuestAddr addr, const void* src,
                                         size_t len) {
  SENTRY_ASSIGN_OR_RETURN(size_t n, CopyOut(addr, src, len));
  if (n != len) return Errno(EFAULT);
  return Ok();
}

Filesystem::Filesystem(std::string type)
    : type_(std::move(type)), dev_(makedev(0, next_anon_minor.fetch_add(1))) {}

SysResult<std::shared_ptr<Inode>> Inode::Lookup(CallContext&,
                                                const std::string&) {
  return Errno(ENOTDIR);
}

SysResult<std::vector<Dirent>> Inode::ReadDir(CallContext&) {
  return Errno(ENOTDIR);
}

SysResult<std::string> Inode::ReadLink(CallContext&) { return Errno(EINVAL); }

SysResult<std::optional<VirtualDentry>> Inode::FollowMagic(CallContext&) {
  return std::optional<VirtualDentry>();
}

SysResult<std::shared_ptr<Inode>> Inode::Create(CallContext&,
                                                const std::string&, uint32_t) {
  return Errno(EPERM);
}

SysResult<std::shared_ptr<Inode>> Inode::Mkdir(CallContext&, const std::string&,
                                               uint32_t) {
  return Errno(EPERM);
}

SysResult<std::shared_ptr<Inode>> Inode::CreateTmpfile(CallContext&, uint32_t) {
  return Errno(EOPNOTSUPP);
}

SysResult<std::shared_ptr<Inode>> Inode::Mknod(CallContext&, const std::string&,
                                               uint32_t) {
  return Errno(EPERM);
}

SysResult<std::shared_ptr<Inode>> Inode::Symlink(CallContext&,
                                                 const std::string&,
                                                 const std::string&) {
  return Errno(EPERM);
}

SysResult<void> Inode::Unlink(CallContext&, const std::string&) {
  return Errno(EPERM);
}

SysResult<void> Inode::SetAttr(CallContext&, const AttrChange&) {
  return Errno(EPERM);
}

SysResult<void> Inode::Link(CallContext&, const std::string&,
                            const std::shared_ptr<Inode>&) {
  return Errno(EPERM);
}

SysResult<void> Inode::Rmdir(CallContext&, const std::string&) {
  return Errno(EPERM);
}

SysResult<void> Inode::Truncate(uint64_t) { return Errno(EINVAL); }

SysResult<void> Inode::Allocate(int, uint64_t, uint64_t) {
  return Errno(EOPNOTSUPP);
}

SysResult<void> Inode::Rename(CallContext&, const std::string&, Inode&, Inode&,
                              const std::string&, Inode*, unsigned) {
  return Errno(EPERM);
}

SysResult<std::string> Inode::GetXattr(CallContext&, const std::string&) {
  return Errno(EOPNOTSUPP);
}

SysResult<void> Inode::SetXattr(CallContext&, const std::string&,
                                const std::string&, int) {
  return Errno(EOPNOTSUPP);
}

SysResult<std::vector<std::string>> Inode::ListXattr(CallContext&) {
  return std::vector<std::string>();
}

SysResult<void> Inode::RemoveXattr(CallContext&, const std::string&) {
  return Errno(EOPNOTSUPP);
}

Inode::~Inode() {
  delete locks_.load();
  delete watches_.load();
}

InodeWatches& Inode::watches() {
  InodeWatches* cur = watches_.load(std::memory_order_acquire);
  if (cur != nullptr) return *cur;
  auto* made = new InodeWatches();
  if (watches_.compare_exchange_strong(cur, made)) return *made;
  delete made;
  return *cur;
}

FileLocks& Inode::locks() {
  FileLocks* cur = locks_.load(std::memory_order_acquire);
  if (cur != nullptr) return *cur;
  auto* made = new FileLocks();
  if (locks_.compare_exchange_strong(cur, made)) return *made;
  delete made;  // another thread won; `cur` holds its table
  return *cur;
}

Dentry::Dentry(std::shared_ptr<Dentry> parent, std::string name,
               std::shared_ptr<Inode> inode)
    : parent_(std::move(parent)),
      name_(std::move(name)),
      inode_(std::move(inode)) {}

namespace {

// The tree lock: every dentry's parent and name change together under it
// (rename), and readers copy them under it. A leaf: nothing else is taken
// while holding it.
absl::Mutex& TreeMu() {
  static auto* mu = new absl::Mutex();
  return *mu;
}

}  // namespace

std::shared_ptr<Dentry> Dentry::parent() const {
  absl::ReaderMutexLock l(&TreeMu());
  return parent_;
}

std::string Dentry::name() const {
  absl::ReaderMutexLock l(&TreeMu());
  return name_;
}

namespace {

// The dentry cache's memory: parents hold their children weakly, and this
// keeps the most recently used dentries alive. A dentry in use stays alive
// through whoever uses it (an open file, a working directory, a mount, a
// child); an unused one lives until it falls off the end, which releases
// its inode (and, for gofer files, the gofer's handle). So a walk over a
// huge tree cannot pin a handle per file.
class RecentDentries {
 public:
  static constexpr size_t kCapacity = 16384;

  void Touch(const std::shared_ptr<Dentry>& d) {
    std::vector<std::shared_ptr<Dentry>> evicted;
    {
      absl::MutexLock l(&mu_);
      auto it = index_.find(d.get());
      if (it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return;
      }
      order_.push_front(d);
      index_[d.get()] = order_.begin();
      while (order_.size() > kCapacity) {
        index_.erase(order_.back().get());
        evicted.push_back(std::move(order_.back()));
        order_.pop_back();
      }
    }
    // Released here, outside the lock: destroying an inode may call the
    // gofer.
  }

 private:
  absl::Mutex mu_;
  std::list<std::shared_ptr<Dentry>> order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const Dentry*,
                      std::list<std::shared_ptr<Dentry>>::iterator>
      index_ ABSL_GUARDED_BY(mu_);
};

RecentDentries& Recent() {
  static auto* recent = new RecentDentries();
  return *recent;
}

}  // namespace

SysResult<std::shared_ptr<Dentry>> Dentry::Child(CallContext& ctx,
                                                 const std::string& name) {
  std::shared_ptr<Dentry> cached;
  {
    absl::MutexLock l(&mu_);
    auto it = children_.find(name);
    if (it != children_.end()) {
      cached = it->second.lock();
      if (!cached) children_.erase(it);  // expired
    }
  }
  if (cached) {
    Recent().Touch(cached);
    return cached;
  }

  // Ask the filesystem without holding the lock: it may block on the gofer.
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode,
                          inode_->Lookup(ctx, name));
  auto child =
      std::make_shared<Dentry>(shared_from_this(), name, std::move(inode));
  if (!inode_->CacheChildren()) return child;
  {
    absl::MutexLock l(&mu_);
    // Another thread may have won the race; keep the first so every user of
    // the name shares one dentry.
    std::weak_ptr<Dentry>& slot = children_[name];
    if (std::shared_ptr<Dentry> winner = slot.lock()) {
      child = std::move(winner);
    } else {
      slot = child;
    }
  }
  Recent().Touch(child);
  return child;
}

void Dentry::Forget(const std::string& name) {
  absl::MutexLock l(&mu_);
  children_.erase(name);
}

void Dentry::Move(Dentry& old_dir, const std::string& old_name, Dentry& new_dir,
                  const std::string& new_name, bool exchange) {
  std::shared_ptr<Dentry> moved, other;
  {
    absl::MutexLock l(&old_dir.mu_);
    auto it = old_dir.children_.find(old_name);
    if (it != old_dir.children_.end()) {
      moved = it->second.lock();
      old_dir.children_.erase(it);
    }
  }
  {
    absl::MutexLock l(&new_dir.mu_);
    auto it = new_dir.children_.find(new_name);
    if (it != new_dir.children_.end()) {
      other = it->second.lock();
      new_dir.children_.erase(it);
    }
  }
  if (other != nullptr && !exchange) other->deleted.store(true);
  {
    absl::MutexLock l(&TreeMu());
    if (moved != nullptr) {
      moved->parent_ = new_dir.shared_from_this();
      moved->name_ = new_name;
    }
    if (other != nullptr && exchange) {
      other->parent_ = old_dir.shared_from_this();
      other->name_ = old_name;
    }
  }
  if (moved != nullptr) {
    absl::MutexLock l(&new_dir.mu_);
    new_dir.children_[new_name] = moved;
  }
  if (other != nullptr && exchange) {
    absl::MutexLock l(&old_dir.mu_);
    old_dir.children_[old_name] = other;
  }
}

std::shared_ptr<Dentry> Dentry::Insert(const std::string& name,
                                       std::shared_ptr<Inode> inode) {
  auto child =
      std::make_shared<Dentry>(shared_from_this(), name, std::move(inode));
  {
    absl::MutexLock l(&mu_);
    children_[name] = child;
  }
  Recent().Touch(child);
  return child;
}

Mount::Mount(std::shared_ptr<Filesystem> fs, std::shared_ptr<Dentry> root,
             int flags, std::string source)
    : fs_(std::move(fs)),
      root_(std::move(root)),
      flags_(flags),
      id_(next_mount_id.fetch_add(1)),
      source_(std::move(source)) {}

VirtualDentry Mount::mountpoint() const {
  std::shared_ptr<Mount> parent = parent_.lock();
  if (!parent) return {};
  return {std::move(parent), mountpoint_};
}

MountNamespace::MountNamespace(std::shared_ptr<Mount> root)
    : root_(std::move(root)) {
  absl::MutexLock l(&mu_);
  order_.push_back(root_);
}

VirtualDentry MountNamespace::Root() const { return {root_, root_->root()}; }

SysResult<void> MountNamespace::Attach(const VirtualDentry& at,
                                       std::shared_ptr<Mount> mount) {
  if (!at.valid()) return Errno(ENOTDIR);
  // A directory only on a directory, a file (bound) only on a non-directory.
  if (at.dentry->inode()->IsDir() != mount->root()->inode()->IsDir()) {
    return Errno(ENOTDIR);  // as Linux's graft_tree
  }
  absl::MutexLock l(&mu_);
  if (mount->parent_.lock() != nullptr) return Errno(EBUSY);
  if (order_.size() >= kMaxMounts) return Errno(ENOSPC);
  mount->parent_ = at.mount;
  mount->mountpoint_ = at.dentry;
  mounts_[Key{at.mount.get(), at.dentry.get()}].push_back(mount);
  order_.push_back(mount);
  at.dentry->mount_count.fetch_add(1);
  return Ok();
}

SysResult<void> MountNamespace::Detach(const std::shared_ptr<Mount>& mount,
                                       bool lazy) {
  std::vector<std::shared_ptr<Mount>> released;  // dropped outside the lock
  absl::MutexLock l(&mu_);
  if (mount == root_) return Errno(EINVAL);
  if (std::find(order_.begin(), order_.end(), mount) == order_.end()) {
    return Errno(EINVAL);
  }
  // The mount and, lazily, everything mounted below it.
  std::vector<std::shared_ptr<Mount>> victims = {mount};
  for (size_t i = 0; i < victims.size(); i++) {
    for (const std::shared_ptr<Mount>& m : order_) {
      if (m->parent_.lock() == victims[i]) {
        if (!lazy) return Errno(EBUSY);
        victims.push_back(m);
      }
    }
  }
  for (const std::shared_ptr<Mount>& v : victims) {
    std::shared_ptr<Mount> parent = v->parent_.lock();
    auto it = mounts_.find(Key{parent.get(), v->mountpoint_.get()});
    if (it != mounts_.end()) {
      auto& stack = it->second;
      stack.erase(std::remove(stack.begin(), stack.end(), v), stack.end());
      if (stack.empty()) mounts_.erase(it);
    }
    if (v->mountpoint_ != nullptr) v->mountpoint_->mount_count.fetch_sub(1);
    order_.erase(std::remove(order_.begin(), order_.end(), v), order_.end());
    v->parent_.reset();
    released.push_back(v);
  }
  return Ok();
}

std::shared_ptr<Mount> MountNamespace::MountedAt(const Mount* m,
                                                 const Dentry* d) const {
  absl::MutexLock l(&mu_);
  auto it = mounts_.find(Key{m, d});
  if (it == mounts_.end() || it->second.empty()) return nullptr;
  return it->second.back();
}

std::vector<std::shared_ptr<Mount>> MountNamespace::Mounts() const {
  absl::MutexLock l(&mu_);
  return order_;
}

std::string MountNamespace::PathOf(const VirtualDentry& vd,
                                   const VirtualDentry& root) const {
  std::vector<std::string> parts;
  VirtualDentry cur = vd;
  while (cur.valid() && cur != root) {
    if (cur.dentry == cur.mount->root()) {
      VirtualDentry mp = cur.mount->mountpoint();
      if (!mp.valid()) break;  // namespace root
      cur = std::move(mp);
      continue;
    }
    std::shared_ptr<Dentry> parent;
    {
      absl::ReaderMutexLock l(&TreeMu());
      parts.push_back(cur.dentry->name_);
      parent = cur.dentry->parent_;
    }
    cur = {cur.mount, std::move(parent)};
  }
  if (parts.empty()) return "/";
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    path += '/';
    path += *it;
  }
  if (vd.dentry->deleted.load()) path += " (deleted)";
  return path;
}

struct stat ToStat(const Attr& a) {
  struct stat st = {};
  st.st_dev = a.dev;
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = a.blksize;
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_atim = a.atime;
  st.st_mtim = a.mtime;
  st.st_ctim = a.ctime;
  return st;
}

}  // namespace sentry::vfs
