// The terminal of `runsc do -t`: a pseudo-terminal inside the sandbox whose
// slave is the guest's stdio and controlling terminal, and whose master the
// sentry serves to runsc over a socket (runsc copies between it and the
// host terminal). The sentry never opens the host terminal itself.
//
// The socket is SOCK_SEQPACKET. From runsc, each message is a type byte and
// a body: kConsoleInput and bytes typed at the host terminal, or
// kConsoleResize and a struct winsize. To runsc, each message is output
// the guest wrote (echoes included).
//
// Lock order: HostConsole::send_mu_ before the pty's locks.

#ifndef SENTRY_FS_DEVPTS_CONSOLE_H_
#define SENTRY_FS_DEVPTS_CONSOLE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/host_fd.h"
#include "sentry/fs/devpts/devpts.h"
#include "sentry/vfs/vfs.h"

namespace sentry::fs::devpts {

inline constexpr char kConsoleInput = 'd';
inline constexpr char kConsoleResize = 'w';

class HostConsole final {
 public:
  // Opens a new pair on the devpts mounted at /dev/pts of `ns`; `socket`
  // is the sentry's end of runsc's socket.
  static SysResult<std::unique_ptr<HostConsole>> Create(
      const vfs::MountNamespace& ns, HostFd socket);
  HostConsole(const HostConsole&) = delete;
  HostConsole& operator=(const HostConsole&) = delete;

  // The slave, for the guest's stdio, and its terminal, for init's
  // controlling terminal.
  const std::shared_ptr<vfs::FileDescription>& slave() const { return slave_; }
  std::shared_ptr<kernel::Terminal> terminal() const { return master_->pty(); }

  // Starts copying on a thread of its own; it runs until the socket closes.
  void Start();
  // Sends what the guest wrote and runsc has not received yet (at the
  // sandbox's exit), waiting at most `timeout` for a busy socket.
  void Flush(absl::Duration timeout);

 private:
  HostConsole(HostFd socket, std::shared_ptr<MasterFD> master,
              std::shared_ptr<vfs::FileDescription> slave)
      : socket_(std::move(socket)),
        master_(std::move(master)),
        slave_(std::move(slave)) {}

  void Run();
  // Moves the master's output to the socket; false once the socket is
  // gone.
  bool SendOutput();
  // Takes one message from the socket; false at its end.
  bool Receive();

  const HostFd socket_;
  const std::shared_ptr<MasterFD> master_;
  const std::shared_ptr<vfs::FileDescription> slave_;
  absl::Mutex send_mu_;  // keeps the output in order
  std::string pending_;  // input the pty had no room for; Run's own
};

}  // namespace sentry::fs::devpts

#endif  // SENTRY_FS_DEVPTS_CONSOLE_H_
