#include "sentry/vfs/ops.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>

#include "sentry/vfs/inotify.h"

namespace sentry::vfs {

namespace {

bool IsDotOrDotDot(const std::string& name) {
  return name == "." || name == "..";
}

// inotify for a file that lost a name: its link count changed, and with no
// name left it is gone for its watches.
void NotifyRemoved(Inode& inode) {
  if (inode.watches_if_any() == nullptr) return;
  SysResult<Attr> a = inode.GetAttr();
  if (inode.IsDir() || (a.ok() && a->nlink == 0)) {
    if (!inode.IsDir()) NotifyInode(inode, IN_ATTRIB);
    NotifyInode(inode, IN_DELETE_SELF);
  } else {
    NotifyInode(inode, IN_ATTRIB);
  }
}

// Write and search permission on a directory being changed.
SysResult<void> CheckDirWritable(CallContext& ctx, const VirtualDentry& dir) {
  if (dir.mount->readonly()) return Errno(EROFS);
  return CheckAccess(ctx, dir, auth::kMayWrite | auth::kMayExec);
}

// The sticky-bit rule for removing `victim` from `dir` (Linux's
// check_sticky): only the file's or directory's owner, or CAP_FOWNER.
SysResult<void> CheckSticky(CallContext& ctx, const VirtualDentry& dir,
                            const Inode& victim) {
  SENTRY_ASSIGN_OR_RETURN(Attr d, dir.dentry->inode()->GetAttr());
  if ((d.mode & S_ISVTX) == 0) return Ok();
  SENTRY_ASSIGN_OR_RETURN(Attr v, const_cast<Inode&>(victim).GetAttr());
  const auth::Credentials& c = ctx.creds();
  if (c.fsuid == v.uid || c.fsuid == d.uid ||
      c.HasCapability(auth::Capability::kFowner)) {
    return Ok();
  }
  return Errno(EPERM);
}

}  // namespace

SysResult<void> CheckAccess(CallContext& ctx, const VirtualDentry& vd,
                            int may) {
  SENTRY_ASSIGN_OR_RETURN(Attr a, vd.dentry->inode()->GetAttr());
  if ((may & auth::kMayWrite) != 0 && vd.mount->readonly() &&
      (S_ISREG(a.mode) || S_ISDIR(a.mode) || S_ISLNK(a.mode))) {
    return Errno(EROFS);
  }
  if ((may & auth::kMayExec) != 0 && S_ISREG(a.mode) &&
      (vd.mount->flags() & kMountNoExec) != 0) {
    return Errno(EACCES);
  }
  int err = auth::CheckPermission(ctx.creds(), a.mode, a.uid, a.gid, may);
  if (err != 0) return Errno(err);
  return Ok();
}

SysResult<std::shared_ptr<FileDescription>> OpenResolved(
    CallContext& ctx, const VirtualDentry& vd, int flags) {
  const std::shared_ptr<Inode>& inode = vd.dentry->inode();
  // O_DIRECTORY holds for O_PATH too (and for a magic link's target).
  if ((flags & O_DIRECTORY) != 0 && !inode->IsDir()) return Errno(ENOTDIR);
  if ((flags & O_PATH) != 0) {
    return std::shared_ptr<FileDescription>(std::make_shared<PathFD>(
        vd, flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)));
  }
  if (inode->IsSymlink()) return Errno(ELOOP);
  int acc = flags & O_ACCMODE;
  if (acc == O_ACCMODE) return Errno(EINVAL);
  bool wants_write = acc != O_RDONLY || (flags & O_TRUNC) != 0;
  if (inode->IsDir() && (acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0))

    return Errno(EISDIR);
  int may = 0;
  if (acc != O_WRONLY) may |= auth::kMayRead;
  if (wants_write) may |= auth::kMayWrite;
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, vd, may));
  return inode->Open(ctx, vd, flags);
}

namespace {

// open(2) with O_CREAT; `links` counts symlinks followed through dangling
// targets, which open creates.
SysResult<std::shared_ptr<FileDescription>> OpenCreate(
    CallContext& ctx, const PathContext& pc, std::string_view path, int flags,
    uint32_t mode, unsigned resolve, int links);

}  // namespace

SysResult<std::shared_ptr<FileDescription>> OpenAt(CallContext& ctx,
                                                   const PathContext& pc,
                                                   std::string_view path,
                                                   int flags, uint32_t mode,
                                                   unsigned resolve) {
  if ((flags & O_CREAT) != 0 && (flags & O_PATH) == 0) {
    return OpenCreate(ctx, pc, path, flags, mode, resolve, 0);
  }
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  r.Restrict(resolve);
  ResolveOptions opts;
  opts.follow_final = (flags & O_NOFOLLOW) == 0;
  opts.must_be_dir = (flags & O_DIRECTORY) != 0;
  SENTRY_ASSIGN_OR_RETURN(VirtualDentry vd, r.Resolve(path, opts));
  return OpenResolved(ctx, vd, flags);
}

namespace {

SysResult<std::shared_ptr<FileDescription>> OpenCreate(
    CallContext& ctx, const PathContext& pc, std::string_view path, int flags,
    uint32_t mode, unsigned resolve, int links) {
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  r.Restrict(resolve);
  bool follow = (flags & O_NOFOLLOW) == 0;
  if ((flags & O_DIRECTORY) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name) || pn.trailing_slash)
    return Errno(EISDIR);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  SysResult<std::shared_ptr<Dentry>> existing =
      pn.parent.dentry->Child(ctx, pn.name);
  if (existing.ok()) {
    if ((flags & O_EXCL) != 0) return Errno(EEXIST);
    VirtualDentry vd{pn.parent.mount, *existing};
    const std::shared_ptr<Inode>& inode = (*existing)->inode();
    if (inode->IsSymlink()) {
      if (!follow || (resolve & kResolveNoSymlinks) != 0) return Errno(ELOOP);
      SENTRY_ASSIGN_OR_RETURN(std::optional<VirtualDentry> magic,
                              inode->FollowMagic(ctx));
      if (magic) {
        if ((resolve & kResolveNoMagiclinks) != 0) return Errno(ELOOP);
        if ((resolve & (kResolveBeneath | kResolveInRoot)) != 0) {
          return Errno(EXDEV);
        }
        return OpenResolved(ctx, *magic, flags);
      }
      if ((resolve & (kResolveBeneath | kResolveInRoot)) != 0) {
        return Errno(EXDEV);
      }
      // Follow the link's text, creating its target if it dangles, as
      // Linux does for O_CREAT without O_EXCL.
      if (++links > kMaxSymlinkTraversals) return Errno(ELOOP);
      SENTRY_ASSIGN_OR_RETURN(std::string target, inode->ReadLink(ctx));
      if (target.empty()) return Errno(ENOENT);
      PathContext next{pc.ns, pc.root, pn.parent};
      return OpenCreate(ctx, next, target, flags, mode, resolve, links);
    }
    if ((*existing)->mount_count.load() > 0) {
      SENTRY_ASSIGN_OR_RETURN(vd, r.Resolve(path, ResolveOptions{}));
    }
    // O_CREAT stays: it makes an existing directory EISDIR.
    return OpenResolved(ctx, vd, flags);
  }
  if (existing.err() != ENOENT) return existing.error();
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SysResult<std::shared_ptr<Inode>> created =
      pn.parent.dentry->inode()->Create(ctx, pn.name, mode & 07777);
  if (!created.ok()) {
    // Lost a race with another creator: open what they made, as Linux does.
    if (created.err() == EEXIST && (flags & O_EXCL) == 0) {
      return OpenAt(ctx, pc, path, flags & ~O_CREAT, mode, resolve);
    }
    return created.error();
  }
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_CREATE);
  VirtualDentry vd{pn.parent.mount,
                   pn.parent.dentry->Insert(pn.name, *created)};
  // A new file may be opened as asked even if its mode forbids it.
  return vd.dentry->inode()->Open(ctx, vd, flags & ~O_TRUNC);
}

}  // namespace

SysResult<std::shared_ptr<FileDescription>> OpenTmpfile(CallContext& ctx,
                                                        const PathContext& pc,
                                                        std::string_view path,
                                                        int flags,
                                                        uint32_t mode) {
  int acc = flags & O_ACCMODE;
  if (acc != O_WRONLY && acc != O_RDWR) return Errno(EINVAL);
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  ResolveOptions opts;
  opts.must_be_dir = true;
  SENTRY_ASSIGN_OR_RETURN(VirtualDentry dir, r.Resolve(path, opts));
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, dir));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode,
                          dir.dentry->inode()->CreateTmpfile(ctx, mode));
  inode->linkable_tmpfile.store((flags & O_EXCL) == 0);
  SENTRY_ASSIGN_OR_RETURN(Attr a, inode->GetAttr());
  // Named as Linux names it in /proc/PID/fd: "#INO (deleted)".
  auto dentry = std::make_shared<Dentry>(
      dir.dentry, "#" + std::to_string(a.ino), std::move(inode));
  dentry->deleted.store(true);
  VirtualDentry vd{dir.mount, std::move(dentry)};
  return vd.dentry->inode()->Open(ctx, vd, flags & ~(O_CREAT | O_EXCL));
}

SysResult<void> MkdirAt(CallContext& ctx, const PathContext& pc,
                        std::string_view path, uint32_t mode) {
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name)) return Errno(EEXIST);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  if (pn.parent.dentry->Child(ctx, pn.name).ok()) return Errno(EEXIST);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<Inode> dir,
      pn.parent.dentry->inode()->Mkdir(ctx, pn.name, mode & 07777));
  pn.parent.dentry->Insert(pn.name, std::move(dir));
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_CREATE | IN_ISDIR);
  return Ok();
}

SysResult<void> MknodAt(CallContext& ctx, const PathContext& pc,
                        std::string_view path, uint32_t mode) {
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name)) return Errno(EEXIST);
  if (pn.trailing_slash) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  if (pn.parent.dentry->Child(ctx, pn.name).ok()) return Errno(EEXIST);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Inode> node,
                          pn.parent.dentry->inode()->Mknod(ctx, pn.name, mode));
  pn.parent.dentry->Insert(pn.name, std::move(node));
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_CREATE);
  return Ok();
}

SysResult<void> SymlinkAt(CallContext& ctx, const PathContext& pc,
                          const std::string& target, std::string_view path) {
  if (target.empty()) return Errno(ENOENT);
  if (target.size() >= kMaxPath) return Errno(ENAMETOOLONG);
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name)) return Errno(EEXIST);
  if (pn.trailing_slash) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  if (pn.parent.dentry->Child(ctx, pn.name).ok()) return Errno(EEXIST);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<Inode> link,
      pn.parent.dentry->inode()->Symlink(ctx, pn.name, target));
  pn.parent.dentry->Insert(pn.name, std::move(link));
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_CREATE);
  return Ok();
}

SysResult<void> Chmod(CallContext& ctx, const VirtualDentry& vd,
                      uint32_t mode) {
  const auth::Credentials& c = ctx.creds();
  SENTRY_ASSIGN_OR_RETURN(Attr a, vd.dentry->inode()->GetAttr());
  if (c.fsuid != a.uid && !c.HasCapability(auth::Capability::kFowner)) {
    return Errno(EPERM);
  }
  if (vd.mount->readonly()) return Errno(EROFS);
  mode &= 07777;
  if ((mode & S_ISGID) != 0 && !c.InGroup(a.gid) &&
      !c.HasCapability(auth::Capability::kFsetid)) {
    mode &= ~S_ISGID;
  }
  Inode::AttrChange change;
  change.mode = mode;
  SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->SetAttr(ctx, change));
  NotifyFile(vd, IN_ATTRIB);
  return Ok();
}

SysResult<void> Chown(CallContext& ctx, const VirtualDentry& vd, uint32_t uid,
                      uint32_t gid) {
  const auth::Credentials& c = ctx.creds();
  const Inode& inode = *vd.dentry->inode();
  SENTRY_ASSIGN_OR_RETURN(Attr a, vd.dentry->inode()->GetAttr());
  constexpr uint32_t kKeep = static_cast<uint32_t>(-1);
  bool can_chown = c.HasCapability(auth::Capability::kChown);
  if (uid != kKeep && uid != a.uid && !can_chown) return Errno(EPERM);
  if (gid != kKeep && gid != a.gid && !can_chown &&
      !(c.fsuid == a.uid && c.InGroup(gid))) {
    return Errno(EPERM);
  }
  if (uid != kKeep && !can_chown && c.fsuid != a.uid) return Errno(EPERM);
  if (vd.mount->readonly()) return Errno(EROFS);
  Inode::AttrChange change;
  if (uid != kKeep) change.uid = uid;
  if (gid != kKeep) change.gid = gid;
  if (!inode.IsDir() && (uid != kKeep || gid != kKeep)) {
    // Set-user-ID always drops; set-group-ID only if group-executable.
    uint32_t mode = a.mode & 07777;
    mode &= ~S_ISUID;
    if ((mode & S_IXGRP) != 0) mode &= ~S_ISGID;
    change.mode = mode;
  }
  SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->SetAttr(ctx, change));
  NotifyFile(vd, IN_ATTRIB);
  return Ok();
}

SysResult<void> LinkAt(CallContext& ctx, const VirtualDentry& old,
                       const PathContext& pc, std::string_view new_path) {
  const std::shared_ptr<Inode>& inode = old.dentry->inode();
  if (inode->IsDir()) return Errno(EPERM);
  // A file with no links stays unnamed, but for an O_TMPFILE one.
  SENTRY_ASSIGN_OR_RETURN(Attr la, inode->GetAttr());
  if (la.nlink == 0 && !inode->linkable_tmpfile.load()) return Errno(ENOENT);
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(new_path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name)) return Errno(EEXIST);
  if (pn.trailing_slash) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  if (pn.parent.dentry->Child(ctx, pn.name).ok()) return Errno(EEXIST);
  if (pn.parent.mount != old.mount) return Errno(EXDEV);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_RETURN_IF_ERROR(pn.parent.dentry->inode()->Link(ctx, pn.name, inode));
  inode->linkable_tmpfile.store(false);
  pn.parent.dentry->Insert(pn.name, inode);
  NotifyInode(*inode, IN_ATTRIB);
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_CREATE);
  return Ok();
}

SysResult<void> UnlinkAt(CallContext& ctx, const PathContext& pc,
                         std::string_view path, bool dir) {
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(path));
  if (dir) {
    if (pn.name.empty()) return Errno(EBUSY);
    if (pn.name == ".") return Errno(EINVAL);
    if (pn.name == "..") return Errno(ENOTEMPTY);
  } else if (pn.name.empty() || IsDotOrDotDot(pn.name)) {
    return Errno(EISDIR);
  }
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Dentry> victim,
                          pn.parent.dentry->Child(ctx, pn.name));
  const std::shared_ptr<Inode>& inode = victim->inode();
  if (dir && !inode->IsDir()) return Errno(ENOTDIR);
  if (!dir && inode->IsDir()) return Errno(EISDIR);
  if (!dir && pn.trailing_slash) return Errno(ENOTDIR);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_RETURN_IF_ERROR(CheckSticky(ctx, pn.parent, *inode));
  if (victim->mount_count.load() > 0) return Errno(EBUSY);
  if (dir) {
    SENTRY_RETURN_IF_ERROR(pn.parent.dentry->inode()->Rmdir(ctx, pn.name));
  } else {
    SENTRY_RETURN_IF_ERROR(pn.parent.dentry->inode()->Unlink(ctx, pn.name));
  }
  victim->deleted.store(true);
  pn.parent.dentry->Forget(pn.name);
  NotifyRemoved(*inode);
  NotifyDirEntry(*pn.parent.dentry, pn.name, IN_DELETE | (dir ? IN_ISDIR : 0));
  return Ok();
}

namespace {

// Serializes renames, as Linux's per-filesystem s_vfs_rename_mutex does: the
// check that a directory is not moved below itself walks the dentry tree,
// which only renames change.
absl::Mutex& RenameSerializer() {
  static auto* mu = new absl::Mutex();
  return *mu;
}

// Whether `d` is `ancestor` or lies below it within one mount.
bool IsAncestor(const std::shared_ptr<Dentry>& ancestor,
                std::shared_ptr<Dentry> d) {
  for (; d != nullptr; d = d->parent()) {
    if (d == ancestor) return true;
  }
  return false;
}

}  // namespace

SysResult<void> RenameAt(CallContext& ctx, const PathContext& old_pc,
                         std::string_view old_path, const PathContext& new_pc,
                         std::string_view new_path, unsigned flags) {
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) {
    return Errno(EINVAL);  // RENAME_WHITEOUT: no device nodes here
  }
  if ((flags & RENAME_NOREPLACE) != 0 && (flags & RENAME_EXCHANGE) != 0) {
    return Errno(EINVAL);
  }
  bool exchange = (flags & RENAME_EXCHANGE) != 0;
  Resolver ro(ctx, *old_pc.ns, old_pc.root, old_pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName from, ro.ResolveParent(old_path));
  Resolver rn(ctx, *new_pc.ns, new_pc.root, new_pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName to, rn.ResolveParent(new_path));
  // The root, "." and ".." cannot be renamed nor replaced.
  if (from.name.empty() || IsDotOrDotDot(from.name) || to.name.empty() ||
      IsDotOrDotDot(to.name)) {
    return Errno(EBUSY);
  }
  if (from.parent.mount != to.parent.mount) return Errno(EXDEV);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, from.parent, auth::kMayExec));
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, to.parent, auth::kMayExec));

  absl::MutexLock serial(&RenameSerializer());
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Dentry> src,
                          from.parent.dentry->Child(ctx, from.name));
  SysResult<std::shared_ptr<Dentry>> dst_or =
      to.parent.dentry->Child(ctx, to.name);
  if (!dst_or.ok() && dst_or.err() != ENOENT) return dst_or.error();
  std::shared_ptr<Dentry> dst = dst_or.ok() ? *dst_or : nullptr;
  bool src_dir = src->inode()->IsDir();
  if (exchange && dst == nullptr) return Errno(ENOENT);
  if ((flags & RENAME_NOREPLACE) != 0 && dst != nullptr) return Errno(EEXIST);
  if (!exchange) {
    // A trailing slash asks for a directory.
    if (!src_dir && (from.trailing_slash || to.trailing_slash)) {
      return Errno(ENOTDIR);
    }
    if (dst != nullptr) {
      bool dst_dir = dst->inode()->IsDir();
      if (src_dir && !dst_dir) return Errno(ENOTDIR);
      if (!src_dir && dst_dir) return Errno(EISDIR);
    }
  } else if ((from.trailing_slash && !src_dir) ||
             (to.trailing_slash && !dst->inode()->IsDir())) {
    return Errno(ENOTDIR);
  }
  // Renaming a file onto itself (or another of its links) does nothing.
  if (dst != nullptr && src->inode() == dst->inode()) return Ok();
  // A directory cannot move below itself; the target may not be an
  // ancestor of the source (for an exchange, the other way round too).
  if (src_dir && IsAncestor(src, to.parent.dentry)) return Errno(EINVAL);
  if (dst != nullptr && IsAncestor(dst, from.parent.dentry)) {
    return Errno(exchange ? EINVAL : ENOTEMPTY);
  }
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, from.parent));
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, to.parent));
  SENTRY_RETURN_IF_ERROR(CheckSticky(ctx, from.parent, *src->inode()));
  if (dst != nullptr) {
    SENTRY_RETURN_IF_ERROR(CheckSticky(ctx, to.parent, *dst->inode()));
  }
  // A directory that changes parent rewrites its "..": it must be writable.
  if (from.parent.dentry != to.parent.dentry) {
    if (src_dir) {
      SENTRY_RETURN_IF_ERROR(
          CheckAccess(ctx, {from.parent.mount, src}, auth::kMayWrite));
    }
    if (exchange && dst->inode()->IsDir()) {
      SENTRY_RETURN_IF_ERROR(
          CheckAccess(ctx, {to.parent.mount, dst}, auth::kMayWrite));
    }
  }
  if (src->mount_count.load() > 0 || (dst && dst->mount_count.load() > 0)) {
    return Errno(EBUSY);
  }
  SENTRY_RETURN_IF_ERROR(from.parent.dentry->inode()->Rename(
      ctx, from.name, *src->inode(), *to.parent.dentry->inode(), to.name,
      dst ? dst->inode().get() : nullptr, flags));
  Dentry::Move(*from.parent.dentry, from.name, *to.parent.dentry, to.name,
               exchange);
  uint32_t cookie = NextMoveCookie();
  uint32_t src_isdir = src_dir ? IN_ISDIR : 0;
  NotifyDirEntry(*from.parent.dentry, from.name, IN_MOVED_FROM | src_isdir,
                 cookie);
  NotifyDirEntry(*to.parent.dentry, to.name, IN_MOVED_TO | src_isdir, cookie);
  NotifyInode(*src->inode(), IN_MOVE_SELF);
  if (dst != nullptr) {
    if (exchange) {
      uint32_t dst_isdir = dst->inode()->IsDir() ? IN_ISDIR : 0;
      uint32_t back = NextMoveCookie();
      NotifyDirEntry(*to.parent.dentry, to.name, IN_MOVED_FROM | dst_isdir,
                     back);
      NotifyDirEntry(*from.parent.dentry, from.name, IN_MOVED_TO | dst_isdir,
                     back);
      NotifyInode(*dst->inode(), IN_MOVE_SELF);
    } else {
      NotifyRemoved(*dst->inode());
    }
  }
  return Ok();
}

SysResult<void> SetTimes(CallContext& ctx, const VirtualDentry& vd,
                         const struct timespec* times) {
  const auth::Credentials& c = ctx.creds();
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Inode::AttrChange change;
  // Both "now" is a touch; anything else is an explicit setting, even with
  // one time omitted (Linux's ATTR_TIMES_SET).
  bool only_now = times == nullptr || (times[0].tv_nsec == UTIME_NOW &&
                                       times[1].tv_nsec == UTIME_NOW);
  if (times == nullptr) {
    change.atime = change.mtime = now;
  } else {
    for (int i = 0; i < 2; i++) {
      long ns = times[i].tv_nsec;
      if (ns == UTIME_OMIT) continue;
      if (ns != UTIME_NOW && (ns < 0 || ns >= 1000000000)) {
        return Errno(EINVAL);
      }
      (i == 0 ? change.atime : change.mtime) = ns == UTIME_NOW ? now : times[i];
    }
    if (!change.atime && !change.mtime) return Ok();
  }
  if (vd.mount->readonly()) return Errno(EROFS);
  SENTRY_ASSIGN_OR_RETURN(Attr a, vd.dentry->inode()->GetAttr());
  bool owner = c.fsuid == a.uid || c.HasCapability(auth::Capability::kFowner);
  if (!owner) {
    if (!only_now) return Errno(EPERM);
    // Setting both to "now" is a write: anyone with write access may.
    int err = auth::CheckPermission(c, a.mode, a.uid, a.gid, auth::kMayWrite);
    if (err != 0) return Errno(EACCES);
  }
  SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->SetAttr(ctx, change));
  NotifyFile(vd, IN_ATTRIB);
  return Ok();
}

namespace {

bool HasPrefix(const std::string& s, const char* p) {
  return s.compare(0, strlen(p), p) == 0;
}

// Linux's xattr_permission: who may read (`write` false) or change the
// attribute `name` of the file at `vd`.
SysResult<void> XattrPermission(CallContext& ctx, const VirtualDentry& vd,
                                const std::string& name, bool write) {
  const auth::Credentials& c = ctx.creds();
  if (write && vd.mount->readonly()) return Errno(EROFS);
  if (HasPrefix(name, "trusted.")) {
    // To the unprivileged, trusted attributes do not exist.
    if (!c.HasCapability(auth::Capability::kSysAdmin)) {
      return Errno(write ? EPERM : ENODATA);
    }
    return Ok();
  }
  if (HasPrefix(name, "security.")) {
    if (write && !c.HasCapability(auth::Capability::kSysAdmin)) {
      return Errno(EPERM);
    }
    return Ok();
  }
  if (!HasPrefix(name, "user.")) return Errno(EOPNOTSUPP);
  const Inode& inode = *vd.dentry->inode();
  if (!inode.IsRegular() && !inode.IsDir()) {
    return Errno(write ? EPERM : ENODATA);
  }
  if (write && inode.IsDir()) {
    // Sticky directories: only the owner may set user attributes.
    SENTRY_ASSIGN_OR_RETURN(Attr a, vd.dentry->inode()->GetAttr());
    if ((a.mode & S_ISVTX) != 0 && c.fsuid != a.uid &&
        !c.HasCapability(auth::Capability::kFowner)) {
      return Errno(EPERM);
    }
  }
  return CheckAccess(ctx, vd, write ? auth::kMayWrite : auth::kMayRead);
}

}  // namespace

SysResult<std::string> GetXattr(CallContext& ctx, const VirtualDentry& vd,
                                const std::string& name) {
  SENTRY_RETURN_IF_ERROR(XattrPermission(ctx, vd, name, false));
  return vd.dentry->inode()->GetXattr(ctx, name);
}

SysResult<void> SetXattr(CallContext& ctx, const VirtualDentry& vd,
                         const std::string& name, const std::string& value,
                         int flags) {
  SENTRY_RETURN_IF_ERROR(XattrPermission(ctx, vd, name, true));
  SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->SetXattr(ctx, name, value, flags));
  NotifyFile(vd, IN_ATTRIB);
  return Ok();
}

SysResult<std::vector<std::string>> ListXattr(CallContext& ctx,
                                              const VirtualDentry& vd) {
  SENTRY_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          vd.dentry->inode()->ListXattr(ctx));
  // trusted.* shows only to CAP_SYS_ADMIN, as Linux lists it.
  if (!ctx.creds().HasCapability(auth::Capability::kSysAdmin)) {
    names.erase(std::remove_if(names.begin(), names.end(),
                               [](const std::string& n) {
                                 return HasPrefix(n, "trusted.");
                               }),
                names.end());
  }
  return names;
}

SysResult<void> RemoveXattr(CallContext& ctx, const VirtualDentry& vd,
                            const std::string& name) {
  SENTRY_RETURN_IF_ERROR(XattrPermission(ctx, vd, name, true));
  SENTRY_RETURN_IF_ERROR(vd.dentry->inode()->RemoveXattr(ctx, name));
  NotifyFile(vd, IN_ATTRIB);
  return Ok();
}

}  // namespace sentry::vfs
