// The socket syscalls for AF_NETLINK (NETLINK_ROUTE only; see
// sentry/net/netlink): sockaddr_nl checks as Linux's af_netlink makes
// them. listen, accept and shutdown are sock_no_* in Linux too.

#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "sentry/net/netlink/netlink.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/syscalls/linux/sys_socket.h"

namespace sentry::syscalls {

namespace {

using net::netlink::NetlinkSocket;
using net::netlink::NetlinkSocketFD;

SysResult<struct sockaddr_nl> CopyInNl(Task& t, GuestAddr addr, uint32_t len) {
  if (len > sizeof(struct sockaddr_storage)) return Errno(EINVAL);
  if (len < sizeof(struct sockaddr_nl)) return Errno(EINVAL);
  struct sockaddr_nl nl;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &nl));
  if (nl.nl_family != AF_NETLINK) return Errno(EINVAL);
  return nl;
}

SysResult<void> CopyOutNl(Task& t, uint32_t pid, uint32_t groups,
                          GuestAddr addr, GuestAddr len_addr) {
  struct sockaddr_nl nl = {};
  nl.nl_family = AF_NETLINK;
  nl.nl_pid = pid;
  nl.nl_groups = groups;
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < 0) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(addr, &nl, std::min<size_t>(sizeof(nl), len)));
  return t.CopyOutObj(len_addr, static_cast<int32_t>(sizeof(nl)));
}

}  // namespace

SysResult<uint64_t> NetlinkSocketCreate(Task& t, int type, int protocol) {
  int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base != SOCK_RAW && base != SOCK_DGRAM) return Errno(ESOCKTNOSUPPORT);
  if (protocol < 0 || protocol >= MAX_LINKS) return Errno(EPROTONOSUPPORT);
  // Only the route protocol is answered: without NETLINK_SOCK_DIAG, ss(8)
  // falls back to /proc/net, as it does on kernels without it.
  if (protocol != NETLINK_ROUTE) return Errno(EPROTONOSUPPORT);
  auto s = std::make_shared<NetlinkSocket>(base, protocol, t.tgid());
  auto f = NetlinkSocketFD::New(std::move(s), flags & SOCK_NONBLOCK,
                                t.creds().fsuid, t.creds().fsgid);
  SENTRY_ASSIGN_OR_RETURN(int fd,
                          t.NewFd(std::move(f), (flags & SOCK_CLOEXEC) != 0));
  return static_cast<uint64_t>(fd);
}

SysResult<uint64_t> NetlinkBind(Task& t, const NetlinkFD& s, GuestAddr addr,
                                uint32_t len) {
  SENTRY_ASSIGN_OR_RETURN(struct sockaddr_nl nl, CopyInNl(t, addr, len));
  SENTRY_RETURN_IF_ERROR(s->socket().Bind(nl.nl_pid, nl.nl_groups));
  return 0;
}

SysResult<uint64_t> NetlinkConnect(Task& t, const NetlinkFD& s, GuestAddr addr,
                                   uint32_t len) {
  if (len >= sizeof(sa_family_t)) {
    sa_family_t f;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &f));
    if (f == AF_UNSPEC) return 0;
  }
  SENTRY_ASSIGN_OR_RETURN(struct sockaddr_nl nl, CopyInNl(t, addr, len));
  // Only the kernel (port id 0) answers here.
  if (nl.nl_pid != 0) return Errno(ECONNREFUSED);
  SENTRY_RETURN_IF_ERROR(s->socket().Bind(0, s->socket().Groups()));
  return 0;
}

SysResult<uint64_t> NetlinkGetName(Task& t, const NetlinkFD& s, GuestAddr addr,
                                   GuestAddr len_addr, bool peer) {
  if (addr.IsNull()) return Errno(EFAULT);
  if (peer) {
    SENTRY_RETURN_IF_ERROR(CopyOutNl(t, 0, 0, addr, len_addr));
  } else {
    SENTRY_RETURN_IF_ERROR(CopyOutNl(t, s->socket().PortId(),
                                     s->socket().Groups(), addr, len_addr));
  }
  return 0;
}

SysResult<uint64_t> NetlinkSend(Task& t, const NetlinkFD& s, const MsgHdr& h,
                                int flags) {
  (void)flags;
  if (!h.name.IsNull() && h.namelen != 0) {
    SENTRY_ASSIGN_OR_RETURN(struct sockaddr_nl nl,
                            CopyInNl(t, h.name, h.namelen));
    if (nl.nl_pid != 0 || nl.nl_groups != 0) {
      // Messages to other processes or to groups need rights and peers
      // this sandbox does not have.
      return Errno(nl.nl_groups != 0 ? EPERM : ECONNREFUSED);
    }
  }
  SENTRY_ASSIGN_OR_RETURN(std::string data, GatherIov(t, h.iov));
  if (data.size() > static_cast<size_t>(s->socket().sndbuf.load())) {
    return Errno(EMSGSIZE);
  }
  return s->socket().Send(data,
                          t.creds().HasCapability(auth::Capability::kNetAdmin));
}

SysResult<RecvOut> NetlinkRecv(Task& t, const NetlinkFD& s, const MsgHdr& h,
                               int flags) {
  if ((flags & (MSG_OOB | MSG_ERRQUEUE)) != 0) return Errno(EOPNOTSUPP);
  size_t total = std::min(TotalLen(h.iov), size_t{1} << 20);
  std::string buf(total, '\0');
  bool block = BlockingOf(*s, flags) == vfs::ShouldBlock::kYes;
  SENTRY_ASSIGN_OR_RETURN(
      net::netlink::RecvResult r,
      s->socket().Recv(
          t, buf.data(), buf.size(), (flags & MSG_PEEK) != 0, block,
          net::inet::TimeoutDeadline(s->socket().rcvtimeo_ns.load())));
  SENTRY_RETURN_IF_ERROR(ScatterIov(t, h.iov, buf.data(), r.copied));
  RecvOut out;
  out.ret = (flags & MSG_TRUNC) != 0 ? r.length : r.copied;
  if (r.copied < r.length) out.msg_flags |= MSG_TRUNC;
  if (!h.name.IsNull()) {
    struct sockaddr_nl nl = {};
    nl.nl_family = AF_NETLINK;
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutFull(h.name, &nl, std::min<size_t>(sizeof(nl), h.namelen)));
    out.namelen = sizeof(nl);
  }
  return out;
}

SysResult<uint64_t> NetlinkSetsockopt(Task& t, const NetlinkFD& s, int level,
                                      int name, GuestAddr val, uint32_t len) {
  NetlinkSocket& so = s->socket();
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_SNDBUF:
      case SO_RCVBUF:
      case SO_SNDBUFFORCE:
      case SO_RCVBUFFORCE: {
        SENTRY_ASSIGN_OR_RETURN(
            int v, BufOption(t, name, val, len, net::inet::kBufMax));
        bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
        (snd ? so.sndbuf : so.rcvbuf).store(v);
        return 0;
      }
      case SO_PASSCRED: {
        SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
        so.passcred.store(v != 0);
        return 0;
      }
      case SO_RCVTIMEO_OLD:
      case SO_RCVTIMEO_NEW: {
        SENTRY_ASSIGN_OR_RETURN(int64_t ns, TimeoutOption(t, val, len));
        so.rcvtimeo_ns.store(ns);
        return 0;
      }
      case SO_SNDTIMEO_OLD:
      case SO_SNDTIMEO_NEW:
        // Sends to the kernel never block.
        return 0;
      default:
        return Errno(ENOPROTOOPT);
    }
  }
  if (level != SOL_NETLINK) return Errno(ENOPROTOOPT);
  if (len < sizeof(int)) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
  switch (name) {
    case NETLINK_ADD_MEMBERSHIP:
    case NETLINK_DROP_MEMBERSHIP:
      // Groups are accepted; no notification is ever multicast.
      return 0;
    case NETLINK_PKTINFO:
    case NETLINK_BROADCAST_ERROR:
    case NETLINK_NO_ENOBUFS:
    case NETLINK_LISTEN_ALL_NSID:
    case NETLINK_CAP_ACK:
    case NETLINK_EXT_ACK:
    case NETLINK_GET_STRICT_CHK: {
      uint32_t bit = 1u << name;
      if (v != 0) {
        so.flags.fetch_or(bit);
      } else {
        so.flags.fetch_and(~bit);
      }
      return 0;
    }
    default:
      return Errno(ENOPROTOOPT);
  }
}

SysResult<uint64_t> NetlinkGetsockopt(Task& t, const NetlinkFD& s, int level,
                                      int name, GuestAddr val,
                                      GuestAddr len_addr) {
  NetlinkSocket& so = s->socket();
  int v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE:
        v = so.type();
        break;
      case SO_DOMAIN:
        v = AF_NETLINK;
        break;
      case SO_PROTOCOL:
        v = so.protocol();
        break;
      case SO_ERROR:
        v = 0;
        break;
      case SO_SNDBUF:
        v = so.sndbuf.load();
        break;
      case SO_RCVBUF:
        v = so.rcvbuf.load();
        break;
      case SO_PASSCRED:
        v = so.passcred.load();
        break;
      default:
        return Errno(ENOPROTOOPT);
    }
    return PutOption(t, val, len_addr, &v, sizeof(v));
  }
  if (level != SOL_NETLINK) return Errno(ENOPROTOOPT);
  switch (name) {
    case NETLINK_PKTINFO:
    case NETLINK_BROADCAST_ERROR:
    case NETLINK_NO_ENOBUFS:
    case NETLINK_LISTEN_ALL_NSID:
    case NETLINK_CAP_ACK:
    case NETLINK_EXT_ACK:
    case NETLINK_GET_STRICT_CHK:
      v = (so.flags.load() >> name) & 1;
      break;
    default:
      return Errno(ENOPROTOOPT);
  }
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < static_cast<int32_t>(sizeof(int))) return Errno(EINVAL);
  return PutOption(t, val, len_addr, &v, sizeof(v));
}

}  // namespace sentry::syscalls
