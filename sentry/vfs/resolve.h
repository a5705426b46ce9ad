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

// openat2(2)'s RESOLVE_* restrictions, as <linux/openat2.h> numbers them.
inline constexpr unsigned kResolveNoXdev = 0x01;
inline constexpr unsigned kResolveNoMagiclinks = 0x02;
inline constexpr unsigned kResolveNoSymlinks = 0x04;
inline constexpr unsigned kResolveBeneath = 0x08;
inline constexpr unsigned kResolveInRoot = 0x10;
inline constexpr unsigned kResolveCached = 0x20;

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

  // Applies openat2(2)'s RESOLVE_* flags (kResolve*) to every walk:
  // RESOLVE_IN_ROOT makes the start the root; RESOLVE_BENEATH refuses to
  // leave it (EXDEV); RESOLVE_NO_XDEV refuses mount crossings (EXDEV);
  // RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS refuse links (ELOOP).
  void Restrict(unsigned resolve);

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

  // Checks a step from `from` to `to` against RESOLVE_NO_XDEV.
  SysResult<void> CheckXdev(const VirtualDentry& from,
                            const VirtualDentry& to) const;

  CallContext& ctx_;
  const MountNamespace& ns_;
  VirtualDentry root_;
  const VirtualDentry start_;
  int symlinks_ = 0;
  unsigned resolve_ = 0;
};

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_RESOLVE_H_
