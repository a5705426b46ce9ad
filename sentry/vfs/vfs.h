// The sentry's virtual filesystem: inodes, dentries, mounts.
//
// Ownership: a Dentry owns its Inode and holds its parent; a parent knows its
// children weakly, and a bounded list of recently used dentries keeps the
// hot ones alive (the dentry cache). A Mount owns its filesystem's root dentry
// and the mountpoint it covers. VirtualDentry (mount + dentry) is what paths
// resolve to, what fd tables and cwd hold, and is always owning.
//
// Lock order: RenameSerializer (held across a whole rename, filesystem call
// included) before MountNamespace::mu_ before Dentry::mu_ (a parent's before
// a child's) before the tree lock that guards every dentry's parent and
// name. No filesystem call (Inode::*) is made with a Dentry lock or the tree
// lock held, since filesystems may block on the gofer.

#ifndef SENTRY_VFS_VFS_H_
#define SENTRY_VFS_VFS_H_

#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "sentry/auth/credentials.h"
#include "sentry/base/guest_addr.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/lock.h"

namespace sentry::vfs {

class Dentry;
class FileDescription;
class FileLocks;
class Inode;
class InodeWatches;
class Mount;

// File attributes as statx reports them.
struct Attr {
  uint64_t ino = 0;
  uint64_t dev = 0;
  uint32_t mode = 0;
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint32_t blksize = 4096;
  struct timespec atime {};
  struct timespec mtime {};
  struct timespec ctime {};
};

struct Dirent {
  std::string name;
  uint64_t ino = 0;
  uint8_t type = 0;  // DT_*
};

inline uint8_t DirentType(uint32_t mode) {
  return static_cast<uint8_t>((mode & S_IFMT) >> 12);
}

// What a filesystem may ask of the task on whose behalf it runs, without
// depending on the kernel: its credentials and its memory.
class CallContext {
 public:
  virtual ~CallContext() = default;
  virtual const auth::Credentials& creds() const = 0;
  virtual SysResult<size_t> CopyIn(GuestAddr addr, void* dst, size_t len) = 0;
  virtual SysResult<size_t> CopyOut(GuestAddr addr, const void* src,
                                    size_t len) = 0;

  // Copies exactly `len` bytes or fails with EFAULT.
  SysResult<void> CopyInFull(GuestAddr addr, void* dst, size_t len);
  SysResult<void> CopyOutFull(GuestAddr addr, const void* src, size_t len);
  template <typename T>
  SysResult<void> CopyInObj(GuestAddr addr, T* obj) {
    return CopyInFull(addr, obj, sizeof(T));
  }
  template <typename T>
  SysResult<void> CopyOutObj(GuestAddr addr, const T& obj) {
    return CopyOutFull(addr, &obj, sizeof(T));
  }

  // Blocking, for files that wait (pipes, terminals). The caller registers
  // waiter() on every queue it waits for, checks its condition, and only
  // then calls Block, in a loop: wakes may be spurious. Block returns Ok
  // when woken or when one of `host` (host fds to watch) is ready,
  // ETIMEDOUT at `deadline`, and kERESTARTSYS when a signal interrupts the
  // wait. A context that cannot block (the kernel's own) has no waiter and
  // answers EAGAIN.
  virtual Waiter* waiter() { return nullptr; }
  // The caller's process id as its own pid namespace sees it (0 for the
  // kernel's own context): what SCM_CREDENTIALS reports.
  virtual int32_t Tgid() const { return 0; }
  // The caller's command name (/proc/PID/comm), for logs.
  virtual std::string Comm() const { return ""; }
  // The caller's soft limit on `resource` (getrlimit), for filesystems
  // that charge their users (mqueue: RLIMIT_MSGQUEUE).
  virtual uint64_t RlimitCur(int resource) const {
    (void)resource;
    return ~uint64_t{0};
  }
  virtual SysResult<void> Block(std::optional<absl::Time> deadline,
                                std::vector<struct pollfd>* host = nullptr) {
    (void)deadline;
    (void)host;
    return Errno(EAGAIN);
  }
};

struct StatFs {
  uint64_t type = 0, bsize = 4096, blocks = 0, bfree = 0, bavail = 0, files = 0,
           ffree = 0;
  uint64_t namelen = 255, frsize = 4096, flags = 0;
};

class Filesystem {
 public:
  // `type` as /proc/filesystems names it ("tmpfs", "proc", ...).
  explicit Filesystem(std::string type);
  virtual ~Filesystem() = default;
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  const std::string& type() const { return type_; }
  // An anonymous device number (major 0), unique to this filesystem.
  uint64_t dev() const { return dev_; }

  virtual SysResult<StatFs> GetStatFs() = 0;

 private:
  const std::string type_;
  const uint64_t dev_;
};

// Where a file's pages come from when the guest maps it.
struct MmapTarget {
  int host_fd = -1;  // owned by the file description, valid while it lives
  uint64_t offset_base = 0;
};

struct VirtualDentry {
  std::shared_ptr<Mount> mount;
  std::shared_ptr<Dentry> dentry;

  bool valid() const { return mount != nullptr && dentry != nullptr; }
  bool operator==(const VirtualDentry& o) const {
    return mount == o.mount && dentry == o.dentry;
  }
  bool operator!=(const VirtualDentry& o) const { return !(*this == o); }
};

// A file of some filesystem. Implementations are per filesystem; the type
// bits of the mode never change. An inode may outlive its filesystem (the
// dentry cache's recency list can hold it after an unmount): it must not
// assume the filesystem is alive, in its destructor least of all.

class Inode {
 public:
  explicit Inode(uint32_t type) : type_(type & S_IFMT) {}
  virtual ~Inode();
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  uint32_t type() const { return type_; }
  bool IsDir() const { return type_ == S_IFDIR; }
  bool IsSymlink() const { return type_ == S_IFLNK; }
  bool IsRegular() const { return type_ == S_IFREG; }

  virtual SysResult<Attr> GetAttr() = 0;

  // Directories: the child called `name` (a single component, never "." or
  // ".."), and all children.
  virtual SysResult<std::shared_ptr<Inode>> Lookup(CallContext& ctx,
                                                   const std::string& name);
  virtual SysResult<std::vector<Dirent>> ReadDir(CallContext& ctx);
  // Whether lookups in this directory may be cached. Synthetic directories
  // whose entries come and go (/proc) say no.
  virtual bool CacheChildren() const { return true; }

  // Symlinks: the target. A "magic" link (/proc/self/exe, /proc/PID/fd/N)
  // also resolves straight to a location instead of through its text.
  virtual SysResult<std::string> ReadLink(CallContext& ctx);
  virtual SysResult<std::optional<VirtualDentry>> FollowMagic(CallContext& ctx);

  // Opens the file at `vd` (whose inode is this). `flags` are the guest's
  // open flags; access checks have been done.
  virtual SysResult<std::shared_ptr<FileDescription>> Open(
      CallContext& ctx, const VirtualDentry& vd, int flags) = 0;

  // Directory changes. `name` is one component, never "." or ".."; the VFS
  // has checked the mount is writable and the caller may write here. `mode`
  // has the umask applied. Filesystems that cannot do these say EPERM.
  virtual SysResult<std::shared_ptr<Inode>> Create(CallContext& ctx,
                                                   const std::string& name,
                                                   uint32_t mode);
  virtual SysResult<std::shared_ptr<Inode>> Mkdir(CallContext& ctx,
                                                  const std::string& name,
                                                  uint32_t mode);
  // open(2) with O_TMPFILE in this directory: a regular file with no name
  // (a link count of 0). Filesystems without it say EOPNOTSUPP.
  virtual SysResult<std::shared_ptr<Inode>> CreateTmpfile(CallContext& ctx,
                                                          uint32_t mode);
  // An O_TMPFILE file opened without O_EXCL may be given a name once by
  // linkat(2); any other file without links may not (ENOENT).
  std::atomic<bool> linkable_tmpfile{false};
  // mknod(2) of a FIFO or a regular file (`mode` holds the type and the
  // permission bits, umask applied). Filesystems without it say EPERM.
  virtual SysResult<std::shared_ptr<Inode>> Mknod(CallContext& ctx,
                                                  const std::string& name,
                                                  uint32_t mode);
  virtual SysResult<std::shared_ptr<Inode>> Symlink(CallContext& ctx,
                                                    const std::string& name,
                                                    const std::string& target);
  virtual SysResult<void> Unlink(CallContext& ctx, const std::string& name);
  // A new name for `target`, an inode of the same filesystem that is not a
  // directory (link(2)). Filesystems without hard links say EPERM.
  virtual SysResult<void> Link(CallContext& ctx, const std::string& name,
                               const std::shared_ptr<Inode>& target);
  virtual SysResult<void> Rmdir(CallContext& ctx, const std::string& name);

  // chmod(2) and chown(2): the VFS has checked permissions and computed
  // the new values; unset fields stay. Filesystems that cannot change
  // attributes say EPERM.
  struct AttrChange {
    std::optional<uint32_t> mode;  // permission bits (07777)
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
    // utimensat(2): the VFS has resolved UTIME_NOW; ctime becomes now.
    std::optional<struct timespec> atime;
    std::optional<struct timespec> mtime;
  };
  virtual SysResult<void> SetAttr(CallContext& ctx, const AttrChange& change);

  // Regular files: sets the size (truncate(2)).
  virtual SysResult<void> Truncate(uint64_t size);

  // Regular files: fallocate(2) with Linux's `mode` bits; the VFS has
  // checked the range and that the file is open for writing. Filesystems
  // without it say EOPNOTSUPP.
  virtual SysResult<void> Allocate(int mode, uint64_t offset, uint64_t len);

  // Directories: rename(2) of the child `old_name` to `new_name` in
  // `new_dir`, a directory of the same filesystem (possibly this one).
  // `flags` holds RENAME_NOREPLACE or RENAME_EXCHANGE. The VFS has checked
  // names, permissions, mounts and that a directory is not moved below
  // itself; under its own lock the filesystem checks what can race: that
  // the names exist (ENOENT, EEXIST), that the types agree (ENOTDIR,
  // EISDIR) and that a replaced directory is empty (ENOTEMPTY).
  // `moved` is the inode at `old_name` and `replaced` the one at
  // `new_name` (or null), as the VFS found them.
  virtual SysResult<void> Rename(CallContext& ctx, const std::string& old_name,
                                 Inode& moved, Inode& new_dir,
                                 const std::string& new_name, Inode* replaced,
                                 unsigned flags);

  // Extended attributes (the VFS has checked names, namespaces and
  // permissions). `flags` holds XATTR_CREATE or XATTR_REPLACE. Filesystems
  // without them say EOPNOTSUPP (get, set, remove) and list nothing.
  virtual SysResult<std::string> GetXattr(CallContext& ctx,
                                          const std::string& name);
  virtual SysResult<void> SetXattr(CallContext& ctx, const std::string& name,
                                   const std::string& value, int flags);
  virtual SysResult<std::vector<std::string>> ListXattr(CallContext& ctx);
  virtual SysResult<void> RemoveXattr(CallContext& ctx,
                                      const std::string& name);

  // Advisory locks on this file (flock(2), fcntl(2) record locks), and the
  // same if they were ever used (null otherwise), for releasing.
  FileLocks& locks();
  FileLocks* locks_if_any() const { return locks_.load(); }

  // inotify watches on this file, made on first use (inotify.h).
  InodeWatches& watches();
  InodeWatches* watches_if_any() const { return watches_.load(); }

 private:
  const uint32_t type_;
  // Made on first use; most files are never locked.
  std::atomic<FileLocks*> locks_{nullptr};
  std::atomic<InodeWatches*> watches_{nullptr};
};

class Dentry : public std::enable_shared_from_this<Dentry> {
 public:
  // `parent` is null only for a filesystem's root.
  Dentry(std::shared_ptr<Dentry> parent, std::string name,
         std::shared_ptr<Inode> inode);
  Dentry(const Dentry&) = delete;
  Dentry& operator=(const Dentry&) = delete;

  const std::shared_ptr<Inode>& inode() const { return inode_; }
  // Where the dentry is now: rename(2) moves it, so these are copies taken
  // under the tree lock.
  std::shared_ptr<Dentry> parent() const;
  std::string name() const;

  // The child `name`, from the cache or the filesystem.
  SysResult<std::shared_ptr<Dentry>> Child(CallContext& ctx,
                                           const std::string& name);

  // Drops a cached child (the file was removed or replaced).
  void Forget(const std::string& name);

  // Caches a child just created in this directory.
  std::shared_ptr<Dentry> Insert(const std::string& name,
                                 std::shared_ptr<Inode> inode);

  // Moves the cached dentry `old_name` of `old_dir` to `new_name` in
  // `new_dir` after the filesystem renamed it: a dentry cached at the new
  // name is the replaced file, now deleted. With `exchange` the two swap.
  // Open files and working directories keep their dentries and so follow
  // the file to its new path, as on Linux.
  static void Move(Dentry& old_dir, const std::string& old_name,
                   Dentry& new_dir, const std::string& new_name, bool exchange);

  // Counts mounts stacked on this dentry, so path walks skip the mount table
  // for the common case.
  std::atomic<int> mount_count{0};

  // Set when the name was unlinked; paths of it then end in " (deleted)"
  // (/proc/PID/fd, /proc/PID/maps), as Linux's d_path reports.
  std::atomic<bool> deleted{false};

 private:
  friend class MountNamespace;  // PathOf reads the chain under the tree lock
  std::shared_ptr<Dentry> parent_;  // guarded by the tree lock (vfs.cc)
  std::string name_;                // guarded by the tree lock (vfs.cc)
  const std::shared_ptr<Inode> inode_;
  absl::Mutex mu_;
  // Weak: the dentry cache's recency list, and the dentry's users, keep
  // children alive (see RecentDentries in vfs.cc).
  absl::flat_hash_map<std::string, std::weak_ptr<Dentry>> children_
      ABSL_GUARDED_BY(mu_);
};

// Mount flags (MS_*) the sentry honours.
inline constexpr int kMountReadOnly = 1;  // MS_RDONLY
inline constexpr int kMountNoSuid = 2;    // MS_NOSUID
inline constexpr int kMountNoDev = 4;     // MS_NODEV
inline constexpr int kMountNoExec = 8;    // MS_NOEXEC

class Mount {
 public:
  Mount(std::shared_ptr<Filesystem> fs, std::shared_ptr<Dentry> root, int flags,
        std::string source);

  const std::shared_ptr<Filesystem>& fs() const { return fs_; }
  const std::shared_ptr<Dentry>& root() const { return root_; }
  int flags() const { return flags_.load(); }
  bool readonly() const { return (flags() & kMountReadOnly) != 0; }
  // mount(2) with MS_REMOUNT: new kMount* flags.
  void set_flags(int flags) { flags_.store(flags); }
  uint64_t id() const { return id_; }
  const std::string& source() const { return source_; }

  // Where this mount is attached; empty for a namespace's root mount.
  VirtualDentry mountpoint() const;

 private:
  friend class MountNamespace;
  const std::shared_ptr<Filesystem> fs_;
  const std::shared_ptr<Dentry> root_;
  std::atomic<int> flags_;
  const uint64_t id_;
  const std::string source_;
  // Set once when attached; the parent mount outlives its children.
  std::weak_ptr<Mount> parent_;
  std::shared_ptr<Dentry> mountpoint_;
};

class MountNamespace {
 public:
  explicit MountNamespace(std::shared_ptr<Mount> root);

  VirtualDentry Root() const;

  // Linux's default fs.mount-max: past it, Attach fails with ENOSPC.
  static constexpr size_t kMaxMounts = 100000;

  // Attaches `mount` on `at`, covering what is there.
  SysResult<void> Attach(const VirtualDentry& at, std::shared_ptr<Mount> mount);

  // Detaches `mount` (not the root): EINVAL if it is not attached, EBUSY
  // if other mounts sit on it, unless `lazy`, which detaches them too
  // (umount2's MNT_DETACH).
  SysResult<void> Detach(const std::shared_ptr<Mount>& mount, bool lazy);

  // The topmost mount on (m, d), or null.
  std::shared_ptr<Mount> MountedAt(const Mount* m, const Dentry* d) const;

  // Every mount, parents before children (for /proc/mounts).
  std::vector<std::shared_ptr<Mount>> Mounts() const;

  // The absolute path of `vd` as seen from `root`, as getcwd and
  // /proc/PID/fd report it. Locations outside `root` are reported from the
  // namespace root, as Linux does.
  std::string PathOf(const VirtualDentry& vd, const VirtualDentry& root) const;

 private:
  struct Key {
    const Mount* mount;
    const Dentry* dentry;
    bool operator==(const Key& o) const {
      return mount == o.mount && dentry == o.dentry;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.mount, k.dentry);
    }
  };

  const std::shared_ptr<Mount> root_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, std::vector<std::shared_ptr<Mount>>> mounts_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Mount>> order_ ABSL_GUARDED_BY(mu_);
};

// Converts an Attr to the guest's struct stat.
struct stat ToStat(const Attr& a);

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_VFS_H_
