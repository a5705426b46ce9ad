// TCP sockets of the loopback stack (see inet.h).

#ifndef SENTRY_NET_INET_TCP_H_
#define SENTRY_NET_INET_TCP_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include "sentry/net/inet/inet.h"

namespace sentry::net::inet {

// What TCP_INFO and /proc/net/tcp report.
struct TcpInfo {
  int state = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  bool connected = false;
  uint32_t unacked = 0;
};

class TcpSocket final : public Socket {
 public:
  explicit TcpSocket(int family);
  ~TcpSocket() override;

  // With --network=host and a port --net-listen names, the listener also
  // listens on the host, and accept(2) takes connections from both.
  SysResult<void> Listen(vfs::CallContext& ctx, int backlog,
                         const Caller& caller) override;
  SysResult<std::shared_ptr<Socket>> Accept(
      vfs::CallContext& ctx, ShouldBlock block,
      std::optional<absl::Time> deadline) override;
  SysResult<void> Connect(vfs::CallContext& ctx, const SockAddr& to,
                          const Caller& caller, ShouldBlock block,
                          std::optional<absl::Time> deadline) override;
  SysResult<void> Disconnect() override;
  SysResult<size_t> Send(vfs::CallContext& ctx, std::string data,
                         const std::optional<SockAddr>& to,
                         const Caller& caller, ShouldBlock block,
                         std::optional<absl::Time> deadline) override;
  SysResult<RecvResult> Recv(vfs::CallContext& ctx, char* buf, size_t len,
                             int flags, ShouldBlock block,
                             std::optional<absl::Time> deadline) override;
  SysResult<void> Shutdown(int how) override;
  void Close() override;
  uint32_t Readiness(uint32_t mask) override;
  bool listening() override;
  SysResult<size_t> InQueue() override;
  // SIOCOUTQ: what Linux would still hold in the send queue, the bytes
  // in flight beyond what the receiver's buffer takes.
  size_t OutQueue() override;
  int State() override;
  // ENOTCONN unless connected (not after a reset, nor while in SYN_SENT).
  SysResult<SockAddr> PeerAddr() override;

  TcpInfo Info();
  size_t AcceptQueueLen();
  int Backlog();

 private:
  // connect(2)'s progress as the socket layer above TCP keeps it: a
  // non-blocking connect leaves kConnecting, which the next connect or
  // the first poll-then-connect turns into kConnected (Linux's
  // SS_CONNECTING / SS_CONNECTED).
  enum class SockState { kUnconnected, kConnecting, kConnected };

  // What may be queued between `sender` and `receiver` at once.
  static size_t Window(Socket& sender, Socket& receiver);
  int StateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On a listener: makes the server end for `client` (in SYN_SENT) and
  // queues it for accept; false if the client gave up meanwhile.
  bool ConnectLocked(const std::shared_ptr<TcpSocket>& client)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On a listener: connects SYNs that waited for room in the backlog.
  void PromoteWaiters();
  void StopListening();
  // Listen: the stack's choice of port is taken on the host; moves the
  // listener to another free port of the stack's choosing. False if none
  // could be had (then it is no longer listening).
  bool ChooseAnotherPortLocked(const Caller& caller)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // --network=host: connects through a host socket from the broker, and
  // waits for (or reports) that connection's progress.
  SysResult<void> ConnectHost(vfs::CallContext& ctx, const SockAddr& to,
                              ShouldBlock block,
                              std::optional<absl::Time> deadline);
  SysResult<void> FinishHostConnect(vfs::CallContext& ctx, ShouldBlock block,
                                    std::optional<absl::Time> deadline);
  // A connection attempt failed with `err` (0: cancelled).
  void Refuse(int err) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Called on a server end nobody accepted: reset it and its client.
  void Abort();
  // The peer sent its FIN / a reset.
  void ReceiveFin();
  void ReceiveReset();
  // Queues bytes from `data` at `off` on this (receiving) socket, as many
  // as the window allows; `*gone` if this socket cannot take data any
  // more (closed: the sender gets a reset).
  size_t Deliver(TcpSocket& sender, std::string& data, size_t off, bool* gone);

  SockState sock_state_ ABSL_GUARDED_BY(mu_) = SockState::kUnconnected;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;  // ESTABLISHED or later
  bool syn_sent_ ABSL_GUARDED_BY(mu_) = false;   // waiting for a listener
  bool got_fin_ ABSL_GUARDED_BY(mu_) = false;
  bool sent_fin_ ABSL_GUARDED_BY(mu_) = false;
  bool fin_first_ ABSL_GUARDED_BY(mu_) = false;  // ours went before theirs
  bool closed_ ABSL_GUARDED_BY(mu_) = false;     // the last fd is gone
  std::weak_ptr<TcpSocket> peer_ ABSL_GUARDED_BY(mu_);
  std::weak_ptr<TcpSocket> listener_ ABSL_GUARDED_BY(mu_);  // a SYN's
  std::deque<std::string> rx_ ABSL_GUARDED_BY(mu_);
  size_t rx_off_ ABSL_GUARDED_BY(mu_) = 0;  // consumed of rx_.front()
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  // Listeners.
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  int backlog_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<TcpSocket>> accept_q_ ABSL_GUARDED_BY(mu_);
  std::deque<std::weak_ptr<TcpSocket>> syn_waiters_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<host::HostEndpoint> host_listener_ ABSL_GUARDED_BY(mu_);

 protected:
  std::vector<std::shared_ptr<host::HostEndpoint>> HostEndpoints() override;
};

}  // namespace sentry::net::inet

#endif  // SENTRY_NET_INET_TCP_H_
