// The socket syscalls for AF_INET and AF_INET6 (TCP and UDP on the
// sandbox's loopback stack, sentry/net/inet): sockaddr and option checks
// as Linux's inet, tcp, udp and ipv6 layers make them, and the control
// messages of recvmsg.

#include <fcntl.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "sentry/net/inet/inet.h"
#include "sentry/net/inet/tcp.h"
#include "sentry/net/inet/udp.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/syscalls/linux/sys_socket.h"

namespace sentry::syscalls {

namespace {

using net::inet::AddrUse;
using net::inet::Caller;
using net::inet::InetSocketFD;
using net::inet::Options;
using net::inet::RecvResult;
using net::inet::SockAddr;
using net::inet::Socket;
using vfs::ShouldBlock;

constexpr size_t kMaxStreamRecv = 4 << 20;

Caller CallerOf(Task& t) {
  Caller c;
  c.uid = t.creds().euid;
  c.can_bind_privileged =
      t.creds().HasCapability(auth::Capability::kNetBindService);
  return c;
}

SysResult<uint64_t> Install(Task& t, std::shared_ptr<Socket> s, int flags) {
  auto f = InetSocketFD::New(std::move(s), flags & SOCK_NONBLOCK,
                             t.creds().fsuid, t.creds().fsgid);
  SENTRY_ASSIGN_OR_RETURN(int fd,
                          t.NewFd(std::move(f), (flags & SOCK_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

// A guest sockaddr's bytes (move_addr_to_kernel: EINVAL past
// sockaddr_storage).
SysResult<std::string> CopyInRaw(Task& t, GuestAddr addr, uint32_t len) {
  if (len > sizeof(struct sockaddr_storage)) return Errno(EINVAL);
  std::string buf(len, '\0');
  if (len > 0) SENTRY_RETURN_IF_ERROR(t.CopyInFull(addr, buf.data(), len));
  return buf;
}

sa_family_t FamilyOf(const std::string& raw) {
  sa_family_t f = 0;
  if (raw.size() >= sizeof(f)) memcpy(&f, raw.data(), sizeof(f));
  return f;
}

SysResult<void> CopyOutSockAddr(Task& t, int family, const SockAddr& a,
                                GuestAddr addr, GuestAddr len_addr) {
  if (addr.IsNull()) return Ok();
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < 0) return Errno(EINVAL);
  struct sockaddr_storage ss;
  size_t n = net::inet::EncodeSockAddr(family, a, &ss);
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(addr, &ss, std::min(n, static_cast<size_t>(len))));
  return t.CopyOutObj(len_addr, static_cast<int32_t>(n));
}

// ---- Control messages ----

// Checks sendmsg's control buffer as Linux does for the socket: TCP takes
// only the SOL_SOCKET messages sock_cmsg_send knows; UDP also IP_TOS,
// IP_TTL and IP_PKTINFO (v4) and the IPv6 ones. The values are not used:
// the datagram carries the socket's own TOS and TTL.
SysResult<void> CheckSendControl(Task& t, Socket& s, const MsgHdr& h) {
  if (h.controllen == 0) return Ok();
  if (h.controllen > INT32_MAX) return Errno(ENOBUFS);
  std::string buf(h.controllen, '\0');
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(h.control, buf.data(), buf.size()));
  size_t off = 0;
  while (off + kCmsgHdr <= buf.size()) {
    struct cmsghdr c;
    memcpy(&c, buf.data() + off, kCmsgHdr);
    if (c.cmsg_len < kCmsgHdr || c.cmsg_len > buf.size() - off) {
      return Errno(EINVAL);
    }
    size_t data_len = c.cmsg_len - kCmsgHdr;
    if (c.cmsg_level == SOL_SOCKET) {
      switch (c.cmsg_type) {
        case SO_MARK:
        case SO_PRIORITY:
        case SO_TIMESTAMPING_OLD:
        case SCM_TXTIME:
          if (data_len != sizeof(uint32_t) && c.cmsg_type != SCM_TXTIME) {
            return Errno(EINVAL);
          }
          break;
        default:
          return Errno(EINVAL);
      }
    } else if (s.type() == SOCK_DGRAM && c.cmsg_level == SOL_IP &&
               s.family() == AF_INET) {
      switch (c.cmsg_type) {
        case IP_PKTINFO:
          if (data_len != sizeof(struct in_pktinfo)) return Errno(EINVAL);
          break;
        case IP_TTL: {
          if (data_len != sizeof(int)) return Errno(EINVAL);
          int v;
          memcpy(&v, buf.data() + off + kCmsgHdr, sizeof(v));
          if (v < 1 || v > 255) return Errno(EINVAL);
          break;
        }
        case IP_TOS:
          if (data_len != sizeof(int) && data_len != 1) return Errno(EINVAL);
          break;
        case IP_RETOPTS:
          break;
        default:
          return Errno(EINVAL);
      }
    }
    off += CmsgAlign(c.cmsg_len);
  }
  return Ok();
}

// recvmsg's control messages for a datagram, in Linux's order: the
// timestamp, then the IP ones. What does not fit sets MSG_CTRUNC.
std::string BuildControl(Socket& s, const RecvResult& r, size_t room,
                         int* msg_flags) {
  std::string out;
  Options& o = s.options();
  auto on = [&](int level, int name) {
    return o.Get(level, name).value_or(0) != 0;
  };
  auto put = [&](int level, int type, const void* data, size_t len) {
    if (out.size() + kCmsgHdr + len > room) {
      *msg_flags |= MSG_CTRUNC;
      return;
    }
    struct cmsghdr h = {};
    h.cmsg_len = kCmsgHdr + len;
    h.cmsg_level = level;
    h.cmsg_type = type;
    out.append(reinterpret_cast<const char*>(&h), kCmsgHdr);
    out.append(static_cast<const char*>(data), len);
    out.append(std::min(CmsgAlign(h.cmsg_len) - h.cmsg_len,
                        room - std::min(room, out.size())),
               '\0');
  };
  if (s.type() != SOCK_DGRAM) return out;
  if (on(SOL_SOCKET, SO_TIMESTAMPNS_OLD)) {
    struct timespec ts = absl::ToTimespec(r.stamp);
    put(SOL_SOCKET, SO_TIMESTAMPNS_OLD, &ts, sizeof(ts));
  } else if (on(SOL_SOCKET, SO_TIMESTAMP_OLD)) {
    struct timeval tv = absl::ToTimeval(r.stamp);
    put(SOL_SOCKET, SO_TIMESTAMP_OLD, &tv, sizeof(tv));
  }
  if (r.dst.is_v4() && (s.family() == AF_INET || on(SOL_IP, IP_PKTINFO) ||
                        on(SOL_IP, IP_RECVTOS) || on(SOL_IP, IP_RECVTTL))) {
    if (on(SOL_IP, IP_PKTINFO)) {
      struct in_pktinfo p = {};
      p.ipi_ifindex = 1;
      p.ipi_spec_dst.s_addr = r.dst.v4();
      p.ipi_addr.s_addr = r.dst.v4();
      put(SOL_IP, IP_PKTINFO, &p, sizeof(p));
    }
    if (on(SOL_IP, IP_RECVTTL)) {
      int ttl = r.ttl;
      put(SOL_IP, IP_TTL, &ttl, sizeof(ttl));
    }
    if (on(SOL_IP, IP_RECVTOS)) {
      uint8_t tos = r.tos;
      put(SOL_IP, IP_TOS, &tos, sizeof(tos));
    }
  } else if (s.family() == AF_INET6) {
    if (on(SOL_IPV6, IPV6_RECVPKTINFO)) {
      struct in6_pktinfo p = {};
      p.ipi6_addr = r.dst.in6();
      p.ipi6_ifindex = 1;
      put(SOL_IPV6, IPV6_PKTINFO, &p, sizeof(p));
    }
    if (on(SOL_IPV6, IPV6_RECVHOPLIMIT)) {
      int hops = r.ttl;
      put(SOL_IPV6, IPV6_HOPLIMIT, &hops, sizeof(hops));
    }
    if (on(SOL_IPV6, IPV6_RECVTCLASS)) {
      int tclass = r.tos;
      put(SOL_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass));
    }
  }
  return out;
}

// ---- Options ----

enum Scope : uint8_t { kTcp = 1, kUdp = 2, kAny = kTcp | kUdp };

// An integer option Linux keeps and reports back: its default, its valid
// range (EINVAL outside), and whether it is a flag (stored as 0 or 1).
struct IntOpt {
  int level;
  int name;
  int def;
  int min;
  int max;
  uint8_t scope;
  bool flag;
};

constexpr int kMax = INT32_MAX;
constexpr int kMin = INT32_MIN;

constexpr IntOpt kIntOpts[] = {
    {SOL_SOCKET, SO_KEEPALIVE, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_DONTROUTE, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_OOBINLINE, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_PASSCRED, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_PASSSEC, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_TIMESTAMP_OLD, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_TIMESTAMPNS_OLD, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_NO_CHECK, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_ZEROCOPY, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_SELECT_ERR_QUEUE, 0, kMin, kMax, kAny, true},
    {SOL_SOCKET, SO_INCOMING_CPU, -1, kMin, kMax, kAny, false},
    {SOL_SOCKET, SO_PRIORITY, 0, 0, 6, kAny, false},
    {SOL_SOCKET, SO_RCVLOWAT, 1, kMin, kMax, kAny, false},
    {SOL_TCP, TCP_NODELAY, 0, kMin, kMax, kTcp, true},
    {SOL_TCP, TCP_CORK, 0, kMin, kMax, kTcp, true},
    {SOL_TCP, TCP_QUICKACK, 1, kMin, kMax, kTcp, true},
    {SOL_TCP, TCP_KEEPIDLE, 7200, 1, 32767, kTcp, false},
    {SOL_TCP, TCP_KEEPINTVL, 75, 1, 32767, kTcp, false},
    {SOL_TCP, TCP_KEEPCNT, 9, 1, 127, kTcp, false},
    {SOL_TCP, TCP_SYNCNT, 6, 1, 127, kTcp, false},
    {SOL_TCP, TCP_LINGER2, 60, kMin, kMax, kTcp, false},
    {SOL_TCP, TCP_DEFER_ACCEPT, 0, kMin, kMax, kTcp, false},
    {SOL_TCP, TCP_WINDOW_CLAMP, 0, 0, kMax, kTcp, false},
    {SOL_TCP, TCP_USER_TIMEOUT, 0, 0, kMax, kTcp, false},
    {SOL_TCP, TCP_NOTSENT_LOWAT, -1, kMin, kMax, kTcp, false},
    {SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS, 0, kMin, kMax, kTcp, true},
    {SOL_TCP, TCP_FASTOPEN, 0, kMin, kMax, kTcp, false},
    {SOL_TCP, TCP_FASTOPEN_CONNECT, 0, 0, 1, kTcp, true},
    {SOL_UDP, UDP_CORK, 0, kMin, kMax, kUdp, true},
    {SOL_UDP, UDP_NO_CHECK6_TX, 0, kMin, kMax, kUdp, true},
    {SOL_UDP, UDP_NO_CHECK6_RX, 0, kMin, kMax, kUdp, true},
    {SOL_UDP, UDP_SEGMENT, 0, 0, 65535, kUdp, false},
    {SOL_UDP, UDP_GRO, 0, kMin, kMax, kUdp, true},
    {SOL_IP, IP_RECVTOS, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_RECVTTL, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_PKTINFO, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_RECVERR, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_RECVORIGDSTADDR, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_FREEBIND, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_BIND_ADDRESS_NO_PORT, 0, kMin, kMax, kAny, true},
    {SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT, 0, IP_PMTUDISC_OMIT, kAny,
     false},
    {SOL_IP, IP_MULTICAST_LOOP, 1, kMin, kMax, kAny, true},
    {SOL_IP, IP_MULTICAST_ALL, 1, kMin, kMax, kAny, true},
    {SOL_IP, IP_RECVFRAGSIZE, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_RECVPKTINFO, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_RECVTCLASS, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_RECVHOPLIMIT, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_RECVERR, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_MTU_DISCOVER, IP_PMTUDISC_WANT, 0, IP_PMTUDISC_OMIT, kAny,
     false},
    {SOL_IPV6, IPV6_MULTICAST_LOOP, 1, 0, 1, kAny, false},
    {SOL_IPV6, IPV6_AUTOFLOWLABEL, 1, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_DONTFRAG, 0, kMin, kMax, kAny, true},
    {SOL_IPV6, IPV6_RECVORIGDSTADDR, 0, kMin, kMax, kAny, true},
};

const IntOpt* FindIntOpt(int level, int name) {
  for (const IntOpt& o : kIntOpts) {
    if (o.level == level && o.name == name) return &o;
  }
  return nullptr;
}

// Whether `level` applies to this socket at all (ENOPROTOOPT if not):
// SOL_TCP to TCP, SOL_UDP to UDP, SOL_IPV6 to AF_INET6 sockets; SOL_IP
// to both families, as Linux's ipv6 layer hands it on.
bool LevelApplies(Socket& s, int level) {
  switch (level) {
    case SOL_SOCKET:
    case SOL_IP:
      return true;
    case SOL_TCP:
      return s.type() == SOCK_STREAM;
    case SOL_UDP:
      return s.type() == SOCK_DGRAM;
    case SOL_IPV6:
      return s.family() == AF_INET6;
    default:
      return false;
  }
}

// ip_setsockopt's integer: an int, or one byte when that is all there is.
SysResult<int> IpIntOption(Task& t, GuestAddr val, uint32_t len) {
  if (len >= sizeof(int)) {
    int v;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(val, &v));
    return v;
  }
  if (len >= 1) {
    uint8_t v;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(val, &v));
    return static_cast<int>(v);
  }
  return Errno(EINVAL);
}

// ip_getsockopt answers a short buffer with one byte when the value fits.
SysResult<uint64_t> PutIpInt(Task& t, GuestAddr val, GuestAddr len_addr,
                             int v) {
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < 0) return Errno(EINVAL);
  if (len < static_cast<int32_t>(sizeof(int)) && len > 0 && v >= 0 &&
      v <= 255) {
    uint8_t b = static_cast<uint8_t>(v);
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(val, b));
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(len_addr, int32_t{1}));
    return 0;
  }
  return PutOption(t, val, len_addr, &v, sizeof(v));
}

bool IsConnected(Socket& s) {
  if (s.type() == SOCK_STREAM) {
    int st = s.State();
    return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT || st == TCP_FIN_WAIT2;
  }
  return s.PeerAddr().ok();
}

SysResult<uint64_t> GetTcpInfo(Task& t, Socket& s, GuestAddr val,
                               GuestAddr len_addr) {
  auto& tcp = static_cast<net::inet::TcpSocket&>(s);
  net::inet::TcpInfo in = tcp.Info();
  struct tcp_info i = {};
  i.tcpi_state = static_cast<uint8_t>(in.state);
  if (in.state == TCP_LISTEN) {
    // Linux reports the accept queue and backlog of a listener here.
    i.tcpi_unacked = static_cast<uint32_t>(tcp.AcceptQueueLen());
    i.tcpi_sacked = static_cast<uint32_t>(tcp.Backlog());
  }
  bool established = in.connected;
  i.tcpi_rto = 1000000;  // TCP_TIMEOUT_INIT before any RTT sample
  i.tcpi_ato = 0;
  i.tcpi_snd_mss = established ? net::inet::kLoopbackMss : 524;
  i.tcpi_rcv_mss = established ? net::inet::kLoopbackMss : 88;
  i.tcpi_pmtu = established ? net::inet::kLoopbackMtu : 0;
  i.tcpi_snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH
  i.tcpi_snd_cwnd = 10;              // TCP_INIT_CWND
  i.tcpi_advmss = established ? net::inet::kLoopbackMss : 536;
  i.tcpi_reordering = 3;
  if (established) {
    i.tcpi_rto = 200000 + 3000;  // TCP_RTO_MIN plus a loopback RTT
    i.tcpi_ato = 40000;          // TCP_ATO_MIN
    i.tcpi_rtt = 10;
    i.tcpi_rttvar = 5;
    i.tcpi_rcv_space = 65483;
    i.tcpi_rcv_ssthresh = 65483;
    i.tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
    i.tcpi_snd_wscale = 7;
    i.tcpi_rcv_wscale = 7;
  }
  return PutOption(t, val, len_addr, &i, sizeof(i));
}

}  // namespace

SysResult<uint64_t> InetSocket(Task& t, int domain, int type, int protocol) {
  int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base < 0 || base > SOCK_PACKET) return Errno(EINVAL);  // SOCK_MAX
  switch (base) {
    case SOCK_STREAM:
      if (protocol != 0 && protocol != IPPROTO_TCP) {
        return Errno(EPROTONOSUPPORT);
      }
      break;
    case SOCK_DGRAM:
      // Linux's ping sockets are refused by its default ping_group_range.
      if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) {
        return Errno(EACCES);
      }
      if (protocol != 0 && protocol != IPPROTO_UDP) {
        return Errno(EPROTONOSUPPORT);
      }
      break;
    case SOCK_RAW:
      // Raw sockets need packets, which this stack has none of.
      if (!t.creds().HasCapability(auth::Capability::kNetRaw)) {
        return Errno(EPERM);
      }
      return Errno(ESOCKTNOSUPPORT);
    default:
      return Errno(ESOCKTNOSUPPORT);
  }
  return Install(t, net::inet::NewSocket(domain, base), flags);
}

SysResult<uint64_t> InetBind(Task& t, const InetFD& s, GuestAddr addr,
                             uint32_t len) {
  SENTRY_ASSIGN_OR_RETURN(std::string raw, CopyInRaw(t, addr, len));
  Socket& so = s->socket();
  SENTRY_ASSIGN_OR_RETURN(
      SockAddr a, net::inet::ParseSockAddr(so.family(), raw.data(), raw.size(),
                                           AddrUse::kBind));
  SENTRY_RETURN_IF_ERROR(so.Bind(a, CallerOf(t)));
  return 0;
}

SysResult<uint64_t> InetListen(Task& t, const InetFD& s, int backlog) {
  Socket& so = s->socket();
  if (so.type() != SOCK_STREAM) return Errno(EOPNOTSUPP);
  SENTRY_RETURN_IF_ERROR(so.Listen(t, backlog, CallerOf(t)));
  return 0;
}

SysResult<uint64_t> InetAccept(Task& t, const InetFD& s, GuestAddr addr,
                               GuestAddr len_addr, int flags) {
  Socket& so = s->socket();
  if (so.type() != SOCK_STREAM) return Errno(EOPNOTSUPP);
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<Socket> conn,
      so.Accept(t, BlockingOf(*s, 0),
                net::inet::TimeoutDeadline(so.options().rcvtimeo_ns.load())));
  SysResult<SockAddr> peer = conn->PeerAddr();
  SockAddr p = peer.ok() ? *peer : SockAddr{};
  int family = conn->family();
  SENTRY_ASSIGN_OR_RETURN(uint64_t fd, Install(t, std::move(conn), flags));
  SysResult<void> c = CopyOutSockAddr(t, family, p, addr, len_addr);
  if (!c.ok()) {
    (void)t.fds().Remove(static_cast<int>(fd));
    return c.error();
  }
  return fd;
}

SysResult<uint64_t> InetConnect(Task& t, const InetFD& s, GuestAddr addr,
                                uint32_t len) {
  SENTRY_ASSIGN_OR_RETURN(std::string raw, CopyInRaw(t, addr, len));
  Socket& so = s->socket();
  if (raw.size() < sizeof(sa_family_t)) return Errno(EINVAL);
  sa_family_t f = FamilyOf(raw);
  if (f == AF_UNSPEC) {
    SENTRY_RETURN_IF_ERROR(so.Disconnect());
    return 0;
  }
  if (so.family() == AF_INET6 && f == AF_INET) {
    // Only UDP takes a sockaddr_in on an IPv6 socket, and not when it is
    // IPv6-only.
    if (so.type() == SOCK_STREAM || so.options().v6only.load()) {
      return Errno(raw.size() < sizeof(struct sockaddr_in6) &&
                           so.type() == SOCK_STREAM
                       ? EINVAL
                       : EAFNOSUPPORT);
    }
  }
  SENTRY_ASSIGN_OR_RETURN(
      SockAddr a, net::inet::ParseSockAddr(so.family(), raw.data(), raw.size(),
                                           AddrUse::kConnect));
  SENTRY_RETURN_IF_ERROR(
      so.Connect(t, a, CallerOf(t), BlockingOf(*s, 0),
                 net::inet::TimeoutDeadline(so.options().sndtimeo_ns.load())));
  return 0;
}

SysResult<uint64_t> InetGetName(Task& t, const InetFD& s, GuestAddr addr,
                                GuestAddr len_addr, bool peer) {
  Socket& so = s->socket();
  SockAddr a;
  if (peer) {
    SENTRY_ASSIGN_OR_RETURN(a, so.PeerAddr());
  } else {
    a = so.LocalAddr();
  }
  if (addr.IsNull()) return Errno(EFAULT);
  SENTRY_RETURN_IF_ERROR(CopyOutSockAddr(t, so.family(), a, addr, len_addr));
  return 0;
}

SysResult<uint64_t> InetSend(Task& t, const InetFD& s, const MsgHdr& h,
                             int flags) {
  Socket& so = s->socket();
  // Urgent data is not modelled; UDP has none in Linux either.
  if ((flags & MSG_OOB) != 0) return Errno(EOPNOTSUPP);
  std::optional<SockAddr> to;
  if (so.type() == SOCK_DGRAM && !h.name.IsNull() && h.namelen != 0) {
    SENTRY_ASSIGN_OR_RETURN(std::string raw, CopyInRaw(t, h.name, h.namelen));
    sa_family_t f = FamilyOf(raw);
    if (so.family() == AF_INET6 && f == AF_UNSPEC &&
        raw.size() >= sizeof(sa_family_t)) {
      // udpv6_sendmsg treats AF_UNSPEC as no address.
    } else {
      if (so.family() == AF_INET6 && f == AF_INET &&
          so.options().v6only.load()) {
        return Errno(ENETUNREACH);
      }
      SENTRY_ASSIGN_OR_RETURN(
          SockAddr a, net::inet::ParseSockAddr(so.family(), raw.data(),
                                               raw.size(), AddrUse::kSendTo));
      to = a;
    }
  }
  SENTRY_RETURN_IF_ERROR(CheckSendControl(t, so, h));
  SENTRY_ASSIGN_OR_RETURN(std::string data, GatherIov(t, h.iov));
  SysResult<size_t> n =
      so.Send(t, std::move(data), to, CallerOf(t), BlockingOf(*s, flags),
              net::inet::TimeoutDeadline(so.options().sndtimeo_ns.load()));
  if (!n.ok()) {
    if (n.err() == EPIPE && so.type() == SOCK_STREAM &&
        (flags & MSG_NOSIGNAL) == 0) {
      return RaiseSigpipe(t, n.error());
    }
    return n.error();
  }
  return *n;
}

SysResult<RecvOut> InetRecv(Task& t, const InetFD& s, const MsgHdr& h,
                            int flags) {
  Socket& so = s->socket();
  bool stream = so.type() == SOCK_STREAM;
  if ((flags & MSG_OOB) != 0) {
    // No urgent data is ever pending: tcp_recv_urg's EINVAL.
    return Errno(stream ? EINVAL : EOPNOTSUPP);
  }
  // Nothing here queues errors (IP_RECVERR's queue stays empty).
  if ((flags & MSG_ERRQUEUE) != 0) return Errno(EAGAIN);
  size_t total = std::min(TotalLen(h.iov), kMaxRwCount);
  std::string buf(std::min(total, stream ? kMaxStreamRecv : size_t{65536}),
                  '\0');
  SENTRY_ASSIGN_OR_RETURN(
      RecvResult r,
      so.Recv(t, buf.data(), buf.size(), flags, BlockingOf(*s, flags),
              net::inet::TimeoutDeadline(so.options().rcvtimeo_ns.load())));
  // TCP's MSG_TRUNC discards what it reads without copying it.
  bool copy = !(stream && (flags & MSG_TRUNC) != 0);
  if (copy) SENTRY_RETURN_IF_ERROR(ScatterIov(t, h.iov, buf.data(), r.copied));
  RecvOut out;
  out.ret = (flags & MSG_TRUNC) != 0 && !stream ? r.length : r.copied;
  if (r.truncated) out.msg_flags |= MSG_TRUNC;
  if (!h.name.IsNull() && r.from) {
    struct sockaddr_storage ss;
    size_t n = net::inet::EncodeSockAddr(so.family(), *r.from, &ss);
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutFull(h.name, &ss, std::min<size_t>(n, h.namelen)));
    out.namelen = static_cast<uint32_t>(n);
  }
  if (!stream) {
    std::string control = BuildControl(
        so, r, h.control.IsNull() ? 0 : h.controllen, &out.msg_flags);
    if (!control.empty()) {
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutFull(h.control, control.data(), control.size()));
    }
    out.controllen = control.size();
  }
  return out;
}

SysResult<uint64_t> InetShutdown(Task& t, const InetFD& s, int how) {
  (void)t;
  SENTRY_RETURN_IF_ERROR(s->socket().Shutdown(how + 1));
  return 0;
}

SysResult<uint64_t> InetSetsockopt(Task& t, const InetFD& s, int level,
                                   int name, GuestAddr val, uint32_t len) {
  Socket& so = s->socket();
  Options& o = so.options();
  if (!LevelApplies(so, level)) return Errno(ENOPROTOOPT);
  bool tcp = so.type() == SOCK_STREAM;
  switch (level) {
    case SOL_SOCKET:
      switch (name) {
        case SO_REUSEADDR:
        case SO_REUSEPORT:
        case SO_BROADCAST: {
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          auto& field = name == SO_REUSEADDR   ? o.reuseaddr
                        : name == SO_REUSEPORT ? o.reuseport
                                               : o.broadcast;
          field.store(v != 0);
          return 0;
        }
        case SO_SNDBUF:
        case SO_RCVBUF:
        case SO_SNDBUFFORCE:
        case SO_RCVBUFFORCE: {
          SENTRY_ASSIGN_OR_RETURN(
              int v, BufOption(t, name, val, len, net::inet::kBufMax));
          bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
          (snd ? o.sndbuf : o.rcvbuf).store(v);
          (snd ? o.sndbuf_set : o.rcvbuf_set).store(true);
          return 0;
        }
        case SO_LINGER: {
          struct linger l;
          if (len < sizeof(l)) return Errno(EINVAL);
          SENTRY_RETURN_IF_ERROR(t.CopyInObj(val, &l));
          // Turning it off keeps the time, as Linux does.
          o.linger_on.store(l.l_onoff != 0);
          if (l.l_onoff != 0) o.linger_secs.store(l.l_linger);
          return 0;
        }
        case SO_RCVTIMEO_OLD:
        case SO_SNDTIMEO_OLD:
        case SO_RCVTIMEO_NEW:
        case SO_SNDTIMEO_NEW: {
          SENTRY_ASSIGN_OR_RETURN(int64_t ns, TimeoutOption(t, val, len));
          bool rcv = name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW;
          (rcv ? o.rcvtimeo_ns : o.sndtimeo_ns).store(ns);
          return 0;
        }
        case SO_MARK: {
          if (!t.creds().HasCapability(auth::Capability::kNetAdmin)) {
            return Errno(EPERM);
          }
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          o.Set(level, name, v);
          return 0;
        }
        case SO_BINDTODEVICE: {
          char dev[IFNAMSIZ + 1] = {};
          size_t n = std::min<size_t>(len, IFNAMSIZ);
          if (n > 0) SENTRY_RETURN_IF_ERROR(t.CopyInFull(val, dev, n));
          std::string d(dev);
          if (d.empty()) {
            o.Set(level, name, 0);
            return 0;
          }
          if (d != "lo") return Errno(ENODEV);
          o.Set(level, name, 1);
          return 0;
        }
        case SO_PRIORITY: {
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          if ((v < 0 || v > 6) &&
              !t.creds().HasCapability(auth::Capability::kNetAdmin)) {
            return Errno(EPERM);
          }
          o.Set(level, name, v);
          return 0;
        }
        case SO_RCVLOWAT: {
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          o.Set(level, name, v < 0 ? INT32_MAX : (v == 0 ? 1 : v));
          return 0;
        }
        default:
          break;
      }
      break;
    case SOL_TCP:
      switch (name) {
        case TCP_MAXSEG: {
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          if (v != 0 && (v < 88 || v > 32767)) return Errno(EINVAL);
          o.Set(level, name, v);
          return 0;
        }
        case TCP_CONGESTION: {
          char alg[16] = {};
          size_t n = std::min<size_t>(len, sizeof(alg) - 1);
          if (n == 0) return Errno(EINVAL);
          SENTRY_RETURN_IF_ERROR(t.CopyInFull(val, alg, n));
          std::string a(alg);
          // The algorithms this sandbox's "kernel" has.
          if (a != "cubic" && a != "reno") return Errno(ENOENT);
          o.Set(level, name, a == "cubic" ? 0 : 1);
          return 0;
        }
        case TCP_INFO:
          return Errno(ENOPROTOOPT);
        default:
          break;
      }
      break;
    case SOL_IP:
      switch (name) {
        case IP_TOS: {
          SENTRY_ASSIGN_OR_RETURN(int v, IpIntOption(t, val, len));
          // TCP keeps its ECN bits to itself.
          if (tcp) v &= ~0x3;
          o.Set(level, name, v & 0xff);
          return 0;
        }
        case IP_TTL: {
          SENTRY_ASSIGN_OR_RETURN(int v, IpIntOption(t, val, len));
          if (v != -1 && (v < 1 || v > 255)) return Errno(EINVAL);
          o.Set(level, name, v);
          return 0;
        }
        case IP_MULTICAST_TTL: {
          SENTRY_ASSIGN_OR_RETURN(int v, IpIntOption(t, val, len));
          if (tcp) return Errno(EINVAL);
          if (v == -1) v = 1;
          if (v < 0 || v > 255) return Errno(EINVAL);
          o.Set(level, name, v);
          return 0;
        }
        case IP_HDRINCL:
          return Errno(ENOPROTOOPT);
        case IP_ADD_MEMBERSHIP:
        case IP_DROP_MEMBERSHIP:
        case IP_ADD_SOURCE_MEMBERSHIP:
        case IP_DROP_SOURCE_MEMBERSHIP:
        case IP_MULTICAST_IF:
          // Multicast needs a route the loopback-only stack lacks.
          if (len < sizeof(struct in_addr)) return Errno(EINVAL);
          return Errno(ENODEV);
        case IP_OPTIONS:
          // Clearing them is all there is to do; IP options themselves
          // (source routes, timestamps) are not carried.
          if (len > 40) return Errno(EINVAL);
          if (len != 0) return Errno(ENOPROTOOPT);
          return 0;
        default:
          if (const IntOpt* io = FindIntOpt(level, name)) {
            SENTRY_ASSIGN_OR_RETURN(int v, IpIntOption(t, val, len));
            if (v < io->min || v > io->max) return Errno(EINVAL);
            o.Set(level, name, io->flag ? (v != 0) : v);
            return 0;
          }
          return Errno(ENOPROTOOPT);
      }
    case SOL_IPV6:
      switch (name) {
        case IPV6_V6ONLY: {
          if (len < sizeof(int)) return Errno(EINVAL);
          // Only before the socket has a port.
          if (so.LocalAddr().port != 0) return Errno(EINVAL);
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          o.v6only.store(v != 0);
          return 0;
        }
        case IPV6_TCLASS:
        case IPV6_UNICAST_HOPS:
        case IPV6_MULTICAST_HOPS: {
          SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
          if (v < -1 || v > 255) return Errno(EINVAL);
          if (name == IPV6_TCLASS && v == -1) v = 0;
          if (name == IPV6_TCLASS && tcp) v &= ~0x3;
          o.Set(level, name, v);
          return 0;
        }
        case IPV6_ADD_MEMBERSHIP:
        case IPV6_DROP_MEMBERSHIP:
        case IPV6_MULTICAST_IF:
          if (len < sizeof(int)) return Errno(EINVAL);
          return Errno(ENODEV);
        default:
          break;
      }
      break;
    default:
      break;
  }
  const IntOpt* io = FindIntOpt(level, name);
  if (io == nullptr || (io->scope & (tcp ? kTcp : kUdp)) == 0) {
    return Errno(ENOPROTOOPT);
  }
  SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
  if (v < io->min || v > io->max) return Errno(EINVAL);
  o.Set(level, name, io->flag ? (v != 0) : v);
  return 0;
}

SysResult<uint64_t> InetGetsockopt(Task& t, const InetFD& s, int level,
                                   int name, GuestAddr val,
                                   GuestAddr len_addr) {
  Socket& so = s->socket();
  Options& o = so.options();
  if (!LevelApplies(so, level)) {
    // ip_getsockopt answers a level it does not know with EOPNOTSUPP,
    // ipv6_getsockopt with ENOPROTOOPT.
    return Errno(so.family() == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
  }
  bool tcp = so.type() == SOCK_STREAM;
  int v = 0;
  switch (level) {
    case SOL_SOCKET:
      switch (name) {
        case SO_TYPE:
          v = so.type();
          break;
        case SO_DOMAIN:
          v = so.family();
          break;
        case SO_PROTOCOL:
          v = so.protocol();
          break;
        case SO_ACCEPTCONN:
          v = so.listening() ? 1 : 0;
          break;
        case SO_ERROR:
          v = so.TakeError();
          break;
        case SO_REUSEADDR:
          v = o.reuseaddr.load();
          break;
        case SO_REUSEPORT:
          v = o.reuseport.load();
          break;
        case SO_BROADCAST:
          v = o.broadcast.load();
          break;
        case SO_SNDBUF:
          v = o.sndbuf.load();
          break;
        case SO_RCVBUF:
          v = o.rcvbuf.load();
          break;
        case SO_SNDLOWAT:
          v = 1;
          break;
        case SO_MARK:
          v = o.Get(level, name).value_or(0);
          break;
        case SO_LINGER: {
          struct linger l = {o.linger_on.load() ? 1 : 0, o.linger_secs.load()};
          return PutOption(t, val, len_addr, &l, sizeof(l));
        }
        case SO_RCVTIMEO_OLD:
        case SO_SNDTIMEO_OLD:
        case SO_RCVTIMEO_NEW:
        case SO_SNDTIMEO_NEW: {
          bool rcv = name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW;
          int64_t ns = (rcv ? o.rcvtimeo_ns : o.sndtimeo_ns).load();
          struct timeval tv = {
              static_cast<time_t>(ns / 1000000000),
              static_cast<suseconds_t>((ns % 1000000000) / 1000)};
          return PutOption(t, val, len_addr, &tv, sizeof(tv));
        }
        case SO_PEERCRED: {
          // Only unix sockets know their peer's credentials.
          struct ucred u = {0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
          return PutOption(t, val, len_addr, &u, sizeof(u));
        }
        case SO_BINDTODEVICE: {
          std::string dev = o.Get(level, name).value_or(0) != 0 ? "lo" : "";
          int32_t len = 0;
          SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
          if (len < static_cast<int32_t>(dev.size() + 1) && !dev.empty()) {
            return Errno(EINVAL);
          }
          if (!dev.empty()) {
            SENTRY_RETURN_IF_ERROR(
                t.CopyOutFull(val, dev.c_str(), dev.size() + 1));
          }
          SENTRY_RETURN_IF_ERROR(t.CopyOutObj(
              len_addr,
              static_cast<int32_t>(dev.empty() ? 0 : dev.size() + 1)));
          return 0;
        }
        default: {
          const IntOpt* io = FindIntOpt(level, name);
          if (io == nullptr) return Errno(ENOPROTOOPT);
          v = o.Get(level, name).value_or(io->def);
          break;
        }
      }
      return PutOption(t, val, len_addr, &v, sizeof(v));
    case SOL_TCP:
      switch (name) {
        case TCP_INFO:
          return GetTcpInfo(t, so, val, len_addr);
        case TCP_MAXSEG: {
          int user = o.Get(level, name).value_or(0);
          v = IsConnected(so) ? net::inet::kLoopbackMss
                              : (user != 0 ? user : net::inet::kDefaultMss);
          break;
        }
        case TCP_CONGESTION: {
          char alg[16] = {};
          strcpy(alg, o.Get(level, name).value_or(0) == 0 ? "cubic" : "reno");
          return PutOption(t, val, len_addr, alg, sizeof(alg));
        }
        default: {
          const IntOpt* io = FindIntOpt(level, name);
          if (io == nullptr) return Errno(ENOPROTOOPT);
          v = o.Get(level, name).value_or(io->def);
          break;
        }
      }
      return PutOption(t, val, len_addr, &v, sizeof(v));
    case SOL_IP:
      switch (name) {
        case IP_TOS:
          v = o.Get(level, name).value_or(0);
          break;
        case IP_TTL: {
          int ttl = o.Get(level, name).value_or(-1);
          v = ttl < 0 ? 64 : ttl;
          break;
        }
        case IP_MULTICAST_TTL:
          v = o.Get(level, name).value_or(1);
          break;
        case IP_MTU:
          if (!IsConnected(so)) return Errno(ENOTCONN);
          v = net::inet::kLoopbackMtu;
          break;
        case IP_OPTIONS: {
          int32_t len = 0;
          SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
          if (len < 0) return Errno(EINVAL);
          SENTRY_RETURN_IF_ERROR(t.CopyOutObj(len_addr, int32_t{0}));
          return 0;
        }
        case IP_HDRINCL:
          return Errno(ENOPROTOOPT);
        default: {
          const IntOpt* io = FindIntOpt(level, name);
          if (io == nullptr) return Errno(ENOPROTOOPT);
          v = o.Get(level, name).value_or(io->def);
          break;
        }
      }
      return PutIpInt(t, val, len_addr, v);
    case SOL_IPV6:
      switch (name) {
        case IPV6_V6ONLY:
          v = o.v6only.load();
          break;
        case IPV6_TCLASS:
          v = o.Get(level, name).value_or(0);
          break;
        case IPV6_UNICAST_HOPS: {
          int hops = o.Get(level, name).value_or(-1);
          v = hops < 0 ? 64 : hops;
          break;
        }
        case IPV6_MULTICAST_HOPS: {
          int hops = o.Get(level, name).value_or(-1);
          v = hops < 0 ? 1 : hops;
          break;
        }
        case IPV6_MTU:
          if (!IsConnected(so)) return Errno(ENOTCONN);
          v = net::inet::kLoopbackMtu;
          break;
        default: {
          const IntOpt* io = FindIntOpt(level, name);
          if (io == nullptr) return Errno(ENOPROTOOPT);
          v = o.Get(level, name).value_or(io->def);
          break;
        }
      }
      return PutOption(t, val, len_addr, &v, sizeof(v));
    default: {
      const IntOpt* io = FindIntOpt(level, name);
      if (io == nullptr || (io->scope & (tcp ? kTcp : kUdp)) == 0) {
        return Errno(ENOPROTOOPT);
      }
      v = o.Get(level, name).value_or(io->def);
      return PutOption(t, val, len_addr, &v, sizeof(v));
    }
  }
}

}  // namespace sentry::syscalls
