// Loopback TCP sockets (AF_INET and AF_INET6, with v4-mapped addresses on an
// AF_INET6 socket), as Linux behaves: socket(2) types, protocols and flags;
// bind(2) (ephemeral ports, EADDRINUSE between wildcard, 127.0.0.1, 127.0.0.2,
// [::] with and without IPV6_V6ONLY and [::1], SO_REUSEADDR and its limit at
// a listener, SO_REUSEPORT listeners, TIME_WAIT holding a port, EINVAL once
// bound, EADDRNOTAVAIL, EAFNOSUPPORT and EINVAL for bad families and
// lengths); listen(2) autobinding and its errors; connect(2) (ECONNREFUSED,
// the local name it picks, 0.0.0.0 and :: meaning loopback, EISCONN, the
// non-blocking EINPROGRESS / POLLOUT / SO_ERROR protocol including a refused
// attempt, EALREADY while a full backlog holds the SYN); accept(2)/accept4(2)
// names and flags; getsockname/getpeername contents and lengths; data both
// ways with read/write/readv/writev/sendmsg/recvmsg, MiB-sized transfers,
// MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_TRUNC (which discards on TCP) and
// zero-length I/O; shutdown(2) (EOF, EPIPE with SIGPIPE unless MSG_NOSIGNAL,
// SHUT_RD); what a peer's close does to reads and writes (EOF, one write
// that succeeds, then EPIPE), resets from unread data, SO_LINGER {1, 0} and
// a closed listener; poll and epoll readiness; FIONREAD and SIOCOUTQ;
// socket options (SO_*, TCP_*, IP_TOS, IPV6_V6ONLY, optlen errors); and
// thousands of connections opened and closed.
//
// Everything here must hold natively: that is the reference the sandbox's
// loopback stack is measured against. Where Linux completes something
// asynchronously (a RST or FIN crossing the loopback device), the tests
// wait for it with poll(2) or a blocking call rather than assume it.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "test/util/process_util.h"
#include "test/util/signal_util.h"
#include "test/util/socket_util.h"
#include "test/util/test_util.h"
#include "test/util/thread_util.h"
#include "test/util/time_util.h"

namespace {

using testing_util::Drain;
using testing_util::KilledBySignal;
using testing_util::kMs;
using testing_util::ListDir;
using testing_util::NowNs;
using testing_util::PendingMask;
using testing_util::ReadFile;
using testing_util::RunInChild;
using testing_util::RunLater;
using testing_util::ScopedMask;
using testing_util::SigBit;
using testing_util::SleepMs;
using testing_util::WaitFor;
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

Fd NewTcp(int domain, int flags = 0) {
  Fd s(socket(domain, SOCK_STREAM | SOCK_CLOEXEC | flags, 0));
  EXPECT_GE(s.get(), 0) << "socket: " << strerror(errno);
  return s;
}

// A socket of `domain` bound to `addr` (port 0 picks one), with `opt`
// (e.g. SO_REUSEADDR) set first if it is not 0.
Fd BoundTo(int domain, const SockAddr& addr, int opt = 0) {
  Fd s = NewTcp(domain);
  if (opt != 0) SetIntOpt(s.get(), SOL_SOCKET, opt, 1);
  EXPECT_EQ(bind(s.get(), addr.sa(), addr.len), 0)
      << "bind " << addr.ToString() << ": " << strerror(errno);
  return s;
}

// A listener of `domain` on `addr`.
Fd Listener(int domain, const SockAddr& addr, int backlog = 64, int opt = 0) {
  Fd s = BoundTo(domain, addr, opt);
  EXPECT_EQ(listen(s.get(), backlog), 0) << "listen: " << strerror(errno);
  return s;
}

// A socket of `domain` connected (blocking) to `to`.
Fd ConnectTo(int domain, const SockAddr& to) {
  Fd s = NewTcp(domain);
  EXPECT_EQ(connect(s.get(), to.sa(), to.len), 0)
      << "connect " << to.ToString() << ": " << strerror(errno);
  return s;
}

Fd Accept(int listener) {
  Fd s(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_GE(s.get(), 0) << "accept4: " << strerror(errno);
  return s;
}

// A listener on the loopback address of a variant, a client connected to
// it and the server end accepted.
struct Conn {
  Fd listener;
  Fd client;
  Fd server;
  SockAddr addr;  // the listener's name
};

Conn Connected(const Variant& v) {
  Conn c;
  c.listener = Listener(v.domain, MakeAddr(v.domain, v.loopback, 0));
  c.addr = SockName(c.listener.get());
  c.client = ConnectTo(v.domain, c.addr);
  c.server = Accept(c.listener.get());
  return c;
}

// The address `ip` of variant `v`, with `port`.
SockAddr VAddr(const Variant& v, const char* ip, uint16_t port = 0) {
  return MakeAddr(v.domain, ip, port);
}

ssize_t SendStr(int fd, const std::string& s, int flags = 0) {
  return send(fd, s.data(), s.size(), flags);
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

void SetNonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ASSERT_OK(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
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

// Waits for the bytes a peer sent to have arrived: until FIONREAD on `fd`
// reaches `n` (false after 10 s).
bool WaitAvailable(int fd, int n) {
  return WaitFor([fd, n] {
    int avail = -1;
    return ioctl(fd, FIONREAD, &avail) == 0 && avail >= n;
  });
}

// The TCP state tcp_info reports (TCP_ESTABLISHED, TCP_LISTEN, ...), or -1.
int TcpState(int fd) {
  struct tcp_info info = {};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    ADD_FAILURE() << "TCP_INFO: " << strerror(errno);
    return -1;
  }
  return info.tcpi_state;
}

// Writes 64 KiB chunks with MSG_DONTWAIT until EAGAIN; returns the total.
size_t FillStream(int fd) {
  std::string chunk(65536, 'f');
  size_t total = 0;
  for (;;) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN) << strerror(errno);
      return total;
    }
    total += static_cast<size_t>(n);
    if (total > (256u << 20)) {
      ADD_FAILURE() << "the socket never filled up";
      return total;
    }
  }
}

// Reads exactly `n` bytes (blocking), or fewer at EOF or on an error.
std::string ReadN(int fd, size_t n) {
  std::string out;
  std::vector<char> buf(1 << 16);
  while (out.size() < n) {
    ssize_t got = read(fd, buf.data(), std::min(buf.size(), n - out.size()));
    if (got <= 0) {
      ADD_FAILURE() << "read after " << out.size() << " of " << n
                    << " bytes: " << (got == 0 ? "EOF" : strerror(errno));
      break;
    }
    out.append(buf.data(), static_cast<size_t>(got));
  }
  return out;
}

// `n` bytes of a pattern that a misplaced or repeated chunk would break.
std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) {
    s[i] = static_cast<char>(i * 7 + i / 251 + static_cast<size_t>(seed));
  }
  return s;
}

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

// A port that nothing listens on: one a closed socket had picked.
uint16_t UnusedPort(const Variant& v) {
  Fd s = BoundTo(v.domain, VAddr(v, v.loopback));
  return SockName(s.get()).port();
}

// A port that no socket of either family holds, TIME_WAIT connections
// included: one that a dual-stack wildcard bind could take. For tests that
// bind one family first and then expect the other to be free on the same
// port (an ephemeral port picked for [::1] may be busy on 127.0.0.1).
uint16_t FreePort() {
  Fd s = NewTcp(AF_INET6);
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
  SockAddr any = V6("::");
  EXPECT_EQ(bind(s.get(), any.sa(), any.len), 0) << strerror(errno);
  return SockName(s.get()).port();
}

size_t OpenFdCount() { return ListDir("/proc/self/fd").size(); }

// ------------------------------------------------------------- socket(2)

TEST(TcpSocketTest, ProtocolZeroAndIpprotoTcpMakeTcpSockets) {
  for (int domain : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(domain == AF_INET ? "AF_INET" : "AF_INET6");
    for (int protocol : {0, static_cast<int>(IPPROTO_TCP)}) {
      Fd s(socket(domain, SOCK_STREAM, protocol));
      ASSERT_GE(s.get(), 0) << strerror(errno);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_TYPE), SOCK_STREAM);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
      EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_DOMAIN), domain);
      EXPECT_EQ(fcntl(s.get(), F_GETFD), 0);
      EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR);
    }
  }
}

TEST(TcpSocketTest, NonblockAndCloexecFlags) {
  for (int domain : {AF_INET, AF_INET6}) {
    Fd s(socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_GE(s.get(), 0) << strerror(errno);
    EXPECT_EQ(fcntl(s.get(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(s.get(), F_GETFL), O_RDWR | O_NONBLOCK);
    EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  }
}

TEST(TcpSocketTest, WrongProtocolOrTypeIsRefused) {
  for (int domain : {AF_INET, AF_INET6}) {
    EXPECT_ERRNO(socket(domain, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    EXPECT_ERRNO(socket(domain, SOCK_STREAM, 253), EPROTONOSUPPORT);
    // IP has no sequenced-packet sockets without SCTP.
    EXPECT_ERRNO(socket(domain, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO(socket(domain, SOCK_STREAM | 0x100, 0), EINVAL);
  }
}

class TcpTest : public ::testing::TestWithParam<Variant> {
 protected:
  const Variant& v() const { return GetParam(); }
  int domain() const { return GetParam().domain; }
  SockAddr Loopback(uint16_t port = 0) const {
    return VAddr(v(), v().loopback, port);
  }
  SockAddr Any(uint16_t port = 0) const { return VAddr(v(), v().any, port); }
};

TEST_P(TcpTest, ANewSocketIsClosedAndUnnamed) {
  Fd s = NewTcp(domain());
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.family(), domain());
  EXPECT_EQ(name.len,
            domain() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  EXPECT_EQ(name.Ip(), domain() == AF_INET ? "0.0.0.0" : "::");
  EXPECT_EQ(name.port(), 0);
  SockAddr peer;
  peer.len = sizeof(peer.ss);
  EXPECT_ERRNO(getpeername(s.get(), peer.mutable_sa(), &peer.len), ENOTCONN);
  EXPECT_EQ(TcpState(s.get()), TCP_CLOSE);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ERROR), 0);
  // An unconnected stream socket is hung up, yet "writable".
  EXPECT_EQ(Revents(s.get()), POLLOUT | POLLHUP);
}

// ------------------------------------------------------------- bind(2)

TEST_P(TcpTest, BindToPortZeroPicksAnEphemeralPort) {
  Fd a = BoundTo(domain(), Loopback());
  Fd b = BoundTo(domain(), Loopback());
  SockAddr na = SockName(a.get()), nb = SockName(b.get());
  EXPECT_EQ(na.Ip(), v().loopback);
  EXPECT_TRUE(IsEphemeral(na.port()));
  EXPECT_TRUE(IsEphemeral(nb.port()));
  EXPECT_NE(na.port(), nb.port());
  // Binding does not connect or listen.
  EXPECT_EQ(TcpState(a.get()), TCP_CLOSE);
  EXPECT_EQ(Revents(a.get()), POLLOUT | POLLHUP);
}

TEST_P(TcpTest, BindTheSamePortTwiceIsEADDRINUSE) {
  Fd a = BoundTo(domain(), Loopback());
  SockAddr taken = SockName(a.get());
  Fd b = NewTcp(domain());
  EXPECT_ERRNO(bind(b.get(), taken.sa(), taken.len), EADDRINUSE);
  // The wildcard address on that port conflicts too.
  SockAddr any = Any(taken.port());
  EXPECT_ERRNO(bind(b.get(), any.sa(), any.len), EADDRINUSE);
  // Once the holder is closed, the port is free again.
  a.Reset();
  EXPECT_EQ(bind(b.get(), taken.sa(), taken.len), 0) << strerror(errno);
}

TEST_P(TcpTest, BindingABoundSocketAgainIsEINVAL) {
  Fd s = BoundTo(domain(), Loopback());
  SockAddr other = Loopback();
  EXPECT_ERRNO(bind(s.get(), other.sa(), other.len), EINVAL);
  SockAddr same = SockName(s.get());
  EXPECT_ERRNO(bind(s.get(), same.sa(), same.len), EINVAL);
}

TEST_P(TcpTest, BindToANonLocalAddressIsEADDRNOTAVAIL) {
  // TEST-NET-3 and the IPv6 documentation prefix: never local addresses.
  std::string ip = "203.0.113.1";
  if (domain() == AF_INET6) {
    ip = std::string(v().loopback) == "::1" ? "2001:db8::1"
                                            : "::ffff:203.0.113.1";
  }
  Fd s = NewTcp(domain());
  SockAddr a = VAddr(v(), ip.c_str());
  EXPECT_ERRNO(bind(s.get(), a.sa(), a.len), EADDRNOTAVAIL);
}

TEST_P(TcpTest, TwoSocketsWithReuseAddrShareAPortUntilOneListens) {
  Fd a = BoundTo(domain(), Loopback(), SO_REUSEADDR);
  SockAddr addr = SockName(a.get());
  Fd b = BoundTo(domain(), addr, SO_REUSEADDR);
  // Both must ask for it.
  Fd c = NewTcp(domain());
  EXPECT_ERRNO(bind(c.get(), addr.sa(), addr.len), EADDRINUSE);
  // Only one of them may listen.
  ASSERT_OK(listen(a.get(), 8));
  EXPECT_ERRNO(listen(b.get(), 8), EADDRINUSE);
  EXPECT_EQ(GetIntOpt(b.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
}

TEST_P(TcpTest, ReuseAddrDoesNotShareAPortWithAListener) {
  Fd l = Listener(domain(), Loopback(), 8, SO_REUSEADDR);
  SockAddr addr = SockName(l.get());
  Fd s = NewTcp(domain());
  SetIntOpt(s.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  EXPECT_ERRNO(bind(s.get(), addr.sa(), addr.len), EADDRINUSE);
  SockAddr any = Any(addr.port());
  EXPECT_ERRNO(bind(s.get(), any.sa(), any.len), EADDRINUSE);
}

TEST_P(TcpTest, ReusePortListenersShareAPort) {
  Watchdog watchdog;
  Fd a = Listener(domain(), Loopback(), 8, SO_REUSEPORT);
  SockAddr addr = SockName(a.get());
  Fd b = Listener(domain(), addr, 8, SO_REUSEPORT);
  // A socket without SO_REUSEPORT may not join them.
  Fd c = NewTcp(domain());
  EXPECT_ERRNO(bind(c.get(), addr.sa(), addr.len), EADDRINUSE);
  // A connection lands on exactly one of the two.
  Fd client = ConnectTo(domain(), addr);
  struct pollfd fds[2] = {{a.get(), POLLIN, 0}, {b.get(), POLLIN, 0}};
  ASSERT_GE(poll(fds, 2, 10000), 1);
  SetNonblocking(a.get());
  SetNonblocking(b.get());
  Fd from_a(accept4(a.get(), nullptr, nullptr, SOCK_CLOEXEC));
  Fd from_b(accept4(b.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_EQ((from_a.get() >= 0) + (from_b.get() >= 0), 1);
  int server = from_a.get() >= 0 ? from_a.get() : from_b.get();
  ASSERT_EQ(SendStr(client.get(), "hi"), 2);
  EXPECT_EQ(RecvStr(server, 10), "hi");
}

TEST_P(TcpTest, ATimeWaitConnectionHoldsThePortUnlessReuseAddr) {
  Watchdog watchdog;
  SockAddr addr;
  {
    Fd l = Listener(domain(), Loopback(), 8, SO_REUSEADDR);
    addr = SockName(l.get());
    Fd client = ConnectTo(domain(), addr);
    Fd server = Accept(l.get());
    // The server closes first, so its end lingers (FIN_WAIT2, then
    // TIME_WAIT) on the listener's port after everything is closed.
    server.Reset();
    EXPECT_EQ(RecvStr(client.get(), 10), "");
  }
  Fd s = NewTcp(domain());
  EXPECT_ERRNO(bind(s.get(), addr.sa(), addr.len), EADDRINUSE);
  // A restarted server with SO_REUSEADDR gets its port back.
  Fd l2 = Listener(domain(), addr, 8, SO_REUSEADDR);
  EXPECT_EQ(SockName(l2.get()).port(), addr.port());
}

TEST(TcpBindTest, LoopbackWildcardAndOtherLoopbackAddressesOnOnePort) {
  uint16_t port = FreePort();
  Fd a = BoundTo(AF_INET, V4("127.0.0.1", port));
  Fd s = NewTcp(AF_INET);
  SockAddr any = V4("0.0.0.0", port);
  EXPECT_ERRNO(bind(s.get(), any.sa(), any.len), EADDRINUSE);
  // 127.0.0.2 is another local address: no conflict with 127.0.0.1.
  Fd b = BoundTo(AF_INET, V4("127.0.0.2", port));
  EXPECT_EQ(SockName(b.get()).Ip(), "127.0.0.2");
  a.Reset();
  b.Reset();
  // A wildcard holder conflicts with any specific address.
  Fd w = BoundTo(AF_INET, V4("0.0.0.0", port));
  SockAddr lo = V4("127.0.0.1", port);
  EXPECT_ERRNO(bind(s.get(), lo.sa(), lo.len), EADDRINUSE);
}

TEST(TcpBindTest, DualStackWildcardConflictsWithIpv4) {
  Fd v6 = BoundTo(AF_INET6, V6("::"));
  uint16_t port = SockName(v6.get()).port();
  Fd s = NewTcp(AF_INET);
  SockAddr lo = V4("127.0.0.1", port);
  EXPECT_ERRNO(bind(s.get(), lo.sa(), lo.len), EADDRINUSE);
  SockAddr any = V4("0.0.0.0", port);
  EXPECT_ERRNO(bind(s.get(), any.sa(), any.len), EADDRINUSE);
  Fd t = NewTcp(AF_INET6);
  SockAddr lo6 = V6("::1", port);
  EXPECT_ERRNO(bind(t.get(), lo6.sa(), lo6.len), EADDRINUSE);
}

TEST(TcpBindTest, V6OnlyWildcardLeavesIpv4Free) {
  Fd v6 = NewTcp(AF_INET6);
  SetIntOpt(v6.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  uint16_t port = FreePort();
  SockAddr any6 = V6("::", port);
  ASSERT_OK(bind(v6.get(), any6.sa(), any6.len));
  Fd a = BoundTo(AF_INET, V4("127.0.0.1", port));
  Fd s = NewTcp(AF_INET6);
  SockAddr lo6 = V6("::1", port);
  EXPECT_ERRNO(bind(s.get(), lo6.sa(), lo6.len), EADDRINUSE);
}

TEST(TcpBindTest, AnIpv4HolderConflictsWithDualStackAndMappedBinds) {
  uint16_t port = FreePort();
  Fd a = BoundTo(AF_INET, V4("127.0.0.1", port));
  Fd dual = NewTcp(AF_INET6);
  SockAddr any6 = V6("::", port);
  EXPECT_ERRNO(bind(dual.get(), any6.sa(), any6.len), EADDRINUSE);
  Fd mapped = NewTcp(AF_INET6);
  SockAddr m = V6("::ffff:127.0.0.1", port);
  EXPECT_ERRNO(bind(mapped.get(), m.sa(), m.len), EADDRINUSE);
  // Binds that cover no IPv4 address do not conflict.
  Fd lo6 = BoundTo(AF_INET6, V6("::1", port));
  lo6.Reset();
  Fd v6only = NewTcp(AF_INET6);
  SetIntOpt(v6only.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  EXPECT_EQ(bind(v6only.get(), any6.sa(), any6.len), 0) << strerror(errno);
}

TEST(TcpBindTest, Ipv6LoopbackAndIpv4DoNotConflict) {
  uint16_t port = FreePort();
  Fd a = BoundTo(AF_INET6, V6("::1", port));
  Fd b = BoundTo(AF_INET, V4("0.0.0.0", port));
  EXPECT_EQ(SockName(b.get()).port(), port);
}

TEST(TcpBindTest, AddressFamilyAndLengthErrorsOnAnInetSocket) {
  Fd s = NewTcp(AF_INET);
  SockAddr a = V4("127.0.0.1");
  // Shorter than a sockaddr_in: EINVAL, even for a length of 0.
  EXPECT_ERRNO(bind(s.get(), a.sa(), sizeof(sockaddr_in) - 1), EINVAL);
  EXPECT_ERRNO(bind(s.get(), a.sa(), sizeof(sa_family_t)), EINVAL);
  EXPECT_ERRNO(bind(s.get(), a.sa(), 0), EINVAL);
  // Another family: EAFNOSUPPORT.
  SockAddr a6 = V6("::1");
  EXPECT_ERRNO(bind(s.get(), a6.sa(), a6.len), EAFNOSUPPORT);
  struct sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  EXPECT_ERRNO(
      bind(s.get(), reinterpret_cast<struct sockaddr*>(&un), sizeof(un)),
      EAFNOSUPPORT);
  // AF_UNSPEC is taken for AF_INET only with INADDR_ANY (an old BSD
  // compatibility rule).
  SockAddr unspec = V4("127.0.0.1");
  unspec.ss.ss_family = AF_UNSPEC;
  EXPECT_ERRNO(bind(s.get(), unspec.sa(), unspec.len), EAFNOSUPPORT);
  // None of the failures bound the socket.
  EXPECT_EQ(SockName(s.get()).port(), 0);
  SockAddr unspec_any = V4("0.0.0.0");
  unspec_any.ss.ss_family = AF_UNSPEC;
  EXPECT_EQ(bind(s.get(), unspec_any.sa(), unspec_any.len), 0)
      << strerror(errno);
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.family(), AF_INET);
  EXPECT_EQ(name.Ip(), "0.0.0.0");
  EXPECT_NE(name.port(), 0);
  // A longer length is fine.
  Fd t = NewTcp(AF_INET);
  SockAddr lo = V4("127.0.0.1");
  EXPECT_EQ(bind(t.get(), lo.sa(), sizeof(lo.ss)), 0) << strerror(errno);
}

TEST(TcpBindTest, AddressFamilyAndLengthErrorsOnAnInet6Socket) {
  Fd s = NewTcp(AF_INET6);
  // A sockaddr_in is too short for AF_INET6, whatever its family.
  SockAddr a4 = V4("127.0.0.1");
  EXPECT_ERRNO(bind(s.get(), a4.sa(), a4.len), EINVAL);
  SockAddr a6 = V6("::1");
  EXPECT_ERRNO(bind(s.get(), a6.sa(), 23), EINVAL);
  // The right length with the wrong family is EAFNOSUPPORT.
  SockAddr wrong = V6("::1");
  wrong.ss.ss_family = AF_INET;
  EXPECT_ERRNO(bind(s.get(), wrong.sa(), wrong.len), EAFNOSUPPORT);
  // 24 bytes, RFC 2133's sockaddr_in6 without sin6_scope_id, is enough.
  EXPECT_EQ(bind(s.get(), a6.sa(), 24), 0) << strerror(errno);
  EXPECT_EQ(SockName(s.get()).Ip(), "::1");
}

// ----------------------------------------------------------- listen(2)

TEST_P(TcpTest, ListenWithoutBindPicksAnEphemeralPort) {
  Fd s = NewTcp(domain());
  ASSERT_OK(listen(s.get(), 8));
  SockAddr name = SockName(s.get());
  EXPECT_EQ(name.Ip(), domain() == AF_INET ? "0.0.0.0" : "::");
  EXPECT_TRUE(IsEphemeral(name.port()));
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_EQ(TcpState(s.get()), TCP_LISTEN);
  // It can be reached on loopback at that port.
  Fd c = ConnectTo(domain(), Loopback(name.port()));
  Fd a = Accept(s.get());
  EXPECT_EQ(SockName(a.get()).Ip(), v().loopback);
}

TEST_P(TcpTest, ListenErrors) {
  Conn c = Connected(v());
  // A connected socket cannot listen; neither can an accepted one.
  EXPECT_ERRNO(listen(c.client.get(), 8), EINVAL);
  EXPECT_ERRNO(listen(c.server.get(), 8), EINVAL);
  // Listening again only changes the backlog.
  EXPECT_EQ(listen(c.listener.get(), 4), 0) << strerror(errno);
  EXPECT_EQ(listen(c.listener.get(), -1), 0) << strerror(errno);
  // A listener is bound for good and has no peer.
  SockAddr other = Loopback();
  EXPECT_ERRNO(bind(c.listener.get(), other.sa(), other.len), EINVAL);
  SockAddr peer;
  peer.len = sizeof(peer.ss);
  EXPECT_ERRNO(getpeername(c.listener.get(), peer.mutable_sa(), &peer.len),
               ENOTCONN);
  // Only a listener accepts.
  EXPECT_ERRNO(accept(c.client.get(), nullptr, nullptr), EINVAL);
  Fd fresh = NewTcp(domain());
  EXPECT_ERRNO(accept(fresh.get(), nullptr, nullptr), EINVAL);
}

TEST_P(TcpTest, AFullBacklogLeavesTheNextConnectInProgress) {
  // listen(2) with a backlog of 0 leaves room for one connection; Linux
  // takes that first one with a SYN cookie (its SYN queue is "full" too).
  std::string cookies = ReadFile("/proc/sys/net/ipv4/tcp_syncookies");
  if (!cookies.empty() && cookies[0] == '0') {
    GTEST_SKIP() << "net.ipv4.tcp_syncookies is 0";
  }
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback(), 0);
  SockAddr addr = SockName(l.get());
  Fd first = ConnectTo(domain(), addr);
  ASSERT_EQ(WaitEvents(l.get(), POLLIN), POLLIN);
  // The accept queue is full: the listener drops the next SYN, and the
  // connection stays in SYN_SENT.
  Fd next = NewTcp(domain(), SOCK_NONBLOCK);
  EXPECT_ERRNO(connect(next.get(), addr.sa(), addr.len), EINPROGRESS);
  EXPECT_ERRNO(connect(next.get(), addr.sa(), addr.len), EALREADY);
  EXPECT_EQ(Revents(next.get(), POLLOUT), 0);
  EXPECT_EQ(TcpState(next.get()), TCP_SYN_SENT);
  // Making room lets it complete (natively, at the SYN's retransmission).
  Fd a = Accept(l.get());
  EXPECT_EQ(WaitEvents(next.get(), POLLOUT), POLLOUT);
  EXPECT_EQ(GetIntOpt(next.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(connect(next.get(), addr.sa(), addr.len), 0) << strerror(errno);
  Fd b = Accept(l.get());
  EXPECT_EQ(PeerName(b.get()).port(), SockName(next.get()).port());
}

// ---------------------------------------------------------- connect(2)

TEST_P(TcpTest, ConnectToAPortWithoutAListenerIsECONNREFUSED) {
  Watchdog watchdog;
  SockAddr to = Loopback(UnusedPort(v()));
  Fd s = NewTcp(domain());
  EXPECT_ERRNO(connect(s.get(), to.sa(), to.len), ECONNREFUSED);
  // The error is not left behind, and the socket may try again.
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_ERRNO(connect(s.get(), to.sa(), to.len), ECONNREFUSED);
  EXPECT_EQ(TcpState(s.get()), TCP_CLOSE);
  // A bound but not listening socket refuses too.
  Fd bound = BoundTo(domain(), Loopback());
  SockAddr b = SockName(bound.get());
  EXPECT_ERRNO(connect(s.get(), b.sa(), b.len), ECONNREFUSED);
}

TEST_P(TcpTest, ConnectNamesBothEnds) {
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  Fd c = ConnectTo(domain(), addr);
  SockAddr local = SockName(c.get());
  EXPECT_EQ(local.family(), domain());
  EXPECT_EQ(local.len, addr.len);
  EXPECT_EQ(local.Ip(), v().loopback);
  EXPECT_TRUE(IsEphemeral(local.port()));
  SockAddr peer = PeerName(c.get());
  EXPECT_EQ(peer.ToString(), addr.ToString());
  // accept(2) reports the client's name; the server end is named after the
  // listener.
  SockAddr from;
  from.len = sizeof(from.ss);
  Fd s(accept(l.get(), from.mutable_sa(), &from.len));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(from.ToString(), local.ToString());
  EXPECT_EQ(PeerName(s.get()).ToString(), local.ToString());
  EXPECT_EQ(SockName(s.get()).ToString(), addr.ToString());
  if (domain() == AF_INET6) {
    EXPECT_EQ(from.in6().sin6_flowinfo, 0u);
    EXPECT_EQ(from.in6().sin6_scope_id, 0u);
  }
  EXPECT_EQ(TcpState(c.get()), TCP_ESTABLISHED);
  EXPECT_EQ(TcpState(s.get()), TCP_ESTABLISHED);
}

TEST_P(TcpTest, ConnectAfterBindKeepsTheBoundPort) {
  Fd l = Listener(domain(), Loopback());
  Fd c = BoundTo(domain(), Loopback());
  uint16_t port = SockName(c.get()).port();
  SockAddr addr = SockName(l.get());
  ASSERT_OK(connect(c.get(), addr.sa(), addr.len));
  EXPECT_EQ(SockName(c.get()).port(), port);
  Fd s = Accept(l.get());
  EXPECT_EQ(PeerName(s.get()).port(), port);
}

TEST_P(TcpTest, AShortGetsocknameBufferTruncatesButReportsTheFullLength) {
  Conn c = Connected(v());
  SockAddr full = SockName(c.client.get());
  SockAddr a;
  memset(&a.ss, 0xaa, sizeof(a.ss));
  a.len = 4;
  ASSERT_OK(getsockname(c.client.get(), a.mutable_sa(), &a.len));
  EXPECT_EQ(a.len, full.len);
  EXPECT_EQ(memcmp(&a.ss, &full.ss, 4), 0);
  EXPECT_EQ(reinterpret_cast<unsigned char*>(&a.ss)[4], 0xaa);
  a.len = 4;
  ASSERT_OK(getpeername(c.client.get(), a.mutable_sa(), &a.len));
  EXPECT_EQ(a.len, full.len);
  // accept(2) too.
  Fd c2 = ConnectTo(domain(), c.addr);
  a.len = 3;
  Fd s(accept(c.listener.get(), a.mutable_sa(), &a.len));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(a.len, full.len);
}

TEST_P(TcpTest, ASecondConnectIsEISCONN) {
  Conn c = Connected(v());
  EXPECT_ERRNO(connect(c.client.get(), c.addr.sa(), c.addr.len), EISCONN);
  EXPECT_ERRNO(connect(c.server.get(), c.addr.sa(), c.addr.len), EISCONN);
}

TEST_P(TcpTest, NonblockingConnectIsInProgressThenWritable) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  Fd c = NewTcp(domain(), SOCK_NONBLOCK);
  // Even over loopback, a non-blocking connect never completes at once.
  EXPECT_ERRNO(connect(c.get(), addr.sa(), addr.len), EINPROGRESS);
  EXPECT_EQ(WaitEvents(c.get(), POLLOUT), POLLOUT);
  EXPECT_EQ(GetIntOpt(c.get(), SOL_SOCKET, SO_ERROR), 0);
  // Once it has, connect reports success once, then EISCONN.
  EXPECT_EQ(connect(c.get(), addr.sa(), addr.len), 0) << strerror(errno);
  EXPECT_ERRNO(connect(c.get(), addr.sa(), addr.len), EISCONN);
  Fd s = Accept(l.get());
  ASSERT_EQ(SendStr(s.get(), "hi"), 2);
  EXPECT_EQ(WaitEvents(c.get(), POLLIN), POLLIN);
  EXPECT_EQ(RecvStr(c.get(), 10), "hi");
}

TEST_P(TcpTest, NonblockingConnectToAClosedPortReportsECONNREFUSED) {
  Watchdog watchdog;
  SockAddr to = Loopback(UnusedPort(v()));
  Fd c = NewTcp(domain(), SOCK_NONBLOCK);
  EXPECT_ERRNO(connect(c.get(), to.sa(), to.len), EINPROGRESS);
  // The refusal makes the socket readable, writable, in error and hung up.
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR | POLLHUP);
  EXPECT_EQ(Revents(c.get()), POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
  EXPECT_EQ(GetIntOpt(c.get(), SOL_SOCKET, SO_ERROR), ECONNREFUSED);
  EXPECT_EQ(GetIntOpt(c.get(), SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(TcpState(c.get()), TCP_CLOSE);
  // With the error consumed, connect reports the attempt as aborted; after
  // that the socket is unconnected and may start over.
  EXPECT_ERRNO(connect(c.get(), to.sa(), to.len), ECONNABORTED);
  EXPECT_ERRNO(connect(c.get(), to.sa(), to.len), EINPROGRESS);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR | POLLHUP);
  // Unconsumed, the error is what the next connect returns.
  EXPECT_ERRNO(connect(c.get(), to.sa(), to.len), ECONNREFUSED);
}

TEST_P(TcpTest, RecvAfterARefusedNonblockingConnectReportsTheError) {
  Watchdog watchdog;
  SockAddr to = Loopback(UnusedPort(v()));
  Fd c = NewTcp(domain(), SOCK_NONBLOCK);
  EXPECT_ERRNO(connect(c.get(), to.sa(), to.len), EINPROGRESS);
  EXPECT_EQ(WaitEvents(c.get(), 0), POLLERR | POLLHUP);
  EXPECT_EQ(RecvStr(c.get(), 10), ErrorStr(ECONNREFUSED));
  EXPECT_EQ(RecvStr(c.get(), 10), "");
}

TEST(TcpConnectTest, TheWildcardAddressMeansLoopback) {
  for (const Variant& v : {kV4, kV6}) {
    SCOPED_TRACE(v.name);
    Fd l = Listener(v.domain, MakeAddr(v.domain, v.loopback, 0));
    uint16_t port = SockName(l.get()).port();
    Fd c = ConnectTo(v.domain, MakeAddr(v.domain, v.any, port));
    EXPECT_EQ(PeerName(c.get()).Ip(), v.loopback);
    EXPECT_EQ(SockName(c.get()).Ip(), v.loopback);
    Fd s = Accept(l.get());
    ASSERT_EQ(SendStr(c.get(), "ok"), 2);
    EXPECT_EQ(RecvStr(s.get(), 10), "ok");
  }
}

TEST(TcpConnectTest, AddressFamilyAndLengthErrors) {
  Fd l = Listener(AF_INET, V4("127.0.0.1"));
  uint16_t port = SockName(l.get()).port();
  Fd s = NewTcp(AF_INET);
  SockAddr a6 = V6("::1", port);
  EXPECT_ERRNO(connect(s.get(), a6.sa(), a6.len), EAFNOSUPPORT);
  SockAddr a = V4("127.0.0.1", port);
  EXPECT_ERRNO(connect(s.get(), a.sa(), a.len - 1), EINVAL);
  struct sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  EXPECT_ERRNO(
      connect(s.get(), reinterpret_cast<struct sockaddr*>(&un), sizeof(un)),
      EAFNOSUPPORT);
  Fd s6 = NewTcp(AF_INET6);
  EXPECT_ERRNO(connect(s6.get(), a.sa(), a.len), EINVAL);
  // Nothing was connected by the failures.
  EXPECT_EQ(connect(s.get(), a.sa(), a.len), 0) << strerror(errno);
}

// ------------------------------------------------- v4-mapped and V6ONLY

TEST(TcpV4MappedTest, AMappedClientReachesAnInetListener) {
  Fd l = Listener(AF_INET, V4("127.0.0.1"));
  uint16_t port = SockName(l.get()).port();
  Fd c = ConnectTo(AF_INET6, V6("::ffff:127.0.0.1", port));
  SockAddr local = SockName(c.get());
  EXPECT_EQ(local.family(), AF_INET6);
  EXPECT_EQ(local.len, sizeof(sockaddr_in6));
  EXPECT_EQ(local.Ip(), "::ffff:127.0.0.1");
  EXPECT_EQ(PeerName(c.get()).Ip(), "::ffff:127.0.0.1");
  // The listener sees a plain IPv4 peer.
  SockAddr from;
  from.len = sizeof(from.ss);
  Fd s(accept(l.get(), from.mutable_sa(), &from.len));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(from.family(), AF_INET);
  EXPECT_EQ(from.len, sizeof(sockaddr_in));
  EXPECT_EQ(from.Ip(), "127.0.0.1");
  EXPECT_EQ(from.port(), local.port());
  ASSERT_EQ(SendStr(c.get(), "mapped"), 6);
  EXPECT_EQ(RecvStr(s.get(), 10), "mapped");
}

TEST(TcpV4MappedTest, AnInetClientReachesADualStackListener) {
  Fd l = Listener(AF_INET6, V6("::"));
  uint16_t port = SockName(l.get()).port();
  Fd c = ConnectTo(AF_INET, V4("127.0.0.1", port));
  SockAddr peer = PeerName(c.get());
  EXPECT_EQ(peer.ToString(), V4("127.0.0.1", port).ToString());
  SockAddr from;
  from.len = sizeof(from.ss);
  Fd s(accept(l.get(), from.mutable_sa(), &from.len));
  ASSERT_GE(s.get(), 0) << strerror(errno);
  EXPECT_EQ(from.family(), AF_INET6);
  EXPECT_EQ(from.len, sizeof(sockaddr_in6));
  EXPECT_EQ(from.Ip(), "::ffff:127.0.0.1");
  EXPECT_EQ(from.port(), SockName(c.get()).port());
  SockAddr here = SockName(s.get());
  EXPECT_EQ(here.Ip(), "::ffff:127.0.0.1");
  EXPECT_EQ(here.port(), port);
  // IPv6 clients reach it too.
  Fd c6 = ConnectTo(AF_INET6, V6("::1", port));
  Fd s6 = Accept(l.get());
  EXPECT_EQ(PeerName(s6.get()).Ip(), "::1");
}

TEST(TcpV4MappedTest, V6OnlyRefusesMappedAddresses) {
  Fd l4 = Listener(AF_INET, V4("127.0.0.1"));
  uint16_t port = SockName(l4.get()).port();
  Fd s = NewTcp(AF_INET6);
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  SockAddr m = V6("::ffff:127.0.0.1", port);
  EXPECT_ERRNO(connect(s.get(), m.sa(), m.len), ENETUNREACH);
  SockAddr m0 = V6("::ffff:127.0.0.1");
  EXPECT_ERRNO(bind(s.get(), m0.sa(), m0.len), EINVAL);
  // A V6ONLY listener on [::] is not reached over IPv4.
  Fd l6 = NewTcp(AF_INET6);
  SetIntOpt(l6.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  SockAddr any6 = V6("::");
  ASSERT_OK(bind(l6.get(), any6.sa(), any6.len));
  ASSERT_OK(listen(l6.get(), 8));
  SockAddr v4 = V4("127.0.0.1", SockName(l6.get()).port());
  Fd c = NewTcp(AF_INET);
  EXPECT_ERRNO(connect(c.get(), v4.sa(), v4.len), ECONNREFUSED);
}

TEST(TcpV4MappedTest, V6OnlyOptionRoundTripAndErrors) {
  Fd s = NewTcp(AF_INET6);
  std::string sysctl = ReadFile("/proc/sys/net/ipv6/bindv6only");
  if (sysctl.empty() || sysctl[0] == '0') {
    EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY), 0);
  }
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 7);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  SetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY), 0);
  // Fixed once bound.
  SockAddr any = V6("::");
  ASSERT_OK(bind(s.get(), any.sa(), any.len));
  int one = 1;
  EXPECT_ERRNO(
      setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)),
      EINVAL);
  // An AF_INET socket has no IPv6 options.
  Fd s4 = NewTcp(AF_INET);
  EXPECT_ERRNO(
      setsockopt(s4.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)),
      ENOPROTOOPT);
  int v = -1;
  socklen_t len = sizeof(v);
  EXPECT_ERRNO(getsockopt(s4.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v, &len),
               EOPNOTSUPP);
}

// ------------------------------------------------------------ accept(2)

TEST_P(TcpTest, Accept4Flags) {
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  Fd c1 = ConnectTo(domain(), addr);
  Fd c2 = ConnectTo(domain(), addr);
  EXPECT_ERRNO(accept4(l.get(), nullptr, nullptr, 0x1000), EINVAL);
  Fd a(accept4(l.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  ASSERT_GE(a.get(), 0) << strerror(errno);
  EXPECT_EQ(fcntl(a.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(a.get(), F_GETFL), O_RDWR | O_NONBLOCK);
  // Plain accept(2) gives a blocking socket without FD_CLOEXEC, whatever
  // the listener's flags.
  SetNonblocking(l.get());
  Fd b(accept(l.get(), nullptr, nullptr));
  ASSERT_GE(b.get(), 0) << strerror(errno);
  EXPECT_EQ(fcntl(b.get(), F_GETFD), 0);
  EXPECT_EQ(fcntl(b.get(), F_GETFL), O_RDWR);
  // Nothing pending: a non-blocking listener says EAGAIN.
  EXPECT_ERRNO(accept(l.get(), nullptr, nullptr), EAGAIN);
  EXPECT_EQ(GetIntOpt(b.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
}

TEST_P(TcpTest, ABlockingAcceptIsWokenByAConnect) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  int d = domain();
  Fd client;
  std::thread connector = RunLater(30, [&] { client = ConnectTo(d, addr); });
  Fd s = Accept(l.get());
  connector.join();
  EXPECT_EQ(PeerName(s.get()).port(), SockName(client.get()).port());
}

TEST_P(TcpTest, DataSentBeforeAcceptIsDelivered) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  Fd c = ConnectTo(domain(), SockName(l.get()));
  ASSERT_EQ(SendStr(c.get(), "early"), 5);
  ASSERT_OK(shutdown(c.get(), SHUT_WR));
  Fd s = Accept(l.get());
  EXPECT_EQ(ReadN(s.get(), 5), "early");
  EXPECT_EQ(RecvStr(s.get(), 10), "");
}

// -------------------------------------------------------- data transfer

TEST_P(TcpTest, DataFlowsBothWays) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.client.get(), "ping"), 4);
  EXPECT_EQ(ReadN(c.server.get(), 4), "ping");
  ASSERT_EQ(SendStr(c.server.get(), "pong!"), 5);
  EXPECT_EQ(ReadN(c.client.get(), 5), "pong!");
  EXPECT_EQ(RecvStr(c.client.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
  EXPECT_EQ(RecvStr(c.server.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST_P(TcpTest, ReadWriteReadvWritevSendmsgRecvmsg) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(write(c.client.get(), "hello", 5), 5);
  EXPECT_EQ(ReadN(c.server.get(), 5), "hello");
  char part1[] = "ab", part2[] = "cde";
  struct iovec out[2] = {{part1, 2}, {part2, 3}};
  ASSERT_EQ(writev(c.server.get(), out, 2), 5);
  ASSERT_TRUE(WaitAvailable(c.client.get(), 5));
  char in1[3] = {}, in2[8] = {};
  struct iovec in[2] = {{in1, 3}, {in2, 8}};
  EXPECT_EQ(readv(c.client.get(), in, 2), 5);
  EXPECT_EQ(std::string(in1, 3), "abc");
  EXPECT_EQ(std::string(in2, 2), "de");
  char a[] = "xy", b[] = "", z[] = "zzz";
  struct iovec gather[3] = {{a, 2}, {b, 0}, {z, 3}};
  struct msghdr msg = {};
  msg.msg_iov = gather;
  msg.msg_iovlen = 3;
  ASSERT_EQ(sendmsg(c.client.get(), &msg, 0), 5);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 5));
  char x[4] = {}, y[10] = {};
  struct iovec scatter[2] = {{x, 4}, {y, 10}};
  struct msghdr rmsg = {};
  rmsg.msg_iov = scatter;
  rmsg.msg_iovlen = 2;
  SockAddr from;
  rmsg.msg_name = &from.ss;
  rmsg.msg_namelen = sizeof(from.ss);
  EXPECT_EQ(recvmsg(c.server.get(), &rmsg, 0), 5);
  EXPECT_EQ(std::string(x, 4), "xyzz");
  EXPECT_EQ(std::string(y, 1), "z");
  EXPECT_EQ(rmsg.msg_flags, 0);
  // A connected TCP socket reports no source address.
  EXPECT_EQ(rmsg.msg_namelen, 0u);
  // Sockets have no file position.
  EXPECT_ERRNO(lseek(c.client.get(), 0, SEEK_CUR), ESPIPE);
  EXPECT_ERRNO(pwrite(c.client.get(), "x", 1, 0), ESPIPE);
}

TEST_P(TcpTest, SendtoOnAConnectedSocketIgnoresTheAddress) {
  Watchdog watchdog;
  Conn c = Connected(v());
  // Linux ignores the address, even one of another family.
  SockAddr elsewhere = domain() == AF_INET ? V6("::1", 1) : V4("127.0.0.1", 1);
  ASSERT_EQ(sendto(c.client.get(), "a", 1, 0, elsewhere.sa(), elsewhere.len),
            1);
  SockAddr lo = Loopback(1);
  ASSERT_EQ(sendto(c.client.get(), "b", 1, 0, lo.sa(), lo.len), 1);
  EXPECT_EQ(ReadN(c.server.get(), 2), "ab");
}

TEST_P(TcpTest, MegabytesFlowThroughAThreadBothWays) {
  Watchdog watchdog(60);
  Conn c = Connected(v());
  constexpr size_t kSize = 8 << 20;
  for (bool client_sends : {true, false}) {
    SCOPED_TRACE(client_sends ? "client to server" : "server to client");
    int from = client_sends ? c.client.get() : c.server.get();
    int to = client_sends ? c.server.get() : c.client.get();
    std::string out = Pattern(kSize, client_sends ? 1 : 2);
    ssize_t written = -1;
    std::thread writer([&] { written = write(from, out.data(), out.size()); });
    std::string in = ReadN(to, kSize);
    writer.join();
    EXPECT_EQ(written, static_cast<ssize_t>(kSize));
    EXPECT_TRUE(in == out) << "the data came back different";
  }
}

TEST_P(TcpTest, SimultaneousTransfersInBothDirections) {
  Watchdog watchdog(60);
  Conn c = Connected(v());
  constexpr size_t kSize = 4 << 20;
  std::string up = Pattern(kSize, 3), down = Pattern(kSize, 4);
  // Neither side reads until it has written everything, so the writes must
  // proceed while both send buffers are full: each needs its own thread.
  std::string got_up, got_down;
  std::thread client_reader([&] { got_down = ReadN(c.client.get(), kSize); });
  std::thread server_reader([&] { got_up = ReadN(c.server.get(), kSize); });
  std::thread client_writer([&] {
    EXPECT_EQ(write(c.client.get(), up.data(), up.size()),
              static_cast<ssize_t>(kSize));
  });
  EXPECT_EQ(write(c.server.get(), down.data(), down.size()),
            static_cast<ssize_t>(kSize));
  client_writer.join();
  client_reader.join();
  server_reader.join();
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
}

TEST_P(TcpTest, WritesCoalesceAndPeekDoesNotConsume) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.client.get(), "abc"), 3);
  ASSERT_EQ(SendStr(c.client.get(), "def"), 3);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 6));
  EXPECT_EQ(RecvStr(c.server.get(), 100, MSG_PEEK), "abcdef");
  EXPECT_EQ(RecvStr(c.server.get(), 2, MSG_PEEK), "ab");
  EXPECT_EQ(RecvStr(c.server.get(), 4), "abcd");
  EXPECT_EQ(RecvStr(c.server.get(), 100, MSG_PEEK), "ef");
  EXPECT_EQ(RecvStr(c.server.get(), 100), "ef");
}

TEST_P(TcpTest, MsgWaitallWaitsForEveryByte) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  std::thread writer([fd] {
    SendStr(fd, "abc");
    SleepMs(20);
    SendStr(fd, "de");
    SleepMs(20);
    SendStr(fd, "fgh");
  });
  EXPECT_EQ(RecvStr(c.server.get(), 6, MSG_WAITALL), "abcdef");
  writer.join();
  EXPECT_EQ(ReadN(c.server.get(), 2), "gh");
}

TEST_P(TcpTest, MsgWaitallStopsAtEofAndAtATimeout) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.client.get(), "abc"), 3);
  struct timeval tv = {0, 50000};
  ASSERT_OK(
      setsockopt(c.server.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  // With SO_RCVTIMEO a short MSG_WAITALL read returns what it has.
  EXPECT_EQ(RecvStr(c.server.get(), 10, MSG_WAITALL), "abc");
  ASSERT_EQ(SendStr(c.client.get(), "de"), 2);
  ASSERT_OK(shutdown(c.client.get(), SHUT_WR));
  EXPECT_EQ(RecvStr(c.server.get(), 10, MSG_WAITALL), "de");
}

TEST_P(TcpTest, MsgDontwaitOnAnEmptySocketIsEAGAIN) {
  Conn c = Connected(v());
  char ch;
  EXPECT_ERRNO(recv(c.client.get(), &ch, 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(fcntl(c.client.get(), F_GETFL) & O_NONBLOCK, 0);
  SetNonblocking(c.server.get());
  EXPECT_ERRNO(read(c.server.get(), &ch, 1), EAGAIN);
}

TEST_P(TcpTest, MsgTruncDiscardsTheBytesItCounts) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.client.get(), "abcdef"), 6);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 6));
  // On TCP, MSG_TRUNC drops up to `len` bytes without copying them.
  char buf[8] = {};
  EXPECT_EQ(recv(c.server.get(), buf, 2, MSG_TRUNC), 2);
  EXPECT_EQ(buf[0], '\0');
  EXPECT_EQ(RecvStr(c.server.get(), 100), "cdef");
  // The buffer may even be absent.
  ASSERT_EQ(SendStr(c.client.get(), "ghijkl"), 6);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 6));
  EXPECT_EQ(recv(c.server.get(), nullptr, 3, MSG_TRUNC), 3);
  // With MSG_PEEK it consumes nothing.
  EXPECT_EQ(recv(c.server.get(), nullptr, 2, MSG_TRUNC | MSG_PEEK), 2);
  EXPECT_EQ(RecvStr(c.server.get(), 100), "jkl");
  // A short read of a stream is not a truncation.
  ASSERT_EQ(SendStr(c.client.get(), "mnopq"), 5);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 5));
  char small[2];
  struct iovec iov = {small, sizeof(small)};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  EXPECT_EQ(recvmsg(c.server.get(), &msg, 0), 2);
  EXPECT_EQ(msg.msg_flags, 0);
}

TEST_P(TcpTest, ZeroLengthSendsAndRecvs) {
  Watchdog watchdog;
  Conn c = Connected(v());
  EXPECT_EQ(send(c.client.get(), "", 0, 0), 0);
  EXPECT_EQ(write(c.client.get(), "", 0), 0);
  // Nothing was sent; a zero-length recv waits for data like any other.
  char ch;
  EXPECT_ERRNO(recv(c.server.get(), &ch, 0, MSG_DONTWAIT), EAGAIN);
  ASSERT_EQ(SendStr(c.client.get(), "x"), 1);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 1));
  EXPECT_EQ(recv(c.server.get(), &ch, 0, 0), 0);
  EXPECT_EQ(read(c.server.get(), &ch, 0), 0);
  EXPECT_EQ(RecvStr(c.server.get(), 10), "x");
}

TEST_P(TcpTest, ABlockingRecvIsWokenByASendFromAnotherThread) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "wake"); });
  EXPECT_EQ(RecvStr(c.server.get(), 100), "wake");
  writer.join();
}

TEST_P(TcpTest, IoOnAnUnconnectedSocket) {
  Fd s = NewTcp(domain());
  char ch = 'x';
  EXPECT_ERRNO(recv(s.get(), &ch, 1, MSG_DONTWAIT), ENOTCONN);
  EXPECT_ERRNO(read(s.get(), &ch, 1), ENOTCONN);
  EXPECT_ERRNO(recv(s.get(), &ch, 0, 0), ENOTCONN);
  // Sending is EPIPE, and raises SIGPIPE like any TCP EPIPE.
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(send(s.get(), &ch, 1, 0), EPIPE); }));
  EXPECT_TRUE(
      RaisesSigpipe([&] { EXPECT_ERRNO(write(s.get(), &ch, 0), EPIPE); }));
  EXPECT_FALSE(RaisesSigpipe(
      [&] { EXPECT_ERRNO(send(s.get(), &ch, 1, MSG_NOSIGNAL), EPIPE); }));
  // An address does not help: TCP must connect first.
  SockAddr to = Loopback(UnusedPort(v()));
  EXPECT_ERRNO(sendto(s.get(), &ch, 1, MSG_NOSIGNAL, to.sa(), to.len), EPIPE);
  // A listener neither.
  Fd l = Listener(domain(), Loopback());
  EXPECT_ERRNO(recv(l.get(), &ch, 1, MSG_DONTWAIT), ENOTCONN);
  EXPECT_ERRNO(send(l.get(), &ch, 1, MSG_NOSIGNAL), EPIPE);
}

// ------------------------------------------------------------ shutdown(2)

TEST_P(TcpTest, ShutdownWrGivesThePeerEof) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.server.get(), "last"), 4);
  ASSERT_OK(shutdown(c.server.get(), SHUT_WR));
  EXPECT_EQ(ReadN(c.client.get(), 4), "last");
  EXPECT_EQ(RecvStr(c.client.get(), 100), "");
  EXPECT_EQ(RecvStr(c.client.get(), 100), "");
  EXPECT_EQ(Revents(c.client.get()), POLLIN | POLLOUT | POLLRDHUP);
  EXPECT_EQ(Revents(c.server.get()), POLLOUT);
  EXPECT_EQ(TcpState(c.client.get()), TCP_CLOSE_WAIT);
  // The other direction still works.
  ASSERT_EQ(SendStr(c.client.get(), "reply"), 5);
  EXPECT_EQ(ReadN(c.server.get(), 5), "reply");
  // Both directions shut: both ends hang up.
  ASSERT_OK(shutdown(c.client.get(), SHUT_WR));
  EXPECT_EQ(RecvStr(c.server.get(), 100), "");
  EXPECT_EQ(Revents(c.server.get()), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  EXPECT_EQ(Revents(c.client.get()), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
}

TEST_P(TcpTest, SendAfterShutdownWrIsEPIPEWithSigpipe) {
  Conn c = Connected(v());
  ASSERT_OK(shutdown(c.client.get(), SHUT_WR));
  EXPECT_TRUE(RaisesSigpipe(
      [&] { EXPECT_ERRNO(SendStr(c.client.get(), "x"), EPIPE); }));
  EXPECT_TRUE(RaisesSigpipe(
      [&] { EXPECT_ERRNO(write(c.client.get(), "x", 1), EPIPE); }));
  EXPECT_FALSE(RaisesSigpipe([&] {
    EXPECT_ERRNO(SendStr(c.client.get(), "x", MSG_NOSIGNAL), EPIPE);
  }));
  // EPIPE is not a pending error.
  EXPECT_EQ(GetIntOpt(c.client.get(), SOL_SOCKET, SO_ERROR), 0);
}

TEST_P(TcpTest, SigpipeKillsASenderWithTheDefaultAction) {
  Conn c = Connected(v());
  ASSERT_OK(shutdown(c.client.get(), SHUT_WR));
  int fd = c.client.get();
  int status = RunInChild([fd] {
    testing_util::DisableCoreDumps();
    testing_util::DefaultAndUnblock(SIGPIPE);
    send(fd, "x", 1, 0);
    return 0;
  });
  EXPECT_TRUE(KilledBySignal(status, SIGPIPE));
}

TEST_P(TcpTest, ShutdownRdEndsReadsButNotThePeersWrites) {
  Watchdog watchdog;
  Conn c = Connected(v());
  ASSERT_EQ(SendStr(c.server.get(), "data"), 4);
  ASSERT_TRUE(WaitAvailable(c.client.get(), 4));
  ASSERT_OK(shutdown(c.client.get(), SHUT_RD));
  EXPECT_EQ(Revents(c.client.get()), POLLIN | POLLOUT | POLLRDHUP);
  // Queued data is read first, then EOF instead of blocking.
  EXPECT_EQ(RecvStr(c.client.get(), 100), "data");
  EXPECT_EQ(RecvStr(c.client.get(), 100), "");
  // Unlike AF_UNIX, TCP tells the peer nothing: its sends still succeed,
  // and Linux even queues what arrives for reading.
  ASSERT_EQ(SendStr(c.server.get(), "more", MSG_NOSIGNAL), 4);
  ASSERT_TRUE(WaitAvailable(c.client.get(), 4));
  EXPECT_EQ(RecvStr(c.client.get(), 100), "more");
  // The shut-down side can still send.
  ASSERT_EQ(SendStr(c.client.get(), "out"), 3);
  EXPECT_EQ(ReadN(c.server.get(), 3), "out");
}

TEST_P(TcpTest, ShutdownErrors) {
  Conn c = Connected(v());
  EXPECT_ERRNO(shutdown(c.client.get(), 3), EINVAL);
  EXPECT_ERRNO(shutdown(c.client.get(), -1), EINVAL);
  ASSERT_OK(shutdown(c.client.get(), SHUT_RDWR));
  // Shutting down again is fine.
  EXPECT_EQ(shutdown(c.client.get(), SHUT_RDWR), 0) << strerror(errno);
}

TEST_P(TcpTest, ShutdownOfAnUnconnectedSocketIsENOTCONNYetTakesEffect) {
  Fd s = NewTcp(domain());
  EXPECT_ERRNO(shutdown(s.get(), SHUT_RD), ENOTCONN);
  EXPECT_ERRNO(shutdown(s.get(), SHUT_WR), ENOTCONN);
  // Linux records the shutdown anyway: reads see EOF instead of ENOTCONN.
  char ch;
  EXPECT_EQ(recv(s.get(), &ch, 1, 0), 0);
  EXPECT_ERRNO(send(s.get(), "x", 1, MSG_NOSIGNAL), EPIPE);
}

// --------------------------------------------------- the peer's close

TEST_P(TcpTest, PeerCloseIsEofAndThenOneWriteSucceedsBeforeEPIPE) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  c.server.Reset();
  // The FIN: EOF, every time.
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_EQ(Revents(fd), POLLIN | POLLOUT | POLLRDHUP);
  EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(TcpState(fd), TCP_CLOSE_WAIT);
  // The first write after the peer's close succeeds: only the peer knows
  // that nobody will read it, and it answers with a RST.
  EXPECT_FALSE(RaisesSigpipe([&] { EXPECT_EQ(SendStr(fd, "x"), 1); }));
  EXPECT_EQ(WaitEvents(fd, 0), POLLERR | POLLHUP);
  EXPECT_EQ(TcpState(fd), TCP_CLOSE);
  // After that, EPIPE (not ECONNRESET: the socket had seen the FIN), with
  // SIGPIPE, every time.
  EXPECT_TRUE(RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(fd, "x"), EPIPE); }));
  EXPECT_TRUE(RaisesSigpipe([&] { EXPECT_ERRNO(write(fd, "x", 1), EPIPE); }));
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_EQ(Revents(fd), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
}

TEST_P(TcpTest, TheResetAfterAWriteToAClosedPeerIsSoErrorEPIPE) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  c.server.Reset();
  EXPECT_EQ(RecvStr(fd, 100), "");
  ASSERT_EQ(SendStr(fd, "x"), 1);
  EXPECT_EQ(WaitEvents(fd, 0), POLLERR | POLLHUP);
  EXPECT_EQ(Revents(fd), POLLIN | POLLOUT | POLLERR | POLLRDHUP | POLLHUP);
  EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), EPIPE);
  EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), 0);
  EXPECT_ERRNO(SendStr(fd, "x", MSG_NOSIGNAL), EPIPE);
}

TEST_P(TcpTest, ClosingWithUnreadDataResetsThePeer) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  ASSERT_EQ(SendStr(c.server.get(), "bye"), 3);
  ASSERT_EQ(SendStr(fd, "never read"), 10);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 10));
  ASSERT_TRUE(WaitAvailable(fd, 3));
  c.server.Reset();
  // Data already queued for the client comes first, then ECONNRESET once,
  // then EOF.
  EXPECT_EQ(RecvStr(fd, 100), "bye");
  EXPECT_EQ(RecvStr(fd, 100), ErrorStr(ECONNRESET));
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_EQ(TcpState(fd), TCP_CLOSE);
  EXPECT_TRUE(RaisesSigpipe([&] { EXPECT_ERRNO(SendStr(fd, "x"), EPIPE); }));
}

TEST_P(TcpTest, SoErrorReportsAndClearsTheReset) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  ASSERT_EQ(SendStr(fd, "never read"), 10);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 10));
  c.server.Reset();
  EXPECT_EQ(WaitEvents(fd, 0), POLLERR | POLLHUP);
  EXPECT_EQ(Revents(fd), POLLIN | POLLOUT | POLLERR | POLLRDHUP | POLLHUP);
  EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), ECONNRESET);
  EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), 0);
  // Reading SO_ERROR consumed it: recv sees plain EOF.
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_EQ(Revents(fd), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
}

TEST_P(TcpTest, LingerZeroCloseResetsThePeer) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.client.get();
  ASSERT_EQ(SendStr(c.server.get(), "data"), 4);
  ASSERT_TRUE(WaitAvailable(fd, 4));
  struct linger lg = {1, 0};
  ASSERT_OK(setsockopt(c.server.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  c.server.Reset();
  // What had arrived stays readable; then the reset.
  EXPECT_EQ(RecvStr(fd, 100), "data");
  EXPECT_EQ(RecvStr(fd, 100), ErrorStr(ECONNRESET));
  EXPECT_EQ(RecvStr(fd, 100), "");
  EXPECT_ERRNO(SendStr(fd, "x", MSG_NOSIGNAL), EPIPE);
}

TEST_P(TcpTest, LingerZeroCloseOfAnIdleConnectionResetsThePeer) {
  Watchdog watchdog;
  Conn c = Connected(v());
  struct linger lg = {1, 0};
  ASSERT_OK(setsockopt(c.server.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  c.server.Reset();
  EXPECT_EQ(RecvStr(c.client.get(), 100), ErrorStr(ECONNRESET));
  EXPECT_EQ(Revents(c.client.get()), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
}

TEST_P(TcpTest, ClosingAListenerResetsItsPendingConnections) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  Fd quiet = ConnectTo(domain(), addr);
  Fd talker = ConnectTo(domain(), addr);
  ASSERT_EQ(SendStr(talker.get(), "hi"), 2);
  ASSERT_EQ(WaitEvents(l.get(), POLLIN), POLLIN);
  l.Reset();
  EXPECT_EQ(RecvStr(quiet.get(), 100), ErrorStr(ECONNRESET));
  EXPECT_EQ(RecvStr(quiet.get(), 100), "");
  EXPECT_EQ(WaitEvents(talker.get(), 0), POLLERR | POLLHUP);
  EXPECT_EQ(GetIntOpt(talker.get(), SOL_SOCKET, SO_ERROR), ECONNRESET);
  EXPECT_ERRNO(SendStr(talker.get(), "x", MSG_NOSIGNAL), EPIPE);
  // The port is free again.
  Fd again = Listener(domain(), addr);
}

// -------------------------------------------------------- poll and epoll

TEST_P(TcpTest, PollReadiness) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  EXPECT_EQ(Revents(l.get()), 0);
  SockAddr addr = SockName(l.get());
  Fd c = ConnectTo(domain(), addr);
  // A pending connection makes the listener readable.
  EXPECT_EQ(WaitEvents(l.get(), POLLIN), POLLIN);
  EXPECT_EQ(Revents(l.get()), POLLIN);
  Fd s = Accept(l.get());
  EXPECT_EQ(Revents(l.get()), 0);
  EXPECT_EQ(Revents(c.get()), POLLOUT);
  EXPECT_EQ(Revents(s.get()), POLLOUT);
  ASSERT_EQ(SendStr(s.get(), "x"), 1);
  EXPECT_EQ(WaitEvents(c.get(), POLLIN), POLLIN);
  EXPECT_EQ(Revents(c.get()), POLLIN | POLLOUT);
  EXPECT_EQ(RecvStr(c.get(), 10), "x");
  EXPECT_EQ(Revents(c.get()), POLLOUT);
}

TEST_P(TcpTest, ABlockingPollIsWokenByData) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int fd = c.server.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "x"); });
  struct pollfd pfd = {c.client.get(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
  writer.join();
}

TEST_P(TcpTest, AFullSocketIsNotWritableUntilThePeerReads) {
  Watchdog watchdog(60);
  Conn c = Connected(v());
  size_t total = FillStream(c.client.get());
  EXPECT_GT(total, 0u);
  EXPECT_EQ(Revents(c.client.get()), 0);
  EXPECT_ERRNO(send(c.client.get(), "x", 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(ReadN(c.server.get(), total).size(), total);
  EXPECT_EQ(WaitEvents(c.client.get(), POLLOUT), POLLOUT);
  EXPECT_EQ(RecvStr(c.server.get(), 10, MSG_DONTWAIT), ErrorStr(EAGAIN));
}

TEST_P(TcpTest, EpollIsWokenByDataAndByThePeersClose) {
  Watchdog watchdog;
  Conn c = Connected(v());
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(ep.get(), 0) << strerror(errno);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = 42;
  ASSERT_OK(epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.client.get(), &ev));
  struct epoll_event out[2] = {};
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  int fd = c.server.get();
  std::thread writer = RunLater(30, [fd] { SendStr(fd, "x"); });
  ASSERT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
  writer.join();
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 42u);
  EXPECT_EQ(RecvStr(c.client.get(), 10), "x");
  std::thread closer = RunLater(30, [&c] { c.server.Reset(); });
  ASSERT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
  closer.join();
  // A FIN alone is no hang-up: the client may still send.
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN | EPOLLRDHUP));
}

TEST_P(TcpTest, EdgeTriggeredListener) {
  Watchdog watchdog;
  Fd l = Listener(domain(), Loopback());
  SockAddr addr = SockName(l.get());
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(ep.get(), 0) << strerror(errno);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ASSERT_OK(epoll_ctl(ep.get(), EPOLL_CTL_ADD, l.get(), &ev));
  struct epoll_event out[2] = {};
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  Fd c = ConnectTo(domain(), addr);
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
  // Edge-triggered: no new connection, no new event.
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 0), 0);
  Fd c2 = ConnectTo(domain(), addr);
  EXPECT_EQ(epoll_wait(ep.get(), out, 2, 10000), 1);
}

// ---------------------------------------------------------------- ioctls

TEST_P(TcpTest, FionreadCountsEveryQueuedByte) {
  Watchdog watchdog;
  Conn c = Connected(v());
  int avail = -1;
  ASSERT_OK(ioctl(c.server.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  ASSERT_EQ(SendStr(c.client.get(), "hello"), 5);
  ASSERT_EQ(SendStr(c.client.get(), "world!"), 6);
  ASSERT_TRUE(WaitAvailable(c.server.get(), 11));
  ASSERT_OK(ioctl(c.server.get(), SIOCINQ, &avail));
  EXPECT_EQ(avail, 11);
  EXPECT_EQ(RecvStr(c.server.get(), 3), "hel");
  ASSERT_OK(ioctl(c.server.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 8);
  ASSERT_OK(ioctl(c.client.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
  // A listener has no byte queue.
  EXPECT_ERRNO(ioctl(c.listener.get(), FIONREAD, &avail), EINVAL);
  EXPECT_ERRNO(ioctl(c.listener.get(), SIOCOUTQ, &avail), EINVAL);
  Fd fresh = NewTcp(domain());
  ASSERT_OK(ioctl(fresh.get(), FIONREAD, &avail));
  EXPECT_EQ(avail, 0);
}

TEST_P(TcpTest, SiocoutqCountsBytesThePeerHasNotTaken) {
  Watchdog watchdog(60);
  Conn c = Connected(v());
  int queued = -1;
  ASSERT_OK(ioctl(c.client.get(), SIOCOUTQ, &queued));
  EXPECT_EQ(queued, 0);
  // Fill both the peer's receive queue and the client's send queue.
  size_t total = FillStream(c.client.get());
  ASSERT_OK(ioctl(c.client.get(), SIOCOUTQ, &queued));
  EXPECT_GT(queued, 0);
  EXPECT_LE(static_cast<size_t>(queued), total);
  int avail = -1;
  ASSERT_OK(ioctl(c.server.get(), FIONREAD, &avail));
  EXPECT_GT(avail, 0);
  EXPECT_LE(static_cast<size_t>(avail), total);
  // Once the peer has read everything, nothing is left to send.
  EXPECT_EQ(ReadN(c.server.get(), total).size(), total);
  EXPECT_TRUE(WaitFor([&] {
    return ioctl(c.client.get(), SIOCOUTQ, &queued) == 0 && queued == 0;
  })) << queued;
}

// -------------------------------------------------------- socket options

TEST_P(TcpTest, SockoptsNameTheSocket) {
  Conn c = Connected(v());
  for (int fd : {c.client.get(), c.server.get(), c.listener.get()}) {
    EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_DOMAIN), domain());
    EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
    EXPECT_EQ(GetIntOpt(fd, SOL_SOCKET, SO_ERROR), 0);
  }
  EXPECT_EQ(GetIntOpt(c.listener.get(), SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_EQ(GetIntOpt(c.client.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_EQ(GetIntOpt(c.server.get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
}

TEST_P(TcpTest, BooleanOptionsRoundTrip) {
  Fd s = NewTcp(domain());
  const std::pair<int, int> kOptions[] = {
      {SOL_SOCKET, SO_REUSEADDR}, {SOL_SOCKET, SO_REUSEPORT},
      {SOL_SOCKET, SO_KEEPALIVE}, {IPPROTO_TCP, TCP_NODELAY},
      {IPPROTO_TCP, TCP_CORK},
  };
  for (auto [level, name] : kOptions) {
    SCOPED_TRACE("level " + std::to_string(level) + " option " +
                 std::to_string(name));
    EXPECT_EQ(GetIntOpt(s.get(), level, name), 0);
    // Any non-zero value reads back as 1.
    SetIntOpt(s.get(), level, name, 5);
    EXPECT_EQ(GetIntOpt(s.get(), level, name), 1);
    SetIntOpt(s.get(), level, name, 0);
    EXPECT_EQ(GetIntOpt(s.get(), level, name), 0);
  }
}

TEST_P(TcpTest, OptionsSurviveAndWorkOnAConnection) {
  Watchdog watchdog;
  Conn c = Connected(v());
  SetIntOpt(c.client.get(), IPPROTO_TCP, TCP_NODELAY, 1);
  SetIntOpt(c.client.get(), SOL_SOCKET, SO_KEEPALIVE, 1);
  EXPECT_EQ(GetIntOpt(c.client.get(), IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(GetIntOpt(c.client.get(), SOL_SOCKET, SO_KEEPALIVE), 1);
  // Corked data is still delivered once the cork is removed.
  SetIntOpt(c.client.get(), IPPROTO_TCP, TCP_CORK, 1);
  ASSERT_EQ(SendStr(c.client.get(), "cork"), 4);
  SetIntOpt(c.client.get(), IPPROTO_TCP, TCP_CORK, 0);
  EXPECT_EQ(ReadN(c.server.get(), 4), "cork");
}

TEST_P(TcpTest, LingerRoundTrip) {
  Fd s = NewTcp(domain());
  struct linger lg = {-1, -1};
  socklen_t len = sizeof(lg);
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, &len));
  EXPECT_EQ(len, sizeof(lg));
  EXPECT_EQ(lg.l_onoff, 0);
  EXPECT_EQ(lg.l_linger, 0);
  lg = {5, 7};
  ASSERT_OK(setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  len = sizeof(lg);
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, &len));
  EXPECT_EQ(lg.l_onoff, 1);
  EXPECT_EQ(lg.l_linger, 7);
  // Turning it off ignores the new time and keeps the old one.
  lg = {0, 9};
  ASSERT_OK(setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  len = sizeof(lg);
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, &len));
  EXPECT_EQ(lg.l_onoff, 0);
  EXPECT_EQ(lg.l_linger, 7);
  EXPECT_ERRNO(setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(int)),
               EINVAL);
}

TEST_P(TcpTest, BufferSizesAreDoubled) {
  Fd s = NewTcp(domain());
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF), 0);
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 0);
  SetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF, 8192);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF), 16384);
  SetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF, 10000);
  EXPECT_EQ(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 20000);
  // Tiny values are raised to a minimum, huge ones capped.
  SetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF, 1);
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_SNDBUF), 2);
  SetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF, 1);
  EXPECT_GT(GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF), 2);
  SetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF, 1 << 30);
  int big = GetIntOpt(s.get(), SOL_SOCKET, SO_RCVBUF);
  EXPECT_GT(big, 20000);
  EXPECT_LT(big, 1 << 30);
}

TEST_P(TcpTest, RcvtimeoMakesRecvAndAcceptFailWithEAGAIN) {
  Watchdog watchdog;
  Conn c = Connected(v());
  // 40 ms: a whole number of jiffies at every common HZ, so that it reads
  // back unrounded.
  struct timeval tv = {0, 40000};
  ASSERT_OK(
      setsockopt(c.client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  struct timeval got = {};
  socklen_t len = sizeof(got);
  ASSERT_OK(getsockopt(c.client.get(), SOL_SOCKET, SO_RCVTIMEO, &got, &len));
  EXPECT_EQ(len, sizeof(got));
  EXPECT_EQ(got.tv_sec, 0);
  EXPECT_EQ(got.tv_usec, 40000);
  int64_t start = NowNs();
  char ch;
  EXPECT_ERRNO(recv(c.client.get(), &ch, 1, 0), EAGAIN);
  int64_t elapsed = NowNs() - start;
  EXPECT_GE(elapsed, 35 * kMs);
  EXPECT_LT(elapsed, 5000 * kMs);
  ASSERT_OK(
      setsockopt(c.listener.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  EXPECT_ERRNO(accept(c.listener.get(), nullptr, nullptr), EAGAIN);
  // Data that arrives in time is returned.
  int fd = c.server.get();
  std::thread writer = RunLater(10, [fd] { SendStr(fd, "y"); });
  tv = {5, 0};
  ASSERT_OK(
      setsockopt(c.client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
  EXPECT_EQ(RecvStr(c.client.get(), 10), "y");
  writer.join();
}

TEST_P(TcpTest, KeepaliveTimers) {
  Fd s = NewTcp(domain());
  // Linux's defaults (net.ipv4.tcp_keepalive_time, _intvl, _probes).
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE), 7200);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPINTVL), 75);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPCNT), 9);
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE, 60);
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPINTVL, 5);
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPCNT, 3);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE), 60);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPINTVL), 5);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPCNT), 3);
  // The limits: 1..32767 seconds, 1..127 probes.
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE, 32767);
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPINTVL, 32767);
  SetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPCNT, 127);
  for (int name : {TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT}) {
    SCOPED_TRACE("option " + std::to_string(name));
    int too_big = name == TCP_KEEPCNT ? 128 : 32768;
    for (int bad : {0, -1, too_big}) {
      EXPECT_ERRNO(setsockopt(s.get(), IPPROTO_TCP, name, &bad, sizeof(bad)),
                   EINVAL);
    }
  }
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE), 32767);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_TCP, TCP_KEEPCNT), 127);
}

TEST_P(TcpTest, TcpMaxsegIsReadable) {
  Conn c = Connected(v());
  Fd fresh = NewTcp(domain());
  EXPECT_GT(GetIntOpt(fresh.get(), IPPROTO_TCP, TCP_MAXSEG), 0);
  EXPECT_GT(GetIntOpt(c.client.get(), IPPROTO_TCP, TCP_MAXSEG), 0);
  EXPECT_GT(GetIntOpt(c.server.get(), IPPROTO_TCP, TCP_MAXSEG), 0);
}

TEST_P(TcpTest, TcpInfoReportsTheState) {
  Watchdog watchdog;
  Conn c = Connected(v());
  Fd fresh = NewTcp(domain());
  struct tcp_info info = {};
  socklen_t len = sizeof(info);
  ASSERT_OK(getsockopt(fresh.get(), IPPROTO_TCP, TCP_INFO, &info, &len));
  EXPECT_EQ(len, sizeof(info));
  EXPECT_EQ(info.tcpi_state, TCP_CLOSE);
  EXPECT_EQ(TcpState(c.listener.get()), TCP_LISTEN);
  EXPECT_EQ(TcpState(c.client.get()), TCP_ESTABLISHED);
  EXPECT_EQ(TcpState(c.server.get()), TCP_ESTABLISHED);
  // A shorter buffer gets a prefix of the structure.
  unsigned char prefix[16];
  memset(prefix, 0xab, sizeof(prefix));
  len = 8;
  ASSERT_OK(getsockopt(c.client.get(), IPPROTO_TCP, TCP_INFO, prefix, &len));
  EXPECT_EQ(len, 8u);
  EXPECT_EQ(prefix[offsetof(struct tcp_info, tcpi_state)], TCP_ESTABLISHED);
  EXPECT_EQ(prefix[8], 0xab);
  // After the peer's FIN, CLOSE_WAIT.
  c.server.Reset();
  EXPECT_EQ(RecvStr(c.client.get(), 10), "");
  EXPECT_EQ(TcpState(c.client.get()), TCP_CLOSE_WAIT);
}

TEST_P(TcpTest, TcpCongestionIsANonEmptyName) {
  Conn c = Connected(v());
  for (int fd : {c.client.get(), c.listener.get()}) {
    char name[64];
    memset(name, 0x7f, sizeof(name));
    socklen_t len = sizeof(name);
    ASSERT_OK(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len));
    // TCP_CA_NAME_MAX bytes, NUL-padded.
    EXPECT_EQ(len, 16u);
    size_t n = strnlen(name, len);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, 16u);
  }
}

TEST_P(TcpTest, IpTosRoundTrip) {
  Fd s = NewTcp(domain());
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0);
  SetIntOpt(s.get(), IPPROTO_IP, IP_TOS, 0x10);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0x10);
  // TCP owns the ECN bits: setting them has no effect.
  SetIntOpt(s.get(), IPPROTO_IP, IP_TOS, 0x2b);
  EXPECT_EQ(GetIntOpt(s.get(), IPPROTO_IP, IP_TOS), 0x28);
  // A single byte is accepted too, and a one-byte read gets one byte.
  unsigned char b = 0x20;
  ASSERT_OK(setsockopt(s.get(), IPPROTO_IP, IP_TOS, &b, 1));
  b = 0;
  socklen_t len = 1;
  ASSERT_OK(getsockopt(s.get(), IPPROTO_IP, IP_TOS, &b, &len));
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(b, 0x20);
}

TEST_P(TcpTest, UnknownOptionsAreENOPROTOOPT) {
  Fd s = NewTcp(domain());
  int v = 1;
  for (int level : {SOL_SOCKET, static_cast<int>(IPPROTO_TCP),
                    static_cast<int>(IPPROTO_IP)}) {
    SCOPED_TRACE("level " + std::to_string(level));
    socklen_t len = sizeof(v);
    EXPECT_ERRNO(getsockopt(s.get(), level, 9999, &v, &len), ENOPROTOOPT);
    EXPECT_ERRNO(setsockopt(s.get(), level, 9999, &v, sizeof(v)), ENOPROTOOPT);
  }
}

TEST_P(TcpTest, OptlenErrors) {
  Fd s = NewTcp(domain());
  short v2 = 1;
  // Integer options want a whole int when set...
  EXPECT_ERRNO(setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &v2, 2), EINVAL);
  EXPECT_ERRNO(setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &v2, 2), EINVAL);
  EXPECT_ERRNO(setsockopt(s.get(), SOL_SOCKET, SO_KEEPALIVE, &v2, 0), EINVAL);
  EXPECT_ERRNO(setsockopt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE, &v2, 2), EINVAL);
  // ...but are cut down to a shorter buffer when read.
  v2 = 0;
  socklen_t len = 2;
  ASSERT_OK(getsockopt(s.get(), IPPROTO_TCP, TCP_KEEPIDLE, &v2, &len));
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(v2, 7200);
  len = 2;
  ASSERT_OK(getsockopt(s.get(), SOL_SOCKET, SO_TYPE, &v2, &len));
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(v2, SOCK_STREAM);
  // A negative length is EINVAL everywhere.
  int v = 0;
  for (auto [level, name] : {std::pair<int, int>{SOL_SOCKET, SO_TYPE},
                             {IPPROTO_TCP, TCP_NODELAY},
                             {IPPROTO_IP, IP_TOS}}) {
    len = static_cast<socklen_t>(-1);
    EXPECT_ERRNO(getsockopt(s.get(), level, name, &v, &len), EINVAL);
  }
  // A larger length is cut down to the option's size.
  int64_t big = -1;
  len = sizeof(big);
  ASSERT_OK(getsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &big, &len));
  EXPECT_EQ(len, sizeof(int));
}

// ---------------------------------------------------- many connections

TEST_P(TcpTest, ThousandsOfConnectionsOpenAndClose) {
  Watchdog watchdog(120);
  size_t fds_before = OpenFdCount();
  Fd l = Listener(domain(), Loopback(), 128);
  SockAddr addr = SockName(l.get());
  constexpr int kConnections = 2000;
  int failures = 0;
  for (int i = 0; i < kConnections && failures < 10; i++) {
    Fd c = NewTcp(domain());
    if (connect(c.get(), addr.sa(), addr.len) != 0) {
      ADD_FAILURE() << "connect #" << i << ": " << strerror(errno);
      failures++;
      continue;
    }
    Fd s(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (s.get() < 0) {
      ADD_FAILURE() << "accept #" << i << ": " << strerror(errno);
      failures++;
      continue;
    }
    char ch = static_cast<char>(i);
    char got = 0;
    if (write(c.get(), &ch, 1) != 1 || read(s.get(), &got, 1) != 1 ||
        got != ch) {
      ADD_FAILURE() << "echo #" << i << ": " << strerror(errno);
      failures++;
    }
    // Alternate which side closes first.
    if (i % 2 == 0) c.Reset();
  }
  l.Reset();
  EXPECT_EQ(OpenFdCount(), fds_before);
}

INSTANTIATE_TEST_SUITE_P(Families, TcpTest, ::testing::ValuesIn(kVariants),
                         VariantName);

}  // namespace
