// VFS operations on paths, with Linux's rules for flags, permissions and
// read-only mounts. System call handlers call these; filesystems implement
// the Inode hooks beneath them.

#ifndef SENTRY_VFS_OPS_H_
#define SENTRY_VFS_OPS_H_

#include <time.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sentry/base/sys_result.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/resolve.h"
#include "sentry/vfs/vfs.h"

namespace sentry::vfs {

// Where a path is resolved: the namespace, the task's root, and the
// directory relative paths start from.
struct PathContext {
  const MountNamespace* ns;
  VirtualDentry root;
  VirtualDentry start;
};

// open(2). `mode` is the creation mode with the umask already applied;
// `resolve` holds openat2(2)'s RESOLVE_* restrictions (see Resolver). With
// RESOLVE_BENEATH or RESOLVE_IN_ROOT, O_CREAT does not follow a symlink in
// the last component (EXDEV).
SysResult<std::shared_ptr<FileDescription>> OpenAt(CallContext& ctx,
                                                   const PathContext& pc,
                                                   std::string_view path,
                                                   int flags, uint32_t mode,
                                                   unsigned resolve = 0);

// Opens an already-resolved location (after its permission checks).
SysResult<std::shared_ptr<FileDescription>> OpenResolved(
    CallContext& ctx, const VirtualDentry& vd, int flags);

// open(2) with O_TMPFILE: an unnamed file in the directory at `path`.
// `mode` has the umask applied.
SysResult<std::shared_ptr<FileDescription>> OpenTmpfile(CallContext& ctx,
                                                        const PathContext& pc,
                                                        std::string_view path,
                                                        int flags,
                                                        uint32_t mode);

SysResult<void> MkdirAt(CallContext& ctx, const PathContext& pc,
                        std::string_view path, uint32_t mode);
SysResult<void> SymlinkAt(CallContext& ctx, const PathContext& pc,
                          const std::string& target, std::string_view path);
// mknod(2): `mode` has the file type and the permission bits (umask
// applied).
SysResult<void> MknodAt(CallContext& ctx, const PathContext& pc,
                        std::string_view path, uint32_t mode);
// unlink(2), or rmdir(2) when `dir` is set.
SysResult<void> UnlinkAt(CallContext& ctx, const PathContext& pc,
                         std::string_view path, bool dir);

// link(2): a new name `new_path` for the file at `old`.
SysResult<void> LinkAt(CallContext& ctx, const VirtualDentry& old,
                       const PathContext& pc, std::string_view new_path);

// chmod(2) on the file at `vd`: owner or CAP_FOWNER; the set-group-ID
// bit drops unless the caller is in the file's group or has CAP_FSETID.
SysResult<void> Chmod(CallContext& ctx, const VirtualDentry& vd, uint32_t mode);
// chown(2) (-1 leaves an id): a new owner needs CAP_CHOWN; the owner may
// change the group to one of its own. Clears set-user/group-ID bits of
// non-directories.
SysResult<void> Chown(CallContext& ctx, const VirtualDentry& vd, uint32_t uid,
                      uint32_t gid);

// rename(2) and renameat2(2); `flags` may hold RENAME_NOREPLACE or
// RENAME_EXCHANGE (RENAME_WHITEOUT is refused with EINVAL).
SysResult<void> RenameAt(CallContext& ctx, const PathContext& old_pc,
                         std::string_view old_path, const PathContext& new_pc,
                         std::string_view new_path, unsigned flags);

// utimensat(2) on the file at `vd`: `times` (atime, mtime) may use
// UTIME_NOW and UTIME_OMIT; null sets both to now. Explicit times need the
// owner or CAP_FOWNER; "now" also allows anyone who may write the file.
SysResult<void> SetTimes(CallContext& ctx, const VirtualDentry& vd,
                         const struct timespec* times);

// Extended attributes of the file at `vd`, with Linux's namespace rules:
// "user." on regular files and directories by file permission, "trusted."
// and "security." with CAP_SYS_ADMIN (for setting; trusted ones stay
// hidden from others), anything else EOPNOTSUPP.
SysResult<std::string> GetXattr(CallContext& ctx, const VirtualDentry& vd,
                                const std::string& name);
SysResult<void> SetXattr(CallContext& ctx, const VirtualDentry& vd,
                         const std::string& name, const std::string& value,
                         int flags);
SysResult<std::vector<std::string>> ListXattr(CallContext& ctx,
                                              const VirtualDentry& vd);
SysResult<void> RemoveXattr(CallContext& ctx, const VirtualDentry& vd,
                            const std::string& name);

// Checks `may` (auth::kMay* bits) against the file at `vd` for the caller,
// including EROFS for writes to read-only mounts.
SysResult<void> CheckAccess(CallContext& ctx, const VirtualDentry& vd, int may);

}  // namespace sentry::vfs

#endif  // SENTRY_VFS_OPS_H_
