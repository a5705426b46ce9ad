// procfs: /proc generated from the kernel's state on every open.
//
// Files are snapshots taken at open and again at every read from offset 0
// (as seq_file regenerates there), so pread(fd, 0) polling sees fresh
// values; directories are never cached, so processes that are reaped
// vanish at once.

#ifndef SENTRY_FS_PROC_PROCFS_H_
#define SENTRY_FS_PROC_PROCFS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sentry/kernel/kernel.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::proc {

struct ProcOptions {
  std::string cpuinfo;  // the host's /proc/cpuinfo, read at boot
};

class ProcBuilder;

class ProcFilesystem final : public vfs::Filesystem {
 public:
  static std::shared_ptr<ProcFilesystem> Create(kernel::Kernel* kernel,
                                                ProcOptions options);
  ~ProcFilesystem() override;

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }
  kernel::Kernel& kernel() const { return *kernel_; }
  const ProcOptions& options() const { return options_; }

 private:
  ProcFilesystem(kernel::Kernel* kernel, ProcOptions options);

  kernel::Kernel* const kernel_;
  const ProcOptions options_;
  // Makes the inodes; their closures refer to it, and it lives as long as
  // the filesystem, which outlives its inodes (every mount holds it).
  std::unique_ptr<ProcBuilder> builder_;
  std::shared_ptr<vfs::Dentry> root_;
};

// The generic pieces procfs is built from.
class SynthInode : public vfs::Inode {
 public:
  SynthInode(ProcFilesystem* fs, uint32_t mode, uint64_t ino, uint32_t uid = 0,
             uint32_t gid = 0);
  SysResult<vfs::Attr> GetAttr() override;

 protected:
  ProcFilesystem* fs() const { return fs_; }

 private:
  ProcFilesystem* const fs_;
  vfs::Attr attr_;
};

// A directory whose entries are computed on each lookup and listing.
class SynthDir : public SynthInode {
 public:
  struct Entry {
    std::string name;
    uint8_t type;  // DT_*
    uint64_t ino;  // what the inode made by `make` reports
    std::function<SysResult<std::shared_ptr<vfs::Inode>>()> make;
  };
  using Lister = std::function<std::vector<Entry>(vfs::CallContext&)>;
  // Names that lookup finds but listing does not show (/proc/TID for a
  // thread that is not a process's leader, as in Linux).
  using Finder = std::function<std::optional<Entry>(vfs::CallContext&,
                                                    const std::string&)>;

  SynthDir(ProcFilesystem* fs, uint64_t ino, uint32_t mode, Lister list,
           uint32_t uid = 0, Finder hidden = nullptr);

  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext& ctx, const std::string& name) override;
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext& ctx) override;
  bool CacheChildren() const override { return false; }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const Lister list_;
  const Finder hidden_;
};

// A file whose contents are generated at open and at each read from
// offset 0. Read-only unless it has a writer, which gets each write(2)
// whole (offsets are ignored, as in Linux's /proc/PID/comm).
class SynthFile : public SynthInode {
 public:
  using Generator = std::function<SysResult<std::string>(vfs::CallContext&)>;
  using Writer =
      std::function<SysResult<size_t>(vfs::CallContext&, const std::string&)>;
  SynthFile(ProcFilesystem* fs, uint64_t ino, uint32_t perm, Generator gen,
            uint32_t uid = 0, Writer writer = nullptr);

  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const Generator gen_;
  const Writer writer_;
};

// A symlink; with `magic`, following it lands on a location directly (as
// /proc/PID/exe and /proc/PID/fd/N do) rather than through its text.
class SynthLink : public SynthInode {
 public:
  using Target = std::function<SysResult<std::string>(vfs::CallContext&)>;
  using Magic = std::function<SysResult<vfs::VirtualDentry>(vfs::CallContext&)>;
  SynthLink(ProcFilesystem* fs, uint64_t ino, Target target,
            Magic magic = nullptr, uint32_t uid = 0);

  SysResult<std::string> ReadLink(vfs::CallContext& ctx) override;
  SysResult<std::optional<vfs::VirtualDentry>> FollowMagic(
      vfs::CallContext& ctx) override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  const Target target_;
  const Magic magic_;
};

}  // namespace sentry::fs::proc

#endif  // SENTRY_FS_PROC_PROCFS_H_
