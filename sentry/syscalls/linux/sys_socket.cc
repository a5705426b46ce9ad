// Implements socket(2), socketpair(2), bind(2), listen(2), accept(2),
// accept4(2), connect(2), getsockname(2), getpeername(2), sendto(2),
// recvfrom(2), sendmsg(2), recvmsg(2), sendmmsg(2), recvmmsg(2),
// shutdown(2), setsockopt(2) and getsockopt(2): the entry points, which
// hand AF_INET and AF_INET6 sockets to sys_socket_inet.cc, and AF_UNIX.
// Other address families fail with EAFNOSUPPORT.

#include "sentry/syscalls/linux/sys_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "sentry/net/af_unix/af_unix.h"
#include "sentry/net/inet/inet.h"
#include "sentry/syscalls/linux/sys_common.h"
#include "sentry/vfs/ops.h"
#include "sentry/vfs/resolve.h"

namespace sentry::syscalls {

namespace {

using net::af_unix::Address;
using net::af_unix::Control;
using net::af_unix::Creds;
using net::af_unix::Endpoint;
using net::af_unix::RecvResult;
using net::af_unix::UnixSocketFD;
using vfs::ShouldBlock;

// Bytes one recvmsg gathers at most: a stream read may be short; a
// message is never longer than a send buffer can be (2 * wmem_max).
constexpr size_t kMaxStreamRecv = 4 << 20;
constexpr size_t kMaxMessage = 1 << 20;

// A socket of any family: one of the three is set.
struct AnySocket {
  std::shared_ptr<UnixSocketFD> unix_fd;
  InetFD inet;
  NetlinkFD netlink;
};

SysResult<AnySocket> GetAnySocket(Task& t, int fd) {
  SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
  AnySocket s;
  s.inet = std::dynamic_pointer_cast<net::inet::InetSocketFD>(f);
  if (s.inet != nullptr) return s;
  s.netlink = std::dynamic_pointer_cast<net::netlink::NetlinkSocketFD>(f);
  if (s.netlink != nullptr) return s;
  s.unix_fd = std::dynamic_pointer_cast<UnixSocketFD>(f);
  if (s.unix_fd == nullptr) return Errno(ENOTSOCK);
  return s;
}

Creds CredsOf(Task& t) {
  return Creds{t.tgid(), t.creds().euid, t.creds().egid};
}

// The type of socket(2)'s `type` argument without its flags, checked.
SysResult<int> SocketType(int domain, int type, int protocol, int* flags) {
  *flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base < 0 || base > SOCK_PACKET) return Errno(EINVAL);  // SOCK_MAX
  if (domain < 0 || domain >= AF_MAX) return Errno(EAFNOSUPPORT);
  if (domain != AF_UNIX) return Errno(EAFNOSUPPORT);
  if (protocol != 0 && protocol != PF_UNIX) return Errno(EPROTONOSUPPORT);
  switch (base) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
      return base;
    case SOCK_RAW:
      return SOCK_DGRAM;  // as Linux maps it for AF_UNIX
    default:
      return Errno(ESOCKTNOSUPPORT);
  }
}

SysResult<int> Install(Task& t, std::shared_ptr<Endpoint> e, int flags) {
  auto f = UnixSocketFD::New(std::move(e), flags & SOCK_NONBLOCK,
                             t.creds().fsuid, t.creds().fsgid);
  return t.NewFd(std::move(f), (flags & SOCK_CLOEXEC) != 0);
}

SysResult<Address> CopyInAddress(Task& t, GuestAddr addr, uint32_t len) {
  if (len > sizeof(struct sockaddr_storage)) return Errno(EINVAL);
  struct sockaddr_storage ss;
  SENTRY_RETURN_IF_ERROR(t.CopyInFull(addr, &ss, len));
  return net::af_unix::ParseAddress(&ss, len);
}

// Writes `a` to a guest (addr, *addrlen) pair as accept and getsockname
// do: as much as fits, and the full length back in *addrlen.
SysResult<void> CopyOutAddress(Task& t, const Address& a, GuestAddr addr,
                               GuestAddr len_addr) {
  if (addr.IsNull()) return Ok();
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < 0) return Errno(EINVAL);
  struct sockaddr_storage ss;
  size_t n = net::af_unix::EncodeAddress(a, &ss);
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(addr, &ss, std::min(n, static_cast<size_t>(len))));
  return t.CopyOutObj(len_addr, static_cast<int32_t>(n));
}

// The endpoint a name refers to: an abstract name's, or the one bound to
// the socket file at a path (which connect needs write access to).
SysResult<std::shared_ptr<Endpoint>> FindByName(Task& t, const Address& a,
                                                int type) {
  if (a.abstract()) return net::af_unix::FindAbstract(a, type);
  if (a.empty()) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, AT_FDCWD, a.name));
  vfs::Resolver r(t, *pc.ns, pc.root, pc.start);
  vfs::ResolveOptions opts;
  opts.follow_final = true;
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(a.name, opts));
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, vd.dentry->inode()->GetAttr());
  if ((attr.mode & S_IFMT) != S_IFSOCK) return Errno(ECONNREFUSED);
  SysResult<void> access = vfs::CheckAccess(t, vd, auth::kMayWrite);
  if (!access.ok() && access.err() != EROFS) return access.error();
  return net::af_unix::FindPath(attr.dev, attr.ino);
}

// ---- Control messages ----

// Parses sendmsg's control buffer into `control`: SCM_RIGHTS (files by
// the sender's fds) and SCM_CREDENTIALS (checked as Linux checks them).
// Messages of other levels are ignored, as Linux ignores them.
SysResult<void> ParseControl(Task& t, const std::string& buf,
                             Control* control) {
  size_t off = 0;
  while (off + kCmsgHdr <= buf.size()) {
    struct cmsghdr h;
    memcpy(&h, buf.data() + off, kCmsgHdr);
    if (h.cmsg_len < kCmsgHdr || h.cmsg_len > buf.size() - off) {
      return Errno(EINVAL);
    }
    const char* data = buf.data() + off + kCmsgHdr;
    size_t data_len = h.cmsg_len - kCmsgHdr;
    if (h.cmsg_level == SOL_SOCKET) {
      switch (h.cmsg_type) {
        case SCM_RIGHTS: {
          size_t n = data_len / sizeof(int);
          if (control->rights.size() + n > net::af_unix::kMaxRights) {
            return Errno(EINVAL);
          }
          for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            SENTRY_ASSIGN_OR_RETURN(auto f, t.GetFile(fd));
            control->rights.push_back(std::move(f));
          }
          break;
        }
        case SCM_CREDENTIALS: {
          if (data_len != sizeof(struct ucred)) return Errno(EINVAL);
          struct ucred u;
          memcpy(&u, data, sizeof(u));
          const auth::Credentials& c = t.creds();
          bool pid_ok =
              u.pid == t.tgid() || c.HasCapability(auth::Capability::kSysAdmin);
          bool uid_ok = u.uid == c.ruid || u.uid == c.euid || u.uid == c.suid ||
                        c.HasCapability(auth::Capability::kSetuid);
          bool gid_ok = u.gid == c.rgid || u.gid == c.egid || u.gid == c.sgid ||
                        c.HasCapability(auth::Capability::kSetgid);
          if (!pid_ok || !uid_ok || !gid_ok) return Errno(EPERM);
          control->creds = Creds{u.pid, u.uid, u.gid};
          break;
        }
        default:
          return Errno(EINVAL);
      }
    }
    off += CmsgAlign(h.cmsg_len);
  }
  return Ok();
}

// Builds recvmsg's control buffer of at most `room` bytes: the sender's
// credentials (with SO_PASSCRED), then its files, installed as new fds.
// What does not fit sets MSG_CTRUNC; files that got no fd are dropped.
std::string BuildControl(Task& t, Endpoint& e, RecvResult& r, size_t room,
                         bool cloexec, int* msg_flags) {
  std::string out;
  if (!r.control) return out;
  auto put = [&](int type, const void* data, size_t len) {
    struct cmsghdr h = {};
    h.cmsg_len = kCmsgHdr + len;
    h.cmsg_level = SOL_SOCKET;
    h.cmsg_type = type;
    out.append(reinterpret_cast<const char*>(&h), kCmsgHdr);
    out.append(static_cast<const char*>(data), len);
    out.append(CmsgAlign(h.cmsg_len) - h.cmsg_len, '\0');
  };
  if (e.passcred.load()) {
    struct ucred u = {r.control->creds.pid, r.control->creds.uid,
                      r.control->creds.gid};
    if (out.size() + kCmsgHdr + sizeof(u) <= room) {
      put(SCM_CREDENTIALS, &u, sizeof(u));
    } else {
      *msg_flags |= MSG_CTRUNC;
    }
  }
  auto& rights = r.control->rights;
  if (!rights.empty()) {
    size_t left =
        room > out.size() + kCmsgHdr ? room - out.size() - kCmsgHdr : 0;
    size_t fit = std::min(rights.size(), left / sizeof(int));
    std::vector<int> fds;
    for (size_t i = 0; i < fit; i++) {
      SysResult<int> fd = t.NewFd(rights[i], cloexec);
      if (!fd.ok()) break;
      fds.push_back(*fd);
    }
    if (fds.size() < rights.size()) *msg_flags |= MSG_CTRUNC;
    if (!fds.empty()) put(SCM_RIGHTS, fds.data(), fds.size() * sizeof(int));
    rights.clear();  // the rest are closed with the message
  }
  // The last message's padding does not count against the buffer.
  return out.substr(0, std::min(out.size(), room));
}

// ---- Send and receive ----

constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR | MSG_MORE |
                           MSG_CONFIRM | MSG_DONTROUTE | MSG_BATCH;

SysResult<uint64_t> DoSend(Task& t, const std::shared_ptr<UnixSocketFD>& s,
                           const MsgHdr& h, int flags) {
  if ((flags & MSG_OOB) != 0) return Errno(EOPNOTSUPP);
  Endpoint& e = s->endpoint();
  std::shared_ptr<Endpoint> to;
  if (!h.name.IsNull() && h.namelen != 0) {
    SENTRY_ASSIGN_OR_RETURN(Address a, CopyInAddress(t, h.name, h.namelen));
    // A stream refuses an address; seqpacket ignores it, as Linux does.
    if (e.type() == SOCK_STREAM) {
      return Errno(e.PeerName().ok() ? EISCONN : EOPNOTSUPP);
    }
    if (e.type() == SOCK_DGRAM) {
      SENTRY_ASSIGN_OR_RETURN(to, FindByName(t, a, e.type()));
    }
  }
  // A datagram sender that wants credentials gets a name to be known by.
  if (e.type() == SOCK_DGRAM && e.passcred.load()) {
    SENTRY_RETURN_IF_ERROR(e.Autobind());
  }
  Control control;
  control.creds = CredsOf(t);
  if (h.controllen > 0) {
    if (h.controllen > INT32_MAX) return Errno(ENOBUFS);
    std::string buf(h.controllen, '\0');
    SENTRY_RETURN_IF_ERROR(t.CopyInFull(h.control, buf.data(), buf.size()));
    SENTRY_RETURN_IF_ERROR(ParseControl(t, buf, &control));
  }
  SENTRY_ASSIGN_OR_RETURN(std::string data, GatherIov(t, h.iov));
  size_t len = data.size();
  SysResult<size_t> n =
      e.Send(t, data.data(), len, std::move(control), to, BlockingOf(*s, flags),
             net::af_unix::TimeoutDeadline(e.sndtimeo_ns.load()));
  if (!n.ok()) {
    // Only a stream raises SIGPIPE (unix_stream_sendmsg); datagram and
    // seqpacket sockets just fail.
    if (n.err() == EPIPE && e.type() == SOCK_STREAM &&
        (flags & MSG_NOSIGNAL) == 0) {
      return RaiseSigpipe(t, n.error());
    }
    return n.error();
  }
  return *n;
}

SysResult<uint64_t> DoSend(Task& t, int fd, const MsgHdr& h, int flags) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket s, GetAnySocket(t, fd));
  if (s.inet != nullptr) return InetSend(t, s.inet, h, flags);
  if (s.netlink != nullptr) return NetlinkSend(t, s.netlink, h, flags);
  return DoSend(t, s.unix_fd, h, flags);
}

constexpr int kRecvFlags = MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_TRUNC |
                           MSG_CMSG_CLOEXEC | MSG_ERRQUEUE;

SysResult<RecvOut> DoRecv(Task& t, const std::shared_ptr<UnixSocketFD>& s,
                          const MsgHdr& h, int flags) {
  if ((flags & MSG_OOB) != 0) return Errno(EOPNOTSUPP);
  // No socket here queues errors.
  if ((flags & MSG_ERRQUEUE) != 0) return Errno(EAGAIN);
  Endpoint& e = s->endpoint();
  size_t total = std::min(TotalLen(h.iov), kMaxRwCount);
  size_t cap = e.type() == SOCK_STREAM ? kMaxStreamRecv : kMaxMessage;
  std::string buf(std::min(total, cap), '\0');
  SENTRY_ASSIGN_OR_RETURN(
      RecvResult r,
      e.Recv(t, buf.data(), buf.size(), flags, BlockingOf(*s, flags),
             net::af_unix::TimeoutDeadline(e.rcvtimeo_ns.load())));
  SENTRY_RETURN_IF_ERROR(ScatterIov(t, h.iov, buf.data(), r.copied));
  RecvOut out;
  out.ret =
      (flags & MSG_TRUNC) != 0 && e.type() != SOCK_STREAM ? r.length : r.copied;
  if (r.truncated) out.msg_flags |= MSG_TRUNC;
  if (!h.name.IsNull()) {
    struct sockaddr_storage ss;
    // The sender's name, if it has one (msg_namelen 0 if not), as Linux
    // reports it for every AF_UNIX type.
    size_t n = 0;
    if (!r.from.empty()) {
      n = net::af_unix::EncodeAddress(r.from, &ss);
      SENTRY_RETURN_IF_ERROR(
          t.CopyOutFull(h.name, &ss, std::min<size_t>(n, h.namelen)));
    }
    out.namelen = static_cast<uint32_t>(n);
  }
  std::string control =
      BuildControl(t, e, r, h.control.IsNull() ? 0 : h.controllen,
                   (flags & MSG_CMSG_CLOEXEC) != 0, &out.msg_flags);
  if (!control.empty()) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutFull(h.control, control.data(), control.size()));
  }
  out.controllen = control.size();
  return out;
}

SysResult<RecvOut> DoRecv(Task& t, int fd, const MsgHdr& h, int flags) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket s, GetAnySocket(t, fd));
  if (s.inet != nullptr) return InetRecv(t, s.inet, h, flags);
  if (s.netlink != nullptr) return NetlinkRecv(t, s.netlink, h, flags);
  return DoRecv(t, s.unix_fd, h, flags);
}

// ---- Options ----

// Options Linux accepts and remembers with no effect on a unix socket that
// a program could observe beyond getsockopt.
bool IsFlagOption(int name) {
  switch (name) {
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_DONTROUTE:
    case SO_OOBINLINE:
    case SO_PASSSEC:
    case SO_TIMESTAMP_OLD:
    case SO_RCVLOWAT:
    case SO_PRIORITY:
      return true;
    default:
      return false;
  }
}

}  // namespace

// ---- Shared with sys_socket_inet.cc (sys_socket.h) ----

SysResult<MsgHdr> CopyInMsgHdr(Task& t, GuestAddr addr) {
  struct msghdr m;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &m));
  MsgHdr h;
  h.name = GuestAddr(reinterpret_cast<uint64_t>(m.msg_name));
  h.namelen = m.msg_namelen;
  if (m.msg_iovlen > IOV_MAX) return Errno(EMSGSIZE);
  SENTRY_ASSIGN_OR_RETURN(
      h.iov, CopyInIovecs(t, GuestAddr(reinterpret_cast<uint64_t>(m.msg_iov)),
                          static_cast<int>(m.msg_iovlen)));
  h.control = GuestAddr(reinterpret_cast<uint64_t>(m.msg_control));
  h.controllen = m.msg_controllen;
  return h;
}

size_t TotalLen(const std::vector<struct iovec>& iov) {
  size_t n = 0;
  for (const auto& v : iov) n += v.iov_len;
  return n;
}

vfs::ShouldBlock BlockingOf(const vfs::FileDescription& f, int msg_flags) {
  return ((f.flags() & O_NONBLOCK) != 0 || (msg_flags & MSG_DONTWAIT) != 0)
             ? vfs::ShouldBlock::kNo
             : vfs::ShouldBlock::kYes;
}

SysResult<std::string> GatherIov(Task& t,
                                 const std::vector<struct iovec>& iov) {
  size_t len = std::min(TotalLen(iov), kMaxRwCount);
  std::string data(len, '\0');
  size_t off = 0;
  for (const auto& v : iov) {
    size_t n = std::min(v.iov_len, len - off);
    if (n == 0) continue;
    SENTRY_RETURN_IF_ERROR(
        t.CopyInFull(GuestAddr(reinterpret_cast<uint64_t>(v.iov_base)),
                     data.data() + off, n));
    off += n;
  }
  return data;
}

SysResult<void> ScatterIov(Task& t, const std::vector<struct iovec>& iov,
                           const char* data, size_t n) {
  size_t off = 0;
  for (const auto& v : iov) {
    size_t k = std::min(v.iov_len, n - off);
    if (k == 0) continue;
    SENTRY_RETURN_IF_ERROR(t.CopyOutFull(
        GuestAddr(reinterpret_cast<uint64_t>(v.iov_base)), data + off, k));
    off += k;
  }
  return Ok();
}

SysResult<int> BufOption(Task& t, int name, GuestAddr val, uint32_t len,
                         int max) {
  SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
  bool force = name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE;
  if (force && !t.creds().HasCapability(auth::Capability::kNetAdmin)) {
    return Errno(EPERM);
  }
  int64_t want = force ? std::max(v, 0)
                       : std::min<uint32_t>(static_cast<uint32_t>(v),
                                            static_cast<uint32_t>(max));
  bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
  int floor = snd ? net::inet::kMinSndbuf : net::inet::kMinRcvbuf;
  return static_cast<int>(
      std::min<int64_t>(std::max<int64_t>(want * 2, floor), INT32_MAX));
}

SysResult<void> WriteBackMsgHdr(Task& t, GuestAddr addr, const RecvOut& out) {
  struct msghdr m;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(addr, &m));
  m.msg_namelen = out.namelen;
  m.msg_controllen = out.controllen;
  m.msg_flags = out.msg_flags;
  return t.CopyOutObj(addr, m);
}

SysResult<int> IntOption(Task& t, GuestAddr val, uint32_t len) {
  if (len < sizeof(int)) return Errno(EINVAL);
  int v;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(val, &v));
  return v;
}

SysResult<int64_t> TimeoutOption(Task& t, GuestAddr val, uint32_t len) {
  struct timeval tv;
  if (len < sizeof(tv)) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(val, &tv));
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Errno(EDOM);
  if (tv.tv_sec < 0) return int64_t{0};
  return static_cast<int64_t>(tv.tv_sec) * 1000000000 +
         static_cast<int64_t>(tv.tv_usec) * 1000;
}

SysResult<uint64_t> PutOption(Task& t, GuestAddr val, GuestAddr len_addr,
                              const void* data, size_t size) {
  int32_t len = 0;
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
  if (len < 0) return Errno(EINVAL);
  size_t n = std::min(size, static_cast<size_t>(len));
  SENTRY_RETURN_IF_ERROR(t.CopyOutFull(val, data, n));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(len_addr, static_cast<int32_t>(n)));
  return 0;
}

// Implements Linux syscall socket(2).
SENTRY_SYSCALL(SysSocket) {
  if (a.Int(0) == AF_INET || a.Int(0) == AF_INET6) {
    return InetSocket(t, a.Int(0), a.Int(1), a.Int(2));
  }
  if (a.Int(0) == AF_NETLINK) return NetlinkSocketCreate(t, a.Int(1), a.Int(2));
  int flags = 0;
  SENTRY_ASSIGN_OR_RETURN(int type,
                          SocketType(a.Int(0), a.Int(1), a.Int(2), &flags));
  auto e = std::make_shared<Endpoint>(type, CredsOf(t));
  SENTRY_ASSIGN_OR_RETURN(int fd, Install(t, std::move(e), flags));
  return fd;
}

// Implements Linux syscall socketpair(2).
SENTRY_SYSCALL(SysSocketpair) {
  int flags = 0;
  SENTRY_ASSIGN_OR_RETURN(int type,
                          SocketType(a.Int(0), a.Int(1), a.Int(2), &flags));
  auto e1 = std::make_shared<Endpoint>(type, CredsOf(t));
  auto e2 = std::make_shared<Endpoint>(type, CredsOf(t));
  Endpoint::Pair(e1, e2);
  SENTRY_ASSIGN_OR_RETURN(int fd1, Install(t, e1, flags));
  SysResult<int> fd2 = Install(t, e2, flags);
  if (!fd2.ok()) {
    (void)t.fds().Remove(fd1);
    return fd2.error();
  }
  int32_t fds[2] = {fd1, *fd2};
  SysResult<void> c = t.CopyOutObj(a.Addr(3), fds);
  if (!c.ok()) {
    (void)t.fds().Remove(fd1);
    (void)t.fds().Remove(*fd2);
    return c.error();
  }
  return 0;
}

// Implements Linux syscall bind(2).
SENTRY_SYSCALL(SysBind) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  if (any.inet != nullptr) return InetBind(t, any.inet, a.Addr(1), a.U32(2));
  if (any.netlink != nullptr) {
    return NetlinkBind(t, any.netlink, a.Addr(1), a.U32(2));
  }
  Endpoint& e = any.unix_fd->endpoint();
  uint32_t len = a.U32(2);
  if (len == sizeof(sa_family_t)) {
    sa_family_t family;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &family));
    if (family != AF_UNIX) return Errno(EINVAL);
    // Autobinding a bound socket changes nothing and succeeds.
    SENTRY_RETURN_IF_ERROR(e.Autobind());
    return 0;
  }
  SENTRY_ASSIGN_OR_RETURN(Address addr, CopyInAddress(t, a.Addr(1), len));
  // Linux makes a path's file before it checks the socket is unbound (so
  // an existing file wins with EADDRINUSE), and removes it again.
  if (e.bound() && addr.abstract()) return Errno(EINVAL);
  if (addr.abstract()) {
    SENTRY_RETURN_IF_ERROR(e.BindAbstract(addr));
    return 0;
  }
  // A path: a socket file made there (EADDRINUSE if the name exists).
  SENTRY_ASSIGN_OR_RETURN(vfs::PathContext pc, PathAt(t, AT_FDCWD, addr.name));
  SysResult<void> made =
      vfs::MknodAt(t, pc, addr.name, S_IFSOCK | (0777 & ~t.umask()));
  if (!made.ok()) {
    return made.err() == EEXIST ? Errno(EADDRINUSE) : made.error();
  }
  if (e.bound()) {
    (void)vfs::UnlinkAt(t, pc, addr.name, 0);
    return Errno(EINVAL);
  }
  vfs::Resolver r(t, *pc.ns, pc.root, pc.start);
  vfs::ResolveOptions opts;
  opts.follow_final = false;
  SENTRY_ASSIGN_OR_RETURN(vfs::VirtualDentry vd, r.Resolve(addr.name, opts));
  SENTRY_ASSIGN_OR_RETURN(vfs::Attr attr, vd.dentry->inode()->GetAttr());
  SENTRY_RETURN_IF_ERROR(e.BindPath(addr, attr.dev, attr.ino));
  return 0;
}

// Implements Linux syscall listen(2).
SENTRY_SYSCALL(SysListen) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket s, GetAnySocket(t, a.Int(0)));
  if (s.inet != nullptr) return InetListen(t, s.inet, a.Int(1));
  if (s.netlink != nullptr) return Errno(EOPNOTSUPP);
  SENTRY_RETURN_IF_ERROR(s.unix_fd->endpoint().Listen(a.Int(1), CredsOf(t)));
  return 0;
}

namespace {

SysResult<uint64_t> DoAccept(Task& t, int fd, GuestAddr addr,
                             GuestAddr len_addr, int flags) {
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return Errno(EINVAL);
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, fd));
  if (any.inet != nullptr)
    return InetAccept(t, any.inet, addr, len_addr, flags);
  if (any.netlink != nullptr) return Errno(EOPNOTSUPP);
  const std::shared_ptr<UnixSocketFD>& s = any.unix_fd;
  Endpoint& e = s->endpoint();
  SENTRY_ASSIGN_OR_RETURN(
      std::shared_ptr<Endpoint> conn,
      e.Accept(t, BlockingOf(*s, 0),
               net::af_unix::TimeoutDeadline(e.rcvtimeo_ns.load())));
  SysResult<Address> peer = conn->PeerName();
  SENTRY_ASSIGN_OR_RETURN(int nfd, Install(t, conn, flags));
  SysResult<void> c =
      CopyOutAddress(t, peer.ok() ? *peer : Address{}, addr, len_addr);
  if (!c.ok()) {
    (void)t.fds().Remove(nfd);
    return c.error();
  }
  return nfd;
}

}  // namespace

// Implements Linux syscall accept(2).
SENTRY_SYSCALL(SysAccept) {
  return DoAccept(t, a.Int(0), a.Addr(1), a.Addr(2), 0);
}

// Implements Linux syscall accept4(2).
SENTRY_SYSCALL(SysAccept4) {
  return DoAccept(t, a.Int(0), a.Addr(1), a.Addr(2), a.Int(3));
}

// Implements Linux syscall connect(2).
SENTRY_SYSCALL(SysConnect) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  if (any.inet != nullptr) return InetConnect(t, any.inet, a.Addr(1), a.U32(2));
  if (any.netlink != nullptr) {
    return NetlinkConnect(t, any.netlink, a.Addr(1), a.U32(2));
  }
  const std::shared_ptr<UnixSocketFD>& s = any.unix_fd;
  Endpoint& e = s->endpoint();
  uint32_t len = a.U32(2);
  if (!e.connection_oriented() && len >= sizeof(sa_family_t)) {
    sa_family_t family;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(1), &family));
    if (family == AF_UNSPEC) {
      SENTRY_RETURN_IF_ERROR(e.ConnectDgram(nullptr));
      return 0;
    }
  }
  SENTRY_ASSIGN_OR_RETURN(Address addr, CopyInAddress(t, a.Addr(1), len));
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<Endpoint> server,
                          FindByName(t, addr, e.type()));
  if (!e.connection_oriented()) {
    SENTRY_RETURN_IF_ERROR(e.ConnectDgram(server));
    return 0;
  }
  SENTRY_RETURN_IF_ERROR(
      e.Connect(t, server, CredsOf(t), BlockingOf(*s, 0),
                net::af_unix::TimeoutDeadline(e.sndtimeo_ns.load())));
  return 0;
}

// Implements Linux syscall getsockname(2).
SENTRY_SYSCALL(SysGetsockname) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  if (any.inet != nullptr) {
    return InetGetName(t, any.inet, a.Addr(1), a.Addr(2), false);
  }
  if (any.netlink != nullptr) {
    return NetlinkGetName(t, any.netlink, a.Addr(1), a.Addr(2), false);
  }
  const std::shared_ptr<UnixSocketFD>& s = any.unix_fd;
  if (a.Addr(1).IsNull()) return Errno(EFAULT);
  SENTRY_RETURN_IF_ERROR(
      CopyOutAddress(t, s->endpoint().name(), a.Addr(1), a.Addr(2)));
  return 0;
}

// Implements Linux syscall getpeername(2).
SENTRY_SYSCALL(SysGetpeername) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  if (any.inet != nullptr) {
    return InetGetName(t, any.inet, a.Addr(1), a.Addr(2), true);
  }
  if (any.netlink != nullptr) {
    return NetlinkGetName(t, any.netlink, a.Addr(1), a.Addr(2), true);
  }
  const std::shared_ptr<UnixSocketFD>& s = any.unix_fd;
  SENTRY_ASSIGN_OR_RETURN(Address peer, s->endpoint().PeerName());
  if (a.Addr(1).IsNull()) return Errno(EFAULT);
  SENTRY_RETURN_IF_ERROR(CopyOutAddress(t, peer, a.Addr(1), a.Addr(2)));
  return 0;
}

// Implements Linux syscall sendto(2).
SENTRY_SYSCALL(SysSendto) {
  MsgHdr h;
  h.iov.push_back(
      {reinterpret_cast<void*>(a.Addr(1).value()),
       static_cast<size_t>(std::min<uint64_t>(a.U64(2), kMaxRwCount))});
  if (!RangeOk(t, a.Addr(1), h.iov[0].iov_len)) return Errno(EFAULT);
  h.name = a.Addr(4);
  h.namelen = a.U32(5);
  return DoSend(t, a.Int(0), h, a.Int(3));
}

// Implements Linux syscall recvfrom(2).
SENTRY_SYSCALL(SysRecvfrom) {
  MsgHdr h;
  h.iov.push_back(
      {reinterpret_cast<void*>(a.Addr(1).value()),
       static_cast<size_t>(std::min<uint64_t>(a.U64(2), kMaxRwCount))});
  if (!RangeOk(t, a.Addr(1), h.iov[0].iov_len)) return Errno(EFAULT);
  GuestAddr len_addr = a.Addr(5);
  if (!a.Addr(4).IsNull()) {
    int32_t len = 0;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(len_addr, &len));
    if (len < 0) return Errno(EINVAL);
    h.name = a.Addr(4);
    h.namelen = static_cast<uint32_t>(len);
  }
  SENTRY_ASSIGN_OR_RETURN(RecvOut out, DoRecv(t, a.Int(0), h, a.Int(3)));
  if (!h.name.IsNull()) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutObj(len_addr, static_cast<int32_t>(out.namelen)));
  }
  return out.ret;
}

// Implements Linux syscall sendmsg(2).
SENTRY_SYSCALL(SysSendmsg) {
  SENTRY_ASSIGN_OR_RETURN(MsgHdr h, CopyInMsgHdr(t, a.Addr(1)));
  return DoSend(t, a.Int(0), h, a.Int(2));
}

// Implements Linux syscall recvmsg(2).
SENTRY_SYSCALL(SysRecvmsg) {
  SENTRY_ASSIGN_OR_RETURN(MsgHdr h, CopyInMsgHdr(t, a.Addr(1)));
  SENTRY_ASSIGN_OR_RETURN(RecvOut out, DoRecv(t, a.Int(0), h, a.Int(2)));
  SENTRY_RETURN_IF_ERROR(WriteBackMsgHdr(t, a.Addr(1), out));
  return out.ret;
}

// Implements Linux syscall sendmmsg(2).
SENTRY_SYSCALL(SysSendmmsg) {
  uint32_t vlen = std::min<uint32_t>(a.U32(2), UIO_MAXIOV);
  int flags = a.Int(3);
  uint32_t i = 0;
  for (; i < vlen; i++) {
    GuestAddr m(a.Addr(1).value() + i * sizeof(struct mmsghdr));
    SysResult<MsgHdr> h = CopyInMsgHdr(t, m);
    SysResult<uint64_t> n = h.ok() ? DoSend(t, a.Int(0), *h, flags) : h.error();
    if (!n.ok()) {
      if (i > 0) break;
      return n.error();
    }
    uint32_t len = static_cast<uint32_t>(*n);
    SysResult<void> c = t.CopyOutObj(
        GuestAddr(m.value() + offsetof(struct mmsghdr, msg_len)), len);
    if (!c.ok()) {
      if (i > 0) break;
      return c.error();
    }
  }
  return i;
}

// Implements Linux syscall recvmmsg(2).
SENTRY_SYSCALL(SysRecvmmsg) {
  uint32_t vlen = std::min<uint32_t>(a.U32(2), UIO_MAXIOV);
  int flags = a.Int(3);
  if (!a.Addr(4).IsNull()) {
    // TODO(#6): the timeout, checked only between messages as Linux does.
    struct timespec ts;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(4), &ts));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
      return Errno(EINVAL);
    }
  }
  uint32_t i = 0;
  for (; i < vlen; i++) {
    GuestAddr m(a.Addr(1).value() + i * sizeof(struct mmsghdr));
    SysResult<MsgHdr> h = CopyInMsgHdr(t, m);
    SysResult<RecvOut> out =
        h.ok() ? DoRecv(t, a.Int(0), *h, flags) : SysResult<RecvOut>(h.error());
    if (!out.ok()) {
      if (i > 0) break;
      return out.error();
    }
    SENTRY_RETURN_IF_ERROR(WriteBackMsgHdr(t, m, *out));
    uint32_t len = static_cast<uint32_t>(out->ret);
    SENTRY_RETURN_IF_ERROR(t.CopyOutObj(
        GuestAddr(m.value() + offsetof(struct mmsghdr, msg_len)), len));
    // After the first message, MSG_WAITFORONE makes the rest non-blocking.
    if ((flags & MSG_WAITFORONE) != 0) flags |= MSG_DONTWAIT;
  }
  return i;
}

// Implements Linux syscall shutdown(2).
SENTRY_SYSCALL(SysShutdown) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  int how = a.Int(1);
  if (how < SHUT_RD || how > SHUT_RDWR) return Errno(EINVAL);
  if (any.inet != nullptr) return InetShutdown(t, any.inet, how);
  if (any.netlink != nullptr) return Errno(EOPNOTSUPP);
  const std::shared_ptr<UnixSocketFD>& s = any.unix_fd;
  SENTRY_RETURN_IF_ERROR(s->endpoint().Shutdown(how));
  return 0;
}

// Implements Linux syscall setsockopt(2).
SENTRY_SYSCALL(SysSetsockopt) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  int level = a.Int(1), name = a.Int(2);
  GuestAddr val = a.Addr(3);
  uint32_t len = a.U32(4);
  if (any.inet != nullptr) {
    SENTRY_ASSIGN_OR_RETURN(uint64_t r,
                            InetSetsockopt(t, any.inet, level, name, val, len));
    any.inet->socket().SyncHostOptions();
    return r;
  }
  if (any.netlink != nullptr) {
    return NetlinkSetsockopt(t, any.netlink, level, name, val, len);
  }
  Endpoint& e = any.unix_fd->endpoint();
  if (level != SOL_SOCKET) return Errno(EOPNOTSUPP);
  switch (name) {
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_SNDBUFFORCE:
    case SO_RCVBUFFORCE: {
      SENTRY_ASSIGN_OR_RETURN(
          int v, BufOption(t, name, val, len, net::af_unix::kDefaultBuf));
      bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
      (snd ? e.sndbuf : e.rcvbuf).store(v);
      return 0;
    }
    case SO_PASSCRED: {
      SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
      e.passcred.store(v != 0);
      return 0;
    }
    case SO_RCVTIMEO_OLD:
    case SO_SNDTIMEO_OLD: {
      SENTRY_ASSIGN_OR_RETURN(int64_t ns, TimeoutOption(t, val, len));
      (name == SO_RCVTIMEO_OLD ? e.rcvtimeo_ns : e.sndtimeo_ns).store(ns);
      return 0;
    }
    default:
      if (!IsFlagOption(name)) return Errno(ENOPROTOOPT);
      SENTRY_ASSIGN_OR_RETURN(int v, IntOption(t, val, len));
      e.SetFlagOption(name, v);
      return 0;
  }
}

// Implements Linux syscall getsockopt(2).
SENTRY_SYSCALL(SysGetsockopt) {
  SENTRY_ASSIGN_OR_RETURN(AnySocket any, GetAnySocket(t, a.Int(0)));
  int level = a.Int(1), name = a.Int(2);
  GuestAddr val = a.Addr(3), len_addr = a.Addr(4);
  if (any.inet != nullptr) {
    return InetGetsockopt(t, any.inet, level, name, val, len_addr);
  }
  if (any.netlink != nullptr) {
    return NetlinkGetsockopt(t, any.netlink, level, name, val, len_addr);
  }
  Endpoint& e = any.unix_fd->endpoint();
  if (level != SOL_SOCKET) return Errno(EOPNOTSUPP);
  int v = 0;
  switch (name) {
    case SO_TYPE:
      v = e.type();
      break;
    case SO_DOMAIN:
      v = AF_UNIX;
      break;
    case SO_PROTOCOL:
      v = 0;
      break;
    case SO_ACCEPTCONN:
      v = e.listening() ? 1 : 0;
      break;
    case SO_ERROR:
      v = e.TakeError();
      break;
    case SO_SNDBUF:
      v = e.sndbuf.load();
      break;
    case SO_RCVBUF:
      v = e.rcvbuf.load();
      break;
    case SO_PASSCRED:
      v = e.passcred.load() ? 1 : 0;
      break;
    case SO_PEERCRED: {
      Creds c = e.peer_creds();
      struct ucred u = {c.pid, c.uid, c.gid};
      return PutOption(t, val, len_addr, &u, sizeof(u));
    }
    case SO_RCVTIMEO_OLD:
    case SO_SNDTIMEO_OLD: {
      int64_t ns =
          (name == SO_RCVTIMEO_OLD ? e.rcvtimeo_ns : e.sndtimeo_ns).load();
      struct timeval tv = {static_cast<time_t>(ns / 1000000000),
                           static_cast<suseconds_t>((ns % 1000000000) / 1000)};
      return PutOption(t, val, len_addr, &tv, sizeof(tv));
    }
    default:
      if (!IsFlagOption(name)) return Errno(ENOPROTOOPT);
      v = e.FlagOption(name);
      break;
  }
  return PutOption(t, val, len_addr, &v, sizeof(v));
}

bool IsSocket(const vfs::FileDescription& f) { return f.is_socket(); }

std::vector<GuestIovec> GuestIovecs(const std::vector<struct iovec>& iov) {
  std::vector<GuestIovec> out;
  for (const auto& v : iov) {
    out.push_back({GuestAddr(reinterpret_cast<uint64_t>(v.iov_base)),
                   static_cast<uint64_t>(v.iov_len)});
  }
  return out;
}

SysResult<uint64_t> SocketIo(Task& t,
                             const std::shared_ptr<vfs::FileDescription>& f,
                             const std::vector<GuestIovec>& iov,
                             IoDirection dir) {
  MsgHdr h;
  for (const GuestIovec& v : iov) {
    uint64_t len = std::min<uint64_t>(v.len, kMaxRwCount);
    if (!RangeOk(t, v.base, len)) return Errno(EFAULT);
    h.iov.push_back(
        {reinterpret_cast<void*>(v.base.value()), static_cast<size_t>(len)});
  }
  if (auto nl = std::dynamic_pointer_cast<net::netlink::NetlinkSocketFD>(f)) {
    if (dir == IoDirection::kOut) return NetlinkSend(t, nl, h, 0);
    SENTRY_ASSIGN_OR_RETURN(RecvOut out, NetlinkRecv(t, nl, h, 0));
    return out.ret;
  }
  if (auto in = std::dynamic_pointer_cast<net::inet::InetSocketFD>(f)) {
    if (dir == IoDirection::kOut) return InetSend(t, in, h, 0);
    if (in->socket().type() == SOCK_STREAM && TotalLen(h.iov) == 0) {
      return uint64_t{0};
    }
    SENTRY_ASSIGN_OR_RETURN(RecvOut out, InetRecv(t, in, h, 0));
    return out.ret;
  }
  auto s = std::dynamic_pointer_cast<UnixSocketFD>(f);
  if (s == nullptr) return Errno(ENOTSOCK);
  if (dir == IoDirection::kOut) return DoSend(t, s, h, 0);
  // read(2) of nothing on a stream returns at once, unlike recv(2).
  if (s->endpoint().type() == SOCK_STREAM && TotalLen(h.iov) == 0) {
    return uint64_t{0};
  }
  SENTRY_ASSIGN_OR_RETURN(RecvOut out, DoRecv(t, s, h, 0));
  return out.ret;
}

}  // namespace sentry::syscalls
