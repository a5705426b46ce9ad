// TCP over loopback: connections are made by the listener at connect time
// and bytes go straight into the peer's receive queue; FIN and RST are
// calls on the peer. States and errors follow Linux's tcp.c as a program
// sees them through the socket calls, poll and TCP_INFO.

#include "sentry/net/inet/tcp.h"

#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "sentry/net/inet/inet.h"

namespace sentry::net::inet {

TcpSocket::TcpSocket(int family) : Socket(family, SOCK_STREAM, IPPROTO_TCP) {
  options_.sndbuf.store(kTcpSndbuf);
  options_.rcvbuf.store(kTcpRcvbuf);
}

TcpSocket::~TcpSocket() = default;

size_t TcpSocket::Window(Socket& sender, Socket& receiver) {
  // What may be in flight: the receiver's buffer plus the sender's, each
  // as set, or about what Linux's autotuning reaches on loopback.
  Options& s = sender.options();
  Options& r = receiver.options();
  size_t snd = s.sndbuf_set.load() ? static_cast<size_t>(s.sndbuf.load())
                                   : kAutoWindow / 2;
  size_t rcv = r.rcvbuf_set.load() ? static_cast<size_t>(r.rcvbuf.load())
                                   : kAutoWindow / 2;
  return snd + rcv;
}

int TcpSocket::State() {
  if (std::shared_ptr<host::HostEndpoint> h = host()) return h->TcpState();
  absl::MutexLock l(&mu_);
  return StateLocked();
}

int TcpSocket::StateLocked() {
  if (listening_) return TCP_LISTEN;
  if (syn_sent_) return TCP_SYN_SENT;
  if (!connected_) return TCP_CLOSE;
  if (sent_fin_ && got_fin_) return fin_first_ ? TCP_TIME_WAIT : TCP_CLOSE;
  if (sent_fin_) return TCP_FIN_WAIT2;
  if (got_fin_) return TCP_CLOSE_WAIT;
  return TCP_ESTABLISHED;
}

SysResult<SockAddr> TcpSocket::PeerAddr() {
  absl::MutexLock l(&mu_);
  if (host_ != nullptr) {
    if (sock_state_ == SockState::kUnconnected || !peer_addr_) {
      return Errno(ENOTCONN);
    }
    if (sock_state_ == SockState::kConnecting &&
        (host_->Poll(POLLOUT) & POLLOUT) == 0) {
      return Errno(ENOTCONN);
    }
    return *peer_addr_;
  }
  if (!connected_ || !peer_addr_) return Errno(ENOTCONN);
  return *peer_addr_;
}

bool TcpSocket::listening() {
  absl::MutexLock l(&mu_);
  return listening_;
}

std::vector<std::shared_ptr<host::HostEndpoint>> TcpSocket::HostEndpoints() {
  if (host::BrokerClient::Get() == nullptr) return {};
  absl::MutexLock l(&mu_);
  if (host_ != nullptr) return {host_};
  if (host_listener_ != nullptr) return {host_listener_};
  return {};
}

SysResult<void> TcpSocket::Listen(vfs::CallContext& ctx, int backlog,
                                  const Caller& caller) {
  bool on_host = false;
  SockAddr local;
  {
    absl::MutexLock l(&mu_);
    if (connected_ || syn_sent_ || sock_state_ != SockState::kUnconnected ||
        host_ != nullptr) {
      return Errno(EINVAL);
    }
    // Linux caps at somaxconn, a negative backlog included.
    if (static_cast<unsigned>(backlog) > static_cast<unsigned>(kSomaxconn)) {
      backlog = kSomaxconn;
    }
    if (!listening_) {
      // Not as connect's autobind: a listener may not take a port that
      // a closed connection still holds in TIME_WAIT.
      if (!bound_) SENTRY_RETURN_IF_ERROR(BindLocked(local_, caller, true));
      SENTRY_RETURN_IF_ERROR(
          Stack::Get().SetListening(protocol_, local_.port, this, true));
      listening_ = true;
    }
    backlog_ = backlog;
    host::BrokerClient* broker = host::BrokerClient::Get();
    on_host = broker != nullptr && host_listener_ == nullptr &&
              broker->MayListen(local_.port);
    local = local_;
  }
  // The port the sandbox's stack chose (a bind to port 0, or none) may be
  // taken on the host: then choose another, as the host's own stack would
  // have chosen a free one, a few times.
  constexpr int kHostPortAttempts = 16;
  for (int attempt = 1; on_host; attempt++) {
    struct sockaddr_storage ss;
    size_t len = EncodeSockAddr(family_, local, &ss);
    SysResult<HostFd> fd = host::BrokerClient::Get()->Listen(
        ctx, family_, ss, static_cast<socklen_t>(len), backlog);
    if (fd.ok()) {
      absl::MutexLock l(&mu_);
      host_listener_ = std::make_shared<host::HostEndpoint>(std::move(*fd));
      break;
    }
    if (fd.err() == EADDRINUSE && attempt < kHostPortAttempts) {
      absl::MutexLock l(&mu_);
      if (!port_locked_ && listening_ && host_listener_ == nullptr &&
          ChooseAnotherPortLocked(caller)) {
        local = local_;
        on_host = host::BrokerClient::Get()->MayListen(local_.port);
        continue;
      }
    }
    // As a listen(2) that failed: the socket is not listening.
    StopListening();
    return fd.error();
  }
  // A larger backlog may admit connections waiting for room.
  PromoteWaiters();
  return Ok();
}

bool TcpSocket::ChooseAnotherPortLocked(const Caller& caller) {
  IpAddr addr = local_.addr;
  (void)Stack::Get().SetListening(protocol_, local_.port, this, false);
  UnbindLocked();
  SockAddr want;
  want.addr = addr;
  want.port = 0;
  if (!BindLocked(want, caller, true).ok() ||
      !Stack::Get().SetListening(protocol_, local_.port, this, true).ok()) {
    listening_ = false;
    return false;
  }
  return true;
}

bool TcpSocket::ConnectLocked(const std::shared_ptr<TcpSocket>& client) {
  std::shared_ptr<TcpSocket> server = std::make_shared<TcpSocket>(family_);
  server->options_.InheritFrom(options_);
  SockAddr dst, src;
  {
    absl::MutexLock cl(&client->mu_);
    if (client->closed_ || !client->syn_sent_ || !client->peer_addr_) {
      return false;
    }
    dst = *client->peer_addr_;
    src = client->local_;
    absl::MutexLock sl(&server->mu_);  // new: nobody else can hold it
    server->local_ = dst;
    server->local_.flowinfo = 0;
    server->local_.scope_id = 0;
    server->bound_ = true;
    server->uid_ = uid_;
    server->peer_addr_ = src;
    server->connected_ = true;
    server->sock_state_ = SockState::kConnected;
    server->peer_ = client;
    client->peer_ = server;
    client->connected_ = true;
    client->syn_sent_ = false;
  }
  // The server end shares the listener's port as Linux's established
  // sockets hold its bind bucket: a later bind of it conflicts.
  Stack::Binding b;
  b.socket = server;
  b.owner = server.get();
  b.family = family_;
  b.addr = dst.addr;
  b.reuseaddr = options_.reuseaddr.load();
  b.reuseport = options_.reuseport.load();
  b.uid = uid_;
  Stack::Get().Attach(protocol_, dst.port, std::move(b));
  accept_q_.push_back(std::move(server));
  return true;
}

void TcpSocket::PromoteWaiters() {
  std::vector<std::shared_ptr<TcpSocket>> woken;
  {
    absl::MutexLock l(&mu_);
    while (listening_ && !closed_ &&
           accept_q_.size() <= static_cast<size_t>(backlog_) &&
           !syn_waiters_.empty()) {
      std::shared_ptr<TcpSocket> w = syn_waiters_.front().lock();
      syn_waiters_.pop_front();
      if (w != nullptr && ConnectLocked(w)) woken.push_back(std::move(w));
    }
  }
  if (!woken.empty()) queue_.Notify(kEventIn);
  for (auto& w : woken) w->queue_.Notify(kEventOut);
}

SysResult<void> TcpSocket::ConnectHost(vfs::CallContext& ctx,
                                       const SockAddr& to, ShouldBlock block,
                                       std::optional<absl::Time> deadline) {
  SENTRY_ASSIGN_OR_RETURN(std::shared_ptr<host::HostEndpoint> ep,
                          OpenHost(ctx, to));
  SysResult<struct sockaddr_storage> name = ep->LocalName();
  {
    absl::MutexLock l(&mu_);
    if (host_ != nullptr || sock_state_ != SockState::kUnconnected) {
      return Errno(EALREADY);  // another thread connected meanwhile
    }
    // The host socket has its own address and port; a port this one held
    // in the sandbox is let go.
    UnbindLocked();
    if (name.ok()) local_ = FromHostAddr(*name);
    host_ = std::move(ep);
    peer_addr_ = ThisHostIfAny(to);
    sock_state_ = SockState::kConnecting;
  }
  // Linux answers a non-blocking connect with EINPROGRESS even when the
  // handshake is quick.
  if (block == ShouldBlock::kNo) return Errno(EINPROGRESS);
  return FinishHostConnect(ctx, block, deadline);
}

SysResult<void> TcpSocket::FinishHostConnect(
    vfs::CallContext& ctx, ShouldBlock block,
    std::optional<absl::Time> deadline) {
  std::shared_ptr<host::HostEndpoint> h;
  {
    absl::MutexLock l(&mu_);
    if (sock_state_ == SockState::kConnected) return Errno(EISCONN);
    h = host_;
  }
  for (;;) {
    if (h->Poll(POLLOUT) != 0) {
      int err = h->TakeError();
      absl::MutexLock l(&mu_);
      if (host_ != h) return Errno(ECONNABORTED);
      if (err != 0) {
        // A failed attempt leaves the socket free to connect again.
        host_.reset();
        peer_addr_.reset();
        sock_state_ = SockState::kUnconnected;
        return Errno(err);
      }
      sock_state_ = SockState::kConnected;
      return Ok();
    }
    if (block == ShouldBlock::kNo) return Errno(EALREADY);
    SysResult<void> r = h->Wait(ctx, POLLOUT, block, deadline);
    if (!r.ok()) {
      // The connection goes on in the background, as on Linux.
      if (r.err() == EAGAIN) return Errno(EINPROGRESS);
      return r;
    }
  }
}

SysResult<void> TcpSocket::Connect(vfs::CallContext& ctx, const SockAddr& to,
                                   const Caller& caller, ShouldBlock block,
                                   std::optional<absl::Time> deadline) {
  bool to_host = false;
  bool host_connecting = false;
  {
    absl::MutexLock l(&mu_);
    if (host_ != nullptr) {
      host_connecting = true;
    } else if (sock_state_ == SockState::kUnconnected && !listening_) {
      to_host = GoesToHostLocked(to, true);
    }
  }
  if (host_connecting) return FinishHostConnect(ctx, block, deadline);
  if (to_host) return ConnectHost(ctx, to, block, deadline);
  SockAddr dst, src;
  std::shared_ptr<TcpSocket> listener;
  {
    absl::MutexLock l(&mu_);
    switch (sock_state_) {
      case SockState::kConnected:
        return Errno(EISCONN);
      case SockState::kConnecting:
        if (syn_sent_) {
          if (block == ShouldBlock::kNo) return Errno(EALREADY);
          break;  // wait below, as a restarted connect does
        }
        if (connected_) {
          sock_state_ = SockState::kConnected;
          return Ok();
        }
        {
          int e = error_ != 0 ? error_ : ECONNABORTED;
          error_ = 0;
          sock_state_ = SockState::kUnconnected;
          return Errno(e);
        }
      case SockState::kUnconnected:
        break;
    }
    if (sock_state_ == SockState::kUnconnected) {
      if (listening_) return Errno(EISCONN);
      SENTRY_ASSIGN_OR_RETURN(dst, RouteLocked(to));
      if (!bound_) {
        SockAddr a;
        a.addr = SourceForLocked(dst.addr);
        SENTRY_RETURN_IF_ERROR(BindLocked(a, caller, false));
      } else if (local_.addr.is_any()) {
        local_.addr = SourceForLocked(dst.addr);
        Stack::Get().Update(protocol_, local_.port, this, local_.addr,
                            std::nullopt);
      }
      peer_addr_ = dst;
      src = local_;
      syn_sent_ = true;
      shutdown_ = 0;
      sock_state_ = SockState::kConnecting;
      std::shared_ptr<Socket> l2 =
          Stack::Get().Lookup(protocol_, dst, src, true);
      listener_ = std::static_pointer_cast<TcpSocket>(l2);
    }
    listener = listener_.lock();
  }
  auto self = std::static_pointer_cast<TcpSocket>(shared_from_this());
  bool established = false;
  bool queued = false;
  if (listener != nullptr) {
    absl::MutexLock l(&listener->mu_);
    if (listener->listening_ && !listener->closed_) {
      if (listener->accept_q_.size() <=
          static_cast<size_t>(listener->backlog_)) {
        established = listener->ConnectLocked(self);
      } else {
        // The accept queue is full: Linux drops the SYN and retries;
        // the connection completes when accept(2) makes room.
        bool already = false;
        for (auto& w : listener->syn_waiters_) {
          if (w.lock() == self) already = true;
        }
        if (!already) listener->syn_waiters_.push_back(self);
        queued = true;
      }
    }
  }
  if (established) {
    listener->queue_.Notify(kEventIn);
    queue_.Notify(kEventOut);
  }
  if (!established && !queued) {
    // No listener: the SYN gets a reset.
    absl::MutexLock l(&mu_);
    if (syn_sent_) Refuse(ECONNREFUSED);
  }
  if (block == ShouldBlock::kNo) {
    absl::MutexLock l(&mu_);
    if (!connected_ && !syn_sent_ && error_ == 0) return Errno(ECONNABORTED);
    return Errno(EINPROGRESS);
  }
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (!syn_sent_) {
        if (connected_) {
          sock_state_ = SockState::kConnected;
          return Ok();
        }
        int e = error_ != 0 ? error_ : ECONNABORTED;
        error_ = 0;
        sock_state_ = SockState::kUnconnected;
        return Errno(e);
      }
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EINPROGRESS);
      wait.emplace(&queue_, ctx.waiter(), kEventAll);
      continue;
    }
    SysResult<void> r = net::BlockOn(ctx, deadline);
    if (!r.ok()) {
      // The connection goes on in the background, as on Linux.
      if (r.err() == EAGAIN) return Errno(EINPROGRESS);
      return r;
    }
  }
}

void TcpSocket::Refuse(int err) {
  syn_sent_ = false;
  error_ = err;
  // tcp_done: the socket is shut both ways until it connects again.
  if (err != 0) shutdown_ = kRcvShutdown | kSendShutdown;
  peer_addr_.reset();
  if (!port_locked_) UnbindLocked();
}

SysResult<void> TcpSocket::Disconnect() {
  std::shared_ptr<TcpSocket> peer;
  bool was_listening = false;
  {
    absl::MutexLock l(&mu_);
    if (host_ != nullptr) {
      // Linux aborts the connection: a reset, as SO_LINGER {1, 0} sends
      // when the host socket closes.
      struct linger abort = {1, 0};
      host_->SetOption(SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
      host_.reset();
      peer_addr_.reset();
      local_ = SockAddr();
      local_.addr = family_ == AF_INET ? IpAddr::V4(0) : IpAddr::Any6();
      sock_state_ = SockState::kUnconnected;
      shutdown_ = 0;
      return Ok();
    }
    was_listening = listening_;
    if (connected_) {
      peer = peer_.lock();
      error_ = ECONNRESET;
    }
    ResetLocked();
    sock_state_ = SockState::kUnconnected;
    shutdown_ = 0;
    if (!port_locked_) UnbindLocked();
  }
  if (was_listening) StopListening();
  if (peer != nullptr) peer->ReceiveReset();
  queue_.Notify(kEventAll);
  return Ok();
}

void TcpSocket::ResetLocked() {
  connected_ = false;
  syn_sent_ = false;
  got_fin_ = false;
  sent_fin_ = false;
  peer_.reset();
  peer_addr_.reset();
  rx_.clear();
  rx_off_ = 0;
  rx_bytes_.store(0);
}

void TcpSocket::StopListening() {
  std::deque<std::shared_ptr<TcpSocket>> pending;
  std::deque<std::weak_ptr<TcpSocket>> waiters;
  {
    absl::MutexLock l(&mu_);
    if (listening_ && bound_) {
      (void)Stack::Get().SetListening(protocol_, local_.port, this, false);
    }
    listening_ = false;
    host_listener_.reset();
    pending.swap(accept_q_);
    waiters.swap(syn_waiters_);
  }
  // Connections nobody accepted are reset; SYNs waiting for room are
  // refused (the listener's port answers them with a reset now).
  for (auto& s : pending) s->Abort();
  for (auto& w : waiters) {
    if (auto s = w.lock()) {
      {
        absl::MutexLock l(&s->mu_);
        if (s->syn_sent_) s->Refuse(ECONNREFUSED);
      }
      s->queue_.Notify(kEventAll);
    }
  }
  queue_.Notify(kEventAll);
}

void TcpSocket::Abort() {
  std::shared_ptr<TcpSocket> peer;
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    peer = peer_.lock();
    ResetLocked();
    UnbindLocked();
  }
  if (peer != nullptr) peer->ReceiveReset();
}

void TcpSocket::ReceiveFin() {
  {
    absl::MutexLock l(&mu_);
    if (!connected_) return;
    got_fin_ = true;
    if (!sent_fin_) fin_first_ = false;
    shutdown_ |= kRcvShutdown;
  }
  queue_.Notify(kEventIn | kEventRdHup | kEventHup);
}

void TcpSocket::ReceiveReset() {
  {
    absl::MutexLock l(&mu_);
    if (syn_sent_) {
      Refuse(ECONNREFUSED);
    } else {
      if (!connected_) return;
      // Linux reports EPIPE to a socket that had already seen the FIN.
      error_ = got_fin_ ? EPIPE : ECONNRESET;
      connected_ = false;
      shutdown_ = kRcvShutdown | kSendShutdown;
      peer_.reset();
    }
  }
  queue_.Notify(kEventAll);
}

SysResult<std::shared_ptr<Socket>> TcpSocket::Accept(
    vfs::CallContext& ctx, ShouldBlock block,
    std::optional<absl::Time> deadline) {
  std::optional<ScopedWait> wait;
  for (;;) {
    std::shared_ptr<TcpSocket> accepted;
    std::shared_ptr<host::HostEndpoint> hl;
    {
      absl::MutexLock l(&mu_);
      if (!listening_) return Errno(EINVAL);
      if (!accept_q_.empty()) {
        accepted = std::move(accept_q_.front());
        accept_q_.pop_front();
      }
      hl = host_listener_;
    }
    if (accepted != nullptr) {
      PromoteWaiters();
      return std::shared_ptr<Socket>(std::move(accepted));
    }
    if (hl != nullptr) {
      // A connection from the host (--net-listen).
      struct sockaddr_storage peer = {};
      SysResult<std::shared_ptr<host::HostEndpoint>> ep =
          hl->Accept(ctx, ShouldBlock::kNo, std::nullopt, &peer);
      if (ep.ok()) {
        auto s = std::make_shared<TcpSocket>(family_);
        s->options_.InheritFrom(options_);
        SysResult<struct sockaddr_storage> name = (*ep)->LocalName();
        absl::MutexLock l(&s->mu_);
        s->host_ = std::move(*ep);
        s->sock_state_ = SockState::kConnected;
        s->peer_addr_ = FromHostAddr(peer);
        if (name.ok()) s->local_ = FromHostAddr(*name);
        return std::shared_ptr<Socket>(std::move(s));
      }
      if (ep.err() != EAGAIN) return ep.error();
    }
    if (block == ShouldBlock::kNo) return Errno(EAGAIN);
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventHup | kEventErr);
      continue;
    }
    std::vector<struct pollfd> fds;
    if (hl != nullptr) fds.push_back({hl->fd(), POLLIN, 0});
    SENTRY_RETURN_IF_ERROR(
        net::BlockOn(ctx, deadline, fds.empty() ? nullptr : &fds));
  }
}

size_t TcpSocket::Deliver(TcpSocket& sender, std::string& data, size_t off,
                          bool* gone) {
  size_t n = 0;
  {
    absl::MutexLock l(&mu_);
    if (closed_ || !connected_) {
      *gone = true;
      return 0;
    }
    size_t window = Window(sender, *this);
    size_t queued = rx_bytes_.load();
    if (queued >= window) return 0;
    n = std::min(window - queued, data.size() - off);
    if (off == 0 && n == data.size()) {
      rx_.push_back(std::move(data));
    } else {
      rx_.emplace_back(data, off, n);
    }
    rx_bytes_.fetch_add(n);
    bytes_received_ += n;
  }
  queue_.Notify(kEventIn);
  return n;
}

SysResult<size_t> TcpSocket::Send(vfs::CallContext& ctx, std::string data,
                                  const std::optional<SockAddr>& to,
                                  const Caller& caller, ShouldBlock block,
                                  std::optional<absl::Time> deadline) {
  (void)to;  // a connected stream ignores the address (the caller checks)
  (void)caller;
  if (std::shared_ptr<host::HostEndpoint> h = host()) {
    SysResult<size_t> n =
        h->Send(ctx, data.data(), data.size(), true, block, deadline);
    if (n.ok()) bytes_sent_ += *n;
    return n;
  }
  size_t len = data.size();
  size_t sent = 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    std::shared_ptr<TcpSocket> peer;
    bool waiting_connect = false;
    {
      absl::MutexLock l(&mu_);
      if (error_ != 0 || (shutdown_ & kSendShutdown) != 0) {
        if (sent > 0) return sent;
        // sk_stream_error: a pending error first, else EPIPE.
        int e = error_ != 0 ? error_ : EPIPE;
        error_ = 0;
        return Errno(e);
      }
      if (syn_sent_) {
        waiting_connect = true;
      } else if (!connected_) {
        return Errno(EPIPE);
      } else {
        peer = peer_.lock();
        if (peer == nullptr) {
          // The peer's socket is gone: the data meets a reset.
          error_ = got_fin_ ? EPIPE : ECONNRESET;
          connected_ = false;
          shutdown_ = kRcvShutdown | kSendShutdown;
          peer_.reset();
        }
      }
    }
    if (!waiting_connect && peer == nullptr) {
      queue_.Notify(kEventAll);
      return len;
    }
    if (peer != nullptr) {
      if (len == 0) return size_t{0};
      bool gone = false;
      size_t n = peer->Deliver(*this, data, sent, &gone);
      if (gone) {
        {
          absl::MutexLock l(&mu_);
          if (connected_) {
            error_ = got_fin_ ? EPIPE : ECONNRESET;
            connected_ = false;
            shutdown_ = kRcvShutdown | kSendShutdown;
            peer_.reset();
          }
        }
        queue_.Notify(kEventAll);
        return len;
      }
      if (n > 0) {
        sent += n;
        bytes_sent_ += n;
        if (sent == len) return sent;
        continue;
      }
    }
    if (block == ShouldBlock::kNo) {
      if (sent > 0) return sent;
      return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventOut | kEventErr | kEventHup);
      continue;
    }
    SysResult<void> r = net::BlockOn(ctx, deadline);
    if (!r.ok()) {
      if (sent > 0) return sent;
      return r.error();
    }
  }
}

SysResult<RecvResult> TcpSocket::Recv(vfs::CallContext& ctx, char* buf,
                                      size_t len, int flags, ShouldBlock block,
                                      std::optional<absl::Time> deadline) {
  if (std::shared_ptr<host::HostEndpoint> h = host()) {
    size_t full = 0;
    SENTRY_ASSIGN_OR_RETURN(size_t n, h->Recv(ctx, buf, len, flags, true, block,
                                              deadline, &full, nullptr));
    if ((flags & MSG_PEEK) == 0) bytes_received_ += n;
    RecvResult res;
    res.copied = n;
    res.length = n;
    absl::MutexLock l(&mu_);
    res.from = peer_addr_;
    return res;
  }
  bool peek = (flags & MSG_PEEK) != 0;
  bool trunc = (flags & MSG_TRUNC) != 0;
  // Linux's sock_rcvlowat: even a zero-length read waits for a byte.
  size_t target = (flags & MSG_WAITALL) != 0 && !peek && len > 0 ? len : 1;
  RecvResult res;
  std::optional<ScopedWait> wait;
  for (;;) {
    size_t consumed = 0;
    std::shared_ptr<TcpSocket> peer;
    bool done = false;
    SysResult<RecvResult> out = res;
    {
      absl::MutexLock l(&mu_);
      if (listening_) return Errno(ENOTCONN);
      // Copy what is queued.
      size_t skip = peek ? res.copied : 0;
      size_t off = rx_off_;
      for (auto it = rx_.begin(); it != rx_.end() && res.copied < len;) {
        size_t avail = it->size() - off;
        if (skip >= avail) {
          skip -= avail;
          off = 0;
          ++it;
          continue;
        }
        size_t from = off + skip;
        skip = 0;
        size_t n = std::min(it->size() - from, len - res.copied);
        if (!trunc) memcpy(buf + res.copied, it->data() + from, n);
        res.copied += n;
        if (peek) {
          off = 0;
          ++it;
          continue;
        }
        consumed += n;
        if (from + n == it->size()) {
          it = rx_.erase(it);
          rx_off_ = 0;
          off = 0;
        } else {
          rx_off_ = from + n;
          break;
        }
      }
      if (consumed > 0) rx_bytes_.fetch_sub(consumed);
      if (consumed > 0) peer = peer_.lock();
      if (res.copied >= target || (len == 0 && rx_bytes_.load() > 0)) {
        done = true;
      } else if (res.copied > 0 &&
                 (got_fin_ || error_ != 0 || (shutdown_ & kRcvShutdown))) {
        done = true;
      } else if (res.copied == 0) {
        if (got_fin_) {
          done = true;
        } else if (error_ != 0) {
          out = Errno(error_);
          error_ = 0;
          done = true;
        } else if ((shutdown_ & kRcvShutdown) != 0) {
          done = true;
        } else if (!connected_ && !syn_sent_) {
          out = Errno(ENOTCONN);
          done = true;
        }
      }
      if (done && out.ok()) out = res;
    }
    if (peer != nullptr) peer->queue_.Notify(kEventOut);
    if (done) {
      if (out.ok()) out->length = out->copied;
      return out;
    }
    if (block == ShouldBlock::kNo) {
      if (res.copied > 0) {
        res.length = res.copied;
        return res;
      }
      return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&queue_, ctx.waiter(), kEventIn | kEventErr | kEventHup);
      continue;
    }
    SysResult<void> r = net::BlockOn(ctx, deadline);
    if (!r.ok()) {
      if (res.copied > 0) {
        res.length = res.copied;
        return res;
      }
      return r.error();
    }
  }
}

SysResult<void> TcpSocket::Shutdown(int how) {
  if (std::shared_ptr<host::HostEndpoint> h = host()) {
    SENTRY_RETURN_IF_ERROR(h->Shutdown(how - 1));  // SHUT_RD is 0
    absl::MutexLock l(&mu_);
    shutdown_ |= how;
    return Ok();
  }
  bool stop_listening = false;
  std::shared_ptr<TcpSocket> fin_to;
  SysResult<void> ret = Ok();
  {
    absl::MutexLock l(&mu_);
    if (listening_) {
      // Linux disconnects a listener shut down for reading.
      stop_listening = (how & kRcvShutdown) != 0;
    } else if (syn_sent_) {
      Refuse(0);
      sock_state_ = SockState::kUnconnected;
    } else if (!connected_) {
      shutdown_ |= how;
      ret = Errno(ENOTCONN);
    } else {
      shutdown_ |= how;
      if ((how & kSendShutdown) != 0 && !sent_fin_) {
        sent_fin_ = true;
        if (!got_fin_) fin_first_ = true;
        fin_to = peer_.lock();
      }
    }
  }
  if (stop_listening) StopListening();
  if (fin_to != nullptr) fin_to->ReceiveFin();
  queue_.Notify(kEventAll);
  return ret;
}

void TcpSocket::Close() {
  {
    // The host sends the FIN (or the reset, for unread data or SO_LINGER
    // {1, 0}) when the last reference to the host socket goes.
    absl::MutexLock l(&mu_);
    if (host_ != nullptr) {
      host_.reset();
      closed_ = true;
      return;
    }
  }
  bool was_listening = false;
  std::shared_ptr<TcpSocket> peer;
  bool reset = false;
  bool fin = false;
  bool time_wait = false;
  {
    absl::MutexLock l(&mu_);
    was_listening = listening_;
    if (connected_) {
      peer = peer_.lock();
      // Unread data, or SO_LINGER with a zero timeout, resets the
      // connection instead of closing it.
      reset = rx_bytes_.load() > 0 ||
              (options_.linger_on.load() && options_.linger_secs.load() == 0);
      fin = !sent_fin_;
      // The end that closed first lingers in FIN_WAIT2/TIME_WAIT holding
      // its port; the other closes at once.
      time_wait = !reset && (sent_fin_ ? fin_first_ : !got_fin_);
    }
  }
  if (was_listening) StopListening();
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    if (syn_sent_) syn_sent_ = false;
    ResetLocked();
    if (time_wait && bound_) {
      Stack::Get().TimeWait(protocol_, local_.port, this);
      bound_ = false;
    }
    UnbindLocked();
  }
  if (peer != nullptr) {
    if (reset) {
      peer->ReceiveReset();
    } else if (fin) {
      peer->ReceiveFin();
    }
  }
}

uint32_t TcpSocket::Readiness(uint32_t mask) {
  if (std::shared_ptr<host::HostEndpoint> h = host()) {
    short want =
        static_cast<short>(mask & (POLLIN | POLLOUT | POLLPRI | POLLRDNORM |
                                   POLLWRNORM | POLLRDHUP));
    return static_cast<uint16_t>(h->Poll(want)) & (mask | POLLERR | POLLHUP);
  }
  uint32_t r = 0;
  std::shared_ptr<TcpSocket> peer;
  bool check_room = false;
  {
    absl::MutexLock l(&mu_);
    if (listening_) {
      if (!accept_q_.empty()) r |= POLLIN | POLLRDNORM;
      if (host_listener_ != nullptr &&
          (host_listener_->Poll(POLLIN) & POLLIN) != 0) {
        r |= POLLIN | POLLRDNORM;
      }
      return r & (mask | POLLERR | POLLHUP);
    }
    bool closed = !connected_ && !syn_sent_;
    if (shutdown_ == (kRcvShutdown | kSendShutdown) || closed) r |= POLLHUP;
    if ((shutdown_ & kRcvShutdown) != 0) {
      r |= POLLIN | POLLRDNORM | kEventRdHup;
    }
    if (!syn_sent_) {
      if (rx_bytes_.load() > 0) r |= POLLIN | POLLRDNORM;
      if ((shutdown_ & kSendShutdown) == 0 && connected_) {
        peer = peer_.lock();
        check_room = true;
      } else {
        r |= POLLOUT | POLLWRNORM;
      }
    }
    if (error_ != 0) r |= POLLERR;
  }
  if (check_room) {
    // A peer gone away takes anything (it answers with a reset).
    if (peer == nullptr || peer->rx_bytes_.load() < Window(*this, *peer)) {
      r |= POLLOUT | POLLWRNORM;
    }
  }
  return r & (mask | POLLERR | POLLHUP);
}

SysResult<size_t> TcpSocket::InQueue() {
  if (std::shared_ptr<host::HostEndpoint> h = host()) return h->InQueue();
  absl::MutexLock l(&mu_);
  if (listening_) return Errno(EINVAL);
  return rx_bytes_.load();
}

size_t TcpSocket::OutQueue() {
  if (std::shared_ptr<host::HostEndpoint> h = host()) return h->OutQueue();
  std::shared_ptr<TcpSocket> peer;
  {
    absl::MutexLock l(&mu_);
    peer = peer_.lock();
  }
  if (peer == nullptr) return 0;
  Options& r = peer->options();
  size_t rcv = r.rcvbuf_set.load() ? static_cast<size_t>(r.rcvbuf.load())
                                   : kAutoWindow / 2;
  size_t queued = peer->rx_bytes_.load();
  return queued > rcv ? queued - rcv : 0;
}

TcpInfo TcpSocket::Info() {
  if (std::shared_ptr<host::HostEndpoint> h = host()) {
    TcpInfo i;
    i.state = h->TcpState();
    i.connected = i.state != TCP_SYN_SENT && i.state != TCP_CLOSE;
    i.bytes_sent = bytes_sent_;
    i.bytes_received = bytes_received_;
    return i;
  }
  absl::MutexLock l(&mu_);
  TcpInfo i;
  i.state = StateLocked();
  i.bytes_sent = bytes_sent_;
  i.bytes_received = bytes_received_;
  i.connected = connected_;
  i.unacked = 0;
  return i;
}

size_t TcpSocket::AcceptQueueLen() {
  absl::MutexLock l(&mu_);
  return accept_q_.size();
}

int TcpSocket::Backlog() {
  absl::MutexLock l(&mu_);
  return backlog_;
}

}  // namespace sentry::net::inet
