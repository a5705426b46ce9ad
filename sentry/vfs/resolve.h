// Path resolution, as Linux's namei: symlinks (ELOOP after 40), ".." across
// mounts and clamped at the root, trailing slashes, mount crossing.

#ifndef SENTRY_VFS_RESOLVE_H_
#define SENTRY_VFS_RESOLVE_H_

#include <string>
#include <string_view>

#include "sentry/base/sys_result.h"
#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

inline constexpr int kMaxSymlinkTraversals = 40;
inline constexpr size_t kMaxPath = 4096;  // PATH_MAX, NUL included
inline constexpr size_t kMaxName = 255;   // NAME_MAX

struct ResolveOptions {
  bool follow_final = true;  // follow a symlink in the last component
  bool must_be_dir = false;  // the result must be a directory
};

// The location of the last component of a path, for calls that create or
// remove it.
struct ParentAndName {
  VirtualDentry parent;
  std::string name;     // "" when the path names the root; "." or ".." possible
  bool trailing_slash;  // the path ended in '/'
};

class Resolver {
 public:
  // `root` is the task's root (chroot), `start` where relative paths begin.
  Resolver(CallContext& ctx, const MountNamespace& ns, VirtualDentry root,
           VirtualDentry start)
      : ctx_(ctx), ns_(ns), root_(std::move(root)), start_(std::move(start)) {}

  SysResult<VirtualDentry> Resolve(std::string_view path,
                                   ResolveOptions opts = {});
  SysResult<ParentAndName> ResolveParent(std::string_view path);

 private:
  // Walks `path` from `cur`; `symlinks` counts traversals across calls.
  SysResult<VirtualDentry> Walk(VirtualDentry cur, std::string_view path,
                                bool follow_final, bool must_be_dir, int depth);
  SysResult<VirtualDentry> Step(const VirtualDentry& cur,
                                const std::string& name);
  VirtualDentry Parent(const VirtualDentry& cur) const;
  VirtualDentry CrossMounts(VirtualDentry vd) const;
  SysResult<VirtualDentry> FollowLink(const VirtualDentry& dir,
                                      const VirtualDentry& link, int depth);

  CallContext& ctx_;
  const MountNamespace& ns_;
  const VirtualDentry root_;
  const VirtualDentry start_;
  int symlinks_ = 0;
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_RESOLVE_H_
