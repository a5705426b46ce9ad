#include "sentry/fs/devpts/console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "glog/logging.h"
#include "sentry/vfs/kernel_context.h"
#include "sentry/vfs/resolve.h"

namespace sentry::fs::devpts {

namespace {

// The sentry's seccomp filter allows send (sendto without an address)
// and recvmsg, not sendmsg or recv.
ssize_t SendBytes(int fd, const char* buf, size_t len) {
  return send(fd, buf, len, MSG_NOSIGNAL);
}

ssize_t ReceiveBytes(int fd, char* buf, size_t len) {
  struct iovec iov = {buf, len};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return recvmsg(fd, &msg, MSG_DONTWAIT);
}

SysResult<std::shared_ptr<vfs::FileDescription>> OpenPath(
    vfs::CallContext& ctx, const vfs::MountNamespace& ns,
    const std::string& path, int flags) {
  vfs::Resolver r(ctx, ns, ns.Root(), ns.Root());
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(path));
  return vd.dentry->inode()->Open(ctx, vd, flags);
}

}  // namespace

SysResult<std::unique_ptr<HostConsole>> HostConsole::Create(
    const vfs::MountNamespace& ns, HostFd socket) {
  vfs::KernelContext ctx;
  SENTRY_ASSIGN_OR_RETURN(auto m, OpenPath(ctx, ns, "/dev/pts/ptmx", O_RDWR));
  auto master = std::dynamic_pointer_cast<MasterFD>(m);
  if (!master) return Errno(ENODEV);  // /dev/pts is not our devpts
  master->pty()->Unlock();
  // The kernel's own open acquires no controlling terminal: the kernel
  // hands it to init.
  SENTRY_ASSIGN_OR_RETURN(
      auto slave,
      OpenPath(ctx, ns, "/dev/pts/" + std::to_string(master->pty()->index()),
               O_RDWR));
  return std::unique_ptr<HostConsole>(
      new HostConsole(std::move(socket), std::move(master), std::move(slave)));
}

void HostConsole::Start() {
  std::thread([this] { Run(); }).detach();
}

bool HostConsole::SendOutput() {
  absl::MutexLock l(&send_mu_);
  vfs::KernelContext ctx;
  char buf[16384];
  for (;;) {
    SysResult<size_t> n =
        master_->pty()->MasterRead(ctx, buf, sizeof(buf), /*nonblock=*/true);
    if (!n.ok() || *n == 0) return true;  // nothing more for now
    size_t off = 0;
    while (off < *n) {
      ssize_t s = SendBytes(socket_.get(), buf + off, *n - off);
      if (s < 0 && errno == EINTR) continue;
      if (s < 0) return false;
      off += static_cast<size_t>(s);
    }
  }
}

bool HostConsole::Receive() {
  char buf[65536];
  ssize_t n;
  do {
    n = ReceiveBytes(socket_.get(), buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  if (n == 0) return false;
  if (buf[0] == kConsoleInput) {
    pending_.append(buf + 1, static_cast<size_t>(n - 1));
  } else if (buf[0] == kConsoleResize &&
             static_cast<size_t>(n) == 1 + sizeof(struct winsize)) {
    struct winsize ws;
    memcpy(&ws, buf + 1, sizeof(ws));
    master_->pty()->SetWindowSize(ws, /*external=*/true);
  }
  return true;
}

void HostConsole::Run() {
  vfs::KernelContext ctx;
  Waiter waiter;
  ScopedWait wait(&master_->pty()->master_queue(), &waiter,
                  kEventIn | kEventOut | kEventHup);
  for (;;) {
    if (!SendOutput()) break;
    // Typed input goes in as far as the terminal takes it; the rest waits
    // for the guest to read.
    if (!pending_.empty()) {
      SysResult<size_t> n =
          master_->WriteExternal(ctx, pending_.data(), pending_.size());
      if (n.ok()) pending_.erase(0, *n);
      if (!pending_.empty()) {
        waiter.Wait(absl::Now() + absl::Milliseconds(50));
        continue;
      }
    }
    std::vector<struct pollfd> host = {{socket_.get(), POLLIN, 0}};
    waiter.Wait(std::nullopt, &host);
    if ((host[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (!Receive()) break;
    }
  }
  VLOG(1) << "console: runsc's socket closed";
}

void HostConsole::Flush(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  // A full socket (runsc slow to read) is retried until the deadline.
  while (absl::Now() < deadline) {
    {
      absl::MutexLock l(&send_mu_);
      if ((master_->pty()->MasterReadiness(POLLIN) & POLLIN) == 0) return;
    }
    if (!SendOutput()) return;
  }
}

}  // namespace sentry::fs::devpts
