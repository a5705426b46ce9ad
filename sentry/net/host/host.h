// The sentry's side of `--network=host`: asking the network broker for
// host sockets (BrokerClient) and using the ones it donates (HostEndpoint).
// The inet sockets (sentry/net/inet) turn to these when a destination is
// not in the sandbox; see protocol.h for why the sentry never makes a
// host socket itself.
//
// Ownership: an inet socket holds its endpoints (shared_ptr, so a call in
// progress keeps one alive while another thread replaces it). Lock order:
// BrokerClient::mu_ is a leaf, taken with no socket lock held.

#ifndef SENTRY_NET_HOST_HOST_H_
#define SENTRY_NET_HOST_HOST_H_

#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/host_fd.h"
#include "sentry/base/sys_result.h"
#include "sentry/vfs/lock.h"
#include "sentry/vfs/vfs.h"

namespace sentry::net::host {

class BrokerClient final {
 public:
  // Installs the broker of --network=host (once, at boot); until then
  // Get() is null and the sandbox has only its own network.
  // `listen`: the host port ranges of --net-listen.
  static void Install(HostFd sock,
                      std::vector<std::pair<uint16_t, uint16_t>> listen);
  static BrokerClient* Get();

  // Whether a listener on `port` also listens on the host.
  bool MayListen(uint16_t port) const;

  // A host socket of `family` and `type` connected to `addr` (already
  // encoded for `family`), the connection perhaps still in progress (wait
  // for POLLOUT, then read SO_ERROR). EACCES when the allowlist refuses.
  SysResult<HostFd> Connect(vfs::CallContext& ctx, int family, int type,
                            const struct sockaddr_storage& addr, socklen_t len);
  // A host TCP socket listening on `addr`; EACCES unless --net-listen
  // allows its port.
  SysResult<HostFd> Listen(vfs::CallContext& ctx, int family,
                           const struct sockaddr_storage& addr, socklen_t len,
                           int backlog);

 private:
  BrokerClient(HostFd sock, std::vector<std::pair<uint16_t, uint16_t>> listen)
      : listen_(std::move(listen)), sock_(std::move(sock)) {}
  SysResult<HostFd> Call(vfs::CallContext& ctx, int op, int family, int type,
                         const struct sockaddr_storage& addr, socklen_t len,
                         int backlog);

  const std::vector<std::pair<uint16_t, uint16_t>> listen_;
  // One request at a time: a reply answers the request before it.
  absl::Mutex mu_;
  HostFd sock_ ABSL_GUARDED_BY(mu_);
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
};

// A host socket the broker donated: connected (TCP or UDP) or listening.
// Everything here is a non-blocking host call; waits happen in the
// sentry, where signals interrupt them.
class HostEndpoint final {
 public:
  explicit HostEndpoint(HostFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // The host's poll(2) revents for `events`, now.
  short Poll(short events) const;
  // Waits until one of `events` is ready: EAGAIN for kNo or at the
  // deadline, kERESTARTSYS/EINTR as net::BlockOn.
  SysResult<void> Wait(vfs::CallContext& ctx, short events,
                       vfs::ShouldBlock block,
                       std::optional<absl::Time> deadline) const;

  // send(2) without an address (the socket is connected). `stream`: a
  // blocking send goes on until everything is sent, as TCP's does; a
  // partial count when interrupted after some bytes.
  SysResult<size_t> Send(vfs::CallContext& ctx, const char* data, size_t len,
                         bool stream, vfs::ShouldBlock block,
                         std::optional<absl::Time> deadline);
  // recvmsg(2) with MSG_PEEK, MSG_TRUNC and MSG_WAITALL from `flags`.
  // `*full` gets a datagram's whole length; `from` its source.
  SysResult<size_t> Recv(vfs::CallContext& ctx, char* buf, size_t len,
                         int flags, bool stream, vfs::ShouldBlock block,
                         std::optional<absl::Time> deadline, size_t* full,
                         struct sockaddr_storage* from);
  // accept4(2): a connected endpoint and its peer's address.
  SysResult<std::shared_ptr<HostEndpoint>> Accept(
      vfs::CallContext& ctx, vfs::ShouldBlock block,
      std::optional<absl::Time> deadline, struct sockaddr_storage* peer);

  SysResult<void> Shutdown(int how);
  int TakeError();  // SO_ERROR
  size_t InQueue() const;
  size_t OutQueue() const;
  int TcpState() const;  // TCP_INFO's tcpi_state
  SysResult<struct sockaddr_storage> LocalName() const;
  // Passes an option the program set on to the host socket.
  void SetOption(int level, int name, const void* value, socklen_t len);

 private:
  const HostFd fd_;
};

}  // namespace sentry::net::host

#endif  // SENTRY_NET_HOST_HOST_H_
