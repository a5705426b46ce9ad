// sysfs: a small, read-only /sys holding what common programs read to size
// themselves: the CPUs (glibc's sysconf(_SC_NPROCESSORS_*), Java, Go), the
// transparent huge page policy (Java, Go, jemalloc, glibc's malloc), and an
// empty /sys/fs/cgroup for programs that probe for cgroups. Nothing of the
// host's sysfs shows through.
//
// The tree is built once, at boot, from what the sentry reports elsewhere,
// and never changes: its files are plain immutable strings.
//
// Lock order: none; nothing here is mutable after Create.

#ifndef SENTRY_FS_SYS_SYSFS_H_
#define SENTRY_FS_SYS_SYSFS_H_

#include <memory>
#include <string>

#include "sentry/vfs/vfs.h"

namespace sentry::fs::sys {

struct SysOptions {
  // The CPUs the sandbox reports (sched_getaffinity, /proc/cpuinfo,
  // /proc/stat): numbered 0 to ncpus - 1, all online.
  int ncpus = 1;
  // Whether guest memory gets transparent huge pages. Guest pages are the
  // host's, so that is the host's policy, except that MADV_HUGEPAGE is
  // accepted without reaching the host: only a host set to "always" gives
  // guests huge pages.
  bool thp_always = false;
};

class SysFilesystem final : public vfs::Filesystem {
 public:
  static std::shared_ptr<SysFilesystem> Create(const SysOptions& options);

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }

 private:
  SysFilesystem() : Filesystem("sysfs") {}

  std::shared_ptr<vfs::Dentry> root_;
};

// The CPU list sysfs prints for CPUs 0 to ncpus - 1 ("0-3", or "0").
std::string CpuRange(int ncpus);

}  // namespace sentry::fs::sys

#endif  // SENTRY_FS_SYS_SYSFS_H_
