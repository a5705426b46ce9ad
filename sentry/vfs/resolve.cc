#include "sentry/vfs/resolve.h"

#include <vector>

namespace sentry::vfs {

namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    size_t j = i;
    while (j < path.size() && path[j] != '/') j++;
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

// Search permission on a directory being walked through.
SysResult<void> CheckSearch(CallContext& ctx, const VirtualDentry& dir) {
  SENTRY_ASSIGN_OR_RETURN(Attr a, dir.dentry->inode()->GetAttr());
  int err =
      auth::CheckPermission(ctx.creds(), a.mode, a.uid, a.gid, auth::kMayExec);
  if (err != 0) return Errno(err);
  return Ok();
}

}  // namespace

void Resolver::Restrict(unsigned resolve) {
  resolve_ = resolve;
  if ((resolve & kResolveInRoot) != 0) root_ = start_;
}

SysResult<void> Resolver::CheckXdev(const VirtualDentry& from,
                                    const VirtualDentry& to) const {
  if ((resolve_ & kResolveNoXdev) != 0 && from.mount != to.mount) {
    return Errno(EXDEV);
  }
  return Ok();
}

SysResult<VirtualDentry> Resolver::Resolve(std::string_view path,
                                           ResolveOptions opts) {
  return Walk(start_, path, opts.follow_final, opts.must_be_dir, 0);
}

SysResult<ParentAndName> Resolver::ResolveParent(std::string_view path) {
  if (path.empty()) return Errno(ENOENT);
  bool absolute = path[0] == '/';
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') end--;
  bool trailing_slash = end < path.size();
  if (end == 0)
    return ParentAndName{root_, "", trailing_slash};  // "/", "//", ...
  size_t slash = path.rfind('/', end - 1);
  std::string name(
      path.substr(slash == std::string_view::npos ? 0 : slash + 1,
                  end - (slash == std::string_view::npos ? 0 : slash + 1)));
  if (name.size() > kMaxName) return Errno(ENAMETOOLONG);
  VirtualDentry parent;
  if (absolute && (resolve_ & kResolveBeneath) != 0) return Errno(EXDEV);
  if (slash == std::string_view::npos) {
    parent = start_;
  } else if (slash == 0 || path.substr(0, slash).find_first_not_of('/') ==
                               std::string_view::npos) {
    parent = root_;
  } else {
    SENTRY_ASSIGN_OR_RETURN(
        parent, Walk(absolute ? root_ : start_, path.substr(0, slash),
                     /*follow_final=*/true, /*must_be_dir=*/true, 0));
  }
  if (!parent.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  return ParentAndName{std::move(parent), std::move(name), trailing_slash};
}

SysResult<VirtualDentry> Resolver::Walk(VirtualDentry cur,
                                        std::string_view path,
                                        bool follow_final, bool must_be_dir,
                                        int depth) {
  if (path.empty()) return Errno(ENOENT);
  if (path.size() >= kMaxPath) return Errno(ENAMETOOLONG);
  if (path[0] == '/') {
    if ((resolve_ & kResolveBeneath) != 0) return Errno(EXDEV);
    SENTRY_RETURN_IF_ERROR(CheckXdev(cur, root_));
    cur = root_;
  }
  bool trailing_slash = path.back() == '/';
  std::vector<std::string> parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); i++) {
    const std::string& name = parts[i];
    bool last = i + 1 == parts.size();
    if (!cur.dentry->inode()->IsDir()) return Errno(ENOTDIR);
    SENTRY_RETURN_IF_ERROR(CheckSearch(ctx_, cur));
    if (name == ".") continue;
    if (name == "..") {
      // RESOLVE_BENEATH: ".." may not climb above the start. The walk has
      // stayed beneath it so far, so only the start itself is the edge.
      if ((resolve_ & kResolveBeneath) != 0 && cur == start_) {
        return Errno(EXDEV);
      }
      VirtualDentry up = Parent(cur);
      SENTRY_RETURN_IF_ERROR(CheckXdev(cur, up));
      cur = std::move(up);
      continue;
    }
    if (name.size() > kMaxName) return Errno(ENAMETOOLONG);
    SENTRY_ASSIGN_OR_RETURN(VirtualDentry next, Step(cur, name));
    SENTRY_RETURN_IF_ERROR(CheckXdev(cur, next));
    if (next.dentry->inode()->IsSymlink() &&
        (!last || follow_final || trailing_slash)) {
      if ((resolve_ & kResolveNoSymlinks) != 0) return Errno(ELOOP);
      VirtualDentry link = next;
      SENTRY_ASSIGN_OR_RETURN(next, FollowLink(cur, next, depth));
      SENTRY_RETURN_IF_ERROR(CheckXdev(link, next));
    }
    cur = std::move(next);
  }
  if ((must_be_dir || trailing_slash) && !cur.dentry->inode()->IsDir())
    return Errno(ENOTDIR);
  return cur;
}

SysResult<VirtualDentry> Resolver::Step(const VirtualDentry& cur,
                                        const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Dentry> child,
                          cur.dentry->Child(ctx_, name));
  return CrossMounts(VirtualDentry{cur.mount, std::move(child)});
}

VirtualDentry Resolver::CrossMounts(VirtualDentry vd) const {
  while (vd.dentry->mount_count.load() > 0) {
    std::shared_ptr<Mount> m = ns_.MountedAt(vd.mount.get(), vd.dentry.get());
    if (!m) break;
    vd = VirtualDentry{m, m->root()};
  }
  return vd;
}

VirtualDentry Resolver::Parent(const VirtualDentry& start) const {
  VirtualDentry cur = start;
  for (;;) {
    if (cur == root_) return cur;  // ".." never leaves the root
    if (cur.dentry == cur.mount->root()) {
      VirtualDentry mp = cur.mount->mountpoint();
      if (!mp.valid()) return cur;  // namespace root
      cur = std::move(mp);
      continue;
    }
    return CrossMounts(VirtualDentry{cur.mount, cur.dentry->parent()});
  }
}

SysResult<VirtualDentry> Resolver::FollowLink(const VirtualDentry& dir,
                                              const VirtualDentry& link,
                                              int depth) {
  if (++symlinks_ > kMaxSymlinkTraversals) return Errno(ELOOP);
  const std::shared_ptr<Inode>& inode = link.dentry->inode();
  SENTRY_ASSIGN_OR_RETURN(std::optional<VirtualDentry> magic,
                          inode->FollowMagic(ctx_));
  if (magic.has_value()) {
    // A magic link jumps anywhere: never within RESOLVE_BENEATH's or
    // RESOLVE_IN_ROOT's bounds.
    if ((resolve_ & kResolveNoMagiclinks) != 0) return Errno(ELOOP);
    if ((resolve_ & (kResolveBeneath | kResolveInRoot)) != 0) {
      return Errno(EXDEV);
    }
    return *std::move(magic);
  }
  SENTRY_ASSIGN_OR_RETURN(std::string target, inode->ReadLink(ctx_));
  if (target.empty()) return Errno(ENOENT);
  if (target[0] == '/' && (resolve_ & kResolveBeneath) != 0) {
    return Errno(EXDEV);
  }
  return Walk(target[0] == '/' ? root_ : dir, target, /*follow_final=*/true,
              /*must_be_dir=*/false, depth + 1);
}

}  // namespace sentry::vfs
