// UDP sockets of the loopback stack (see inet.h).

#ifndef SENTRY_NET_INET_UDP_H_
#define SENTRY_NET_INET_UDP_H_

#include <deque>
#include <memory>
#include <string>

#include "sentry/net/inet/inet.h"

namespace sentry::net::inet {

// The largest datagram payloads: 65535 less the IP (v4 only) and UDP
// headers.
inline constexpr size_t kMaxUdp4 = 65507;
inline constexpr size_t kMaxUdp6 = 65527;
// What a queued datagram costs against SO_RCVBUF beyond its bytes (about
// Linux's skb truesize on loopback).
inline constexpr size_t kDgramOverhead = 768;

class UdpSocket final : public Socket {
 public:
  explicit UdpSocket(int family);
  ~UdpSocket() override;

  SysResult<void> Listen(vfs::CallContext&, int, const Caller&) override {
    return Errno(EOPNOTSUPP);
  }
  SysResult<std::shared_ptr<Socket>> Accept(
      vfs::CallContext&, ShouldBlock, std::optional<absl::Time>) override {
    return Errno(EOPNOTSUPP);
  }
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
  SysResult<size_t> InQueue() override;
  int State() override;

 protected:
  std::vector<std::shared_ptr<host::HostEndpoint>> HostEndpoints() override;

 private:
  struct Datagram {
    std::string data;
    SockAddr from;
    IpAddr dst;
    uint8_t tos = 0;
    int ttl = 64;
    absl::Time stamp;
  };
  // Queues `d` unless the receive buffer is full (then it is dropped, as
  // UDP drops).
  void Deliver(Datagram d);

  std::vector<std::shared_ptr<host::HostEndpoint>> HostEndpointsLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --network=host: an unconnected socket's host sockets, one per host
  // destination it sent to (the replies come back on them), the oldest
  // dropped beyond kMaxHostPeers.
  static constexpr size_t kMaxHostPeers = 16;
  std::deque<std::pair<SockAddr, std::shared_ptr<host::HostEndpoint>>>
      host_peers_ ABSL_GUARDED_BY(mu_);
  std::deque<Datagram> rx_ ABSL_GUARDED_BY(mu_);
  size_t rx_mem_ ABSL_GUARDED_BY(mu_) = 0;  // bytes + overhead, vs SO_RCVBUF
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sentry::net::inet

#endif  // SENTRY_NET_INET_UDP_H_
