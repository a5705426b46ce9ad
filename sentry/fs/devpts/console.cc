#include "sentry/fs/devpts/console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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

SysResult<std::shared_ptr<HostConsole>> HostConsole::Create(
    const vfs::MountNamespace& ns, HostFd host, Kind kind, uint32_t owner) {
  vfs::KernelContext ctx;
  SENTRY_ASSIGN_OR_RETURN(auto m, OpenPath(ctx, ns, "/dev/pts/ptmx", O_RDWR));
  auto master = std::dynamic_pointer_cast<MasterFD>(m);
  if (!master) return Errno(ENODEV);  // /dev/pts is not our devpts
  master->pty()->Unlock();
  if (owner != 0) {
    vfs::Inode::AttrChange chown;
    chown.uid = owner;
    SENTRY_RETURN_IF_ERROR(master->pty()->inode()->SetAttr(ctx, chown));
  }
  // The kernel's own open acquires no controlling terminal: the kernel
  // hands it to init.
  SENTRY_ASSIGN_OR_RETURN(
      auto slave,
      OpenPath(ctx, ns, "/dev/pts/" + std::to_string(master->pty()->index()),
               O_RDWR));
  if (kind == Kind::kHostTty) {
    // Reads must not block the copying thread; the host pty's size is the
    // sandbox pty's from the start.
    int flags = fcntl(host.get(), F_GETFL);
    if (flags < 0 || fcntl(host.get(), F_SETFL, flags | O_NONBLOCK) != 0)
      return Errno::FromHost();
  }
  std::shared_ptr<HostConsole> c(new HostConsole(
      std::move(host), kind, std::move(master), std::move(slave)));
  if (kind == Kind::kHostTty) c->FollowWindowSize();
  return c;
}

void HostConsole::Start() {
  std::thread([self = shared_from_this()] { self->Run(); }).detach();
}

bool HostConsole::SendOutput() {
  absl::MutexLock l(&send_mu_);
  if (!host_.valid()) return false;
  vfs::KernelContext ctx;
  char buf[16384];
  for (;;) {
    // What a slow host reader (XOFF, a paused client) left is sent first;
    // until it is, the pty's output stays in the pty, and a guest writing
    // more blocks there, as on a real terminal.
    while (!unsent_.empty()) {
      ssize_t s = kind_ == Kind::kRunscSocket
                      ? SendBytes(host_.get(), unsent_.data(), unsent_.size())
                      : write(host_.get(), unsent_.data(), unsent_.size());
      if (s < 0 && errno == EINTR) continue;
      if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (s < 0) return false;
      unsent_.erase(0, static_cast<size_t>(s));
    }
    SysResult<size_t> n =
        master_->pty()->MasterRead(ctx, buf, sizeof(buf), /*nonblock=*/true);
    if (!n.ok() || *n == 0) return true;  // nothing more for now
    unsent_.assign(buf, *n);
  }
}

bool HostConsole::Receive() {
  char buf[65536];
  ssize_t n;
  if (kind_ == Kind::kHostTty) {
    do {
      n = read(host_.get(), buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    // EIO: the host pty's master is closed.
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }
  do {
    n = ReceiveBytes(host_.get(), buf, sizeof(buf));
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

void HostConsole::FollowWindowSize() {
  struct winsize ws;
  if (ioctl(host_.get(), TIOCGWINSZ, &ws) != 0) return;
  if (ws.ws_row == size_.ws_row && ws.ws_col == size_.ws_col &&
      ws.ws_xpixel == size_.ws_xpixel && ws.ws_ypixel == size_.ws_ypixel) {
    return;
  }
  size_ = ws;
  master_->pty()->SetWindowSize(ws, /*external=*/true);
}

void HostConsole::Run() {
  vfs::KernelContext ctx;
  ScopedWait wait(&master_->pty()->master_queue(), &waiter_,
                  kEventIn | kEventOut | kEventHup);
  // A host pty says nothing when its size changes (the sentry is not in
  // its session, so no SIGWINCH): look this often.
  const absl::Duration kSizePoll = absl::Milliseconds(200);
  auto stopping = [this] {
    absl::MutexLock l(&stop_mu_);
    return stop_;
  };
  while (!stopping()) {
    if (!SendOutput()) break;
    if (kind_ == Kind::kHostTty) FollowWindowSize();
    // Typed input goes in as far as the terminal takes it; the rest waits
    // for the guest to read.
    if (!pending_.empty()) {
      SysResult<size_t> n =
          master_->WriteExternal(ctx, pending_.data(), pending_.size());
      if (n.ok()) pending_.erase(0, *n);
      if (!pending_.empty()) {
        waiter_.Wait(absl::Now() + absl::Milliseconds(50));
        continue;
      }
    }
    short events = POLLIN;
    {
      absl::MutexLock l(&send_mu_);
      if (!unsent_.empty()) events |= POLLOUT;  // room for it, then go on
    }
    std::vector<struct pollfd> host = {{host_.get(), events, 0}};
    std::optional<absl::Time> deadline;
    if (kind_ == Kind::kHostTty) deadline = absl::Now() + kSizePoll;
    waiter_.Wait(deadline, &host);
    if ((host[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (!Receive()) break;
    }
  }
  VLOG(1) << "console: the host side closed, or the console stopped";
  {
    absl::MutexLock l(&send_mu_);
    host_.Reset();
  }
  absl::MutexLock l(&stop_mu_);
  stopped_ = true;
}

void HostConsole::Flush(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  // A full host fd (its reader slow) is retried until the deadline.
  while (absl::Now() < deadline) {
    {
      absl::MutexLock l(&send_mu_);
      if (unsent_.empty() &&
          (master_->pty()->MasterReadiness(POLLIN) & POLLIN) == 0) {
        return;
      }
    }
    if (!SendOutput()) return;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

void HostConsole::Stop(absl::Duration flush_timeout) {
  Flush(flush_timeout);
  absl::MutexLock l(&stop_mu_);
  stop_ = true;
  waiter_.Notify();
  stop_mu_.AwaitWithTimeout(absl::Condition(&stopped_), flush_timeout);
}

}  // namespace sentry::fs::devpts
