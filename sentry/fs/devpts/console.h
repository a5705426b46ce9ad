// The terminal of `runsc do -t` and of OCI containers and execs with
// process.terminal: a pseudo-terminal inside the sandbox whose slave is the
// guest's stdio and controlling terminal, and whose master the sentry
// connects to a host fd. The sentry never opens a host terminal itself.
//
// Two kinds of host fd:
// - kRunscSocket (`runsc do -t`): a SOCK_SEQPACKET socket to runsc. From
//   runsc, each message is a type byte and a body: kConsoleInput and bytes
//   typed at the host terminal, or kConsoleResize and a struct winsize. To
//   runsc, each message is output the guest wrote (echoes included).
// - kHostTty (OCI): the slave of a host pty in raw mode, whose master
//   runsc sent over --console-socket. Bytes pass through unchanged (the
//   sandbox's pty does the line discipline); the host pty's window size,
//   which the engine sets on its master, is followed.
//
// Lock order: HostConsole::send_mu_ before the pty's locks.

#ifndef SENTRY_FS_DEVPTS_CONSOLE_H_
#define SENTRY_FS_DEVPTS_CONSOLE_H_

#include <sys/ioctl.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/host_fd.h"
#include "sentry/base/waiter.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::devpts {

inline constexpr char kConsoleInput = 'd';
inline constexpr char kConsoleResize = 'w';

class HostConsole final : public std::enable_shared_from_this<HostConsole> {
 public:
  enum class Kind { kRunscSocket, kHostTty };

  // Opens a new pair on the devpts mounted at /dev/pts of `ns`; `host` is
  // the sentry's end of runsc's socket, or a host pty slave. The slave
  // belongs to `owner`, the process it is the terminal of, as if that
  // process had opened ptmx (runc chowns the console to it).
  static SysResult<std::shared_ptr<HostConsole>> Create(
      const vfs::MountNamespace& ns, HostFd host,
      Kind kind = Kind::kRunscSocket, uint32_t owner = 0);
  HostConsole(const HostConsole&) = delete;
  HostConsole& operator=(const HostConsole&) = delete;

  // The slave, for the guest's stdio, and its terminal, for the guest's
  // controlling terminal.
  const std::shared_ptr<vfs::FileDescription>& slave() const { return slave_; }
  std::shared_ptr<kernel::Terminal> terminal() const { return master_->pty(); }

  // Starts copying on a thread of its own (which holds a reference); it
  // runs until the host side closes or Stop.
  void Start();
  // Sends what the guest wrote and the host has not received yet (at the
  // sandbox's exit), waiting at most `timeout` for a busy host fd.
  void Flush(absl::Duration timeout);
  // Flushes (as Flush), then ends the copying and closes the host fd, so
  // the host side sees the terminal's end (an exec's process has exited).
  void Stop(absl::Duration flush_timeout);

 private:
  HostConsole(HostFd host, Kind kind, std::shared_ptr<MasterFD> master,
              std::shared_ptr<vfs::FileDescription> slave)
      : host_(std::move(host)),
        kind_(kind),
        master_(std::move(master)),
        slave_(std::move(slave)) {}

  void Run();
  // Moves the master's output to the host fd, keeping what does not fit
  // for later; false once the host fd is gone.
  bool SendOutput();
  // Takes what the host fd has; false at its end.
  bool Receive();
  // kHostTty: applies a change of the host pty's window size.
  void FollowWindowSize();

  HostFd host_;  // Run's to close, under send_mu_
  const Kind kind_;
  const std::shared_ptr<MasterFD> master_;
  const std::shared_ptr<vfs::FileDescription> slave_;
  absl::Mutex send_mu_;  // keeps the output in order
  std::string pending_;  // input the pty had no room for; Run's own
  // Output the host fd had no room for (a slow reader, XOFF).
  std::string unsent_ ABSL_GUARDED_BY(send_mu_);
  struct winsize size_ = {};  // the host pty's last size; Run's own
  Waiter waiter_;             // Run's; Stop wakes it
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace sentry::fs::devpts

#endif  // SENTRY_FS_DEVPTS_CONSOLE_H_
