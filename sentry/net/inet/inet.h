// The sandbox's loopback network: TCP and UDP sockets over IPv4 and IPv6
// (and v4-mapped v6) that talk to each other inside the sentry.
//
// It is a socket-level stack: no packets exist. A connect finds the
// listener in the port table and makes the server's end at once; a send
// appends to the peer's receive queue. What a program can observe (port
// allocation and conflicts, backlogs, EOF, resets, errors, readiness) is
// modelled on what Linux shows on `lo`. Only loopback addresses are local;
// any other destination is unreachable (ENETUNREACH), which is what the
// default --network=none means.
//
// With --network=host, a connection or datagram that no socket of the
// sandbox would take goes to the host instead: the socket asks the
// network broker (sentry/net/host) for a host socket to that destination,
// which the egress allowlist may refuse (EACCES), and from then on passes
// its calls to that host socket. The sandbox's own sockets come first, so
// servers inside keep talking to each other on loopback.
//
// Ownership: a socket file description holds its socket; a listener holds
// the server ends of connections not yet accepted. Connected peers hold
// each other weakly: when a socket's last fd goes, Close() tells the peer
// (an orphan FIN or a reset) and the socket is freed, so connections that
// are opened and abandoned leave nothing behind. The port table holds
// sockets weakly too.
//
// Lock order: Stack::mu_ is a leaf (the table keeps copies of the flags it
// needs, never calls into a socket). A listener's mu_ may be held while a
// new server end's mu_ is taken (nobody else can hold it yet); otherwise no
// code holds two sockets' locks at once: a sender reads its peer under its
// own lock, drops it, then queues under the peer's. WaitQueue::Notify runs
// with no socket lock held.

#ifndef SENTRY_NET_INET_INET_H_
#define SENTRY_NET_INET_INET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/auth/credentials.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/net/blocking.h"
#include "sentry/net/host/host.h"
#include "sentry/vfs/file.h"

namespace sentry::net::inet {

// An IP address, always in IPv6 form: IPv4 as v4-mapped (::ffff:a.b.c.d).
struct IpAddr {
  std::array<uint8_t, 16> b{};

  // From an IPv4 address in network byte order.
  static IpAddr V4(uint32_t be);
  static IpAddr V6(const struct in6_addr& a);
  static IpAddr Any6() { return IpAddr{}; }
  static IpAddr Loopback6();
  static IpAddr Loopback4() { return V4(htonl(INADDR_LOOPBACK)); }

  bool is_v4() const;     // v4-mapped
  uint32_t v4() const;    // network byte order; is_v4() only
  bool is_any() const;    // :: or 0.0.0.0
  bool is_local() const;  // 127.0.0.0/8 or ::1: an address of `lo`
  bool is_multicast() const;
  bool is_broadcast() const;  // 255.255.255.255, 127.255.255.255
  struct in6_addr in6() const;
  bool operator==(const IpAddr& o) const { return b == o.b; }
  bool operator!=(const IpAddr& o) const { return b != o.b; }
  std::string ToString() const;
};

struct SockAddr {
  IpAddr addr;
  uint16_t port = 0;  // host byte order
  uint32_t flowinfo = 0;
  uint32_t scope_id = 0;
};

// Decodes a guest sockaddr of `len` bytes for a socket of `family`
// (AF_INET or AF_INET6), as Linux checks them: EINVAL for a short length,
// EAFNOSUPPORT for another family. `allow_unspec` accepts AF_UNSPEC as
// AF_INET (bind(2) with INADDR_ANY, sendto(2)) where Linux does.
enum class AddrUse { kBind, kConnect, kSendTo };
SysResult<SockAddr> ParseSockAddr(int family, const void* p, size_t len,
                                  AddrUse use);
// Encodes `a` as the socket's family shows it (v4-mapped on AF_INET6).
// Returns the length Linux reports.
size_t EncodeSockAddr(int family, const SockAddr& a,
                      struct sockaddr_storage* out);

// The ephemeral port range (net.ipv4.ip_local_port_range).
inline constexpr uint16_t kEphemeralLow = 32768;
inline constexpr uint16_t kEphemeralHigh = 60999;
// net.core.somaxconn.
inline constexpr int kSomaxconn = 4096;
// Buffer sizes Linux reports by default: tcp_wmem[1], tcp_rmem[1], and
// net.core.[rw]mem_default for UDP; [rw]mem_max caps SO_SNDBUF/SO_RCVBUF.
inline constexpr int kTcpSndbuf = 16384;
inline constexpr int kTcpRcvbuf = 131072;
inline constexpr int kUdpBuf = 212992;
inline constexpr int kBufMax = 4194304;
inline constexpr int kMinSndbuf = 4608;
inline constexpr int kMinRcvbuf = 2304;
// What a connection may have in flight (sent, not yet read) when no
// buffer size was set: Linux's autotuning lets loopback reach about this.
inline constexpr size_t kAutoWindow = 4 << 20;
// The loopback MTU and the MSS a connection on it reports.
inline constexpr int kLoopbackMtu = 65536;
inline constexpr int kLoopbackMss = 65483;
inline constexpr int kDefaultMss = 536;  // TCP_MSS_DEFAULT, before connect

using vfs::ShouldBlock;

// Options a program sets and reads back. The syscall layer checks values;
// the ones with an effect here are read by the sockets.
struct Options {
  std::atomic<bool> reuseaddr{false};
  std::atomic<bool> reuseport{false};
  std::atomic<bool> broadcast{false};
  std::atomic<bool> v6only{false};
  std::atomic<int> sndbuf{0};
  std::atomic<int> rcvbuf{0};
  std::atomic<bool> sndbuf_set{false};  // set by the program
  std::atomic<bool> rcvbuf_set{false};
  std::atomic<int64_t> rcvtimeo_ns{0};  // 0: none
  std::atomic<int64_t> sndtimeo_ns{0};
  std::atomic<bool> linger_on{false};
  std::atomic<int> linger_secs{0};
  // Everything else is remembered by (level, name) for getsockopt:
  // SO_KEEPALIVE, TCP_NODELAY, IP_TOS, ... with Linux's defaults when
  // unset (see the syscall layer).
  void Set(int level, int name, int value);
  std::optional<int> Get(int level, int name);
  // Copies what accept(2) inherits from a listener.
  void InheritFrom(Options& o);

 private:
  absl::Mutex mu_;
  std::map<std::pair<int, int>, int> values_ ABSL_GUARDED_BY(mu_);
};

struct RecvResult {
  size_t copied = 0;  // bytes placed in the buffer
  size_t length = 0;  // bytes the datagram had (UDP)
  bool truncated = false;
  std::optional<SockAddr> from;
  uint8_t tos = 0;   // IP_TOS / IPV6_TCLASS of a datagram
  int ttl = 64;      // IP_TTL / IPV6_UNICAST_HOPS of a datagram
  IpAddr dst;        // where a datagram was sent (IP_PKTINFO)
  absl::Time stamp;  // when it arrived (SO_TIMESTAMP)
};

class Socket;

// The port tables and listeners of the sandbox's network namespace.
class Stack final {
 public:
  static Stack& Get();

  struct Binding {
    std::weak_ptr<Socket> socket;
    const void* owner = nullptr;
    int family = AF_INET;
    IpAddr addr;
    bool v6only = false;
    bool reuseaddr = false;
    bool reuseport = false;
    uint32_t uid = 0;
    bool listening = false;
    bool connected = false;  // a UDP socket with a peer
    SockAddr peer;           // its peer
    uint64_t seq = 0;        // bind order: the newest wins a tie (UDP)
    // A closed connection's end in TIME_WAIT keeps the port until then
    // (no socket, no owner: it only conflicts).
    std::optional<absl::Time> time_wait_until;
    // Autobinding for connect(2), which may reuse a port in TIME_WAIT as
    // Linux does on loopback (net.ipv4.tcp_tw_reuse = 2).
    bool connecting = false;
  };

  // Registers `b` on `port` (0: an ephemeral one) of `protocol`; returns
  // the port. EADDRINUSE on a conflict, or when no ephemeral port is free.
  SysResult<uint16_t> Bind(int protocol, uint16_t port, Binding b);
  void Unbind(int protocol, uint16_t port, const void* owner);
  // A closed TCP socket's binding stays for TIME_WAIT (60 s, Linux's
  // TCP_TIMEWAIT_LEN) and then goes.
  void TimeWait(int protocol, uint16_t port, const void* owner);
  // Registers the server end of an accepted connection on its listener's
  // port, without a conflict check: it shares the port as Linux's
  // established sockets share their listener's bind bucket.
  void Attach(int protocol, uint16_t port, Binding b);
  // listen(2): marks the binding as a listener, checking conflicts again
  // as a listener (EADDRINUSE).
  SysResult<void> SetListening(int protocol, uint16_t port, const void* owner,
                               bool listening);
  // A UDP socket connected to (or disconnected from) `peer`, and a new
  // local address (connect picks one).
  void Update(int protocol, uint16_t port, const void* owner,
              const IpAddr& addr, std::optional<SockAddr> peer);

  // The socket that a packet from `src` to `dst` would reach: a TCP
  // listener or a UDP socket. Null if none.
  std::shared_ptr<Socket> Lookup(int protocol, const SockAddr& dst,
                                 const SockAddr& src, bool want_listener);

  // For /proc/net: every socket with a binding.
  std::vector<std::shared_ptr<Socket>> All(int protocol);

  // For /proc/net/sockstat: the port table's entries of `protocol` and
  // `family` (AF_INET covers v4-only sockets) that are not TIME_WAIT,
  // whether or not their socket still lives (a stale entry is a leak),
  // and the TIME_WAIT ones.
  size_t InUse(int protocol, int family);
  size_t TimeWaits(int protocol);

 private:
  Stack() = default;
  // Whether `b` may not share a port with `a`, which holds it already.
  bool Conflicts(int protocol, const Binding& a, const Binding& b) const;
  bool ConflictsLocked(int protocol, uint16_t port, const Binding& b,
                       const void* ignore) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<uint16_t, std::vector<Binding>> tcp_ ABSL_GUARDED_BY(mu_);
  std::map<uint16_t, std::vector<Binding>> udp_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  // Picks where the search for an ephemeral port starts: seeded once from
  // the host's entropy, so the guest can neither predict it nor find it
  // stuck on one parity as a linear congruential step modulo an even
  // range would be.
  std::mt19937 port_rng_ ABSL_GUARDED_BY(mu_);
  bool port_rng_seeded_ ABSL_GUARDED_BY(mu_) = false;
};

// Who a socket call is made by: its credentials for port privileges and
// SO_REUSEPORT's same-user rule.
struct Caller {
  uint32_t uid = 0;
  bool can_bind_privileged = false;
};

// One TCP or UDP socket.
class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(int family, int type, int protocol);
  virtual ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int family() const { return family_; }
  int type() const { return type_; }
  int protocol() const { return protocol_; }
  Options& options() { return options_; }
  WaitQueue& queue() { return queue_; }

  SysResult<void> Bind(const SockAddr& a, const Caller& caller);
  virtual SysResult<void> Listen(vfs::CallContext& ctx, int backlog,
                                 const Caller& caller) = 0;
  virtual SysResult<std::shared_ptr<Socket>> Accept(
      vfs::CallContext& ctx, ShouldBlock block,
      std::optional<absl::Time> deadline) = 0;
  // connect(2). A non-blocking TCP connect answers EINPROGRESS, as Linux
  // does even on loopback; SO_ERROR then tells how it went.
  virtual SysResult<void> Connect(vfs::CallContext& ctx, const SockAddr& to,
                                  const Caller& caller, ShouldBlock block,
                                  std::optional<absl::Time> deadline) = 0;
  // connect(2) with AF_UNSPEC.
  virtual SysResult<void> Disconnect() = 0;
  // sendmsg(2): returns the bytes sent. `to` for an unconnected send.
  // EPIPE is returned for the caller to raise SIGPIPE (TCP).
  virtual SysResult<size_t> Send(vfs::CallContext& ctx, std::string data,
                                 const std::optional<SockAddr>& to,
                                 const Caller& caller, ShouldBlock block,
                                 std::optional<absl::Time> deadline) = 0;
  // recvmsg(2) with MSG_PEEK, MSG_WAITALL and MSG_TRUNC in `flags`.
  virtual SysResult<RecvResult> Recv(vfs::CallContext& ctx, char* buf,
                                     size_t len, int flags, ShouldBlock block,
                                     std::optional<absl::Time> deadline) = 0;
  virtual SysResult<void> Shutdown(int how) = 0;
  // The last fd of the socket is gone.
  virtual void Close() = 0;
  virtual uint32_t Readiness(uint32_t mask) = 0;

  SockAddr LocalAddr();
  virtual SysResult<SockAddr> PeerAddr();
  // SO_ERROR: the pending error, cleared.
  int TakeError();
  // --network=host: the host socket this one talks through (connected to
  // a host destination), or null while it is the sandbox's own.
  // Without --network=host there are none, and the hot paths (every
  // send, receive and poll) take no lock to find out.
  std::shared_ptr<host::HostEndpoint> host() {
    if (host::BrokerClient::Get() == nullptr) return nullptr;
    absl::MutexLock l(&mu_);
    return host_;
  }
  // The host fds whose readiness is this socket's, for poll and epoll.
  virtual void HostPollFds(uint32_t events, std::vector<struct pollfd>* out);
  // setsockopt(2) changed an option: pass it on to the host sockets.
  void SyncHostOptions();
  virtual bool listening() { return false; }
  // FIONREAD/SIOCINQ and SIOCOUTQ.
  virtual SysResult<size_t> InQueue() = 0;
  virtual size_t OutQueue() { return 0; }
  // TCP_INFO's state (TCP_ESTABLISHED, ...), or for UDP what /proc/net
  // shows (TCP_CLOSE, or TCP_ESTABLISHED when connected).
  virtual int State() = 0;
  // Bytes queued to read, for /proc/net.
  size_t rx_bytes() const { return rx_bytes_.load(); }
  // Who bound it, for /proc/net.
  uint32_t uid() {
    absl::MutexLock l(&mu_);
    return uid_;
  }
  // The inode of its socket file (set when an fd is made for it), which
  // /proc/net shows and /proc/PID/fd links name.
  std::atomic<uint64_t> ino{0};

 protected:
  // The port and address this socket is bound to (autobinds when
  // `port` is 0 in `a`). Caller holds no lock.
  SysResult<void> BindLocked(const SockAddr& a, const Caller& caller,
                             bool explicit_port)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The socket's binding as the port table sees it.
  Stack::Binding BindingLocked(const Caller& caller)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnbindLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Resolves a destination as Linux routes it: the unspecified address
  // means this host; a v4-mapped address on a v6-only socket, or anything
  // that is not a loopback address, is unreachable. Multicast and
  // broadcast are unreachable too (there is no such route on `lo` alone).
  SysResult<SockAddr> RouteLocked(const SockAddr& to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The source address for a destination: the bound one if any.
  IpAddr SourceForLocked(const IpAddr& dst) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `to` leaves the sandbox: --network=host is on and no socket
  // of the sandbox (a listener, for `want_listener`) would take it.
  bool GoesToHostLocked(const SockAddr& to, bool want_listener)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks the broker for a host socket of this one's family and type
  // connected to `to`, with the options set so far. Caller holds no lock.
  SysResult<std::shared_ptr<host::HostEndpoint>> OpenHost(vfs::CallContext& ctx,
                                                          const SockAddr& to);
  // `to` with the unspecified address read as Linux reads it: this host,
  // on loopback of the socket's (or the address's) family.
  SockAddr ThisHostIfAny(const SockAddr& to) const;
  // Every host socket this one has (UDP may have one per destination).
  virtual std::vector<std::shared_ptr<host::HostEndpoint>> HostEndpoints();
  void ApplyOptions(host::HostEndpoint& ep);

  const int family_;
  const int type_;
  const int protocol_;
  Options options_;
  absl::Mutex mu_;
  WaitQueue queue_;
  SockAddr local_ ABSL_GUARDED_BY(mu_);
  bool bound_ ABSL_GUARDED_BY(mu_) = false;
  // bind(2) named the port / the address: connect and disconnect keep
  // them (Linux's SOCK_BINDPORT_LOCK and SOCK_BINDADDR_LOCK).
  bool port_locked_ ABSL_GUARDED_BY(mu_) = false;
  bool addr_locked_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<SockAddr> peer_addr_ ABSL_GUARDED_BY(mu_);
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  int shutdown_ ABSL_GUARDED_BY(mu_) = 0;  // RCV_SHUTDOWN 1, SEND_SHUTDOWN 2
  std::atomic<size_t> rx_bytes_{0};
  uint32_t uid_ ABSL_GUARDED_BY(mu_) = 0;  // whoever bound it
  std::shared_ptr<host::HostEndpoint> host_ ABSL_GUARDED_BY(mu_);
};

// A host socket address as the sandbox's sockets keep addresses.
SockAddr FromHostAddr(const struct sockaddr_storage& ss);

inline constexpr int kRcvShutdown = 1;
inline constexpr int kSendShutdown = 2;

// How many socket objects of `protocol` exist now (TCP's "alloc" in
// /proc/net/sockstat): connections opened and abandoned must bring it
// back down.
size_t LiveSockets(int protocol);

// Makes a socket: `type` SOCK_STREAM (TCP) or SOCK_DGRAM (UDP).
std::shared_ptr<Socket> NewSocket(int family, int type);

// A socket's open file description.
class InetSocketFD final : public vfs::StreamFD {
 public:
  InetSocketFD(vfs::VirtualDentry vd, int flags,
               std::shared_ptr<Socket> socket);
  ~InetSocketFD() override;

  static std::shared_ptr<InetSocketFD> New(std::shared_ptr<Socket> socket,
                                           int flags, uint32_t uid,
                                           uint32_t gid);

  Socket& socket() { return *socket_; }
  const std::shared_ptr<Socket>& socket_ptr() { return socket_; }

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(socket_, &socket_->queue());
  }
  void HostPollFds(uint32_t events, std::vector<struct pollfd>* out) override {
    socket_->HostPollFds(events, out);
  }
  std::string AnonName() const override;
  bool is_socket() const override { return true; }

 private:
  const std::shared_ptr<Socket> socket_;
};

using net::TimeoutDeadline;

}  // namespace sentry::net::inet

#endif  // SENTRY_NET_INET_INET_H_
