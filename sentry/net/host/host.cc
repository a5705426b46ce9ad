#include "sentry/net/host/host.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "glog/logging.h"
#include "gofer/protocol/transport.h"
#include "sentry/net/blocking.h"
#include "sentry/net/host/policy.h"
#include "sentry/net/host/protocol.h"

namespace sentry::net::host {

namespace {

std::atomic<BrokerClient*> g_broker{nullptr};

// How long the sentry waits for the broker's answer: its work is a
// non-blocking connect, so only a wedged broker takes this long.
constexpr int kBrokerTimeoutMs = 10000;

}  // namespace

void BrokerClient::Install(HostFd sock,
                           std::vector<std::pair<uint16_t, uint16_t>> listen) {
  // Lives as long as the sentry.
  g_broker.store(new BrokerClient(std::move(sock), std::move(listen)));
}

bool BrokerClient::MayListen(uint16_t port) const {
  return InPortRanges(listen_, port);
}

BrokerClient* BrokerClient::Get() { return g_broker.load(); }

SysResult<HostFd> BrokerClient::Connect(vfs::CallContext& ctx, int family,
                                        int type,
                                        const struct sockaddr_storage& addr,
                                        socklen_t len) {
  return Call(ctx, static_cast<int>(BrokerOp::kConnect), family, type, addr,
              len, 0);
}

SysResult<HostFd> BrokerClient::Listen(vfs::CallContext& ctx, int family,
                                       const struct sockaddr_storage& addr,
                                       socklen_t len, int backlog) {
  return Call(ctx, static_cast<int>(BrokerOp::kListen), family, SOCK_STREAM,
              addr, len, backlog);
}

SysResult<HostFd> BrokerClient::Call(vfs::CallContext& ctx, int op, int family,
                                     int type,
                                     const struct sockaddr_storage& addr,
                                     socklen_t len, int backlog) {
  BrokerRequest req;
  memset(&req, 0, sizeof(req));
  req.op = static_cast<BrokerOp>(op);
  req.family = family;
  req.type = type;
  req.addrlen = len;
  memcpy(&req.addr, &addr, std::min<size_t>(len, sizeof(req.addr)));
  req.backlog = backlog;
  req.pid = ctx.Tgid();
  std::string comm = ctx.Comm();
  memcpy(req.comm, comm.data(), std::min(comm.size(), sizeof(req.comm) - 1));

  absl::MutexLock l(&mu_);
  auto gone = [&](const char* why) -> SysResult<HostFd> {
    if (!dead_) {
      LOG(ERROR) << "the network broker " << why
                 << "; host connections now fail with ENETDOWN";
    }
    dead_ = true;
    return Errno(ENETDOWN);
  };
  if (dead_) return Errno(ENETDOWN);
  // The gofer's transport: send(2) without an fd (the sentry's filter
  // admits sends without an address only), and a receive that keeps one
  // fd and closes any others.
  std::vector<uint8_t> bytes(reinterpret_cast<const uint8_t*>(&req),
                             reinterpret_cast<const uint8_t*>(&req + 1));
  if (gofer::proto::SendPacket(sock_.get(), bytes) != 0) return gone("hung up");
  struct pollfd p = {sock_.get(), POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, kBrokerTimeoutMs);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return gone("did not answer");
  HostFd fd;
  if (gofer::proto::RecvPacket(sock_.get(), &bytes, &fd) != 0) {
    return gone("hung up");
  }
  BrokerReply reply;
  if (bytes.size() != sizeof(reply)) return gone("sent garbage");
  memcpy(&reply, bytes.data(), sizeof(reply));
  if (reply.error != 0) {
    if (reply.error < 0 || reply.error >= 4096) return gone("sent garbage");
    return Errno(reply.error);
  }
  if (!fd.valid()) return gone("sent no socket");
  return fd;
}

short HostEndpoint::Poll(short events) const {
  struct pollfd p = {fd_.get(), events, 0};
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r > 0 ? p.revents : 0;
}

SysResult<void> HostEndpoint::Wait(vfs::CallContext& ctx, short events,
                                   vfs::ShouldBlock block,
                                   std::optional<absl::Time> deadline) const {
  for (;;) {
    if (Poll(events | POLLERR | POLLHUP) != 0) return Ok();
    if (block == vfs::ShouldBlock::kNo) return Errno(EAGAIN);
    std::vector<struct pollfd> host = {{fd_.get(), events, 0}};
    SysResult<void> r = net::BlockOn(ctx, deadline, &host);
    if (!r.ok()) return r;
  }
}

SysResult<size_t> HostEndpoint::Send(vfs::CallContext& ctx, const char* data,
                                     size_t len, bool stream,
                                     vfs::ShouldBlock block,
                                     std::optional<absl::Time> deadline) {
  size_t done = 0;
  for (;;) {
    ssize_t n =
        send(fd_.get(), data + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      if (!stream || done == len) return done;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      if (done > 0) return done;
      return Errno::FromHost();
    }
    SysResult<void> r = Wait(ctx, POLLOUT, block, deadline);
    if (!r.ok()) {
      if (done > 0) return done;
      return r.error();
    }
  }
}

SysResult<size_t> HostEndpoint::Recv(vfs::CallContext& ctx, char* buf,
                                     size_t len, int flags, bool stream,
                                     vfs::ShouldBlock block,
                                     std::optional<absl::Time> deadline,
                                     size_t* full,
                                     struct sockaddr_storage* from) {
  // A datagram's whole length comes from MSG_TRUNC; a stream's MSG_TRUNC
  // discards, as the program asked.
  int hflags = MSG_DONTWAIT | (flags & MSG_PEEK) |
               (stream ? (flags & MSG_TRUNC) : MSG_TRUNC);
  bool waitall =
      stream && (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0;
  size_t got = 0;
  for (;;) {
    struct iovec iov = {buf + got, len - got};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (from != nullptr) {
      msg.msg_name = from;
      msg.msg_namelen = sizeof(*from);
    }
    ssize_t n = recvmsg(fd_.get(), &msg, hflags);
    if (n >= 0) {
      if (!stream) {
        *full = static_cast<size_t>(n);
        return std::min(static_cast<size_t>(n), len);
      }
      got += static_cast<size_t>(n);
      // EOF, a full buffer, or enough without MSG_WAITALL.
      if (n == 0 || got == len || !waitall) return got;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      if (got > 0) return got;
      return Errno::FromHost();
    }
    SysResult<void> r = Wait(ctx, POLLIN, block, deadline);
    if (!r.ok()) {
      if (got > 0) return got;
      return r.error();
    }
  }
}

SysResult<std::shared_ptr<HostEndpoint>> HostEndpoint::Accept(
    vfs::CallContext& ctx, vfs::ShouldBlock block,
    std::optional<absl::Time> deadline, struct sockaddr_storage* peer) {
  for (;;) {
    socklen_t len = sizeof(*peer);
    int fd = accept4(fd_.get(), reinterpret_cast<struct sockaddr*>(peer), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return std::make_shared<HostEndpoint>(HostFd(fd));
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN) return Errno::FromHost();
    SENTRY_RETURN_IF_ERROR(Wait(ctx, POLLIN, block, deadline));
  }
}

SysResult<void> HostEndpoint::Shutdown(int how) {
  if (shutdown(fd_.get(), how) != 0) return Errno::FromHost();
  return Ok();
}

int HostEndpoint::TakeError() {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return 0;
  return err;
}

size_t HostEndpoint::InQueue() const {
  int n = 0;
  if (ioctl(fd_.get(), SIOCINQ, &n) != 0 || n < 0) return 0;
  return static_cast<size_t>(n);
}

size_t HostEndpoint::OutQueue() const {
  int n = 0;
  if (ioctl(fd_.get(), SIOCOUTQ, &n) != 0 || n < 0) return 0;
  return static_cast<size_t>(n);
}

int HostEndpoint::TcpState() const {
  struct tcp_info info = {};
  socklen_t len = sizeof(info);
  if (getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return TCP_CLOSE;
  }
  return info.tcpi_state;
}

SysResult<struct sockaddr_storage> HostEndpoint::LocalName() const {
  struct sockaddr_storage ss = {};
  socklen_t len = sizeof(ss);
  if (getsockname(fd_.get(), reinterpret_cast<struct sockaddr*>(&ss), &len) !=
      0) {
    return Errno::FromHost();
  }
  return ss;
}

void HostEndpoint::SetOption(int level, int name, const void* value,
                             socklen_t len) {
  // Best effort: the guest's view of its options is the sentry's, which
  // already checked the value; a host that refuses one (a buffer size
  // beyond its limits) keeps its own.
  if (setsockopt(fd_.get(), level, name, value, len) != 0) {
    VLOG(1) << "host setsockopt(" << level << ", " << name
            << "): " << strerror(errno);
  }
}

}  // namespace sentry::net::host
