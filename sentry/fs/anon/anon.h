// Files with no name in any directory: pipes, pidfds, and (later)
// eventfds, epoll and timerfds. Each lives on a small internal filesystem
// of its kind ("pipefs", "anon_inodefs"), which gives it a device number,
// an inode number and a location for its file description, as Linux's
// pseudo filesystems do.

#ifndef SENTRY_FS_ANON_ANON_H_
#define SENTRY_FS_ANON_ANON_H_

#include <cstdint>
#include <memory>
#include <string>

#include "sentry/vfs/vfs.h"

namespace sentry::fs::anon {

// An inode with fixed attributes; it cannot be opened by path.
class AnonInode final : public vfs::Inode {
 public:
  AnonInode(uint32_t mode, uint64_t ino, uint64_t dev, uint32_t uid,
            uint32_t gid);
  SysResult<vfs::Attr> GetAttr() override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  vfs::Attr attr_;
};

// Marks a file description whose reads move whole records (an eventfd's
// 8-byte counter, a timerfd's count, a signalfd's 128-byte siginfos).
// Linux hands even a read of nothing to such a file, which fails it with
// EINVAL; for other files the syscall layer answers it with 0 itself.
class RecordReads {
 public:
  virtual ~RecordReads() = default;
};

// A new nameless file of mode `mode` (type and permission bits) on the
// internal filesystem `fs_type`, owned by `uid`/`gid`.
vfs::VirtualDentry NewAnonFile(const std::string& fs_type, uint32_t mode,
                               uint32_t uid, uint32_t gid);

// The inode number of a file made by NewAnonFile.
uint64_t AnonIno(const vfs::VirtualDentry& vd);

}  // namespace sentry::fs::anon

#endif  // SENTRY_FS_ANON_ANON_H_
