// UDP over loopback: a send looks the receiving socket up in the port
// table and queues the datagram there, or drops it when that socket's
// buffer is full. A connected socket sending to a port nobody has bound
// learns ECONNREFUSED (the ICMP port-unreachable Linux would get back).

#include "sentry/net/inet/udp.h"

#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

namespace sentry::net::inet {

UdpSocket::UdpSocket(int family) : Socket(family, SOCK_DGRAM, IPPROTO_UDP) {
  options_.sndbuf.store(kUdpBuf);
  options_.rcvbuf.store(kUdpBuf);
}

UdpSocket::~UdpSocket() = default;

int UdpSocket::State() {
  absl::MutexLock l(&mu_);
  return peer_addr_ ? TCP_ESTABLISHED : TCP_CLOSE;
}

SysResult<void> UdpSocket::Connect(vfs::CallContext& ctx, const SockAddr& to,
                                   const Caller& caller, ShouldBlock block,
                                   std::optional<absl::Time> deadline) {
  (void)ctx;
  (void)block;
  (void)deadline;
  absl::MutexLock l(&mu_);
  SENTRY_ASSIGN_OR_RETURN(SockAddr dst, RouteLocked(to));
  if (!bound_) {
    SockAddr a;
    a.addr = local_.addr;  // any, or what bind(2) chose before a disconnect
    SENTRY_RETURN_IF_ERROR(BindLocked(a, caller, false));
  }
  // A connected socket receives only from its peer, on the address it
  // sends from.
  if (local_.addr.is_any()) local_.addr = SourceForLocked(dst.addr);
  peer_addr_ = dst;
  Stack::Get().Update(protocol_, local_.port, this, local_.addr, dst);
  return Ok();
}

SysResult<void> UdpSocket::Disconnect() {
  absl::MutexLock l(&mu_);
  peer_addr_.reset();
  if (!bound_) return Ok();
  // What connect chose goes; what bind(2) named stays (udp_disconnect).
  if (!addr_locked_) {
    local_.addr = family_ == AF_INET ? IpAddr::V4(0) : IpAddr::Any6();
  }
  if (!port_locked_) {
    Stack::Get().Unbind(protocol_, local_.port, this);
    bound_ = false;
    local_.port = 0;
    return Ok();
  }
  Stack::Get().Update(protocol_, local_.port, this, local_.addr, std::nullopt);
  return Ok();
}

void UdpSocket::Deliver(Datagram d) {
  {
    absl::MutexLock l(&mu_);
    if (closed_ || (shutdown_ & kRcvShutdown) != 0) return;
    size_t rcvbuf = static_cast<size_t>(options_.rcvbuf.load());
    // Linux's check: drop when the buffer is already over its size.
    if (rx_mem_ > rcvbuf) return;
    size_t cost = d.data.size() + kDgramOverhead;
    rx_mem_ += cost;
    rx_bytes_.fetch_add(d.data.size());
    rx_.push_back(std::move(d));
  }
  queue_.Notify(kEventIn);
}

SysResult<size_t> UdpSocket::Send(vfs::CallContext& ctx, std::string data,
                                  const std::optional<SockAddr>& to,
                                  const Caller& caller, ShouldBlock block,
                                  std::optional<absl::Time> deadline) {
  (void)ctx;
  (void)block;
  (void)deadline;
  SockAddr dst, src;
  bool to_peer = false;
  {
    absl::MutexLock l(&mu_);
    // Linux binds a port before UDP looks at the destination
    // (inet_send_prepare), so even a failing send autobinds.
    if (!bound_) {
      SockAddr a;
      a.addr = local_.addr;
      SENTRY_RETURN_IF_ERROR(BindLocked(a, caller, false));
    }
    if (to) {
      if (to->port == 0) return Errno(EINVAL);
      SENTRY_ASSIGN_OR_RETURN(dst, RouteLocked(*to));
    } else if (peer_addr_) {
      dst = *peer_addr_;
    } else {
      return Errno(EDESTADDRREQ);
    }
    size_t max = dst.addr.is_v4() ? kMaxUdp4 : kMaxUdp6;
    if (data.size() > max) return Errno(EMSGSIZE);
    if (error_ != 0) {
      int e = error_;
      error_ = 0;
      return Errno(e);
    }
    if ((shutdown_ & kSendShutdown) != 0) return Errno(EPIPE);
    src.addr = SourceForLocked(dst.addr);
    src.port = local_.port;
    to_peer = peer_addr_ && peer_addr_->addr == dst.addr &&
              peer_addr_->port == dst.port;
  }
  size_t len = data.size();
  std::shared_ptr<Socket> r = Stack::Get().Lookup(protocol_, dst, src, false);
  if (r == nullptr) {
    if (to_peer) {
      {
        absl::MutexLock l(&mu_);
        error_ = ECONNREFUSED;
      }
      queue_.Notify(kEventErr);
    }
    return len;
  }
  Datagram d;
  d.data = std::move(data);
  d.from = src;
  d.dst = dst.addr;
  bool v4 = dst.addr.is_v4();
  d.tos = static_cast<uint8_t>(
      options_.Get(v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TOS : IPV6_TCLASS)
          .value_or(0));
  int ttl =
      options_.Get(v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS)
          .value_or(-1);
  d.ttl = ttl < 0 ? 64 : ttl;
  d.stamp = absl::Now();
  static_cast<UdpSocket&>(*r).Deliver(std::move(d));
  return len;
}

SysResult<RecvResult> UdpSocket::Recv(vfs::CallContext& ctx, char* buf,
                                      size_t len, int flags, ShouldBlock block,
                                      std::optional<absl::Time> deadline) {
  bool peek = (flags & MSG_PEEK) != 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      // A pending error comes before any queued datagram, as in
      // __skb_recv_udp.
      if (error_ != 0) {
        int e = error_;
        error_ = 0;
        return Errno(e);
      }
      if (!rx_.empty()) {
        Datagram& d = rx_.front();
        RecvResult res;
        res.length = d.data.size();
        res.copied = std::min(len, d.data.size());
        res.truncated = res.copied < res.length;
        memcpy(buf, d.data.data(), res.copied);
        res.from = d.from;
        res.dst = d.dst;
        res.tos = d.tos;
        res.ttl = d.ttl;
        res.stamp = d.stamp;
        if (!peek) {
          rx_mem_ -= d.data.size() + kDgramOverhead;
          rx_bytes_.fetch_sub(d.data.size());
          rx_.pop_front();
        }
        return res;
      }
      if ((shutdown_ & kRcvShutdown) != 0) return RecvResult{};
    }
    if (block == ShouldBlock::kNo) return Errno(EAGAIN);
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventErr | kEventHup);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(net::BlockOn(ctx, deadline));
  }
}

SysResult<void> UdpSocket::Shutdown(int how) {
  SysResult<void> ret = Ok();
  {
    absl::MutexLock l(&mu_);
    // Linux sets the bits even on an unconnected socket (to wake its
    // readers) and still answers ENOTCONN.
    if (!peer_addr_) ret = Errno(ENOTCONN);
    shutdown_ |= how;
  }
  queue_.Notify(kEventAll);
  return ret;
}

void UdpSocket::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
  rx_.clear();
  rx_mem_ = 0;
  rx_bytes_.store(0);
  UnbindLocked();
}

uint32_t UdpSocket::Readiness(uint32_t mask) {
  absl::MutexLock l(&mu_);
  uint32_t r = POLLOUT | POLLWRNORM | POLLWRBAND;
  if (error_ != 0) r |= POLLERR;
  if ((shutdown_ & kRcvShutdown) != 0) {
    r |= POLLIN | POLLRDNORM | kEventRdHup;
  }
  if (shutdown_ == (kRcvShutdown | kSendShutdown)) r |= POLLHUP;
  if (!rx_.empty()) r |= POLLIN | POLLRDNORM;
  return r & (mask | POLLERR | POLLHUP);
}

SysResult<size_t> UdpSocket::InQueue() {
  absl::MutexLock l(&mu_);
  // Linux reports the size of the next datagram.
  return rx_.empty() ? 0 : rx_.front().data.size();
}

}  // namespace sentry::net::inet
