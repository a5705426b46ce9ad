// devfs: the sandbox's /dev. A tmpfs holding the character devices a
// program expects (null, zero, full, random, urandom, tty, console), the
// /proc/self/fd links, and mountpoints for /dev/shm and /dev/pts.

#ifndef SENTRY_FS_DEV_DEVFS_H_
#define SENTRY_FS_DEV_DEVFS_H_

#include <memory>

#include "sentry/base/host_fd.h"
#include "sentry/fs/tmpfs/tmpfs.h"

namespace sentry::fs::dev {

// Builds /dev. `terminal` is the host terminal the sandbox was started on
// (shared with its stdio), or null: /dev/tty and /dev/console open it, or
// fail with ENXIO as they do without a controlling terminal.
std::shared_ptr<tmpfs::TmpfsFilesystem> CreateDevfs(
    std::shared_ptr<HostFd> terminal);

}  // namespace sentry::fs::dev

#endif  // SENTRY_FS_DEV_DEVFS_H_
