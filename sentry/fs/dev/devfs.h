// devfs: the sandbox's /dev. A tmpfs holding the character devices a
// program expects (null, zero, full, random, urandom, tty, console), the
// /proc/self/fd links, ptmx (a link to pts/ptmx), and mountpoints for
// /dev/shm and /dev/pts (devpts).

#ifndef SENTRY_FS_DEV_DEVFS_H_
#define SENTRY_FS_DEV_DEVFS_H_

#include <memory>

#include "sentry/base/host_fd.h"
#include "sentry/fs/tmpfs/tmpfs.h"
#include "sentry/kernel/terminal.h"

namespace sentry::fs::dev {

// Builds /dev. /dev/tty opens the caller's controlling terminal (ENXIO
// without one); /dev/console opens `console`, the host terminal the sandbox
// was started on, or fails with ENXIO if null.
std::shared_ptr<tmpfs::TmpfsFilesystem> CreateDevfs(
    std::shared_ptr<kernel::Terminal> console);

}  // namespace sentry::fs::dev

#endif  // SENTRY_FS_DEV_DEVFS_H_
