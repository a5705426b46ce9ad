#include "sentry/vfs/ops.h"

#include <fcntl.h>

namespace sentry::vfs {

namespace {

bool IsDotOrDotDot(const std::string& name) {
  return name == "." || name == "..";
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
SysResult<std::shared_ptr<FileDescription>> OpenCreate(CallContext& ctx,
                                                       const PathContext& pc,
                                                       std::string_view path,
                                                       int flags, uint32_t mode,
                                                       int links);

}  // namespace

SysResult<std::shared_ptr<FileDescription>> OpenAt(CallContext& ctx,
                                                   const PathContext& pc,
                                                   std::string_view path,
                                                   int flags, uint32_t mode) {
  if ((flags & O_CREAT) != 0 && (flags & O_PATH) == 0) {
    return OpenCreate(ctx, pc, path, flags, mode, 0);
  }
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  ResolveOptions opts;
  opts.follow_final = (flags & O_NOFOLLOW) == 0;
  opts.must_be_dir = (flags & O_DIRECTORY) != 0;
  SENTRY_ASSIGN_OR_RETURN(VirtualDentry vd, r.Resolve(path, opts));
  return OpenResolved(ctx, vd, flags);
}

namespace {

SysResult<std::shared_ptr<FileDescription>> OpenCreate(CallContext& ctx,
                                                       const PathContext& pc,
                                                       std::string_view path,
                                                       int flags, uint32_t mode,
                                                       int links) {
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
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
      if (!follow) return Errno(ELOOP);
      SENTRY_ASSIGN_OR_RETURN(std::optional<VirtualDentry> magic,
                              inode->FollowMagic(ctx));
      if (magic) return OpenResolved(ctx, *magic, flags);
      // Follow the link's text, creating its target if it dangles, as
      // Linux does for O_CREAT without O_EXCL.
      if (++links > kMaxSymlinkTraversals) return Errno(ELOOP);
      SENTRY_ASSIGN_OR_RETURN(std::string target, inode->ReadLink(ctx));
      if (target.empty()) return Errno(ENOENT);
      PathContext next{pc.ns, pc.root, pn.parent};
      return OpenCreate(ctx, next, target, flags, mode, links);
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
      return OpenAt(ctx, pc, path, flags & ~O_CREAT, mode);
    }
    return created.error();
  }
  VirtualDentry vd{pn.parent.mount,
                   pn.parent.dentry->Insert(pn.name, *created)};
  // A new file may be opened as asked even if its mode forbids it.
  return vd.dentry->inode()->Open(ctx, vd, flags & ~O_TRUNC);
}

}  // namespace

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
  return vd.dentry->inode()->SetAttr(ctx, change);
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
  return vd.dentry->inode()->SetAttr(ctx, change);
}

SysResult<void> LinkAt(CallContext& ctx, const VirtualDentry& old,
                       const PathContext& pc, std::string_view new_path) {
  const std::shared_ptr<Inode>& inode = old.dentry->inode();
  if (inode->IsDir()) return Errno(EPERM);
  Resolver r(ctx, *pc.ns, pc.root, pc.start);
  SENTRY_ASSIGN_OR_RETURN(ParentAndName pn, r.ResolveParent(new_path));
  if (pn.name.empty() || IsDotOrDotDot(pn.name)) return Errno(EEXIST);
  if (pn.trailing_slash) return Errno(ENOENT);
  SENTRY_RETURN_IF_ERROR(CheckAccess(ctx, pn.parent, auth::kMayExec));
  if (pn.parent.dentry->Child(ctx, pn.name).ok()) return Errno(EEXIST);
  if (pn.parent.mount != old.mount) return Errno(EXDEV);
  SENTRY_RETURN_IF_ERROR(CheckDirWritable(ctx, pn.parent));
  SENTRY_RETURN_IF_ERROR(pn.parent.dentry->inode()->Link(ctx, pn.name, inode));
  pn.parent.dentry->Insert(pn.name, inode);
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
  return Ok();
}

}  // namespace sentry::vfs
