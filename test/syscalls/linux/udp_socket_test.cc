// Loopback UDP sockets (AF_INET and AF_INET6, with v4-mapped addresses on an
// AF_INET6 socket), as Linux behaves: socket(2) types, protocols and flags;
// bind(2) (ephemeral ports, EADDRINUSE, SO_REUSEADDR and SO_REUSEPORT
// sharing with each datagram delivered once, EINVAL once bound,
// EADDRNOTAVAIL); sendto/recvfrom with the sender's name (and short name
// buffers); autobinding by sendto (and by a send that fails); EDESTADDRREQ;
// datagram boundaries, truncation (MSG_TRUNC in msg_flags, MSG_TRUNC on recv
// returning the real length), zero-length datagrams, MSG_PEEK, MSG_WAITALL
// (ignored), MSG_DONTWAIT; connect(2) as the default destination and a
// filter on senders, 0.0.0.0 and :: meaning loopback, AF_UNSPEC
// disconnecting (and what it forgets); ECONNREFUSED for a connected socket
// whose peer port is closed (reported once, by the next send, recv or
// SO_ERROR) and not for an unconnected one; EMSGSIZE past 65507 (IPv4) and
// 65527 (IPv6) bytes; FIONREAD (the next datagram's size); poll readiness;
// a full receive buffer dropping datagrams silently; shutdown(2);
// sendmmsg/recvmmsg; dual-stack and IPV6_V6ONLY delivery; socket options;
// EACCES for broadcast without SO_BROADCAST; and, each in a test of its own,
// IP_PKTINFO/IP_RECVTOS and IPV6_RECVPKTINFO/IPV6_RECVTCLASS.
//
// Everything here must hold natively: that is the reference the sandbox's
// loopback stack is measured against. A datagram (or an ICMP error) crosses
// the loopback device asynchronously, so the tests wait for arrivals with
// poll(2) or blocking calls and use MSG_DONTWAIT only to show that nothing
// more came.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "test/util/signal_util.h"
#include "test/util/socket_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::Drain;
using testing_util::kMs;
using testing_util::NowNs;
using testing_util::PendingMask;
using testing_util::ReadFile;
using testing_util::RunLater;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::Watchdog;

// ----------------------------------------------------------------- helpers

using testing_util::Fd;
using testing_util::GetIntOpt;
using testing_util::kV4;
using testing_util::kV6;
using testing_util::kVariants;
using testing_util::MakeAddr;
using testing_util::PeerName;
using testing_util::SetIntOpt;
using testing_util::SockAddr;
using testing_util::SockName;
using testing_util::V4;
using testing_util::V6;
using testing_util::Variant;
using testing_util::VariantName;

Fd NewUdp(int domain, int flags = 0) {
  Fd s(socket(domain, SOCK_DGRAM | SOCK_CLOEXEC | flags, 0));
  EXPECT_GE(s.get(), 0) << "socket: " << strerror(errno);
  return s;
}

// A UDP socket of `domain` bound to `addr` (port 0 picks one), with `opt`
// (e.g. SO_REUSEADDR) set first if it is not 0.
Fd BoundTo(int domain, const SockAddr& addr, int opt = 0) {
  Fd s = NewUdp(domain);
  if (opt != 0) SetIntOpt(s.get(), SOL_SOCKET, opt, 1);
  EXPECT_EQ(bind(s.get(), addr.sa(), addr.len), 0)
      << "bind " << addr.ToString() << ": " << strerror(errno);
  return s;
}

std::string ErrorStr(int err) {
  return "<error " + std::string(strerror(err)) + ">";
}

// What one recv(2) of at most `max` bytes returns, or "<error ...>".
std::string RecvStr(int fd, size_t max, int flags = 0) {
  std::string buf(max, '\0');
  ssize_t n = recv(fd, buf.data(), max, flags);
  if (n < 0) return ErrorStr(errno);
  buf.resize(std::min(static_cast<size_t>(n), max));
  return buf;
}

// One datagram from recvfrom(2) and the name it came with.
struct Datagram {
  std::string data;  // or "<error ...>"
  SockAddr from;
};

Datagram RecvFrom(int fd, size_t max = 1000, int flags = 0) {
  Datagram d;
  std::string buf(max, '\0');
  d.from.len = sizeof(d.from.ss);
  ssize_t n =
      recvfrom(fd, buf.data(), max, flags, d.from.mutable_sa(), &d.from.len);
  if (n < 0) {
    d.data = ErrorStr(errno);
    return d;
  }
  buf.resize(std::min(static_cast<size_t>(n), max));
  d.data = buf;
  return d;
}

ssize_t SendTo(int fd, const std::string& s, const SockAddr& to,
               int flags = 0) {
  return sendto(fd, s.data(), s.size(), flags, to.sa(), to.len);
}

ssize_t SendStr(int fd, const std::string& s, int flags = 0) {
  return send(fd, s.data(), s.size(), flags);
}

// The events poll(2) reports for `fd` at once (-1 if poll fails).
int Revents(int fd, short events = POLLIN | POLLOUT | POLLRDHUP) {
  struct pollfd p = {fd, events, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

// Waits up to 10 s for `fd` to report one of `events` (or POLLERR/POLLHUP,
// which need not be asked for); returns the events, 0 on a timeout.
int WaitEvents(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  int rc = poll(&p, 1, 10000);
  EXPECT_GE(rc, 0) << strerror(errno);
  return rc > 0 ? p.revents : 0;
}

// Waits for a datagram to be queued on `fd`; false after 10 s.
bool WaitReadable(int fd) { return WaitEvents(fd, POLLIN) & POLLIN; }

// Whether SIGPIPE became pending while `fn` ran (with SIGPIPE blocked).
bool RaisesSigpipe(const std::function<void()>& fn) {
  ScopedMask mask(SIG_BLOCK, {SIGPIPE});
  Drain({SIGPIPE});
  fn();
  bool pending = (PendingMask() & SigBit(SIGPIPE)) != 0;
  Drain({SIGPIPE});
  return pending;
}

// The ephemeral port range: Linux's sysctl where it can be read, else its
// default.
std::pair<int, int> EphemeralPorts() {
  int lo = 0, hi = 0;
  std::string range = ReadFile("/proc/sys/net/ipv4/ip_local_port_range");
  if (sscanf(range.c_str(), "%d %d", &lo, &hi) == 2) return {lo, hi};
  return {32768, 60999};
}

::testing::AssertionResult IsEphemeral(uint16_t port) {
  auto [lo, hi] = EphemeralPorts();
  if (port >= lo && port <= hi) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "port " << port << " is not in " << lo << ".." << hi;
}

// A UDP port that no socket of either family holds: one that a dual-stack
// wildcard bind could take.
uint16_t FreePort() {
  Fd s = NewUdp(AF_INET6);
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
  SockAddr any = V6("::");
  EXPECT_EQ(bind(s.get(), any.sa(), any.len), 0) << strerror(errno);
  return SockName(s.get()).port();
}

// A 64-bit-aligned control buffer for recvmsg(2).
struct Control {
  uint64_t buf[64] = {};
  size_t size() const { return sizeof(buf); }
};

class UdpTest : public ::testing::TestWithParam<Variant> {
 protected:
  const Variant& v() const { return GetParam(); }
  int domain() const { return GetParam().domain; }
  SockAddr Loopback(uint16_t port = 0) const {
    return MakeAddr(domain(), v().loopback, port);
  }
  SockAddr Any(uint16_t port = 0) const {
    return MakeAddr(domain(), v().any, port);
  }
  // A socket bound to loopback with an ephemeral port, and its name.
  Fd Bound(SockAddr* name = nullptr, int opt = 0) const {
    Fd s = BoundTo(domain(), Loopback(), opt);
    if (name != nullptr) *name = SockName(s.get());
    return s;
  }
  // A loopback address whose port nothing listens on: one that a closed
  // socket had picked.
  SockAddr Unreachable() const {
    SockAddr a;
    Bound(&a);
    return a;
  }
};

// ------------------------------------------------------------- socket(2)

TEST(UdpSocketTest, ProtocolZeroAndIpprotoUdpMakeUdpSockets) {
  for (int domain : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(domain == AF_INET ? "AF_INET" : "AF_INET6");
    for (int protocol : {0, static_cast<int>(IPPROTO_UDP)}) {
      Fd s(socket(domain, SOCK_DGRAM, protocol));
      ASSERT_GE(s.get(), 0) << strerror(errno);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_DOMAIN), domain);
      EXPECT_EQ(fcntl(s.get(), F_GETFD), 0);
      EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR);
    }
  }
}

TEST(UdpSocketTest, NonblockAndCloexecFlags) {
  for (int domain : {AF_INET, AF_INET6}) {
    Fd s(socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_GE(s.get(), 0) << strerror(errno);
    EXPECT_EQ(fcntl(s.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR | O_NONBLOCK);
    char c;
    EXPECT_ERRNO(recv(s.get(), &c, 1, 0), EAGAIN);
  }
}

TEST(UdpSocketTest, WrongProtocolIsEPROTONOSUPPORT) {
  for (int domain : {AF_INET, AF_INET6}) {
    EXPECT_ERRNO(socket(domain, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    EXPECT_ERRNO(socket(domain, SOCK_DGRAM, 253), EPROTONOSUPPORT);
  }
}

TEST_P(UdpTest, ANewSocketIsUnnamedAndWritable) {
  Fd s = NewUdp(domain());
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.family(), domain());
  EXPECT_EQ(name.len,
            domain() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  EXPECT_EQ(name.Ip(), v().any);
  EXPECT_EQ(name.port(), 0);
  SockAddr peer;
  peer.len = sizeof(peer.ss);
  EXPECT_ERRNO(getpeername(s.get(), peer.mutable_sa(), &peer.len), ENOTCONN);
  // Unlike an unconnected TCP socket, no POLLHUP.
  EXPECT_EQ(Revents(s.get()), POLLOUT);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ERROR), 0);
  // Receiving does not bind.
  char c;
  EXPECT_ERRNO(recv(s.get(), &c, 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(SockName(s.get()).port(), 0);
}

// ------------------------------------------------------------- bind(2)

TEST_P(UdpTest, BindToPortZeroPicksAnEphemeralPort) {
  SockAddr na, nb;
  Fd a = Bound(&na);
  Fd b = Bound(&nb);
  EXPECT_EQ(na.Ip(), v().loopback);
  EXPECT_TRUE(IsEphemeral(na.port()));
  EXPECT_TRUE(IsEphemeral(nb.port()));
  EXPECT_NE(na.port(), nb.port());
}

TEST_P(UdpTest, BindTheSamePortTwiceIsEADDRINUSE) {
  SockAddr taken;
  Fd a = Bound(&taken);
  Fd b = NewUdp(domain());
  EXPECT_ERRNO(bind(b.get(), taken.sa(), taken.len), EADDRINUSE);
  SockAddr any = Any(taken.port());
  EXPECT_ERRNO(bind(b.get(), any.sa(), any.len), EADDRINUSE);
  a.Reset();
  EXPECT_EQ(bind(b.get(), taken.sa(), taken.len), 0) << strerror(errno);
}

TEST_P(UdpTest, UdpAndTcpPortsAreSeparate) {
  // A TCP socket holding a port on every address of both families...
  Fd t(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(t.get(), 0) << strerror(errno);
  SetIntOpt(t.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
  SockAddr any6 = V6("::");
  ASSERT_OK(bind(t.get(), any6.sa(), any6.len));
  ASSERT_OK(listen(t.get(), 8));
  uint16_t port = SockName(t.get()).port();
  // ...leaves it free for UDP.
  Fd u = BoundTo(domain(), Loopback(port));
  EXPECT_EQ(SockName(u.get()).port(), port);
}

TEST_P(UdpTest, BindingABoundSocketAgainIsEINVAL) {
  SockAddr name;
  Fd s = Bound(&name);
  EXPECT_ERRNO(bind(s.get(), name.sa(), name.len), EINVAL);
  SockAddr other = Loopback();
  EXPECT_ERRNO(bind(s.get(), other.sa(), other.len), EINVAL);
}

TEST_P(UdpTest, BindToANonLocalAddressIsEADDRNOTAVAIL) {
  // TEST-NET-3 and the IPv6 documentation prefix: never local addresses.
  std::string ip = "203.0.113.1";
  if (domain() == AF_INET6) {
    ip = std::string(v().loopback) == "::1" ? "2001:db8::1"
                                            : "::ffff:203.0.113.1";
  }
  Fd s = NewUdp(domain());
  SockAddr a = MakeAddr(domain(), ip.c_str(), 0);
  EXPECT_ERRNO(bind(s.get(), a.sa(), a.len), EADDRNOTAVAIL);
}

TEST_P(UdpTest, ReuseAddrSocketsShareAPortAndEachDatagramGoesToOne) {
  Watchdog watchdog;
  SockAddr addr;
  Fd a = Bound(&addr, SO_REUSEADDR);
  Fd b = BoundTo(domain(), addr, SO_REUSEADDR);
  // Every socket on the port must ask for it.
  Fd c = NewUdp(domain());
  EXPECT_ERRNO(bind(c.get(), addr.sa(), addr.len), EADDRINUSE);
  Fd sender = Bound();
  ASSERT_EQ(SendTo(sender.get(), "once", addr), 4);
  struct pollfd fds[2] = {{a.get(), POLLIN, 0}, {b.get(), POLLIN, 0}};
  ASSERT_GE(poll(fds, 2, 10000), 1);
  int copies = 0;
  for (int fd : {a.get(), b.get()}) {
    std::string got = RecvStr(fd, 10, MSG_DONTWAIT);
    if (got == "once") {
      copies++;
    } else {
      EXPECT_EQ(got, ErrorStr(EAGAIN));
    }
  }
  EXPECT_EQ(copies, 1);
}

TEST_P(UdpTest, ReusePortSocketsShareAPort) {
  Watchdog watchdog;
  SockAddr addr;
  Fd a = Bound(&addr, SO_REUSEPORT);
  Fd b = BoundTo(domain(), addr, SO_REUSEPORT);
  Fd c = NewUdp(domain());
  SetIntOpt(c.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  EXPECT_ERRNO(bind(c.get(), addr.sa(), addr.len), EADDRINUSE);
  Fd sender = Bound();
  ASSERT_EQ(SendTo(sender.get(), "once", addr), 4);
  struct pollfd fds[2] = {{a.get(), POLLIN, 0}, {b.get(), POLLIN, 0}};
  ASSERT_GE(poll(fds, 2, 10000), 1);
  int copies = 0;
  for (int fd : {a.get(), b.get()}) {
    if (RecvStr(fd, 10, MSG_DONTWAIT) == "once") copies++;
  }
  EXPECT_EQ(copies, 1);
}

TEST(UdpBindTest, WildcardLoopbackAndOtherLoopbackAddresses) {
  uint16_t port = FreePort();
  Fd a = BoundTo(AF_INET, V4("127.0.0.1", port));
  Fd s = NewUdp(AF_INET);
  SockAddr any = V4("0.0.0.0", port);
  EXPECT_ERRNO(bind(s.get(), any.sa(), any.len), EADDRINUSE);
  Fd b = BoundTo(AF_INET, V4("127.0.0.2", port));
  EXPECT_EQ(SockName(b.get()).Ip(), "127.0.0.2");
  // Each gets the datagrams sent to its own address.
  Fd sender = BoundTo(AF_INET, V4("127.0.0.1"));
  ASSERT_EQ(SendTo(sender.get(), "to .2", V4("127.0.0.2", port)), 5);
  ASSERT_EQ(SendTo(sender.get(), "to .1", V4("127.0.0.1", port)), 5);
  EXPECT_EQ(RecvFrom(b.get()).data, "to .2");
  EXPECT_EQ(RecvFrom(a.get()).data, "to .1");
  EXPECT_EQ(RecvStr(b.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST(UdpBindTest, DualStackWildcardConflictsWithIpv4UnlessV6Only) {
  uint16_t port = FreePort();
  {
    Fd dual = BoundTo(AF_INET6, V6("::", port));
    Fd s = NewUdp(AF_INET);
    SockAddr lo = V4("127.0.0.1", port);
    EXPECT_ERRNO(bind(s.get(), lo.sa(), lo.len), EADDRINUSE);
  }
  Fd v6only = NewUdp(AF_INET6);
  SetIntOpt(v6only.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  SockAddr any6 = V6("::", port);
  ASSERT_OK(bind(v6only.get(), any6.sa(), any6.len));
  Fd v4 = BoundTo(AF_INET, V4("127.0.0.1", port));
  // An IPv4 datagram goes to the IPv4 socket only.
  Fd sender = BoundTo(AF_INET, V4("127.0.0.1"));
  ASSERT_EQ(SendTo(sender.get(), "v4", V4("127.0.0.1", port)), 2);
  EXPECT_EQ(RecvFrom(v4.get()).data, "v4");
  EXPECT_EQ(RecvStr(v6only.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST(UdpBindTest, AddressFamilyAndLengthErrors) {
  Fd s = NewUdp(AF_INET);
  SockAddr a = V4("127.0.0.1");
  EXPECT_ERRNO(bind(s.get(), a.sa(), sizeof(sockaddr_in) - 1), EINVAL);
  EXPECT_ERRNO(bind(s.get(), a.sa(), 0), EINVAL);
  SockAddr a6 = V6("::1");
  EXPECT_ERRNO(bind(s.get(), a6.sa(), a6.len), EAFNOSUPPORT);
  Fd s6 = NewUdp(AF_INET6);
  EXPECT_ERRNO(bind(s6.get(), a.sa(), a.len), EINVAL);
  SockAddr wrong = V6("::1");
  wrong.ss.ss_family = AF_INET;
  EXPECT_ERRNO(bind(s6.get(), wrong.sa(), wrong.len), EAFNOSUPPORT);
  // Nothing was bound by the failures.
  EXPECT_EQ(SockName(s.get()).port(), 0);
  EXPECT_EQ(SockName(s6.get()).port(), 0);
}

// ------------------------------------------------------ sendto/recvfrom

TEST_P(UdpTest, RecvfromGivesTheSendersName) {
  Watchdog watchdog;
  SockAddr raddr, saddr;
  Fd r = Bound(&raddr);
  Fd s = Bound(&saddr);
  ASSERT_EQ(SendTo(s.get(), "hello", raddr), 5);
  Datagram d = RecvFrom(r.get());
  EXPECT_EQ(d.data, "hello");
  EXPECT_EQ(d.from.ToString(), saddr.ToString());
  if (domain() == AF_INET6) {
    EXPECT_EQ(d.from.in6().sin6_flowinfo, 0u);
    EXPECT_EQ(d.from.in6().sin6_scope_id, 0u);
  }
  // A short name buffer gets a prefix; the length says how long it was.
  ASSERT_EQ(SendTo(s.get(), "again", raddr), 5);
  ASSERT_TRUE(WaitReadable(r.get()));
  SockAddr part;
  memset(&part.ss, 0xaa, sizeof(part.ss));
  part.len = 4;
  char buf[16];
  EXPECT_EQ(
      recvfrom(r.get(), buf, sizeof(buf), 0, part.mutable_sa(), &part.len), 5);
  EXPECT_EQ(part.len, saddr.len);
  EXPECT_EQ(memcmp(&part.ss, &saddr.ss, 4), 0);
  EXPECT_EQ(reinterpret_cast<unsigned char*>(&part.ss)[4], 0xaa);
  // No name buffer at all is fine.
  ASSERT_EQ(SendTo(s.get(), "third", raddr), 5);
  ASSERT_TRUE(WaitReadable(r.get()));
  EXPECT_EQ(recvfrom(r.get(), buf, sizeof(buf), 0, nullptr, nullptr), 5);
}

TEST_P(UdpTest, SendtoAutobindsToTheWildcardAddress) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = NewUdp(domain());
  ASSERT_EQ(SendTo(s.get(), "auto", raddr), 4);
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.Ip(), v().any);
  EXPECT_TRUE(IsEphemeral(name.port()));
  // The datagram came from loopback and that port; replies reach it.
  Datagram d = RecvFrom(r.get());
  EXPECT_EQ(d.data, "auto");
  EXPECT_EQ(d.from.Ip(), v().loopback);
  EXPECT_EQ(d.from.port(), name.port());
  ASSERT_EQ(SendTo(r.get(), "reply", d.from), 5);
  EXPECT_EQ(RecvFrom(s.get()).data, "reply");
}

TEST_P(UdpTest, EvenAFailedSendAutobinds) {
  // Linux binds a port before the protocol looks for a destination.
  Fd s = NewUdp(domain());
  EXPECT_ERRNO(SendStr(s.get(), "x"), EDESTADDRREQ);
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.Ip(), v().any);
  EXPECT_TRUE(IsEphemeral(name.port()));
}

TEST_P(UdpTest, SendWithoutADestinationIsEDESTADDRREQ) {
  Fd s = Bound();
  EXPECT_FALSE(RaisesSigpipe([&] {
    EXPECT_ERRNO(SendStr(s.get(), "x"), EDESTADDRREQ);
    EXPECT_ERRNO(write(s.get(), "x", 1), EDESTADDRREQ);
  }));
  char x[] = "x";
  struct iovec iov = {x, 1};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  EXPECT_ERRNO(sendmsg(s.get(), &msg, 0), EDESTADDRREQ);
}

TEST_P(UdpTest, SendtoAddressErrors) {
  Fd s = Bound();
  // Port 0 is no destination.
  SockAddr zero = Loopback(0);
  EXPECT_ERRNO(SendTo(s.get(), "x", zero), EINVAL);
  // Too short a name, by bind(2)'s rules: a whole sockaddr_in, or the 24
  // bytes of RFC 2133's sockaddr_in6.
  SockAddr to = Loopback(9);
  socklen_t short_len = domain() == AF_INET ? sizeof(sockaddr_in) - 1 : 23;
  EXPECT_ERRNO(sendto(s.get(), "x", 1, 0, to.sa(), short_len), EINVAL);
  if (domain() == AF_INET) {
    SockAddr a6 = V6("::1", 9);
    EXPECT_ERRNO(SendTo(s.get(), "x", a6), EAFNOSUPPORT);
  }
}

TEST_P(UdpTest, DatagramBoundariesArePreserved) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "abc", raddr), 3);
  ASSERT_EQ(SendTo(s.get(), "defgh", raddr), 5);
  EXPECT_EQ(RecvStr(r.get(), 100), "abc");
  EXPECT_EQ(RecvStr(r.get(), 100), "defgh");
  EXPECT_EQ(RecvStr(r.get(), 100, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST_P(UdpTest, AShortBufferTruncatesTheDatagram) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "hello world", raddr), 11);
  ASSERT_EQ(SendTo(s.get(), "next", raddr), 4);
  char buf[5];
  struct iovec iov = {buf, sizeof(buf)};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  EXPECT_EQ(recvmsg(r.get(), &msg, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(msg.msg_flags, MSG_TRUNC);
  // The rest of it is gone.
  msg.msg_flags = 0;
  iov.iov_len = sizeof(buf);
  EXPECT_EQ(recvmsg(r.get(), &msg, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "next");
  EXPECT_EQ(msg.msg_flags, 0);
}

TEST_P(UdpTest, MsgTruncReturnsTheRealLength) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "hello world", raddr), 11);
  ASSERT_TRUE(WaitReadable(r.get()));
  char buf[2] = {};
  EXPECT_EQ(recv(r.get(), buf, sizeof(buf), MSG_TRUNC | MSG_PEEK), 11);
  EXPECT_EQ(recv(r.get(), nullptr, 0, MSG_TRUNC | MSG_PEEK), 11);
  EXPECT_EQ(recv(r.get(), buf, sizeof(buf), MSG_TRUNC), 11);
  EXPECT_EQ(std::string(buf, 2), "he");
  EXPECT_EQ(RecvStr(r.get(), 100, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST_P(UdpTest, ZeroLengthDatagramsAreDatagrams) {
  Watchdog watchdog;
  SockAddr raddr, saddr;
  Fd r = Bound(&raddr);
  Fd s = Bound(&saddr);
  ASSERT_EQ(SendTo(s.get(), "", raddr), 0);
  ASSERT_TRUE(WaitReadable(r.get()));
  EXPECT_EQ(Revents(r.get()), POLLIN | POLLOUT);
  // FIONREAD cannot tell it from an empty queue.
  int avail = -1;
  ASSERT_OK(ioctl(r.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  Datagram d = RecvFrom(r.get(), 10);
  EXPECT_EQ(d.data, "");
  EXPECT_EQ(d.from.ToString(), saddr.ToString());
  EXPECT_EQ(RecvStr(r.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
  // With nothing queued, a zero-length recv still waits.
  char c;
  EXPECT_ERRNO(recv(r.get(), &c, 0, MSG_DONTWAIT), EAGAIN);
}

TEST_P(UdpTest, PeekReturnsTheSameDatagramAgain) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "first", raddr), 5);
  ASSERT_EQ(SendTo(s.get(), "second", raddr), 6);
  ASSERT_TRUE(WaitReadable(r.get()));
  EXPECT_EQ(RecvStr(r.get(), 100, MSG_PEEK), "first");
  EXPECT_EQ(RecvStr(r.get(), 2, MSG_PEEK), "fi");
  EXPECT_EQ(RecvStr(r.get(), 100), "first");
  EXPECT_EQ(RecvStr(r.get(), 100), "second");
}

TEST_P(UdpTest, MsgWaitallIsIgnored) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "abc", raddr), 3);
  ASSERT_EQ(SendTo(s.get(), "def", raddr), 3);
  EXPECT_EQ(RecvStr(r.get(), 10, MSG_WAITALL), "abc");
  EXPECT_EQ(RecvStr(r.get(), 10, MSG_WAITALL), "def");
}

TEST_P(UdpTest, MsgDontwaitOnAnEmptySocketIsEAGAIN) {
  Fd r = Bound();
  char c;
  EXPECT_ERRNO(recv(r.get(), &c, 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(fcntl(r.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST_P(UdpTest, ABlockingRecvIsWokenByADatagram) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  int fd = s.get();
  std::thread writer = RunLater(30, [fd, raddr] { SendTo(fd, "wake", raddr); });
  EXPECT_EQ(RecvStr(r.get(), 100), "wake");
  writer.join();
}

// ----------------------------------------------------------- connect(2)

TEST_P(UdpTest, ConnectSetsTheDefaultDestination) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd c = NewUdp(domain());
  ASSERT_OK(connect(c.get(), raddr.sa(), raddr.len));
  EXPECT_EQ(PeerName(c.get()).ToString(), raddr.ToString());
  // connect(2) binds the socket to the loopback address and a port.
  SockAddr name = SockName(c.get());
  EXPECT_EQ(name.Ip(), v().loopback);
  EXPECT_TRUE(IsEphemeral(name.port()));
  ASSERT_EQ(SendStr(c.get(), "via send"), 8);
  ASSERT_EQ(write(c.get(), "via write", 9), 9);
  Datagram d = RecvFrom(r.get());
  EXPECT_EQ(d.data, "via send");
  EXPECT_EQ(d.from.ToString(), name.ToString());
  EXPECT_EQ(RecvStr(r.get(), 100), "via write");
  // sendto may still name another destination.
  SockAddr other_addr;
  Fd other = Bound(&other_addr);
  ASSERT_EQ(SendTo(c.get(), "elsewhere", other_addr), 9);
  EXPECT_EQ(RecvStr(other.get(), 100), "elsewhere");
  // Connecting again just changes the destination.
  ASSERT_OK(connect(c.get(), other_addr.sa(), other_addr.len));
  EXPECT_EQ(PeerName(c.get()).ToString(), other_addr.ToString());
  EXPECT_EQ(SockName(c.get()).port(), name.port());
}

TEST_P(UdpTest, ConnectFiltersOtherSenders) {
  Watchdog watchdog;
  SockAddr raddr, paddr;
  Fd r = Bound(&raddr);
  Fd peer = Bound(&paddr);
  Fd stranger = Bound();
  ASSERT_OK(connect(r.get(), paddr.sa(), paddr.len));
  ASSERT_EQ(SendTo(stranger.get(), "dropped", raddr), 7);
  ASSERT_EQ(SendTo(peer.get(), "kept", raddr), 4);
  Datagram d = RecvFrom(r.get());
  EXPECT_EQ(d.data, "kept");
  EXPECT_EQ(d.from.ToString(), paddr.ToString());
  EXPECT_EQ(RecvStr(r.get(), 100, MSG_DONTWAIT), ErrorStr(EAGAIN));
  // The stranger's send succeeded all the same.
  EXPECT_EQ(GetIntOpt(stranger.get(), SOL_SOCKET, SO_ERROR), 0);
}

TEST_P(UdpTest, ConnectAfUnspecDisconnects) {
  Watchdog watchdog;
  uint16_t port = FreePort();
  SockAddr raddr = Loopback(port);
  Fd r = BoundTo(domain(), raddr);
  SockAddr paddr;
  Fd peer = Bound(&paddr);
  ASSERT_OK(connect(r.get(), paddr.sa(), paddr.len));
  struct sockaddr_storage unspec = {};
  unspec.ss_family = AF_UNSPEC;
  ASSERT_OK(connect(r.get(), reinterpret_cast<struct sockaddr*>(&unspec),
                    sizeof(unspec)));
  SockAddr none;
  none.len = sizeof(none.ss);
  EXPECT_ERRNO(getpeername(r.get(), none.mutable_sa(), &none.len), ENOTCONN);
  EXPECT_ERRNO(SendStr(r.get(), "x"), EDESTADDRREQ);
  // An explicitly bound name is kept.
  EXPECT_EQ(SockName(r.get()).ToString(), raddr.ToString());
  // Anyone's datagrams arrive again.
  Fd stranger = Bound();
  ASSERT_EQ(SendTo(stranger.get(), "welcome", raddr), 7);
  EXPECT_EQ(RecvStr(r.get(), 100), "welcome");
  // Just the family is enough; less is EINVAL. A socket that was never
  // connected may "disconnect" too.
  EXPECT_EQ(connect(r.get(), reinterpret_cast<struct sockaddr*>(&unspec),
                    sizeof(sa_family_t)),
            0)
      << strerror(errno);
  EXPECT_ERRNO(connect(r.get(), reinterpret_cast<struct sockaddr*>(&unspec), 1),
               EINVAL);
  Fd fresh = NewUdp(domain());
  EXPECT_EQ(connect(fresh.get(), reinterpret_cast<struct sockaddr*>(&unspec),
                    sizeof(unspec)),
            0)
      << strerror(errno);
}

TEST_P(UdpTest, DisconnectForgetsWhatConnectChose) {
  struct sockaddr_storage unspec = {};
  unspec.ss_family = AF_UNSPEC;
  auto disconnect = [&unspec](int fd) {
    ASSERT_OK(connect(fd, reinterpret_cast<struct sockaddr*>(&unspec),
                      sizeof(unspec)));
  };
  SockAddr dest = Unreachable();
  // Unbound before connect: unbound again after.
  Fd a = NewUdp(domain());
  ASSERT_OK(connect(a.get(), dest.sa(), dest.len));
  EXPECT_NE(SockName(a.get()).port(), 0);
  disconnect(a.get());
  EXPECT_EQ(SockName(a.get()).Ip(), v().any);
  EXPECT_EQ(SockName(a.get()).port(), 0);
  // bind(2) chose the address but not the port: the port goes.
  Fd b = BoundTo(domain(), Loopback());
  ASSERT_OK(connect(b.get(), dest.sa(), dest.len));
  disconnect(b.get());
  EXPECT_EQ(SockName(b.get()).Ip(), v().loopback);
  EXPECT_EQ(SockName(b.get()).port(), 0);
  // bind(2) chose the port but not the address: the address goes.
  uint16_t port = FreePort();
  Fd c = BoundTo(domain(), Any(port));
  ASSERT_OK(connect(c.get(), dest.sa(), dest.len));
  EXPECT_EQ(SockName(c.get()).Ip(), v().loopback);
  disconnect(c.get());
  EXPECT_EQ(SockName(c.get()).Ip(), v().any);
  EXPECT_EQ(SockName(c.get()).port(), port);
}

TEST(UdpConnectTest, TheWildcardAddressMeansLoopback) {
  for (const Variant& v : {kV4, kV6}) {
    SCOPED_TRACE(v.name);
    Fd r = BoundTo(v.domain, MakeAddr(v.domain, v.loopback, 0));
    uint16_t port = SockName(r.get()).port();
    SockAddr wildcard = MakeAddr(v.domain, v.any, port);
    Fd c = NewUdp(v.domain);
    ASSERT_OK(connect(c.get(), wildcard.sa(), wildcard.len));
    EXPECT_EQ(PeerName(c.get()).Ip(), v.loopback);
    ASSERT_EQ(SendStr(c.get(), "via connect"), 11);
    EXPECT_EQ(RecvStr(r.get(), 100), "via connect");
    Fd s = NewUdp(v.domain);
    ASSERT_EQ(SendTo(s.get(), "via sendto", wildcard), 10);
    EXPECT_EQ(RecvStr(r.get(), 100), "via sendto");
  }
}

TEST_P(UdpTest, AConnectedSocketLearnsOfAClosedPortOnce) {
  Watchdog watchdog;
  SockAddr dest = Unreachable();
  Fd c = NewUdp(domain());
  ASSERT_OK(connect(c.get(), dest.sa(), dest.len));
  // The send itself succeeds; the error (ICMP port unreachable) comes
  // after, as POLLERR without POLLIN.
  ASSERT_EQ(SendStr(c.get(), "x"), 1);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR);
  EXPECT_EQ(Revents(c.get()), POLLOUT | POLLERR);
  // The next send reports it (and sends nothing), once.
  EXPECT_FALSE(RaisesSigpipe(
      [&] { EXPECT_ERRNO(SendStr(c.get(), "x"), ECONNREFUSED); }));
  EXPECT_EQ(Revents(c.get()), POLLOUT);
  // Or the next recv, even a non-blocking one.
  ASSERT_EQ(SendStr(c.get(), "x"), 1);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR);
  EXPECT_EQ(RecvStr(c.get(), 10, MSG_DONTWAIT), ErrorStr(ECONNREFUSED));
  EXPECT_EQ(RecvStr(c.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
  // Or read(2), which does not block for it.
  ASSERT_EQ(SendStr(c.get(), "x"), 1);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR);
  char buf[10];
  EXPECT_ERRNO(read(c.get(), buf, sizeof(buf)), ECONNREFUSED);
  // Or SO_ERROR.
  ASSERT_EQ(SendStr(c.get(), "x"), 1);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR);
  EXPECT_EQ(GetIntOpt(c.get(), SOL_SOCKET, SO_ERROR), ECONNREFUSED);
  EXPECT_EQ(GetIntOpt(c.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(Revents(c.get()), POLLOUT);
}

TEST_P(UdpTest, AnUnconnectedSocketIgnoresClosedPorts) {
  Watchdog watchdog;
  SockAddr dest = Unreachable();
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  ASSERT_EQ(SendTo(s.get(), "x", dest), 1);
  ASSERT_EQ(SendTo(s.get(), "x", dest), 1);
  // A datagram sent after them has arrived, so their errors would have
  // too (had they been kept).
  ASSERT_EQ(SendTo(s.get(), "marker", raddr), 6);
  EXPECT_EQ(RecvStr(r.get(), 100), "marker");
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(Revents(s.get()), POLLOUT);
  EXPECT_EQ(RecvStr(s.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
  EXPECT_EQ(SendTo(s.get(), "x", dest), 1);
}

// ------------------------------------------------------------- EMSGSIZE

TEST_P(UdpTest, TheLargestDatagramAndOneByteMore) {
  Watchdog watchdog;
  // 65535 less the IPv4 (20) or IPv6 (nothing: its payload length excludes
  // the header) header and the UDP header (8).
  const size_t max = std::string(v().loopback) == "::1" ? 65527 : 65507;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  SetIntOpt(r.get(), SOL_SOCKET, SO_RCVBUF, 256 << 10);
  Fd s = Bound();
  std::string big(max + 1, 'b');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i % 251);
  EXPECT_ERRNO(sendto(s.get(), big.data(), max + 1, 0, raddr.sa(), raddr.len),
               EMSGSIZE);
  ASSERT_EQ(sendto(s.get(), big.data(), max, 0, raddr.sa(), raddr.len),
            static_cast<ssize_t>(max));
  std::string got = RecvStr(r.get(), max + 100);
  EXPECT_EQ(got.size(), max);
  EXPECT_TRUE(got == big.substr(0, max)) << "the datagram came back different";
}

// ----------------------------------------------------------- FIONREAD, poll

TEST_P(UdpTest, FionreadIsTheSizeOfTheNextDatagram) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  int avail = -1;
  ASSERT_OK(ioctl(r.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  ASSERT_EQ(SendTo(s.get(), "hello", raddr), 5);
  ASSERT_EQ(SendTo(s.get(), "world!", raddr), 6);
  ASSERT_TRUE(WaitReadable(r.get()));
  ASSERT_OK(ioctl(r.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 5);
  ASSERT_OK(ioctl(r.get(), SIOCINQ, &avail));
  EXPECT_EQ(avail, 5);
  EXPECT_EQ(RecvStr(r.get(), 100), "hello");
  ASSERT_TRUE(WaitReadable(r.get()));
  ASSERT_OK(ioctl(r.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 6);
  EXPECT_EQ(RecvStr(r.get(), 100), "world!");
  ASSERT_OK(ioctl(r.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
}

TEST_P(UdpTest, PollReadiness) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  Fd s = Bound();
  EXPECT_EQ(Revents(r.get()), POLLOUT);
  ASSERT_EQ(SendTo(s.get(), "x", raddr), 1);
  EXPECT_EQ(WaitEvents(r.get(), POLLIN), POLLIN);
  EXPECT_EQ(Revents(r.get()), POLLIN | POLLOUT);
  EXPECT_EQ(Revents(s.get()), POLLOUT);
  EXPECT_EQ(RecvStr(r.get(), 10), "x");
  EXPECT_EQ(Revents(r.get()), POLLOUT);
}

TEST_P(UdpTest, AFullReceiveBufferDropsDatagramsSilently) {
  Watchdog watchdog;
  SockAddr raddr;
  Fd r = Bound(&raddr);
  SetIntOpt(r.get(), SOL_SOCKET, SO_RCVBUF, 1);  // the minimum
  Fd s = Bound();
  constexpr int kSent = 200;
  std::string payload(1000, 'p');
  for (int i = 0; i < kSent; i++) {
    ASSERT_EQ(SendTo(s.get(), payload, raddr, MSG_DONTWAIT), 1000)
        << "datagram " << i << ": " << strerror(errno);
  }
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(GetIntOpt(r.get(), SOL_SOCKET, SO_ERROR), 0);
  // The first one always fits; most of the rest were dropped.
  EXPECT_EQ(RecvStr(r.get(), 2000).size(), 1000u);
  int received = 1;
  while (RecvStr(r.get(), 2000, MSG_DONTWAIT).size() == 1000) received++;
  EXPECT_LT(received, kSent);
  // Dropping is not sticky.
  ASSERT_EQ(SendTo(s.get(), "after", raddr), 5);
  std::string got;
  do {
    got = RecvStr(r.get(), 2000);
  } while (got == payload);
  EXPECT_EQ(got, "after");
}

// ---------------------------------------------------------- shutdown(2)

TEST_P(UdpTest, ShutdownOfAnUnconnectedSocketIsENOTCONN) {
  Fd s = Bound();
  EXPECT_ERRNO(shutdown(s.get(), SHUT_RD), ENOTCONN);
  EXPECT_ERRNO(shutdown(s.get(), SHUT_WR), ENOTCONN);
  EXPECT_ERRNO(shutdown(s.get(), SHUT_RDWR), ENOTCONN);
}

TEST_P(UdpTest, ShutdownOfAConnectedSocket) {
  Watchdog watchdog;
  SockAddr raddr, saddr;
  Fd r = Bound(&raddr);
  Fd s = Bound(&saddr);
  ASSERT_OK(connect(r.get(), saddr.sa(), saddr.len));
  ASSERT_OK(connect(s.get(), raddr.sa(), raddr.len));
  EXPECT_ERRNO(shutdown(r.get(), 3), EINVAL);
  ASSERT_EQ(SendStr(s.get(), "queued"), 6);
  ASSERT_TRUE(WaitReadable(r.get()));
  ASSERT_OK(shutdown(r.get(), SHUT_RD));
  EXPECT_EQ(Revents(r.get()), POLLIN | POLLOUT | POLLRDHUP);
  // What was queued is read, then EOF instead of blocking.
  EXPECT_EQ(RecvStr(r.get(), 100), "queued");
  EXPECT_EQ(RecvStr(r.get(), 100), "");
  // Sending after SHUT_WR is EPIPE, without SIGPIPE.
  ASSERT_OK(shutdown(s.get(), SHUT_WR));
  EXPECT_FALSE(
      RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(s.get(), "x"), EPIPE); }));
  EXPECT_ERRNO(SendTo(s.get(), "x", raddr), EPIPE);
}

// -------------------------------------------------- sendmmsg / recvmmsg

TEST_P(UdpTest, SendmmsgAndRecvmmsg) {
  Watchdog watchdog;
  SockAddr raddr, saddr;
  Fd r = Bound(&raddr);
  Fd s = Bound(&saddr);
  std::string out[3] = {"one", "two!", "three"};
  struct iovec oiov[3];
  struct mmsghdr omsg[3] = {};
  for (int i = 0; i < 3; i++) {
    oiov[i] = {out[i].data(), out[i].size()};
    omsg[i].msg_hdr.msg_iov = &oiov[i];
    omsg[i].msg_hdr.msg_iovlen = 1;
    omsg[i].msg_hdr.msg_name = &raddr.ss;
    omsg[i].msg_hdr.msg_namelen = raddr.len;
  }
  ASSERT_EQ(sendmmsg(s.get(), omsg, 3, 0), 3);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(omsg[i].msg_len, out[i].size());
  }
  char in[4][16] = {};
  struct iovec iiov[4];
  struct mmsghdr imsg[4] = {};
  SockAddr from[4];
  for (int i = 0; i < 4; i++) {
    iiov[i] = {in[i], i == 2 ? 3u : sizeof(in[i])};
    imsg[i].msg_hdr.msg_iov = &iiov[i];
    imsg[i].msg_hdr.msg_iovlen = 1;
    imsg[i].msg_hdr.msg_name = &from[i].ss;
    imsg[i].msg_hdr.msg_namelen = sizeof(from[i].ss);
  }
  // A blocking recvmmsg waits for all three.
  ASSERT_EQ(recvmmsg(r.get(), imsg, 3, 0, nullptr), 3);
  EXPECT_EQ(std::string(in[0], imsg[0].msg_len), "one");
  EXPECT_EQ(std::string(in[1], imsg[1].msg_len), "two!");
  // The third was truncated to its 3-byte buffer.
  EXPECT_EQ(imsg[2].msg_len, 3u);
  EXPECT_EQ(std::string(in[2], 3), "thr");
  EXPECT_EQ(imsg[2].msg_hdr.msg_flags, MSG_TRUNC);
  for (int i = 0; i < 3; i++) {
    from[i].len = imsg[i].msg_hdr.msg_namelen;
    EXPECT_EQ(from[i].ToString(), saddr.ToString());
  }
  EXPECT_ERRNO(recvmmsg(r.get(), imsg, 4, MSG_DONTWAIT, nullptr), EAGAIN);
  // MSG_WAITFORONE: block for the first, then take what is there.
  ASSERT_EQ(sendmmsg(s.get(), omsg, 1, 0), 1);
  EXPECT_EQ(recvmmsg(r.get(), imsg, 4, MSG_WAITFORONE, nullptr), 1);
}

// -------------------------------------------------------- v4-mapped

TEST(UdpV4MappedTest, ADualStackSocketTalksWithAnInetSocket) {
  Watchdog watchdog;
  Fd dual = BoundTo(AF_INET6, V6("::"));
  uint16_t port = SockName(dual.get()).port();
  Fd v4 = BoundTo(AF_INET, V4("127.0.0.1"));
  SockAddr v4name = SockName(v4.get());
  ASSERT_EQ(SendTo(v4.get(), "from v4", V4("127.0.0.1", port)), 7);
  Datagram d = RecvFrom(dual.get());
  EXPECT_EQ(d.data, "from v4");
  EXPECT_EQ(d.from.family(), AF_INET6);
  EXPECT_EQ(d.from.len, sizeof(sockaddr_in6));
  EXPECT_EQ(d.from.Ip(), "::ffff:127.0.0.1");
  EXPECT_EQ(d.from.port(), v4name.port());
  // The mapped address is a reply address like any other.
  ASSERT_EQ(SendTo(dual.get(), "to v4", d.from), 5);
  Datagram back = RecvFrom(v4.get());
  EXPECT_EQ(back.data, "to v4");
  EXPECT_EQ(back.from.ToString(), V4("127.0.0.1", port).ToString());
  // IPv6 peers reach the same socket.
  Fd v6 = BoundTo(AF_INET6, V6("::1"));
  ASSERT_EQ(SendTo(v6.get(), "from v6", V6("::1", port)), 7);
  Datagram d6 = RecvFrom(dual.get());
  EXPECT_EQ(d6.data, "from v6");
  EXPECT_EQ(d6.from.Ip(), "::1");
}

TEST(UdpV4MappedTest, ADualStackSocketMaySendToAnInetAddress) {
  Watchdog watchdog;
  Fd r = BoundTo(AF_INET, V4("127.0.0.1"));
  SockAddr raddr = SockName(r.get());
  // Linux's IPv6 UDP hands a sockaddr_in destination to IPv4.
  Fd s = NewUdp(AF_INET6);
  ASSERT_EQ(SendTo(s.get(), "plain v4", raddr), 8);
  Datagram d = RecvFrom(r.get());
  EXPECT_EQ(d.data, "plain v4");
  EXPECT_EQ(d.from.port(), SockName(s.get()).port());
  Fd v6only = NewUdp(AF_INET6);
  SetIntOpt(v6only.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  EXPECT_ERRNO(SendTo(v6only.get(), "x", raddr), ENETUNREACH);
}

TEST(UdpV4MappedTest, V6OnlyRefusesMappedAddresses) {
  Fd s = NewUdp(AF_INET6);
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  SockAddr m = V6("::ffff:127.0.0.1");
  EXPECT_ERRNO(bind(s.get(), m.sa(), m.len), EINVAL);
  SockAddr m9 = V6("::ffff:127.0.0.1", 9);
  EXPECT_ERRNO(connect(s.get(), m9.sa(), m9.len), ENETUNREACH);
  EXPECT_ERRNO(SendTo(s.get(), "x", m9), ENETUNREACH);
}

// ------------------------------------------------------- socket options

TEST_P(UdpTest, SockoptsNameTheSocket) {
  Fd s = Bound();
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_DOMAIN), domain());
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
}

TEST_P(UdpTest, StreamOnlyCallsAndOptionsAreRefused) {
  Fd s = Bound();
  EXPECT_ERRNO(listen(s.get(), 8), EOPNOTSUPP);
  EXPECT_ERRNO(accept(s.get(), nullptr, nullptr), EOPNOTSUPP);
  // An option level UDP does not know falls through to IP, which answers
  // EOPNOTSUPP when read over IPv4 and ENOPROTOOPT otherwise.
  int v = 1;
  socklen_t len = sizeof(v);
  EXPECT_ERRNO(getsockopt(s.get(), IPPROTO_TCP, 1 /* TCP_NODELAY */, &v, &len),
               domain() == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
  EXPECT_ERRNO(setsockopt(s.get(), IPPROTO_TCP, 1, &v, sizeof(v)), ENOPROTOOPT);
}

TEST_P(UdpTest, BufferSizesAreDoubled) {
  Fd s = NewUdp(domain());
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF), 0);
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 0);
  SetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF, 8192);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF), 16384);
  SetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF, 10000);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 20000);
  SetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF, 1);
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 2);
}

TEST_P(UdpTest, BooleanOptionsRoundTrip) {
  Fd s = NewUdp(domain());
  for (int name : {SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST}) {
    SCOPED_TRACE("option " + std::to_string(name));
    EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, name), 0);
    SetIntOpt(s.get(), SOL_SOCKET, name, 5);
    EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, name), 1);
    SetIntOpt(s.get(), SOL_SOCKET, name, 0);
    EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, name), 0);
  }
}

TEST_P(UdpTest, IpTosKeepsEveryBit) {
  Fd s = NewUdp(domain());
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0);
  // Unlike TCP, UDP leaves the ECN bits to the application.
  SetIntOpt(s.get(), IPPROTO_IP, IP_TOS, 0x2b);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0x2b);
  // Only the low byte is kept.
  SetIntOpt(s.get(), IPPROTO_IP, IP_TOS, 0x1ff);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0xff);
}

TEST_P(UdpTest, RcvtimeoMakesRecvFailWithEAGAIN) {
  Watchdog watchdog;
  Fd r = Bound();
  // 40 ms: a whole number of jiffies at every common HZ.
  struct timeval tv = {0, 40000};
  ASSERT_OK(setsockopt(r.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  int64_t start = NowNs();
  char c;
  EXPECT_ERRNO(recv(r.get(), &c, 1, 0), EAGAIN);
  int64_t elapsed = NowNs() - start;
  EXPECT_GE(elapsed, 35 * kMs);
  EXPECT_LT(elapsed, 5000 * kMs);
}

TEST_P(UdpTest, UnknownOptionsAreENOPROTOOPT) {
  Fd s = NewUdp(domain());
  int v = 1;
  for (int level : {SOL_SOCKET, static_cast<int>(IPPROTO_UDP),
                    static_cast<int>(IPPROTO_IP)}) {
    SCOPED_TRACE("level " + std::to_string(level));
    socklen_t len = sizeof(v);
    EXPECT_ERRNO(getsockopt(s.get(), level, 9999, &v, &len), ENOPROTOOPT);
    EXPECT_ERRNO(setsockopt(s.get(), level, 9999, &v, sizeof(v)), ENOPROTOOPT);
  }
}

// ------------------------------------------------------------ broadcast

TEST(UdpBroadcastTest, SendingToABroadcastAddressNeedsSoBroadcast) {
  // Bound to loopback so that the answer does not depend on the host's
  // routes (with no route, 255.255.255.255 is ENETUNREACH instead).
  Fd s = BoundTo(AF_INET, V4("127.0.0.1"));
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_BROADCAST), 0);
  EXPECT_ERRNO(SendTo(s.get(), "x", V4("255.255.255.255", 9)), EACCES);
  // The loopback network's own broadcast address too.
  EXPECT_ERRNO(SendTo(s.get(), "x", V4("127.255.255.255", 9)), EACCES);
  Fd c = BoundTo(AF_INET, V4("127.0.0.1"));
  SockAddr bcast = V4("255.255.255.255", 9);
  EXPECT_ERRNO(connect(c.get(), bcast.sa(), bcast.len), EACCES);
}

// ------------------------------------------------ ancillary data (cmsgs)

TEST(UdpCmsgTest, IpPktinfoAndIpRecvtos) {
  Watchdog watchdog;
  Fd r = BoundTo(AF_INET, V4("0.0.0.0"));
  uint16_t port = SockName(r.get()).port();
  SetIntOpt(r.get(), IPPROTO_IP, IP_PKTINFO, 1);
  SetIntOpt(r.get(), IPPROTO_IP, IP_RECVTOS, 1);
  EXPECT_EQ(GetIntOpt(r.get(), IPPROTO_IP, IP_PKTINFO), 1);
  EXPECT_EQ(GetIntOpt(r.get(), IPPROTO_IP, IP_RECVTOS), 1);
  Fd s = BoundTo(AF_INET, V4("127.0.0.1"));
  SetIntOpt(s.get(), IPPROTO_IP, IP_TOS, 0x28);
  ASSERT_EQ(SendTo(s.get(), "hi", V4("127.0.0.2", port)), 2);
  char buf[8];
  struct iovec iov = {buf, sizeof(buf)};
  Control control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = control.size();
  ASSERT_EQ(recvmsg(r.get(), &msg, 0), 2);
  EXPECT_EQ(msg.msg_flags, 0);
  bool saw_pktinfo = false, saw_tos = false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    ASSERT_EQ(c->cmsg_level, IPPROTO_IP);
    if (c->cmsg_type == IP_PKTINFO) {
      saw_pktinfo = true;
      EXPECT_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct in_pktinfo)));
      struct in_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof(info));
      // The interface it came in on (lo), the address it was sent to.
      EXPECT_GT(info.ipi_ifindex, 0);
      char dst[INET_ADDRSTRLEN], spec[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &info.ipi_addr, dst, sizeof(dst));
      inet_ntop(AF_INET, &info.ipi_spec_dst, spec, sizeof(spec));
      EXPECT_STREQ(dst, "127.0.0.2");
      EXPECT_STREQ(spec, "127.0.0.2");
    } else if (c->cmsg_type == IP_TOS) {
      saw_tos = true;
      // A single byte.
      EXPECT_EQ(c->cmsg_len, CMSG_LEN(1));
      EXPECT_EQ(*CMSG_DATA(c), 0x28);
    } else {
      ADD_FAILURE() << "unexpected cmsg type " << c->cmsg_type;
    }
  }
  EXPECT_TRUE(saw_pktinfo);
  EXPECT_TRUE(saw_tos);
  // No room for them: MSG_CTRUNC.
  ASSERT_EQ(SendTo(s.get(), "hi", V4("127.0.0.1", port)), 2);
  msg.msg_controllen = 4;
  msg.msg_flags = 0;
  ASSERT_EQ(recvmsg(r.get(), &msg, 0), 2);
  EXPECT_EQ(msg.msg_flags, MSG_CTRUNC);
  EXPECT_EQ(msg.msg_controllen, 0u);
}

TEST(UdpCmsgTest, Ipv6RecvpktinfoAndRecvtclass) {
  Watchdog watchdog;
  Fd r = BoundTo(AF_INET6, V6("::1"));
  uint16_t port = SockName(r.get()).port();
  SetIntOpt(r.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
  SetIntOpt(r.get(), IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
  Fd s = BoundTo(AF_INET6, V6("::1"));
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_TCLASS, 0x28);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IPV6, IPV6_TCLASS), 0x28);
  ASSERT_EQ(SendTo(s.get(), "hi", V6("::1", port)), 2);
  char buf[8];
  struct iovec iov = {buf, sizeof(buf)};
  Control control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = control.size();
  ASSERT_EQ(recvmsg(r.get(), &msg, 0), 2);
  bool saw_pktinfo = false, saw_tclass = false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    ASSERT_EQ(c->cmsg_level, IPPROTO_IPV6);
    if (c->cmsg_type == IPV6_PKTINFO) {
      saw_pktinfo = true;
      EXPECT_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct in6_pktinfo)));
      struct in6_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof(info));
      EXPECT_GT(info.ipi6_ifindex, 0u);
      char dst[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &info.ipi6_addr, dst, sizeof(dst));
      EXPECT_STREQ(dst, "::1");
    } else if (c->cmsg_type == IPV6_TCLASS) {
      saw_tclass = true;
      // An int, unlike IP_TOS's byte.
      EXPECT_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
      int tclass;
      memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
      EXPECT_EQ(tclass, 0x28);
    } else {
      ADD_FAILURE() << "unexpected cmsg type " << c->cmsg_type;
    }
  }
  EXPECT_TRUE(saw_pktinfo);
  EXPECT_TRUE(saw_tclass);
}

INSTANTIATE_TEST_SUITE_P(Families, UdpTest, ::testing::ValuesIn(kVariants),
                         VariantName);

}  // namespace
