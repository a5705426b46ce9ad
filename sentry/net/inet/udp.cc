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
  (void)block;
  (void)deadline;
  std::shared_ptr<host::HostEndpoint> ep;
  bool to_host;
  {
    absl::MutexLock l(&mu_);
    to_host = GoesToHostLocked(to, false);
  }
  if (to_host) {
    SENTRY_ASSIGN_OR_RETURN(ep, OpenHost(ctx, to));
  }
  absl::MutexLock l(&mu_);
  host_ = std::move(ep);
  if (host_ != nullptr) {
    // The sandbox keeps a port for it (getsockname shows it), on which
    // the sandbox's own sockets cannot reach it: it is connected to a
    // peer outside.
    if (!bound_) {
      SockAddr a;
      a.addr = local_.addr;
      SENTRY_RETURN_IF_ERROR(BindLocked(a, caller, false));
    }
    peer_addr_ = ThisHostIfAny(to);
    Stack::Get().Update(protocol_, local_.port, this, local_.addr, *peer_addr_);
    return Ok();
  }
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
  host_.reset();
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
  SockAddr dst, src;
  bool to_peer = false;
  std::shared_ptr<host::HostEndpoint> ep;
  bool open_host = false;
  {
    absl::MutexLock l(&mu_);
    // Linux binds a port before UDP looks at the destination
    // (inet_send_prepare), so even a failing send autobinds.
    if (!bound_) {
      SockAddr a;
      a.addr = local_.addr;
      SENTRY_RETURN_IF_ERROR(BindLocked(a, caller, false));
    }
    if (to && to->port == 0) return Errno(EINVAL);
    if (to ? GoesToHostLocked(*to, false) : host_ != nullptr) {
      // A host destination: the connected host socket, or one per
      // destination for an unconnected socket's sendto.
      dst = ThisHostIfAny(to ? *to : *peer_addr_);
      if (data.size() > (dst.addr.is_v4() ? kMaxUdp4 : kMaxUdp6)) {
        return Errno(EMSGSIZE);
      }
      if ((shutdown_ & kSendShutdown) != 0) return Errno(EPIPE);
      if (host_ != nullptr && peer_addr_->addr == dst.addr &&
          peer_addr_->port == dst.port) {
        ep = host_;
      } else {
        for (auto& [addr, e] : host_peers_) {
          if (addr.addr == dst.addr && addr.port == dst.port) ep = e;
        }
        open_host = ep == nullptr;
      }
    }
  }
  if (open_host) {
    SENTRY_ASSIGN_OR_RETURN(ep, OpenHost(ctx, dst));
    absl::MutexLock l(&mu_);
    if (host_peers_.size() >= kMaxHostPeers) host_peers_.pop_front();
    host_peers_.emplace_back(dst, ep);
  }
  if (ep != nullptr) {
    return ep->Send(ctx, data.data(), data.size(), false, block, deadline);
  }
  {
    absl::MutexLock l(&mu_);
    if (to) {
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
    // Then what came from host destinations.
    std::vector<std::shared_ptr<host::HostEndpoint>> hosts = HostEndpoints();
    for (const auto& h : hosts) {
      size_t full = 0;
      struct sockaddr_storage from = {};
      SysResult<size_t> n =
          h->Recv(ctx, buf, len, flags, false, ShouldBlock::kNo, std::nullopt,
                  &full, &from);
      if (!n.ok() && n.err() == EAGAIN) continue;
      if (!n.ok()) return n.error();
      RecvResult res;
      res.copied = *n;
      res.length = full;
      res.truncated = *n < full;
      res.from = FromHostAddr(from);
      res.stamp = absl::Now();
      return res;
    }
    if (block == ShouldBlock::kNo) return Errno(EAGAIN);
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventErr | kEventHup);
      continue;
    }
    std::vector<struct pollfd> fds;
    for (const auto& h : hosts) fds.push_back({h->fd(), POLLIN, 0});
    SENTRY_RETURN_IF_ERROR(
        net::BlockOn(ctx, deadline, fds.empty() ? nullptr : &fds));
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
  host_.reset();
  host_peers_.clear();
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
  if (host_ != nullptr && (host_->Poll(POLLIN) & POLLERR) != 0) r |= POLLERR;
  for (const auto& h : HostEndpointsLocked()) {
    if ((h->Poll(POLLIN) & POLLIN) != 0) r |= POLLIN | POLLRDNORM;
  }
  return r & (mask | POLLERR | POLLHUP);
}

std::vector<std::shared_ptr<host::HostEndpoint>>
UdpSocket::HostEndpointsLocked() {
  std::vector<std::shared_ptr<host::HostEndpoint>> out;
  if (host_ != nullptr) out.push_back(host_);
  for (auto& [addr, e] : host_peers_) out.push_back(e);
  return out;
}

std::vector<std::shared_ptr<host::HostEndpoint>> UdpSocket::HostEndpoints() {
  if (host::BrokerClient::Get() == nullptr) return {};
  absl::MutexLock l(&mu_);
  return HostEndpointsLocked();
}

SysResult<size_t> UdpSocket::InQueue() {
  absl::MutexLock l(&mu_);
  // Linux reports the size of the next datagram.
  if (rx_.empty() && host_ != nullptr) return host_->InQueue();
  return rx_.empty() ? 0 : rx_.front().data.size();
}

}  // namespace sentry::net::inet
