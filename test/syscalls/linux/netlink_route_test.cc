// NETLINK_ROUTE sockets and the interface views built on the same list, as
// Linux gives them: socket(2) types and protocols, bind/getsockname port
// ids, RTM_GETLINK and RTM_GETADDR dumps (lo with index 1, 127.0.0.1/8,
// ::1/128; every message carrying the request's sequence number and the
// socket's port id; NLMSG_DONE last), RTM_GETLINK by index and its ENODEV,
// NLMSG_ERROR for an unknown type, NLM_F_ACK, MSG_TRUNC and MSG_PEEK on
// a netlink datagram; getifaddrs(3), if_nametoindex(3) and the SIOCGIF*
// ioctls on inet and unix sockets; /proc/net/{tcp,udp,dev} listing the
// caller's own sockets. The machine running it natively may have more
// interfaces than lo: the tests look for lo, never for lo alone.

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test/util/socket_util.h"
#include "test/util/test_util.h"

namespace {

using testing_util::Fd;

int RouteSocket() {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

// Sends one request: header, then `payload`.
void Request(int fd, uint16_t type, uint16_t flags, uint32_t seq,
             const void* payload, size_t len) {
  std::string buf(NLMSG_SPACE(len), '\0');
  auto* h = reinterpret_cast<struct nlmsghdr*>(buf.data());
  h->nlmsg_len = NLMSG_LENGTH(len);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  memcpy(NLMSG_DATA(h), payload, len);
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ASSERT_EQ(sendto(fd, buf.data(), h->nlmsg_len, 0,
                   reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel)),
            static_cast<ssize_t>(h->nlmsg_len));
}

// Reads answers until NLMSG_DONE, an NLMSG_ERROR, or (with `one`) the
// first message; returns every message.
std::vector<std::string> Answers(int fd, bool until_done) {
  std::vector<std::string> out;
  for (int round = 0; round < 100; round++) {
    char buf[65536];
    struct sockaddr_nl from = {};
    socklen_t fromlen = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
                         reinterpret_cast<struct sockaddr*>(&from), &fromlen);
    EXPECT_GT(n, 0) << strerror(errno);
    if (n <= 0) return out;
    EXPECT_EQ(from.nl_family, AF_NETLINK);
    EXPECT_EQ(from.nl_pid, 0u);  // from the kernel
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<struct nlmsghdr*>(buf); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      out.emplace_back(reinterpret_cast<char*>(h), h->nlmsg_len);
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        return out;
      }
      if (!until_done) return out;
    }
  }
  ADD_FAILURE() << "no NLMSG_DONE";
  return out;
}

const struct nlmsghdr* Hdr(const std::string& m) {
  return reinterpret_cast<const struct nlmsghdr*>(m.data());
}

// The attributes after a fixed part of `fixed` bytes.
std::vector<std::pair<int, std::string>> Attrs(const std::string& m,
                                               size_t fixed) {
  std::vector<std::pair<int, std::string>> out;
  const auto* h = Hdr(m);
  auto* a = reinterpret_cast<const struct rtattr*>(
      reinterpret_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(fixed));
  int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(fixed));
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    out.emplace_back(a->rta_type,
                     std::string(reinterpret_cast<const char*>(RTA_DATA(a)),
                                 RTA_PAYLOAD(a)));
  }
  return out;
}

std::string Attr(const std::vector<std::pair<int, std::string>>& attrs,
                 int type) {
  for (const auto& [t, v] : attrs) {
    if (t == type) return v;
  }
  return "";
}

uint32_t PortId(int fd) {
  struct sockaddr_nl a = {};
  socklen_t len = sizeof(a);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<struct sockaddr*>(&a), &len), 0);
  EXPECT_EQ(len, sizeof(a));
  EXPECT_EQ(a.nl_family, AF_NETLINK);
  return a.nl_pid;
}

TEST(NetlinkRoute, SocketTypesAndProtocols) {
  Fd raw(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
  EXPECT_GE(raw.get(), 0) << strerror(errno);
  Fd dgram(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE));
  EXPECT_GE(dgram.get(), 0) << strerror(errno);
  EXPECT_ERRNO(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(socket(AF_NETLINK, SOCK_RAW, MAX_LINKS), EPROTONOSUPPORT);
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_EQ(getsockopt(raw.get(), SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
  EXPECT_EQ(v, AF_NETLINK);
  ASSERT_EQ(getsockopt(raw.get(), SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
  EXPECT_EQ(v, NETLINK_ROUTE);
  ASSERT_EQ(getsockopt(dgram.get(), SOL_SOCKET, SO_TYPE, &v, &len), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  // Netlink has no connections to listen for or shut down.
  EXPECT_ERRNO(listen(raw.get(), 1), EOPNOTSUPP);
  EXPECT_ERRNO(shutdown(raw.get(), SHUT_RDWR), EOPNOTSUPP);
}

TEST(NetlinkRoute, BindGivesPortIds) {
  Fd a(RouteSocket());
  ASSERT_GE(a.get(), 0);
  EXPECT_EQ(PortId(a.get()), 0u);  // unbound
  struct sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  ASSERT_EQ(
      bind(a.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0)
      << strerror(errno);
  uint32_t pa = PortId(a.get());
  EXPECT_NE(pa, 0u);
  // Another socket never gets the same id; asking for a taken one fails.
  Fd b(RouteSocket());
  ASSERT_GE(b.get(), 0);
  ASSERT_EQ(
      bind(b.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)),
      0);
  EXPECT_NE(PortId(b.get()), pa);
  Fd c(RouteSocket());
  addr.nl_pid = pa;
  EXPECT_ERRNO(
      bind(c.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)),
      EADDRINUSE);
  // A short address or another family is EINVAL.
  EXPECT_ERRNO(bind(c.get(), reinterpret_cast<struct sockaddr*>(&addr), 4),
               EINVAL);
  addr.nl_family = AF_INET;
  addr.nl_pid = 0;
  EXPECT_ERRNO(
      bind(c.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)),
      EINVAL);
}

TEST(NetlinkRoute, LinkDumpListsLo) {
  Fd fd(RouteSocket());
  ASSERT_GE(fd.get(), 0);
  struct ifinfomsg req = {};
  req.ifi_family = AF_UNSPEC;
  Request(fd.get(), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 42, &req,
          sizeof(req));
  uint32_t port = PortId(fd.get());
  EXPECT_NE(port, 0u);  // sending bound it
  std::vector<std::string> msgs = Answers(fd.get(), true);
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(Hdr(msgs.back())->nlmsg_type, NLMSG_DONE);
  bool lo = false;
  for (const std::string& m : msgs) {
    EXPECT_EQ(Hdr(m)->nlmsg_seq, 42u);
    EXPECT_EQ(Hdr(m)->nlmsg_pid, port);
    EXPECT_NE(Hdr(m)->nlmsg_flags & NLM_F_MULTI, 0);
    if (Hdr(m)->nlmsg_type != RTM_NEWLINK) continue;
    const auto* ifi =
        reinterpret_cast<const struct ifinfomsg*>(NLMSG_DATA(Hdr(m)));
    auto attrs = Attrs(m, sizeof(*ifi));
    if (std::string(Attr(attrs, IFLA_IFNAME).c_str()) != "lo") continue;
    lo = true;
    EXPECT_EQ(ifi->ifi_index, 1);
    EXPECT_EQ(ifi->ifi_type, 772);  // ARPHRD_LOOPBACK
    EXPECT_NE(ifi->ifi_flags & IFF_LOOPBACK, 0u);
    EXPECT_NE(ifi->ifi_flags & IFF_UP, 0u);
    std::string mtu = Attr(attrs, IFLA_MTU);
    ASSERT_EQ(mtu.size(), 4u);
    uint32_t m32;
    memcpy(&m32, mtu.data(), 4);
    EXPECT_EQ(m32, 65536u);
  }
  EXPECT_TRUE(lo);
}

TEST(NetlinkRoute, AddrDumpByFamily) {
  Fd fd(RouteSocket());
  ASSERT_GE(fd.get(), 0);
  for (int family : {AF_INET, AF_INET6}) {
    struct ifaddrmsg req = {};
    req.ifa_family = static_cast<uint8_t>(family);
    Request(fd.get(), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 7, &req,
            sizeof(req));
    bool found = false;
    for (const std::string& m : Answers(fd.get(), true)) {
      if (Hdr(m)->nlmsg_type != RTM_NEWADDR) continue;
      const auto* ifa =
          reinterpret_cast<const struct ifaddrmsg*>(NLMSG_DATA(Hdr(m)));
      EXPECT_EQ(ifa->ifa_family, family);
      std::string addr = Attr(Attrs(m, sizeof(*ifa)), IFA_ADDRESS);
      if (family == AF_INET) {
        uint32_t lo = htonl(INADDR_LOOPBACK);
        if (addr == std::string(reinterpret_cast<char*>(&lo), 4)) {
          found = true;
          EXPECT_EQ(ifa->ifa_prefixlen, 8);
          EXPECT_EQ(ifa->ifa_index, 1u);
          EXPECT_EQ(ifa->ifa_scope, RT_SCOPE_HOST);
        }
      } else if (addr ==
                 std::string(reinterpret_cast<const char*>(&in6addr_loopback),
                             16)) {
        found = true;
        EXPECT_EQ(ifa->ifa_prefixlen, 128);
        EXPECT_EQ(ifa->ifa_index, 1u);
      }
    }
    EXPECT_TRUE(found) << "family " << family;
  }
}

TEST(NetlinkRoute, GetLinkByIndex) {
  Fd fd(RouteSocket());
  ASSERT_GE(fd.get(), 0);
  struct ifinfomsg req = {};
  req.ifi_index = 1;
  Request(fd.get(), RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 9, &req,
          sizeof(req));
  std::vector<std::string> one = Answers(fd.get(), false);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(Hdr(one[0])->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(Hdr(one[0])->nlmsg_flags & NLM_F_MULTI, 0);
  // NLM_F_ACK adds an NLMSG_ERROR with error 0 after the answer.
  std::vector<std::string> ack = Answers(fd.get(), false);
  ASSERT_EQ(ack.size(), 1u);
  ASSERT_EQ(Hdr(ack[0])->nlmsg_type, NLMSG_ERROR);
  EXPECT_EQ(
      reinterpret_cast<const struct nlmsgerr*>(NLMSG_DATA(Hdr(ack[0])))->error,
      0);

  req.ifi_index = 0x7ffffff0;
  Request(fd.get(), RTM_GETLINK, NLM_F_REQUEST, 10, &req, sizeof(req));
  std::vector<std::string> err = Answers(fd.get(), false);
  ASSERT_EQ(err.size(), 1u);
  ASSERT_EQ(Hdr(err[0])->nlmsg_type, NLMSG_ERROR);
  const auto* e =
      reinterpret_cast<const struct nlmsgerr*>(NLMSG_DATA(Hdr(err[0])));
  EXPECT_EQ(e->error, -ENODEV);
  EXPECT_EQ(e->msg.nlmsg_seq, 10u);  // the request is echoed
  EXPECT_EQ(e->msg.nlmsg_type, RTM_GETLINK);
}

TEST(NetlinkRoute, UnknownTypeIsAnError) {
  Fd fd(RouteSocket());
  ASSERT_GE(fd.get(), 0);
  char payload[4] = {};
  Request(fd.get(), 0x7ff0, NLM_F_REQUEST, 3, payload, sizeof(payload));
  std::vector<std::string> err = Answers(fd.get(), false);
  ASSERT_EQ(err.size(), 1u);
  ASSERT_EQ(Hdr(err[0])->nlmsg_type, NLMSG_ERROR);
  EXPECT_EQ(
      reinterpret_cast<const struct nlmsgerr*>(NLMSG_DATA(Hdr(err[0])))->error,
      -EOPNOTSUPP);
}

TEST(NetlinkRoute, TruncateAndPeek) {
  Fd fd(RouteSocket());
  ASSERT_GE(fd.get(), 0);
  struct ifinfomsg req = {};
  req.ifi_index = 1;
  Request(fd.get(), RTM_GETLINK, NLM_F_REQUEST, 5, &req, sizeof(req));
  char whole[65536];
  ssize_t n = recv(fd.get(), whole, sizeof(whole), MSG_PEEK);
  ASSERT_GT(n, static_cast<ssize_t>(NLMSG_HDRLEN));
  // MSG_TRUNC reports the datagram's length; the flag says it was cut.
  char small[8];
  struct iovec iov = {small, sizeof(small)};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  EXPECT_EQ(recvmsg(fd.get(), &m, MSG_PEEK | MSG_TRUNC), n);
  EXPECT_NE(m.msg_flags & MSG_TRUNC, 0);
  EXPECT_EQ(recv(fd.get(), small, sizeof(small), 0), 8);
  // The datagram is gone, cut or not.
  EXPECT_ERRNO(recv(fd.get(), whole, sizeof(whole), MSG_DONTWAIT), EAGAIN);
}

TEST(NetlinkRoute, GetifaddrsAndIfIndex) {
  struct ifaddrs* ifs = nullptr;
  ASSERT_EQ(getifaddrs(&ifs), 0) << strerror(errno);
  bool v4 = false, v6 = false;
  for (struct ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (std::string(i->ifa_name) != "lo" || i->ifa_addr == nullptr) continue;
    EXPECT_NE(i->ifa_flags & IFF_LOOPBACK, 0u);
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* in = reinterpret_cast<struct sockaddr_in*>(i->ifa_addr);
      v4 |= in->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* in6 = reinterpret_cast<struct sockaddr_in6*>(i->ifa_addr);
      v6 |= memcmp(&in6->sin6_addr, &in6addr_loopback, 16) == 0;
    }
  }
  freeifaddrs(ifs);
  EXPECT_TRUE(v4);
  EXPECT_TRUE(v6);
  EXPECT_EQ(if_nametoindex("lo"), 1u);
  char name[IF_NAMESIZE] = {};
  ASSERT_NE(if_indextoname(1, name), nullptr);
  EXPECT_STREQ(name, "lo");
  EXPECT_EQ(if_nametoindex("no-such-if0"), 0u);
}

TEST(NetlinkRoute, InterfaceIoctlsOnAnySocket) {
  for (int domain : {AF_INET, AF_UNIX}) {
    Fd s(socket(domain, SOCK_DGRAM, 0));
    ASSERT_GE(s.get(), 0);
    struct ifreq r = {};
    strcpy(r.ifr_name, "lo");
    ASSERT_EQ(ioctl(s.get(), SIOCGIFINDEX, &r), 0) << strerror(errno);
    EXPECT_EQ(r.ifr_ifindex, 1);
    ASSERT_EQ(ioctl(s.get(), SIOCGIFFLAGS, &r), 0);
    EXPECT_NE(r.ifr_flags & IFF_UP, 0);
    EXPECT_NE(r.ifr_flags & IFF_LOOPBACK, 0);
    ASSERT_EQ(ioctl(s.get(), SIOCGIFMTU, &r), 0);
    EXPECT_EQ(r.ifr_mtu, 65536);
    if (domain == AF_INET) {
      ASSERT_EQ(ioctl(s.get(), SIOCGIFADDR, &r), 0);
      auto* in = reinterpret_cast<struct sockaddr_in*>(&r.ifr_addr);
      EXPECT_EQ(in->sin_family, AF_INET);
      EXPECT_EQ(in->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    } else {
      // Only inet sockets answer the address requests.
      EXPECT_ERRNO(ioctl(s.get(), SIOCGIFADDR, &r), ENOTTY);
    }
    r.ifr_ifindex = 1;
    ASSERT_EQ(ioctl(s.get(), SIOCGIFNAME, &r), 0);
    EXPECT_STREQ(r.ifr_name, "lo");
    strcpy(r.ifr_name, "no-such-if0");
    EXPECT_ERRNO(ioctl(s.get(), SIOCGIFFLAGS, &r), ENODEV);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ProcNet, ListsOwnSockets) {
  Fd l(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(l.get(), 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof(a)),
            0);
  ASSERT_EQ(listen(l.get(), 1), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(l.get(), reinterpret_cast<struct sockaddr*>(&a), &len),
            0);
  char want[64];
  // 127.0.0.1 as /proc prints it, the port in hex, state 0A (LISTEN).
  snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A",
           ntohs(a.sin_port));
  EXPECT_NE(ReadFile("/proc/net/tcp").find(want), std::string::npos) << want;

  Fd u(socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_GE(u.get(), 0);
  a.sin_port = 0;
  ASSERT_EQ(bind(u.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof(a)),
            0);
  len = sizeof(a);
  ASSERT_EQ(getsockname(u.get(), reinterpret_cast<struct sockaddr*>(&a), &len),
            0);
  snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 07",
           ntohs(a.sin_port));
  EXPECT_NE(ReadFile("/proc/net/udp").find(want), std::string::npos) << want;
  EXPECT_NE(ReadFile("/proc/net/dev").find(" lo:"), std::string::npos);
}

}  // namespace
