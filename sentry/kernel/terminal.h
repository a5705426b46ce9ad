// Terminals as the kernel's job control sees them: which session a
// terminal controls and which of its process groups is in the foreground.
// One Terminal per terminal device: the host terminal a sandbox runs on,
// and each pseudo-terminal slave (sentry/fs/devpts). Sessions hold their
// controlling terminal (ThreadGroup::tty); file descriptions of a terminal
// say which Terminal they are through the TerminalFile interface.
//
// A leaf header: filesystems implement it without depending on the kernel;
// the kernel's rules (sentry/kernel/job_control.h) act on it.
//
// Lock order: the fields below are guarded by Kernel::mu_, which a
// terminal's own locks (its line discipline's) never hold while taking it.

#ifndef SENTRY_KERNEL_TERMINAL_H_
#define SENTRY_KERNEL_TERMINAL_H_

#include <memory>

#include "sentry/base/sys_result.h"
#include "sentry/vfs/file.h"

namespace sentry::kernel {

class Terminal {
 public:
  virtual ~Terminal() = default;

  // Opens another description of this terminal at `vd` (/dev/tty, which
  // stands for the caller's controlling terminal).
  virtual SysResult<std::shared_ptr<vfs::FileDescription>> OpenTty(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) = 0;

  // The device number (/proc/PID/stat's tty_nr), or 0 if it has none in
  // the sandbox.
  virtual uint64_t DeviceNumber() const { return 0; }

  // ---- Guarded by Kernel::mu_. ----
  // The session it is the controlling terminal of, or 0.
  int sid = 0;
  // Its foreground process group, or 0.
  int fg_pgrp = 0;
};

// Implemented by file descriptions of terminals (and of pty masters), so the
// job-control ioctls (TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY,
// TIOCNOTTY) and the background checks find the Terminal.
class TerminalFile {
 public:
  virtual ~TerminalFile() = default;
  // The terminal; for a pty master, its slave's.
  virtual std::shared_ptr<Terminal> terminal() const = 0;
  virtual bool is_pty_master() const { return false; }
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_TERMINAL_H_
