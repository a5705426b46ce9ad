#include "sentry/net/af_unix/af_unix.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sentry/fs/anon/anon.h"
#include "sentry/net/interfaces.h"

namespace sentry::net::af_unix {

namespace {

// The names sockets are bound to. Entries are weak: an endpoint removes
// its own at close, and a stale one (mid-close) finds nothing.
struct Registry {
  absl::Mutex mu;
  // Keyed by socket type and name: each type has a namespace of its own.
  std::map<std::pair<int, std::string>, std::weak_ptr<Endpoint>> abstract
      ABSL_GUARDED_BY(mu);
  std::map<std::pair<uint64_t, uint64_t>, std::weak_ptr<Endpoint>> paths
      ABSL_GUARDED_BY(mu);
  uint32_t next_autobind ABSL_GUARDED_BY(mu) = 0;
};

Registry& Names() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

SysResult<Address> ParseAddress(const void* addr, size_t len) {
  constexpr size_t kPathOff = offsetof(struct sockaddr_un, sun_path);
  if (len <= kPathOff || len > sizeof(struct sockaddr_un)) return Errno(EINVAL);
  struct sockaddr_un sun;
  memcpy(&sun, addr, len);
  if (sun.sun_family != AF_UNIX) return Errno(EINVAL);
  size_t n = len - kPathOff;
  Address a;
  if (sun.sun_path[0] == '\0') {
    a.name.assign(sun.sun_path, n);
  } else {
    a.name.assign(sun.sun_path, strnlen(sun.sun_path, n));
  }
  return a;
}

size_t EncodeAddress(const Address& a, struct sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  auto* sun = reinterpret_cast<struct sockaddr_un*>(out);
  sun->sun_family = AF_UNIX;
  size_t n = std::min(a.name.size(), sizeof(sun->sun_path));
  memcpy(sun->sun_path, a.name.data(), n);
  size_t len = offsetof(struct sockaddr_un, sun_path) + n;
  // A path's length counts its NUL, as the length bind(2) stored did.
  if (!a.empty() && !a.abstract()) len += 1;
  return std::min(len, sizeof(struct sockaddr_un));
}

Endpoint::Endpoint(int type, const Creds& creds)
    : type_(type), creator_(creds) {}

Endpoint::~Endpoint() = default;

void Endpoint::Pair(const std::shared_ptr<Endpoint>& a,
                    const std::shared_ptr<Endpoint>& b) {
  {
    absl::MutexLock l(&a->mu_);
    a->peer_ = b;
    a->connected_ = true;
    a->peer_creds_ = b->creator_;
    a->has_peer_creds_ = true;
  }
  absl::MutexLock l(&b->mu_);
  b->peer_ = a;
  b->connected_ = true;
  b->peer_creds_ = a->creator_;
  b->has_peer_creds_ = true;
}

bool Endpoint::bound() {
  absl::MutexLock l(&mu_);
  return !name_.empty();
}

SysResult<void> Endpoint::BindAbstract(const Address& a) {
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  absl::MutexLock l(&mu_);
  if (!name_.empty()) return Errno(EINVAL);
  auto it = r.abstract.find({type_, a.name});
  if (it != r.abstract.end() && !it->second.expired()) {
    return Errno(EADDRINUSE);
  }
  r.abstract[{type_, a.name}] = weak_from_this();
  name_ = a;
  return Ok();
}

SysResult<void> Endpoint::BindPath(const Address& a, uint64_t dev,
                                   uint64_t ino) {
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  absl::MutexLock l(&mu_);
  if (!name_.empty()) return Errno(EINVAL);
  r.paths[{dev, ino}] = weak_from_this();
  name_ = a;
  path_key_ = std::make_pair(dev, ino);
  return Ok();
}

SysResult<void> Endpoint::Autobind() {
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  absl::MutexLock l(&mu_);
  if (!name_.empty()) return Ok();
  // Linux tries the 2^20 names of five hex digits, then gives up.
  for (uint32_t tries = 0; tries < (1u << 20); tries++) {
    uint32_t n = r.next_autobind++ & 0xfffff;
    std::string name = absl::StrFormat("%c%05x", '\0', n);
    auto it = r.abstract.find({type_, name});
    if (it != r.abstract.end() && !it->second.expired()) continue;
    r.abstract[{type_, name}] = weak_from_this();
    name_.name = name;
    return Ok();
  }
  return Errno(ENOSPC);
}

void Endpoint::Unregister() {
  Address name;
  std::optional<std::pair<uint64_t, uint64_t>> key;
  {
    absl::MutexLock l(&mu_);
    name = name_;
    key = path_key_;
  }
  if (name.empty()) return;
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  // Only this endpoint's own entry (or one whose endpoint is gone): a
  // later socket may have taken the name. Compared without lock(), which
  // could make this the last owner of another endpoint, destroyed (and
  // closing the files it holds) under the registry's lock.
  const std::weak_ptr<Endpoint> self = weak_from_this();
  auto ours = [&self](const std::weak_ptr<Endpoint>& w) {
    return w.expired() || (!w.owner_before(self) && !self.owner_before(w));
  };
  if (key) {
    auto it = r.paths.find(*key);
    if (it != r.paths.end() && ours(it->second)) r.paths.erase(it);
  } else {
    auto it = r.abstract.find({type_, name.name});
    if (it != r.abstract.end() && ours(it->second)) r.abstract.erase(it);
  }
}

SysResult<std::shared_ptr<Endpoint>> FindAbstract(const Address& a, int type) {
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  auto it = r.abstract.find({type, a.name});
  if (it == r.abstract.end()) return Errno(ECONNREFUSED);
  std::shared_ptr<Endpoint> e = it->second.lock();
  if (e == nullptr) return Errno(ECONNREFUSED);
  return e;
}

SysResult<std::shared_ptr<Endpoint>> FindPath(uint64_t dev, uint64_t ino) {
  Registry& r = Names();
  absl::MutexLock rl(&r.mu);
  auto it = r.paths.find({dev, ino});
  if (it == r.paths.end()) return Errno(ECONNREFUSED);
  std::shared_ptr<Endpoint> e = it->second.lock();
  if (e == nullptr) return Errno(ECONNREFUSED);
  return e;
}

SysResult<void> Endpoint::Listen(int backlog, const Creds& creds) {
  if (!connection_oriented()) return Errno(EOPNOTSUPP);
  absl::MutexLock l(&mu_);
  if (name_.empty() || connected_) return Errno(EINVAL);
  listening_ = true;
  backlog_ = std::clamp(backlog, 0, kSomaxconn);
  listen_creds_ = creds;
  return Ok();
}

bool Endpoint::listening() {
  absl::MutexLock l(&mu_);
  return listening_;
}

SysResult<void> Endpoint::Connect(vfs::CallContext& ctx,
                                  const std::shared_ptr<Endpoint>& server,
                                  const Creds& creds, ShouldBlock block,
                                  std::optional<absl::Time> deadline) {
  {
    absl::MutexLock l(&mu_);
    if (listening_) return Errno(EINVAL);
    if (connected_) return Errno(EISCONN);
  }
  if (server->type_ != type_) return Errno(EPROTOTYPE);
  // The server's end of the connection, queued on the listener until
  // accept(2) takes it.
  auto embryo = std::make_shared<Endpoint>(type_, server->creator_);
  std::optional<ScopedWait> wait;
  for (;;) {
    bool queued = false;
    Creds server_creds;
    {
      absl::MutexLock l(&server->mu_);
      if (!server->listening_ || server->closed_) return Errno(ECONNREFUSED);
      if (server->pending_.size() <= static_cast<size_t>(server->backlog_)) {
        queued = true;
        server_creds = server->listen_creds_;
        absl::MutexLock el(&embryo->mu_);  // new: nobody else can hold it
        embryo->name_ = server->name_;
        embryo->peer_creds_ = creds;
        embryo->has_peer_creds_ = true;
        embryo->connected_ = true;
        embryo->peer_ = shared_from_this();
        embryo->sndbuf.store(server->sndbuf.load());
        embryo->rcvbuf.store(server->rcvbuf.load());
        embryo->passcred.store(server->passcred.load());
        server->pending_.push_back(embryo);
      } else if (block == ShouldBlock::kNo) {
        return Errno(EAGAIN);
      }
    }
    if (queued) {
      bool raced = false;
      {
        absl::MutexLock l(&mu_);
        if (connected_) {
          raced = true;  // another thread connected this socket meanwhile
        } else {
          connected_ = true;
          peer_ = embryo;
          peer_creds_ = server_creds;
          has_peer_creds_ = true;
        }
      }
      if (raced) {
        {
          absl::MutexLock l(&server->mu_);
          auto& p = server->pending_;
          p.erase(std::remove(p.begin(), p.end(), embryo), p.end());
        }
        embryo->Close();
        return Errno(EISCONN);
      }
      server->queue_.Notify(kEventIn);
      return Ok();
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&server->queue_, ctx.waiter(), kEventOut | kEventHup);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(net::BlockOn(ctx, deadline));
  }
}

SysResult<void> Endpoint::ConnectDgram(const std::shared_ptr<Endpoint>& to) {
  if (to != nullptr && to->type_ != type_) return Errno(EPROTOTYPE);
  absl::MutexLock l(&mu_);
  peer_ = to;
  return Ok();
}

SysResult<std::shared_ptr<Endpoint>> Endpoint::Accept(
    vfs::CallContext& ctx, ShouldBlock block,
    std::optional<absl::Time> deadline) {
  if (!connection_oriented()) return Errno(EOPNOTSUPP);
  std::optional<ScopedWait> wait;
  for (;;) {
    std::shared_ptr<Endpoint> accepted;
    {
      absl::MutexLock l(&mu_);
      if (!listening_) return Errno(EINVAL);
      if (!pending_.empty()) {
        accepted = std::move(pending_.front());
        pending_.pop_front();
      } else if (block == ShouldBlock::kNo) {
        return Errno(EAGAIN);
      }
    }
    if (accepted != nullptr) {
      // Room in the backlog for a blocked connect.
      queue_.Notify(kEventOut);
      return accepted;
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(net::BlockOn(ctx, deadline));
  }
}

std::shared_ptr<Endpoint> Endpoint::peer() {
  absl::MutexLock l(&mu_);
  return peer_;
}

bool Endpoint::HasRoomLocked(size_t len, int sender_sndbuf) {
  if (type_ == SOCK_DGRAM) return rx_.size() <= kMaxDgramQlen;
  if (type_ == SOCK_SEQPACKET) {
    return rx_bytes_ == 0 ||
           rx_bytes_ + len <= static_cast<size_t>(sender_sndbuf);
  }
  return rx_bytes_ < static_cast<size_t>(sender_sndbuf);
}

SysResult<size_t> Endpoint::Enqueue(const Endpoint& sender, const char* buf,
                                    size_t len, std::optional<Control>& control,
                                    const Address& from) {
  size_t queued = 0;
  {
    absl::MutexLock l(&mu_);
    if (closed_) {
      return Errno(type_ == SOCK_DGRAM ? ECONNREFUSED : EPIPE);
    }
    if (connection_oriented() && (shutdown_ & kShutRcv) != 0) {
      return Errno(EPIPE);
    }
    int limit = sender.sndbuf.load();
    if (!HasRoomLocked(len, limit)) return size_t{0};
    Message m;
    if (type_ == SOCK_STREAM) {
      queued = std::min(len, static_cast<size_t>(limit) - rx_bytes_);
    } else {
      queued = len;
    }
    m.data.assign(buf, queued);
    m.control = std::move(control);
    control.reset();
    m.from = from;
    rx_bytes_ += queued;
    rx_.push_back(std::move(m));
  }
  queue_.Notify(kEventIn);
  return queued;
}

SysResult<size_t> Endpoint::Send(vfs::CallContext& ctx, const char* buf,
                                 size_t len, Control control,
                                 const std::shared_ptr<Endpoint>& to,
                                 ShouldBlock block,
                                 std::optional<absl::Time> deadline) {
  std::shared_ptr<Endpoint> target = to;
  Address from;
  {
    absl::MutexLock l(&mu_);
    if (connection_oriented()) {
      if ((shutdown_ & kShutSend) != 0) return Errno(EPIPE);
      if (error_ != 0 && peer_ == nullptr) return Errno(EPIPE);
      if (!connected_ || peer_ == nullptr) return Errno(ENOTCONN);
      if (to != nullptr) return Errno(EISCONN);
      target = peer_;
    } else {
      if ((shutdown_ & kShutSend) != 0) return Errno(EPIPE);
      if (target == nullptr) target = peer_;
      if (target == nullptr) return Errno(ENOTCONN);
    }
    from = name_;
  }
  if (type_ != SOCK_STREAM &&
      len > static_cast<size_t>(std::max(0, sndbuf.load() - 32))) {
    return Errno(EMSGSIZE);
  }
  if (type_ == SOCK_DGRAM) {
    if (target->type_ != SOCK_DGRAM) return Errno(EPROTOTYPE);
    // A datagram socket connected elsewhere takes datagrams only from its
    // peer.
    std::shared_ptr<Endpoint> their_peer = target->peer();
    if (their_peer != nullptr && their_peer.get() != this &&
        target.get() != this) {
      return Errno(EPERM);
    }
  }
  // A stream send of nothing sends nothing, not even its rights.
  if (type_ == SOCK_STREAM && len == 0) return size_t{0};
  std::optional<Control> pending = std::move(control);
  size_t done = 0;
  std::optional<ScopedWait> wait_target, wait_self;
  for (;;) {
    bool had_rights = pending.has_value();
    SysResult<size_t> n =
        target->Enqueue(*this, buf + done, len - done, pending, from);
    if (!n.ok()) {
      if (done > 0) return done;
      if (n.err() == ECONNREFUSED && to == nullptr) {
        // The datagram peer is gone: forget it, as Linux does.
        absl::MutexLock l(&mu_);
        if (peer_ == target) peer_.reset();
      }
      return n.error();
    }
    // Progress is bytes queued, or this call's message queued (its rights
    // and a zero-length datagram): a full queue queues nothing, and a
    // stream send then waits rather than trying again at once (which
    // spun, deaf to signals, for as long as the reader did not read).
    bool progressed = *n > 0 || (had_rights && !pending.has_value());
    if (progressed) {
      done += *n;
      if (type_ != SOCK_STREAM || done == len) return done;
      // A stream sends all of a blocking write, in as many pieces as the
      // peer's room allows.
      if (block == ShouldBlock::kNo) return done;
      continue;
    }
    if (block == ShouldBlock::kNo) {
      if (done > 0) return done;
      return Errno(EAGAIN);
    }
    if (!wait_target) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait_target.emplace(&target->queue_, ctx.waiter(), kEventOut | kEventHup);
      wait_self.emplace(&queue_, ctx.waiter(), kEventOut | kEventHup);
      continue;
    }
    SysResult<void> b = net::BlockOn(ctx, deadline);
    if (!b.ok()) {
      if (done > 0) return done;
      return b.error();
    }
  }
}

bool Endpoint::TakeLocked(char* buf, size_t len, bool peek, RecvResult* res) {
  if (rx_.empty()) return false;
  if (type_ != SOCK_STREAM) {
    Message& m = rx_.front();
    size_t n = std::min(len, m.data.size());
    memcpy(buf, m.data.data(), n);
    res->copied = n;
    res->length = m.data.size();
    res->truncated = n < m.data.size();
    res->from = m.from;
    if (m.control) {
      res->control = peek ? Control{m.control->rights, m.control->creds}
                          : std::move(*m.control);
    }
    if (!peek) {
      rx_bytes_ -= m.data.size();
      rx_.pop_front();
    }
    return true;
  }
  // A stream read runs across messages and ends after one that carried
  // rights, which arrive with it (unix_stream_read_generic). The read's
  // credentials and sender are its first message's.
  size_t i = 0;
  while (i < rx_.size() && res->copied < len) {
    Message& m = rx_[i];
    size_t n = std::min(len - res->copied, m.data.size() - m.off);
    memcpy(buf + res->copied, m.data.data() + m.off, n);
    if (res->copied == 0) res->from = m.from;
    res->copied += n;
    bool has_rights = m.control && !m.control->rights.empty();
    if (m.control) {
      if (!res->control) res->control = Control{{}, m.control->creds};
      if (has_rights) {
        res->control->rights = m.control->rights;
        if (!peek) m.control->rights.clear();
      }
    }
    if (peek) {
      i++;
    } else {
      m.off += n;
      rx_bytes_ -= n;
      if (m.off < m.data.size()) break;
      rx_.erase(rx_.begin() + static_cast<long>(i));
    }
    if (has_rights) break;
  }
  res->length = res->copied;
  return true;
}

SysResult<RecvResult> Endpoint::Recv(vfs::CallContext& ctx, char* buf,
                                     size_t len, int flags, ShouldBlock block,
                                     std::optional<absl::Time> deadline) {
  const bool peek = (flags & MSG_PEEK) != 0;
  // MSG_WAITALL waits for all `len` bytes of a stream (not with MSG_PEEK).
  const bool waitall = (flags & MSG_WAITALL) != 0 && !peek &&
                       type_ == SOCK_STREAM && block == ShouldBlock::kYes;
  RecvResult res;
  std::optional<ScopedWait> wait;
  for (;;) {
    bool got = false;
    std::shared_ptr<Endpoint> notify_peer;
    {
      absl::MutexLock l(&mu_);
      if (listening_) return Errno(EINVAL);
      if (connection_oriented() && !connected_) {
        return Errno(type_ == SOCK_STREAM ? EINVAL : ENOTCONN);
      }
      if (type_ == SOCK_STREAM && len == 0 && !rx_.empty()) {
        return res;  // a read of nothing waits only for something to read
      }
      got = TakeLocked(buf, len, peek, &res);
      if (got) {
        notify_peer = peer_;
      } else if (res.copied > 0) {
        // A MSG_WAITALL read that has something: it ends at end of file
        // or an error, with what it has.
        if ((shutdown_ & kShutRcv) != 0 || error_ != 0) return res;
      } else if (error_ != 0) {
        int e = error_;
        error_ = 0;
        return Errno(e);
      } else if ((shutdown_ & kShutRcv) != 0) {
        return res;  // end of file
      } else if (block == ShouldBlock::kNo) {
        return Errno(EAGAIN);
      }
    }
    if (got && !peek) {
      queue_.Notify(kEventOut);
      if (notify_peer != nullptr) notify_peer->queue_.Notify(kEventOut);
    }
    if (got && (!waitall || res.copied >= len)) return res;
    if (got && res.control && !res.control->rights.empty()) return res;
    if (!wait) {
      if (ctx.waiter() == nullptr) {
        if (res.copied > 0) return res;
        return Errno(EAGAIN);
      }
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;
    }
    SysResult<void> b = net::BlockOn(ctx, deadline);
    if (!b.ok()) {
      if (res.copied > 0) return res;
      return b.error();
    }
  }
}

SysResult<void> Endpoint::Shutdown(int how) {
  int mine = 0, theirs = 0;
  if (how == SHUT_RD || how == SHUT_RDWR) {
    mine |= kShutRcv;
    theirs |= kShutSend;
  }
  if (how == SHUT_WR || how == SHUT_RDWR) {
    mine |= kShutSend;
    theirs |= kShutRcv;
  }
  std::shared_ptr<Endpoint> p;
  {
    absl::MutexLock l(&mu_);
    shutdown_ |= mine;
    if (connection_oriented()) p = peer_;
  }
  queue_.Notify(kEventAll);
  if (p != nullptr) {
    {
      absl::MutexLock l(&p->mu_);
      p->shutdown_ |= theirs;
    }
    p->queue_.Notify(kEventAll);
  }
  return Ok();
}

void Endpoint::Close() {
  Unregister();
  std::shared_ptr<Endpoint> p;
  std::deque<std::shared_ptr<Endpoint>> pending;
  std::deque<Message> dropped;
  bool unread = false;
  {
    absl::MutexLock l(&mu_);
    if (closed_) return;
    closed_ = true;
    shutdown_ = kShutRcv | kShutSend;
    p = std::move(peer_);
    peer_.reset();
    pending.swap(pending_);
    unread = !rx_.empty();
    dropped.swap(rx_);
    rx_bytes_ = 0;
  }
  queue_.Notify(kEventAll);
  if (p != nullptr && connection_oriented()) {
    {
      absl::MutexLock l(&p->mu_);
      p->shutdown_ = kShutRcv | kShutSend;
      // Data the peer sent and this end never read: the peer's next call
      // learns the connection was reset.
      if (unread) p->error_ = ECONNRESET;
      p->peer_.reset();
    }
    p->queue_.Notify(kEventAll);
  }
  // Connections never accepted are reset.
  for (const std::shared_ptr<Endpoint>& e : pending) {
    std::shared_ptr<Endpoint> client = e->peer();
    e->Close();
    if (client != nullptr) {
      absl::MutexLock l(&client->mu_);
      client->error_ = ECONNRESET;
    }
  }
  // `dropped` releases the rights it carried here, unlocked.
}

uint32_t Endpoint::Readiness(uint32_t mask) {
  uint32_t r = 0;
  std::shared_ptr<Endpoint> p;
  {
    absl::MutexLock l(&mu_);
    if (listening_) {
      if (!pending_.empty()) r |= POLLIN | POLLRDNORM;
      return r & (mask | POLLERR | POLLHUP);
    }
    if (!rx_.empty()) r |= POLLIN | POLLRDNORM;
    if ((shutdown_ & kShutRcv) != 0) r |= POLLIN | POLLRDNORM | kEventRdHup;
    if (shutdown_ == (kShutRcv | kShutSend)) r |= POLLHUP;
    if (error_ != 0) r |= POLLERR;
    if (connection_oriented() && !connected_) {
      // A socket never connected is writable and hung up, as Linux says
      // for a stream socket in state TCP_CLOSE.
      r |= POLLOUT | POLLWRNORM | POLLHUP;
      return r & (mask | POLLERR | POLLHUP);
    }
    if ((shutdown_ & kShutSend) != 0) {
      r |= POLLOUT | POLLWRNORM;
      return r & (mask | POLLERR | POLLHUP);
    }
    p = peer_;
  }
  if (p == nullptr) {
    if (!connection_oriented()) r |= POLLOUT | POLLWRNORM;
  } else {
    absl::MutexLock l(&p->mu_);
    if (p->HasRoomLocked(1, sndbuf.load())) r |= POLLOUT | POLLWRNORM;
  }
  return r & (mask | POLLERR | POLLHUP);
}

void Endpoint::SetFlagOption(int name, int value) {
  absl::MutexLock l(&mu_);
  flag_options_[name] = value;
}

int Endpoint::FlagOption(int name) {
  absl::MutexLock l(&mu_);
  auto it = flag_options_.find(name);
  if (it != flag_options_.end()) return it->second;
  return name == SO_RCVLOWAT ? 1 : 0;  // Linux's defaults
}

Address Endpoint::name() {
  absl::MutexLock l(&mu_);
  return name_;
}

SysResult<Address> Endpoint::PeerName() {
  std::shared_ptr<Endpoint> p;
  {
    absl::MutexLock l(&mu_);
    if (peer_ == nullptr) return Errno(ENOTCONN);
    p = peer_;
  }
  return p->name();
}

Creds Endpoint::peer_creds() {
  absl::MutexLock l(&mu_);
  if (has_peer_creds_) return peer_creds_;
  Creds nobody;
  nobody.pid = 0;
  nobody.uid = static_cast<uint32_t>(-1);
  nobody.gid = static_cast<uint32_t>(-1);
  return nobody;
}

int Endpoint::TakeError() {
  absl::MutexLock l(&mu_);
  int e = error_;
  error_ = 0;
  return e;
}

size_t Endpoint::InQueue() {
  absl::MutexLock l(&mu_);
  if (rx_.empty()) return 0;
  if (type_ == SOCK_DGRAM) return rx_.front().data.size();
  return rx_bytes_;
}

size_t Endpoint::OutQueue() {
  std::shared_ptr<Endpoint> p = peer();
  if (p == nullptr) return 0;
  absl::MutexLock l(&p->mu_);
  return p->rx_bytes_;
}

std::vector<BoundInfo> BoundSockets() {
  std::vector<std::shared_ptr<Endpoint>> eps;
  {
    Registry& r = Names();
    absl::MutexLock l(&r.mu);
    for (auto& [key, w] : r.abstract) {
      if (auto e = w.lock()) eps.push_back(std::move(e));
    }
    for (auto& [key, w] : r.paths) {
      if (auto e = w.lock()) eps.push_back(std::move(e));
    }
  }
  std::vector<BoundInfo> out;
  for (auto& e : eps) {
    BoundInfo b;
    b.name = e->name().name;
    b.type = e->type();
    b.listening = e->listening();
    b.connected = e->PeerName().ok();
    out.push_back(std::move(b));
  }
  return out;
}

UnixSocketFD::UnixSocketFD(vfs::VirtualDentry vd, int flags,
                           std::shared_ptr<Endpoint> endpoint)
    : vfs::StreamFD(std::move(vd), flags), endpoint_(std::move(endpoint)) {}

UnixSocketFD::~UnixSocketFD() { endpoint_->Close(); }

std::shared_ptr<UnixSocketFD> UnixSocketFD::New(
    std::shared_ptr<Endpoint> endpoint, int flags, uint32_t uid, uint32_t gid) {
  vfs::VirtualDentry vd =
      fs::anon::NewAnonFile("sockfs", S_IFSOCK | 0777, uid, gid);
  return std::make_shared<UnixSocketFD>(std::move(vd), O_RDWR | flags,
                                        std::move(endpoint));
}

SysResult<size_t> UnixSocketFD::Read(vfs::CallContext& ctx, char* buf,
                                     size_t len, int64_t*) {
  if (len == 0 && endpoint_->type() == SOCK_STREAM) return size_t{0};
  ShouldBlock block =
      (flags() & O_NONBLOCK) != 0 ? ShouldBlock::kNo : ShouldBlock::kYes;
  SENTRY_ASSIGN_OR_RETURN(
      RecvResult r,
      endpoint_->Recv(ctx, buf, len, 0, block,
                      TimeoutDeadline(endpoint_->rcvtimeo_ns.load())));
  // read(2) has nowhere to put rights: they are dropped (closed) here.
  return r.copied;
}

SysResult<size_t> UnixSocketFD::Write(vfs::CallContext& ctx, const char* buf,
                                      size_t len, int64_t*) {
  if (len == 0 && endpoint_->type() == SOCK_STREAM) return size_t{0};
  ShouldBlock block =
      (flags() & O_NONBLOCK) != 0 ? ShouldBlock::kNo : ShouldBlock::kYes;
  Control control;
  control.creds = Creds{ctx.Tgid(), ctx.creds().euid, ctx.creds().egid};
  return endpoint_->Send(ctx, buf, len, std::move(control), nullptr, block,
                         TimeoutDeadline(endpoint_->sndtimeo_ns.load()));
}

SysResult<int64_t> UnixSocketFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                       uint64_t arg) {
  switch (cmd) {
    case FIONREAD: {  // SIOCINQ
      if (endpoint_->listening()) return Errno(EINVAL);
      int n =
          static_cast<int>(std::min<size_t>(endpoint_->InQueue(), INT32_MAX));
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
      return 0;
    }
    case SIOCOUTQ: {
      if (endpoint_->listening()) return Errno(EINVAL);
      int n =
          static_cast<int>(std::min<size_t>(endpoint_->OutQueue(), INT32_MAX));
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), n));
      return 0;
    }
    default:
      if (IsInterfaceIoctl(cmd)) return InterfaceIoctl(ctx, cmd, arg, false);
      return vfs::StreamFD::Ioctl(ctx, cmd, arg);
  }
}

uint32_t UnixSocketFD::Readiness(uint32_t mask) {
  return endpoint_->Readiness(mask);
}

std::string UnixSocketFD::AnonName() const {
  return absl::StrCat("socket:[", fs::anon::AnonIno(vd()), "]");
}

}  // namespace sentry::net::af_unix
