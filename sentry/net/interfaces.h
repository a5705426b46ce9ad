// The sandbox's network interfaces as programs see them: with
// --network=none, `lo` alone, with 127.0.0.1/8 and ::1/128. The netlink
// route socket, /proc/net and the SIOCGIF* ioctls all describe this list.

#ifndef SENTRY_NET_INTERFACES_H_
#define SENTRY_NET_INTERFACES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sentry/base/sys_result.h"
#include "sentry/vfs/vfs.h"

namespace sentry::net {

struct InterfaceAddr {
  int family = 0;         // AF_INET or AF_INET6
  uint8_t addr[16] = {};  // network byte order; 4 bytes for AF_INET
  int prefix_len = 0;
};

struct Interface {
  int index = 0;
  std::string name;
  uint32_t flags = 0;  // IFF_UP, IFF_LOOPBACK, IFF_RUNNING ...
  uint32_t mtu = 0;
  uint16_t type = 0;  // ARPHRD_LOOPBACK
  std::vector<InterfaceAddr> addrs;
};

const std::vector<Interface>& Interfaces();

// The SIOCGIF* requests that read interfaces. They work on any socket,
// except the IPv4 address ones (SIOCGIFADDR, ...), which only an AF_INET
// or AF_INET6 socket answers (ENOTTY elsewhere, as in Linux).
bool IsInterfaceIoctl(uint32_t cmd);
SysResult<int64_t> InterfaceIoctl(vfs::CallContext& ctx, uint32_t cmd,
                                  uint64_t arg, bool inet);

}  // namespace sentry::net

#endif  // SENTRY_NET_INTERFACES_H_
