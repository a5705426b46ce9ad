// Netlink sockets of protocol NETLINK_ROUTE, answered by the sentry from
// its interface list (sentry/net/interfaces.h): link, address and route
// dumps and gets, enough for getifaddrs(3), if_nameindex(3) and
// `ip addr|link|route`. Requests that change the network fail (EPERM
// without CAP_NET_ADMIN, EOPNOTSUPP with it), except setting `lo` up,
// which it already is. No multicast notifications are ever sent.
//
// Lock order: NetlinkSocket::mu_, then the port-id registry's lock (a
// leaf). A socket file description holds its socket.

#ifndef SENTRY_NET_NETLINK_NETLINK_H_
#define SENTRY_NET_NETLINK_NETLINK_H_

#include <linux/netlink.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/vfs/file.h"

namespace sentry::net::netlink {

struct RecvResult {
  size_t copied = 0;
  size_t length = 0;  // the whole datagram's
};

class NetlinkSocket final {
 public:
  NetlinkSocket(int type, int protocol, int32_t tgid);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  int type() const { return type_; }
  int protocol() const { return protocol_; }
  WaitQueue& queue() { return queue_; }

  // bind(2): port id 0 picks one (the process's tgid first, as Linux).
  SysResult<void> Bind(uint32_t port_id, uint32_t groups);
  uint32_t PortId();
  uint32_t Groups();
  // sendmsg(2) to the kernel: handles each request in `data` and queues
  // the answers. `net_admin`: whether the caller may change the network.
  SysResult<size_t> Send(const std::string& data, bool net_admin);
  SysResult<RecvResult> Recv(vfs::CallContext& ctx, char* buf, size_t len,
                             bool peek, bool block,
                             std::optional<absl::Time> deadline);
  uint32_t Readiness(uint32_t mask);
  size_t InQueue();
  // Queues `datagram` from the kernel unprompted (mq_notify's SIGEV_THREAD
  // cookie, which glibc's helper thread waits for); dropped if the receive
  // queue is full, as Linux's netlink_sendskb drops it.
  void Deliver(std::string datagram);

  std::atomic<int> sndbuf{212992};
  std::atomic<int> rcvbuf{212992};
  std::atomic<int64_t> rcvtimeo_ns{0};
  std::atomic<bool> passcred{false};
  // SOL_NETLINK flags a program sets and reads back (NETLINK_EXT_ACK,
  // NETLINK_GET_STRICT_CHK, ...): kept, without effect on these answers.
  std::atomic<uint32_t> flags{0};

 private:
  SysResult<void> AutobindLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Handle(const struct nlmsghdr& h, const char* payload, size_t len,
              bool net_admin, std::deque<std::string>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int type_;
  const int protocol_;
  const int32_t tgid_;
  absl::Mutex mu_;
  WaitQueue queue_;
  uint32_t port_id_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::string> rx_ ABSL_GUARDED_BY(mu_);
  size_t rx_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

class NetlinkSocketFD final : public vfs::StreamFD {
 public:
  NetlinkSocketFD(vfs::VirtualDentry vd, int flags,
                  std::shared_ptr<NetlinkSocket> socket);
  static std::shared_ptr<NetlinkSocketFD> New(
      std::shared_ptr<NetlinkSocket> socket, int flags, uint32_t uid,
      uint32_t gid);

  NetlinkSocket& socket() { return *socket_; }
  const std::shared_ptr<NetlinkSocket>& shared_socket() const {
    return socket_;
  }

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
  std::string AnonName() const override;
  bool is_socket() const override { return true; }

 private:
  const std::shared_ptr<NetlinkSocket> socket_;
};

}  // namespace sentry::net::netlink

#endif  // SENTRY_NET_NETLINK_NETLINK_H_
