// Addresses, the port table, and what TCP and UDP sockets share.

#include "sentry/net/inet/inet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/net/inet/tcp.h"
#include "sentry/net/inet/udp.h"
#include "sentry/net/interfaces.h"

namespace sentry::net::inet {

// ---- Addresses ----

IpAddr IpAddr::V4(uint32_t be) {
  IpAddr a;
  a.b[10] = 0xff;
  a.b[11] = 0xff;
  memcpy(&a.b[12], &be, 4);
  return a;
}

IpAddr IpAddr::V6(const struct in6_addr& in) {
  IpAddr a;
  memcpy(a.b.data(), &in, 16);
  return a;
}

IpAddr IpAddr::Loopback6() {
  IpAddr a;
  a.b[15] = 1;
  return a;
}

bool IpAddr::is_v4() const {
  for (int i = 0; i < 10; i++) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

uint32_t IpAddr::v4() const {
  uint32_t be;
  memcpy(&be, &b[12], 4);
  return be;
}

bool IpAddr::is_any() const {
  if (is_v4()) return v4() == 0;
  for (uint8_t c : b) {
    if (c != 0) return false;
  }
  return true;
}

bool IpAddr::is_local() const {
  if (is_v4()) return b[12] == 127;
  return *this == Loopback6();
}

bool IpAddr::is_multicast() const {
  if (is_v4()) return (b[12] & 0xf0) == 0xe0;
  return b[0] == 0xff;
}

bool IpAddr::is_broadcast() const {
  // The limited broadcast address, and that of lo's 127.0.0.0/8.
  return is_v4() && (v4() == 0xffffffff || v4() == htonl(0x7fffffff));
}

struct in6_addr IpAddr::in6() const {
  struct in6_addr a;
  memcpy(&a, b.data(), 16);
  return a;
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    uint32_t be = v4();
    inet_ntop(AF_INET, &be, buf, sizeof(buf));
  } else {
    struct in6_addr a = in6();
    inet_ntop(AF_INET6, &a, buf, sizeof(buf));
  }
  return buf;
}

namespace {

// SIN6_LEN_RFC2133: a sockaddr_in6 without sin6_scope_id, which Linux
// still accepts.
constexpr size_t kSin6LenRfc2133 = 24;

SockAddr FromIn(const struct sockaddr_in& in) {
  SockAddr a;
  a.addr = IpAddr::V4(in.sin_addr.s_addr);
  a.port = ntohs(in.sin_port);
  return a;
}

}  // namespace

SysResult<SockAddr> ParseSockAddr(int family, const void* p, size_t len,
                                  AddrUse use) {
  if (len < sizeof(sa_family_t)) return Errno(EINVAL);
  sa_family_t f;
  memcpy(&f, p, sizeof(f));
  if (family == AF_INET) {
    if (len < sizeof(struct sockaddr_in)) return Errno(EINVAL);
    struct sockaddr_in in;
    memcpy(&in, p, sizeof(in));
    if (f != AF_INET) {
      // Compatibility Linux keeps: AF_UNSPEC means AF_INET for bind with
      // INADDR_ANY, and for sendto.
      bool ok = f == AF_UNSPEC &&
                ((use == AddrUse::kBind && in.sin_addr.s_addr == INADDR_ANY) ||
                 use == AddrUse::kSendTo);
      if (!ok) return Errno(EAFNOSUPPORT);
    }
    return FromIn(in);
  }
  // AF_INET6. A UDP socket also takes a sockaddr_in for connect and sendto
  // (the syscall layer refuses it for TCP and on IPV6_V6ONLY sockets).
  if (f == AF_INET && use != AddrUse::kBind) {
    if (len < sizeof(struct sockaddr_in)) return Errno(EINVAL);
    struct sockaddr_in in;
    memcpy(&in, p, sizeof(in));
    return FromIn(in);
  }
  if (len < kSin6LenRfc2133) return Errno(EINVAL);
  if (f != AF_INET6) {
    return Errno(use == AddrUse::kSendTo ? EINVAL : EAFNOSUPPORT);
  }
  struct sockaddr_in6 in6 = {};
  memcpy(&in6, p, std::min(len, sizeof(in6)));
  SockAddr a;
  a.addr = IpAddr::V6(in6.sin6_addr);
  a.port = ntohs(in6.sin6_port);
  a.flowinfo = in6.sin6_flowinfo;
  a.scope_id = len >= sizeof(in6) ? in6.sin6_scope_id : 0;
  return a;
}

size_t EncodeSockAddr(int family, const SockAddr& a,
                      struct sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    auto* in = reinterpret_cast<struct sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    in->sin_addr.s_addr = a.addr.is_v4() ? a.addr.v4() : 0;
    return sizeof(*in);
  }
  auto* in6 = reinterpret_cast<struct sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(a.port);
  in6->sin6_addr = a.addr.in6();
  in6->sin6_flowinfo = a.flowinfo;
  in6->sin6_scope_id = a.scope_id;
  return sizeof(*in6);
}

// ---- Options ----

void Options::Set(int level, int name, int value) {
  absl::MutexLock l(&mu_);
  values_[{level, name}] = value;
}

std::optional<int> Options::Get(int level, int name) {
  absl::MutexLock l(&mu_);
  auto it = values_.find({level, name});
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

void Options::InheritFrom(Options& o) {
  reuseaddr.store(o.reuseaddr.load());
  reuseport.store(o.reuseport.load());
  v6only.store(o.v6only.load());
  sndbuf.store(o.sndbuf.load());
  rcvbuf.store(o.rcvbuf.load());
  sndbuf_set.store(o.sndbuf_set.load());
  rcvbuf_set.store(o.rcvbuf_set.load());
  rcvtimeo_ns.store(o.rcvtimeo_ns.load());
  sndtimeo_ns.store(o.sndtimeo_ns.load());
  linger_on.store(o.linger_on.load());
  linger_secs.store(o.linger_secs.load());
  std::map<std::pair<int, int>, int> copy;
  {
    absl::MutexLock l(&o.mu_);
    copy = o.values_;
  }
  absl::MutexLock l(&mu_);
  values_ = std::move(copy);
}

// ---- The port table ----

Stack& Stack::Get() {
  static Stack* stack = new Stack();
  return *stack;
}

namespace {

// The addresses of one IP version a binding receives on: none, all of
// them (a wildcard), or one.
struct Cover {
  bool present = false;
  bool any = false;
  IpAddr addr;
};

Cover V4Cover(const Stack::Binding& b) {
  if (b.family == AF_INET || b.addr.is_v4()) {
    return {true, b.addr.is_any(), b.addr};
  }
  if (b.addr.is_any() && !b.v6only) return {true, true, {}};
  return {};
}

Cover V6Cover(const Stack::Binding& b) {
  if (b.family == AF_INET || b.addr.is_v4()) return {};
  return {true, b.addr.is_any(), b.addr};
}

bool Overlap(const Cover& a, const Cover& b) {
  return a.present && b.present && (a.any || b.any || a.addr == b.addr);
}

bool Covers(const Cover& c, const IpAddr& a) {
  return c.present && (c.any || c.addr == a);
}

}  // namespace

bool Stack::Conflicts(int protocol, const Binding& a, const Binding& b) const {
  if (!Overlap(V4Cover(a), V4Cover(b)) && !Overlap(V6Cover(a), V6Cover(b))) {
    return false;
  }
  if (a.reuseport && b.reuseport && a.uid == b.uid) return false;
  if (a.reuseaddr && b.reuseaddr) {
    // TCP shares a port between SO_REUSEADDR sockets unless the one
    // already there listens (Linux's inet_bind_conflict looks only at
    // the existing socket's state: the first of two may still listen).
    if (protocol == IPPROTO_UDP) return false;
    if (!a.listening) return false;
  }
  return true;
}

bool Stack::ConflictsLocked(int protocol, uint16_t port, const Binding& b,
                            const void* ignore) {
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(port);
  if (it == table.end()) return false;
  absl::Time now = absl::Now();
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Binding& o) {
                           return o.time_wait_until && *o.time_wait_until < now;
                         }),
          v.end());
  for (const Binding& o : v) {
    if (o.owner == ignore && ignore != nullptr) continue;
    if (o.time_wait_until && b.connecting) continue;
    if (Conflicts(protocol, o, b)) return true;
  }
  return false;
}

SysResult<uint16_t> Stack::Bind(int protocol, uint16_t port, Binding b) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  if (port == 0) {
    // An ephemeral port: a random start, then the first free one.
    constexpr uint32_t n = kEphemeralHigh - kEphemeralLow + 1;
    if (!port_rng_seeded_) {
      uint32_t seed = 0;
      if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        seed = static_cast<uint32_t>(absl::GetCurrentTimeNanos());
      }
      port_rng_.seed(seed);
      port_rng_seeded_ = true;
    }
    uint32_t start = static_cast<uint32_t>(port_rng_() % n);
    for (uint32_t i = 0; i < n; i++) {
      uint16_t p = static_cast<uint16_t>(kEphemeralLow + (start + i) % n);
      if (!ConflictsLocked(protocol, p, b, b.owner)) {
        port = p;
        break;
      }
    }
    if (port == 0) return Errno(EADDRINUSE);
  } else if (ConflictsLocked(protocol, port, b, b.owner)) {
    return Errno(EADDRINUSE);
  }
  b.seq = next_seq_++;
  table[port].push_back(std::move(b));
  return port;
}

void Stack::Attach(int protocol, uint16_t port, Binding b) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  b.seq = next_seq_++;
  table[port].push_back(std::move(b));
}

void Stack::TimeWait(int protocol, uint16_t port, const void* owner) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(port);
  if (it == table.end()) return;
  for (Binding& b : it->second) {
    if (b.owner != owner) continue;
    b.owner = nullptr;
    b.socket.reset();
    b.listening = false;
    b.time_wait_until = absl::Now() + absl::Seconds(60);
  }
}

void Stack::Unbind(int protocol, uint16_t port, const void* owner) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(port);
  if (it == table.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Binding& b) { return b.owner == owner; }),
          v.end());
  if (v.empty()) table.erase(it);
}

SysResult<void> Stack::SetListening(int protocol, uint16_t port,
                                    const void* owner, bool listening) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(port);
  if (it == table.end()) return Errno(EINVAL);
  for (Binding& b : it->second) {
    if (b.owner != owner) continue;
    if (listening) {
      Binding want = b;
      want.listening = true;
      if (ConflictsLocked(protocol, port, want, owner)) {
        return Errno(EADDRINUSE);
      }
    }
    b.listening = listening;
    return Ok();
  }
  return Errno(EINVAL);
}

void Stack::Update(int protocol, uint16_t port, const void* owner,
                   const IpAddr& addr, std::optional<SockAddr> peer) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(port);
  if (it == table.end()) return;
  for (Binding& b : it->second) {
    if (b.owner != owner) continue;
    b.addr = addr;
    b.connected = peer.has_value();
    if (peer) b.peer = *peer;
  }
}

std::shared_ptr<Socket> Stack::Lookup(int protocol, const SockAddr& dst,
                                      const SockAddr& src, bool want_listener) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  auto it = table.find(dst.port);
  if (it == table.end()) return nullptr;
  bool v4 = dst.addr.is_v4();
  int best = -1;
  std::vector<const Binding*> ties;
  for (const Binding& b : it->second) {
    if (want_listener && !b.listening) continue;
    if (b.time_wait_until) continue;
    if (protocol == IPPROTO_TCP && !want_listener) continue;
    Cover c = v4 ? V4Cover(b) : V6Cover(b);
    if (!Covers(c, dst.addr)) continue;
    int score = 0;
    if (!c.any) score += 4;
    if ((b.family == AF_INET) == v4) score += 1;
    if (b.connected) {
      if (b.peer.port != src.port || b.peer.addr != src.addr) continue;
      score += 8;
    }
    if (score > best) {
      best = score;
      ties.clear();
    }
    if (score == best) ties.push_back(&b);
  }
  // Among equals: a SO_REUSEPORT group spreads by the source port; else
  // the newest UDP binding wins (Linux adds them at the head of its hash
  // chain), the one TCP listener otherwise.
  while (!ties.empty()) {
    const Binding* pick = ties.front();
    if (ties.size() > 1) {
      bool group = std::all_of(ties.begin(), ties.end(),
                               [](const Binding* b) { return b->reuseport; });
      if (group) {
        pick = ties[src.port % ties.size()];
      } else {
        for (const Binding* b : ties) {
          if (b->seq > pick->seq) pick = b;
        }
      }
    }
    std::shared_ptr<Socket> s = pick->socket.lock();
    if (s != nullptr) return s;
    ties.erase(std::find(ties.begin(), ties.end(), pick));
  }
  return nullptr;
}

std::vector<std::shared_ptr<Socket>> Stack::All(int protocol) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  std::vector<std::shared_ptr<Socket>> out;
  for (auto& [port, v] : table) {
    for (const Binding& b : v) {
      if (auto s = b.socket.lock()) out.push_back(std::move(s));
    }
  }
  return out;
}

// ---- Socket ----

namespace {
std::atomic<size_t> g_live_tcp{0};
std::atomic<size_t> g_live_udp{0};
}  // namespace

size_t LiveSockets(int protocol) {
  return (protocol == IPPROTO_TCP ? g_live_tcp : g_live_udp).load();
}

size_t Stack::InUse(int protocol, int family) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  size_t n = 0;
  for (auto& [port, v] : table) {
    for (const Binding& b : v) {
      if (!b.time_wait_until && b.family == family) n++;
    }
  }
  return n;
}

size_t Stack::TimeWaits(int protocol) {
  absl::MutexLock l(&mu_);
  auto& table = protocol == IPPROTO_TCP ? tcp_ : udp_;
  absl::Time now = absl::Now();
  size_t n = 0;
  for (auto& [port, v] : table) {
    for (const Binding& b : v) {
      if (b.time_wait_until && *b.time_wait_until > now) n++;
    }
  }
  return n;
}

Socket::Socket(int family, int type, int protocol)
    : family_(family), type_(type), protocol_(protocol) {
  local_.addr = family == AF_INET ? IpAddr::V4(0) : IpAddr::Any6();
  (protocol == IPPROTO_TCP ? g_live_tcp : g_live_udp).fetch_add(1);
}

Socket::~Socket() {
  (protocol_ == IPPROTO_TCP ? g_live_tcp : g_live_udp).fetch_sub(1);
}

Stack::Binding Socket::BindingLocked(const Caller& caller) {
  Stack::Binding b;
  b.socket = weak_from_this();
  b.owner = this;
  b.family = family_;
  b.addr = local_.addr;
  b.v6only = options_.v6only.load();
  b.reuseaddr = options_.reuseaddr.load();
  b.reuseport = options_.reuseport.load();
  b.uid = caller.uid;
  b.connected = peer_addr_.has_value() && protocol_ == IPPROTO_UDP;
  if (b.connected) b.peer = *peer_addr_;
  return b;
}

SysResult<void> Socket::BindLocked(const SockAddr& a, const Caller& caller,
                                   bool explicit_port) {
  SockAddr want = a;
  if (family_ == AF_INET6 && want.addr.is_v4() && options_.v6only.load()) {
    return Errno(EINVAL);
  }
  if (!want.addr.is_any() && !want.addr.is_local()) {
    return Errno(EADDRNOTAVAIL);
  }
  if (want.port != 0 && want.port < 1024 && !caller.can_bind_privileged) {
    return Errno(EACCES);
  }
  local_.addr = want.addr;
  uid_ = caller.uid;
  Stack::Binding b = BindingLocked(caller);
  b.connecting = !explicit_port && protocol_ == IPPROTO_TCP;
  SysResult<uint16_t> port = Stack::Get().Bind(protocol_, want.port, b);
  if (!port.ok()) {
    local_.addr = family_ == AF_INET ? IpAddr::V4(0) : IpAddr::Any6();
    return port.error();
  }
  local_.port = *port;
  local_.flowinfo = 0;
  local_.scope_id = 0;
  bound_ = true;
  if (explicit_port) {
    port_locked_ = want.port != 0;
    addr_locked_ = !want.addr.is_any();
  }
  return Ok();
}

SysResult<void> Socket::Bind(const SockAddr& a, const Caller& caller) {
  absl::MutexLock l(&mu_);
  if (bound_) return Errno(EINVAL);
  return BindLocked(a, caller, true);
}

void Socket::UnbindLocked() {
  if (!bound_) return;
  Stack::Get().Unbind(protocol_, local_.port, this);
  bound_ = false;
  port_locked_ = false;
  addr_locked_ = false;
  local_ = SockAddr{};
  local_.addr = family_ == AF_INET ? IpAddr::V4(0) : IpAddr::Any6();
}

SysResult<SockAddr> Socket::RouteLocked(const SockAddr& to) {
  SockAddr d = to;
  if (family_ == AF_INET6 && d.addr.is_v4() && options_.v6only.load()) {
    return Errno(ENETUNREACH);
  }
  if (d.addr.is_any()) {
    // Linux sends to "this host": the bound address, else loopback.
    if (bound_ && !local_.addr.is_any()) {
      d.addr = local_.addr;
    } else {
      d.addr = d.addr.is_v4() || family_ == AF_INET ? IpAddr::Loopback4()
                                                    : IpAddr::Loopback6();
    }
  }
  if (d.addr.is_broadcast()) {
    if (protocol_ == IPPROTO_UDP && !options_.broadcast.load()) {
      return Errno(EACCES);
    }
    return Errno(ENETUNREACH);
  }
  if (!d.addr.is_local()) return Errno(ENETUNREACH);
  return d;
}

bool Socket::GoesToHostLocked(const SockAddr& to, bool want_listener) {
  if (host::BrokerClient::Get() == nullptr) return false;
  SockAddr d = to;
  // What RouteLocked refuses stays refused (a v4 address on a v6-only
  // socket); "this host" is loopback.
  if (family_ == AF_INET6 && d.addr.is_v4() && options_.v6only.load()) {
    return false;
  }
  d = ThisHostIfAny(d);
  if (!d.addr.is_local()) return true;
  SockAddr src;
  src.addr = SourceForLocked(d.addr);
  src.port = local_.port;
  return Stack::Get().Lookup(protocol_, d, src, want_listener) == nullptr;
}

SockAddr Socket::ThisHostIfAny(const SockAddr& to) const {
  SockAddr d = to;
  if (d.addr.is_any()) {
    d.addr = d.addr.is_v4() || family_ == AF_INET ? IpAddr::Loopback4()
                                                  : IpAddr::Loopback6();
  }
  return d;
}

SysResult<std::shared_ptr<host::HostEndpoint>> Socket::OpenHost(
    vfs::CallContext& ctx, const SockAddr& to) {
  host::BrokerClient* broker = host::BrokerClient::Get();
  if (broker == nullptr) return Errno(ENETUNREACH);
  struct sockaddr_storage ss;
  size_t len = EncodeSockAddr(family_, ThisHostIfAny(to), &ss);
  SENTRY_ASSIGN_OR_RETURN(
      HostFd fd,
      broker->Connect(ctx, family_, type_, ss, static_cast<socklen_t>(len)));
  auto ep = std::make_shared<host::HostEndpoint>(std::move(fd));
  ApplyOptions(*ep);
  return ep;
}

std::vector<std::shared_ptr<host::HostEndpoint>> Socket::HostEndpoints() {
  if (host::BrokerClient::Get() == nullptr) return {};
  absl::MutexLock l(&mu_);
  if (host_ == nullptr) return {};
  return {host_};
}

void Socket::HostPollFds(uint32_t events, std::vector<struct pollfd>* out) {
  for (const auto& ep : HostEndpoints()) {
    out->push_back({ep->fd(),
                    static_cast<short>(events & (POLLIN | POLLOUT | POLLPRI)),
                    0});
  }
}

void Socket::ApplyOptions(host::HostEndpoint& ep) {
  // The options whose effect a program can see on the wire or in its
  // timing; the rest (buffer sizes, timeouts) the sentry keeps itself.
  bool v4 = family_ == AF_INET;
  auto pass = [&](int level, int name) {
    std::optional<int> v = options_.Get(level, name);
    if (v) ep.SetOption(level, name, &*v, sizeof(int));
  };
  if (protocol_ == IPPROTO_TCP) {
    for (int name : {TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL,
                     TCP_KEEPCNT, TCP_USER_TIMEOUT}) {
      pass(IPPROTO_TCP, name);
    }
    pass(SOL_SOCKET, SO_KEEPALIVE);
    if (options_.linger_on.load()) {
      struct linger l = {1, options_.linger_secs.load()};
      ep.SetOption(SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
  } else {
    int b = options_.broadcast.load() ? 1 : 0;
    ep.SetOption(SOL_SOCKET, SO_BROADCAST, &b, sizeof(b));
  }
  pass(v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TOS : IPV6_TCLASS);
  pass(v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS);
}

void Socket::SyncHostOptions() {
  for (const auto& ep : HostEndpoints()) ApplyOptions(*ep);
}

SockAddr FromHostAddr(const struct sockaddr_storage& ss) {
  SockAddr a;
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(&ss);
    a.addr = IpAddr::V4(sin->sin_addr.s_addr);
    a.port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const struct sockaddr_in6*>(&ss);
    a.addr = IpAddr::V6(sin6->sin6_addr);
    a.port = ntohs(sin6->sin6_port);
    a.flowinfo = sin6->sin6_flowinfo;
    a.scope_id = sin6->sin6_scope_id;
  }
  return a;
}

IpAddr Socket::SourceForLocked(const IpAddr& dst) {
  if (bound_ && !local_.addr.is_any()) return local_.addr;
  return dst.is_v4() ? IpAddr::Loopback4() : IpAddr::Loopback6();
}

SockAddr Socket::LocalAddr() {
  absl::MutexLock l(&mu_);
  return local_;
}

SysResult<SockAddr> Socket::PeerAddr() {
  absl::MutexLock l(&mu_);
  if (!peer_addr_) return Errno(ENOTCONN);
  return *peer_addr_;
}

int Socket::TakeError() {
  std::shared_ptr<host::HostEndpoint> h;
  {
    absl::MutexLock l(&mu_);
    int e = error_;
    error_ = 0;
    if (e != 0) return e;
    h = host_;
  }
  return h != nullptr ? h->TakeError() : 0;
}

std::shared_ptr<Socket> NewSocket(int family, int type) {
  if (type == SOCK_STREAM) return std::make_shared<TcpSocket>(family);
  return std::make_shared<UdpSocket>(family);
}

// ---- The file description ----

InetSocketFD::InetSocketFD(vfs::VirtualDentry vd, int flags,
                           std::shared_ptr<Socket> socket)
    : vfs::StreamFD(std::move(vd), flags), socket_(std::move(socket)) {}

InetSocketFD::~InetSocketFD() { socket_->Close(); }

std::shared_ptr<InetSocketFD> InetSocketFD::New(std::shared_ptr<Socket> socket,
                                                int flags, uint32_t uid,
                                                uint32_t gid) {
  vfs::VirtualDentry vd =
      fs::anon::NewAnonFile("sockfs", S_IFSOCK | 0777, uid, gid);
  socket->ino.store(fs::anon::AnonIno(vd));
  return std::make_shared<InetSocketFD>(std::move(vd), O_RDWR | flags,
                                        std::move(socket));
}

SysResult<size_t> InetSocketFD::Read(vfs::CallContext& ctx, char* buf,
                                     size_t len, int64_t*) {
  if (len == 0 && socket_->type() == SOCK_STREAM) return size_t{0};
  ShouldBlock block =
      (flags() & O_NONBLOCK) != 0 ? ShouldBlock::kNo : ShouldBlock::kYes;
  SENTRY_ASSIGN_OR_RETURN(
      RecvResult r,
      socket_->Recv(ctx, buf, len, 0, block,
                    TimeoutDeadline(socket_->options().rcvtimeo_ns.load())));
  return r.copied;
}

SysResult<size_t> InetSocketFD::Write(vfs::CallContext& ctx, const char* buf,
                                      size_t len, int64_t*) {
  if (len == 0 && socket_->type() == SOCK_STREAM) return size_t{0};
  ShouldBlock block =
      (flags() & O_NONBLOCK) != 0 ? ShouldBlock::kNo : ShouldBlock::kYes;
  Caller caller{ctx.creds().euid, false};
  return socket_->Send(ctx, std::string(buf, len), std::nullopt, caller, block,
                       TimeoutDeadline(socket_->options().sndtimeo_ns.load()));
}

SysResult<int64_t> InetSocketFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                       uint64_t arg) {
  switch (cmd) {
    case FIONREAD: {  // SIOCINQ
      SENTRY_ASSIGN_OR_RETURN(size_t q, socket_->InQueue());
      int n = static_cast<int>(std::min<size_t>(q, INT32_MAX));
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
      return 0;
    }
    case SIOCOUTQ:
    case SIOCOUTQNSD: {
      if (socket_->listening()) return Errno(EINVAL);
      int n =
          static_cast<int>(std::min<size_t>(socket_->OutQueue(), INT32_MAX));
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
      return 0;
    }
    case SIOCATMARK: {
      // No urgent data is ever queued (MSG_OOB is refused).
      int n = 0;
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
      return 0;
    }
    default:
      if (IsInterfaceIoctl(cmd)) return InterfaceIoctl(ctx, cmd, arg, true);
      return vfs::StreamFD::Ioctl(ctx, cmd, arg);
  }
}

uint32_t InetSocketFD::Readiness(uint32_t mask) {
  return socket_->Readiness(mask);
}

std::string InetSocketFD::AnonName() const {
  return absl::StrCat("socket:[", fs::anon::AnonIno(vd()), "]");
}

}  // namespace sentry::net::inet
