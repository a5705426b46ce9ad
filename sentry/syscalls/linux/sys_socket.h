// What the socket syscalls share between families: sys_socket.cc has the
// entry points and AF_UNIX, sys_socket_inet.cc AF_INET and AF_INET6.

#ifndef SENTRY_SYSCALLS_LINUX_SYS_SOCKET_H_
#define SENTRY_SYSCALLS_LINUX_SYS_SOCKET_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "sentry/base/sys_result.h"
#include "sentry/kernel/task.h"
#include "sentry/net/inet/inet.h"
#include "sentry/net/netlink/netlink.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

// A guest msghdr, its iovecs copied in.
struct MsgHdr {
  GuestAddr name;
  uint32_t namelen = 0;
  std::vector<struct iovec> iov;
  GuestAddr control;
  uint64_t controllen = 0;
};

SysResult<MsgHdr> CopyInMsgHdr(Task& t, GuestAddr addr);
// Whether a call blocks: not on an O_NONBLOCK file nor with MSG_DONTWAIT.
vfs::ShouldBlock BlockingOf(const vfs::FileDescription& f, int msg_flags);
size_t TotalLen(const std::vector<struct iovec>& iov);
// The bytes a send takes from the guest's iovecs (at most kMaxRwCount),
// and where a receive puts `n` bytes of `data`.
SysResult<std::string> GatherIov(Task& t, const std::vector<struct iovec>& iov);
SysResult<void> ScatterIov(Task& t, const std::vector<struct iovec>& iov,
                           const char* data, size_t n);

// What one recvmsg returns: the result, and the msg_flags, msg_namelen
// and msg_controllen the caller writes back to the guest's msghdr.
struct RecvOut {
  uint64_t ret = 0;
  int msg_flags = 0;
  uint32_t namelen = 0;
  uint64_t controllen = 0;
};

SysResult<void> WriteBackMsgHdr(Task& t, GuestAddr addr, const RecvOut& out);

// Option values: an int (EINVAL if `len` is short), a struct timeval as
// SO_RCVTIMEO takes it (EDOM for bad microseconds, negative means none).
SysResult<int> IntOption(Task& t, GuestAddr val, uint32_t len);
SysResult<int64_t> TimeoutOption(Task& t, GuestAddr val, uint32_t len);
// SO_SNDBUF, SO_RCVBUF and their FORCE forms: the size to keep, as Linux
// computes it (capped at `max` unless forced, doubled, with a floor);
// EPERM for FORCE without CAP_NET_ADMIN.
SysResult<int> BufOption(Task& t, int name, GuestAddr val, uint32_t len,
                         int max);
// Copies an option value out as getsockopt does: at most *len bytes, and
// the length written back.
SysResult<uint64_t> PutOption(Task& t, GuestAddr val, GuestAddr len_addr,
                              const void* data, size_t size);

// Control message layout.
inline constexpr size_t kCmsgHdr = sizeof(struct cmsghdr);
constexpr size_t CmsgAlign(size_t n) { return (n + 7) & ~size_t{7}; }

// AF_INET and AF_INET6 (sys_socket_inet.cc).
using InetFD = std::shared_ptr<net::inet::InetSocketFD>;
SysResult<uint64_t> InetSocket(Task& t, int domain, int type, int protocol);
SysResult<uint64_t> InetBind(Task& t, const InetFD& s, GuestAddr addr,
                             uint32_t len);
SysResult<uint64_t> InetListen(Task& t, const InetFD& s, int backlog);
SysResult<uint64_t> InetAccept(Task& t, const InetFD& s, GuestAddr addr,
                               GuestAddr len_addr, int flags);
SysResult<uint64_t> InetConnect(Task& t, const InetFD& s, GuestAddr addr,
                                uint32_t len);
SysResult<uint64_t> InetGetName(Task& t, const InetFD& s, GuestAddr addr,
                                GuestAddr len_addr, bool peer);
SysResult<uint64_t> InetSend(Task& t, const InetFD& s, const MsgHdr& h,
                             int flags);
SysResult<RecvOut> InetRecv(Task& t, const InetFD& s, const MsgHdr& h,
                            int flags);
SysResult<uint64_t> InetShutdown(Task& t, const InetFD& s, int how);
SysResult<uint64_t> InetSetsockopt(Task& t, const InetFD& s, int level,
                                   int name, GuestAddr val, uint32_t len);
SysResult<uint64_t> InetGetsockopt(Task& t, const InetFD& s, int level,
                                   int name, GuestAddr val, GuestAddr len_addr);

// AF_NETLINK (sys_socket_netlink.cc).
using NetlinkFD = std::shared_ptr<net::netlink::NetlinkSocketFD>;
SysResult<uint64_t> NetlinkSocketCreate(Task& t, int type, int protocol);
SysResult<uint64_t> NetlinkBind(Task& t, const NetlinkFD& s, GuestAddr addr,
                                uint32_t len);
SysResult<uint64_t> NetlinkConnect(Task& t, const NetlinkFD& s, GuestAddr addr,
                                   uint32_t len);
SysResult<uint64_t> NetlinkGetName(Task& t, const NetlinkFD& s, GuestAddr addr,
                                   GuestAddr len_addr, bool peer);
SysResult<uint64_t> NetlinkSend(Task& t, const NetlinkFD& s, const MsgHdr& h,
                                int flags);
SysResult<RecvOut> NetlinkRecv(Task& t, const NetlinkFD& s, const MsgHdr& h,
                               int flags);
SysResult<uint64_t> NetlinkSetsockopt(Task& t, const NetlinkFD& s, int level,
                                      int name, GuestAddr val, uint32_t len);
SysResult<uint64_t> NetlinkGetsockopt(Task& t, const NetlinkFD& s, int level,
                                      int name, GuestAddr val,
                                      GuestAddr len_addr);

}  // namespace sentry::syscalls

#endif  // SENTRY_SYSCALLS_LINUX_SYS_SOCKET_H_
