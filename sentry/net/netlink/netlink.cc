#include "sentry/net/netlink/netlink.h"

#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/net/blocking.h"
#include "sentry/net/interfaces.h"

namespace sentry::net::netlink {

namespace {

// Port ids in use. Linux gives a process's first socket its tgid and
// later ones negative numbers from -4096 down.
struct Ports {
  absl::Mutex mu;
  std::map<uint32_t, int> used ABSL_GUARDED_BY(mu);  // id -> protocol
  int32_t next_rover ABSL_GUARDED_BY(mu) = -4096;
};

Ports& AllPorts() {
  static Ports* p = new Ports;
  return *p;
}

// Answers of one dump fit datagrams of this size: glibc's getifaddrs
// reads with a 4 KiB buffer and gives up on MSG_TRUNC.
constexpr size_t kDumpChunk = 4096;

// From linux/if.h, which cannot be included with net/if.h.
constexpr uint32_t kIffLowerUp = 1 << 16;
constexpr uint8_t kIfOperUnknown = 0;

constexpr size_t Align(size_t n) { return (n + 3) & ~size_t{3}; }

// Builds one netlink message: header, fixed part, attributes.
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid) {
    h_.nlmsg_type = type;
    h_.nlmsg_flags = flags;
    h_.nlmsg_seq = seq;
    h_.nlmsg_pid = pid;
  }
  template <typename T>
  void Fixed(const T& v) {
    body_.append(reinterpret_cast<const char*>(&v), sizeof(v));
    body_.append(Align(body_.size()) - body_.size(), '\0');
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    struct rtattr a;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    a.rta_type = type;
    body_.append(reinterpret_cast<const char*>(&a), sizeof(a));
    body_.append(static_cast<const char*>(data), len);
    body_.append(Align(body_.size()) - body_.size(), '\0');
  }
  void U32(uint16_t type, uint32_t v) { Attr(type, &v, sizeof(v)); }
  void U8(uint16_t type, uint8_t v) { Attr(type, &v, sizeof(v)); }
  void Str(uint16_t type, const std::string& s) {
    Attr(type, s.c_str(), s.size() + 1);
  }
  std::string Done() {
    h_.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + body_.size());
    std::string out(reinterpret_cast<const char*>(&h_), sizeof(h_));
    out.append(NLMSG_HDRLEN - sizeof(h_), '\0');
    out += body_;
    return out;
  }

 private:
  struct nlmsghdr h_ = {};
  std::string body_;
};

size_t AddrLen(int family) { return family == AF_INET ? 4 : 16; }

std::string LinkMsg(const Interface& i, uint16_t flags, uint32_t seq,
                    uint32_t pid) {
  Msg m(RTM_NEWLINK, flags, seq, pid);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_type = i.type;
  ifi.ifi_index = i.index;
  ifi.ifi_flags = i.flags | kIffLowerUp;
  m.Fixed(ifi);
  m.Str(IFLA_IFNAME, i.name);
  m.U32(IFLA_TXQLEN, 1000);
  m.U8(IFLA_OPERSTATE, kIfOperUnknown);  // what `lo` reports
  m.U8(IFLA_LINKMODE, 0);
  m.U32(IFLA_MTU, i.mtu);
  m.U32(IFLA_GROUP, 0);
  m.U32(IFLA_PROMISCUITY, 0);
  m.U32(IFLA_NUM_TX_QUEUES, 1);
  m.U32(IFLA_NUM_RX_QUEUES, 1);
  m.U8(IFLA_CARRIER, 1);
  m.Str(IFLA_QDISC, "noqueue");
  uint8_t hw[6] = {};
  m.Attr(IFLA_ADDRESS, hw, sizeof(hw));
  m.Attr(IFLA_BROADCAST, hw, sizeof(hw));
  struct rtnl_link_stats st = {};
  m.Attr(IFLA_STATS, &st, sizeof(st));
  struct rtnl_link_stats64 st64 = {};
  m.Attr(IFLA_STATS64, &st64, sizeof(st64));
  return m.Done();
}

std::string AddrMsg(const Interface& i, const InterfaceAddr& a, uint16_t flags,
                    uint32_t seq, uint32_t pid) {
  Msg m(RTM_NEWADDR, flags, seq, pid);
  struct ifaddrmsg ifa = {};
  ifa.ifa_family = static_cast<uint8_t>(a.family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefix_len);
  ifa.ifa_flags = IFA_F_PERMANENT;
  ifa.ifa_scope = RT_SCOPE_HOST;
  ifa.ifa_index = static_cast<uint32_t>(i.index);
  m.Fixed(ifa);
  m.Attr(IFA_ADDRESS, a.addr, AddrLen(a.family));
  if (a.family == AF_INET) {
    m.Attr(IFA_LOCAL, a.addr, 4);
    m.Str(IFA_LABEL, i.name);
  }
  m.U32(IFA_FLAGS, IFA_F_PERMANENT);
  struct ifa_cacheinfo ci = {};
  ci.ifa_prefered = 0xffffffff;
  ci.ifa_valid = 0xffffffff;
  m.Attr(IFA_CACHEINFO, &ci, sizeof(ci));
  return m.Done();
}

// The routes Linux has with `lo` alone: the local table's, and ::1 in
// the main table.
struct Route {
  int family;
  uint8_t dst[16];
  int dst_len;
  uint8_t table;
  uint8_t type;
  uint8_t scope;
  bool prefsrc;
  uint32_t priority;
};

std::vector<Route> Routes() {
  std::vector<Route> r;
  Route net = {AF_INET,   {127, 0, 0, 0}, 8,    RT_TABLE_LOCAL,
               RTN_LOCAL, RT_SCOPE_HOST,  true, 0};
  Route host = {AF_INET,   {127, 0, 0, 1}, 32,   RT_TABLE_LOCAL,
                RTN_LOCAL, RT_SCOPE_HOST,  true, 0};
  Route bcast = {AF_INET,       {127, 255, 255, 255}, 32,   RT_TABLE_LOCAL,
                 RTN_BROADCAST, RT_SCOPE_LINK,        true, 0};
  Route v6main = {AF_INET6,          {},    128, RT_TABLE_MAIN, RTN_UNICAST,
                  RT_SCOPE_UNIVERSE, false, 256};
  v6main.dst[15] = 1;
  Route v6local = v6main;
  v6local.table = RT_TABLE_LOCAL;
  v6local.type = RTN_LOCAL;
  v6local.priority = 0;
  r = {net, host, bcast, v6main, v6local};
  return r;
}

std::string RouteMsg(const Route& rt, uint16_t flags, uint32_t seq,
                     uint32_t pid) {
  Msg m(RTM_NEWROUTE, flags, seq, pid);
  struct rtmsg rm = {};
  rm.rtm_family = static_cast<uint8_t>(rt.family);
  rm.rtm_dst_len = static_cast<uint8_t>(rt.dst_len);
  rm.rtm_table = rt.table;
  rm.rtm_protocol = RTPROT_KERNEL;
  rm.rtm_scope = rt.scope;
  rm.rtm_type = rt.type;
  m.Fixed(rm);
  m.U32(RTA_TABLE, rt.table);
  m.Attr(RTA_DST, rt.dst, AddrLen(rt.family));
  if (rt.priority != 0) m.U32(RTA_PRIORITY, rt.priority);
  if (rt.family == AF_INET6) m.U8(RTA_PREF, 0);  // ICMPV6_ROUTER_PREF_MEDIUM
  if (rt.prefsrc) {
    uint8_t src[4] = {127, 0, 0, 1};
    m.Attr(RTA_PREFSRC, src, 4);
  }
  m.U32(RTA_OIF, 1);
  return m.Done();
}

std::string ErrorMsg(const struct nlmsghdr& req, int err, uint32_t pid) {
  Msg m(NLMSG_ERROR, err == 0 ? NLM_F_CAPPED : 0, req.nlmsg_seq, pid);
  struct nlmsgerr e = {};
  e.error = -err;
  e.msg = req;
  m.Fixed(e);
  return m.Done();
}

// The family a dump request asks for: its first payload byte (rtgenmsg,
// ifinfomsg, ifaddrmsg and rtmsg all start with it), AF_UNSPEC if absent.
int RequestFamily(const char* payload, size_t len) {
  return len >= 1 ? static_cast<uint8_t>(payload[0]) : AF_UNSPEC;
}

// Finds the IFLA_IFNAME attribute of an RTM_GETLINK request.
std::string IfName(const char* payload, size_t len) {
  size_t off = NLMSG_ALIGN(sizeof(struct ifinfomsg));
  while (off + sizeof(struct rtattr) <= len) {
    struct rtattr a;
    memcpy(&a, payload + off, sizeof(a));
    if (a.rta_len < sizeof(a) || off + a.rta_len > len) break;
    if (a.rta_type == IFLA_IFNAME) {
      std::string name(payload + off + RTA_LENGTH(0),
                       a.rta_len - RTA_LENGTH(0));
      return std::string(name.c_str());
    }
    off += RTA_ALIGN(a.rta_len);
  }
  return "";
}

}  // namespace

NetlinkSocket::NetlinkSocket(int type, int protocol, int32_t tgid)
    : type_(type), protocol_(protocol), tgid_(tgid) {}

NetlinkSocket::~NetlinkSocket() {
  absl::MutexLock l(&mu_);
  if (port_id_ != 0) {
    Ports& p = AllPorts();
    absl::MutexLock pl(&p.mu);
    p.used.erase(port_id_);
  }
}

SysResult<void> NetlinkSocket::AutobindLocked() {
  if (port_id_ != 0) return Ok();
  Ports& p = AllPorts();
  absl::MutexLock pl(&p.mu);
  uint32_t id = static_cast<uint32_t>(tgid_);
  if (tgid_ <= 0 || p.used.count(id) != 0) {
    for (;;) {
      id = static_cast<uint32_t>(p.next_rover--);
      if (p.next_rover > -4096) p.next_rover = -4096;
      if (p.used.count(id) == 0) break;
    }
  }
  p.used[id] = protocol_;
  port_id_ = id;
  return Ok();
}

SysResult<void> NetlinkSocket::Bind(uint32_t port_id, uint32_t groups) {
  absl::MutexLock l(&mu_);
  if (port_id_ != 0) {
    // Linux lets a bound socket bind again only to the same port id.
    if (port_id != 0 && port_id != port_id_) return Errno(EINVAL);
  } else if (port_id == 0) {
    SENTRY_RETURN_IF_ERROR(AutobindLocked());
  } else {
    Ports& p = AllPorts();
    absl::MutexLock pl(&p.mu);
    if (p.used.count(port_id) != 0) return Errno(EADDRINUSE);
    p.used[port_id] = protocol_;
    port_id_ = port_id;
  }
  groups_ = groups;
  return Ok();
}

uint32_t NetlinkSocket::PortId() {
  absl::MutexLock l(&mu_);
  return port_id_;
}

uint32_t NetlinkSocket::Groups() {
  absl::MutexLock l(&mu_);
  return groups_;
}

void NetlinkSocket::Handle(const struct nlmsghdr& h, const char* payload,
                           size_t len, bool net_admin,
                           std::deque<std::string>* out) {
  uint32_t pid = port_id_;
  bool dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  bool get = h.nlmsg_type >= RTM_BASE && h.nlmsg_type <= RTM_MAX &&
             (h.nlmsg_type & 3) == 2;  // the RTM_GET* kinds
  int err = 0;
  if (h.nlmsg_type > RTM_MAX) {
    err = EOPNOTSUPP;
  } else if (!get && !net_admin) {
    err = EPERM;
  } else if (get && dump) {
    int family = RequestFamily(payload, len);
    std::vector<std::string> msgs;
    switch (h.nlmsg_type) {
      case RTM_GETLINK:
        for (const Interface& i : Interfaces()) {
          msgs.push_back(LinkMsg(i, NLM_F_MULTI, h.nlmsg_seq, pid));
        }
        break;
      case RTM_GETADDR:
        for (const Interface& i : Interfaces()) {
          for (const InterfaceAddr& a : i.addrs) {
            if (family != AF_UNSPEC && family != a.family) continue;
            msgs.push_back(AddrMsg(i, a, NLM_F_MULTI, h.nlmsg_seq, pid));
          }
        }
        break;
      case RTM_GETROUTE:
        for (const Route& r : Routes()) {
          if (family != AF_UNSPEC && family != r.family) continue;
          msgs.push_back(RouteMsg(r, NLM_F_MULTI, h.nlmsg_seq, pid));
        }
        break;
      default:
        // Neighbours, rules, qdiscs, ...: there are none to list.
        break;
    }
    Msg done(NLMSG_DONE, NLM_F_MULTI, h.nlmsg_seq, pid);
    int zero = 0;
    done.Fixed(zero);
    msgs.push_back(done.Done());
    std::string chunk;
    for (std::string& m : msgs) {
      if (!chunk.empty() && chunk.size() + m.size() > kDumpChunk) {
        out->push_back(std::move(chunk));
        chunk.clear();
      }
      chunk += m;
    }
    out->push_back(std::move(chunk));
    return;
  } else if (h.nlmsg_type == RTM_GETLINK) {
    struct ifinfomsg ifi = {};
    memcpy(&ifi, payload, std::min(len, sizeof(ifi)));
    std::string name = IfName(payload, len);
    const Interface* found = nullptr;
    for (const Interface& i : Interfaces()) {
      if ((ifi.ifi_index != 0 && i.index == ifi.ifi_index) ||
          (ifi.ifi_index == 0 && !name.empty() && i.name == name)) {
        found = &i;
      }
    }
    if (found == nullptr) {
      err = ifi.ifi_index == 0 && name.empty() ? EINVAL : ENODEV;
    } else {
      out->push_back(LinkMsg(*found, 0, h.nlmsg_seq, pid));
    }
  } else if (get) {
    err = EOPNOTSUPP;
  } else if (h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_SETLINK) {
    // `ip link set lo up`: already so. Anything else would change the
    // network, which this stack cannot.
    struct ifinfomsg ifi = {};
    memcpy(&ifi, payload, std::min(len, sizeof(ifi)));
    bool up_only = (ifi.ifi_change & ~IFF_UP) == 0 &&
                   (ifi.ifi_flags & ifi.ifi_change & IFF_UP) ==
                       (ifi.ifi_change & IFF_UP) &&
                   len <= NLMSG_ALIGN(sizeof(ifi));
    err = up_only && (ifi.ifi_index == 1 || IfName(payload, len) == "lo")
              ? 0
              : EOPNOTSUPP;
  } else {
    err = EOPNOTSUPP;
  }
  if (err != 0 || (h.nlmsg_flags & NLM_F_ACK) != 0) {
    out->push_back(ErrorMsg(h, err, pid));
  }
}

SysResult<size_t> NetlinkSocket::Send(const std::string& data, bool net_admin) {
  std::deque<std::string> answers;
  {
    absl::MutexLock l(&mu_);
    SENTRY_RETURN_IF_ERROR(AutobindLocked());
    size_t off = 0;
    while (off + NLMSG_HDRLEN <= data.size()) {
      struct nlmsghdr h;
      memcpy(&h, data.data() + off, sizeof(h));
      // A malformed message ends the batch silently, as in Linux.
      if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > data.size() - off) break;
      if ((h.nlmsg_flags & NLM_F_REQUEST) != 0 &&
          h.nlmsg_type >= NLMSG_MIN_TYPE) {
        Handle(h, data.data() + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN,
               net_admin, &answers);
      } else if ((h.nlmsg_flags & NLM_F_ACK) != 0) {
        answers.push_back(ErrorMsg(h, 0, port_id_));
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
    size_t limit = static_cast<size_t>(rcvbuf.load());
    for (std::string& a : answers) {
      // A full receive queue loses answers; Linux reports that with
      // ENOBUFS on the next recv, here the dump is just cut short.
      if (rx_bytes_ + a.size() > limit && !rx_.empty()) break;
      rx_bytes_ += a.size();
      rx_.push_back(std::move(a));
    }
  }
  queue_.Notify(kEventIn);
  return data.size();
}

void NetlinkSocket::Deliver(std::string datagram) {
  {
    absl::MutexLock l(&mu_);
    if (rx_bytes_ + datagram.size() > static_cast<size_t>(rcvbuf.load()))
      return;
    rx_bytes_ += datagram.size();
    rx_.push_back(std::move(datagram));
  }
  queue_.Notify(kEventIn);
}

SysResult<RecvResult> NetlinkSocket::Recv(vfs::CallContext& ctx, char* buf,
                                          size_t len, bool peek, bool block,
                                          std::optional<absl::Time> deadline) {
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (!rx_.empty()) {
        RecvResult r;
        r.length = rx_.front().size();
        r.copied = std::min(len, r.length);
        memcpy(buf, rx_.front().data(), r.copied);
        if (!peek) {
          rx_bytes_ -= r.length;
          rx_.pop_front();
        }
        return r;
      }
    }
    if (!block) return Errno(EAGAIN);
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(BlockOn(ctx, deadline));
  }
}

uint32_t NetlinkSocket::Readiness(uint32_t mask) {
  absl::MutexLock l(&mu_);
  uint32_t r = POLLOUT | POLLWRNORM;
  if (!rx_.empty()) r |= POLLIN | POLLRDNORM;
  return r & (mask | POLLERR | POLLHUP);
}

size_t NetlinkSocket::InQueue() {
  absl::MutexLock l(&mu_);
  return rx_bytes_;
}

NetlinkSocketFD::NetlinkSocketFD(vfs::VirtualDentry vd, int flags,
                                 std::shared_ptr<NetlinkSocket> socket)
    : vfs::StreamFD(std::move(vd), flags), socket_(std::move(socket)) {}

std::shared_ptr<NetlinkSocketFD> NetlinkSocketFD::New(
    std::shared_ptr<NetlinkSocket> socket, int flags, uint32_t uid,
    uint32_t gid) {
  vfs::VirtualDentry vd =
      fs::anon::NewAnonFile("sockfs", S_IFSOCK | 0777, uid, gid);
  return std::make_shared<NetlinkSocketFD>(std::move(vd), O_RDWR | flags,
                                           std::move(socket));
}

SysResult<size_t> NetlinkSocketFD::Read(vfs::CallContext& ctx, char* buf,
                                        size_t len, int64_t*) {
  SENTRY_ASSIGN_OR_RETURN(
      RecvResult r, socket_->Recv(ctx, buf, len, false,
                                  (flags() & O_NONBLOCK) == 0, std::nullopt));
  return r.copied;
}

SysResult<size_t> NetlinkSocketFD::Write(vfs::CallContext& ctx, const char* buf,
                                         size_t len, int64_t*) {
  bool admin = ctx.creds().HasCapability(auth::Capability::kNetAdmin);
  return socket_->Send(std::string(buf, len), admin);
}

SysResult<int64_t> NetlinkSocketFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                          uint64_t arg) {
  if (cmd == FIONREAD) {
    int n = static_cast<int>(std::min<size_t>(socket_->InQueue(), INT32_MAX));
    SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
    return 0;
  }
  if (IsInterfaceIoctl(cmd)) return InterfaceIoctl(ctx, cmd, arg, false);
  return vfs::StreamFD::Ioctl(ctx, cmd, arg);
}

uint32_t NetlinkSocketFD::Readiness(uint32_t mask) {
  return socket_->Readiness(mask);
}

std::string NetlinkSocketFD::AnonName() const {
  return absl::StrCat("socket:[", fs::anon::AnonIno(vd()), "]");
}

}  // namespace sentry::net::netlink
