#include "sentry/net/interfaces.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstring>

namespace sentry::net {

const std::vector<Interface>& Interfaces() {
  static const std::vector<Interface>* list = [] {
    Interface lo;
    lo.index = 1;
    lo.name = "lo";
    lo.flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    lo.mtu = 65536;
    lo.type = ARPHRD_LOOPBACK;
    InterfaceAddr v4;
    v4.family = AF_INET;
    uint32_t be = htonl(INADDR_LOOPBACK);
    memcpy(v4.addr, &be, 4);
    v4.prefix_len = 8;
    InterfaceAddr v6;
    v6.family = AF_INET6;
    v6.addr[15] = 1;
    v6.prefix_len = 128;
    lo.addrs = {v4, v6};
    return new std::vector<Interface>{lo};
  }();
  return *list;
}

bool IsInterfaceIoctl(uint32_t cmd) {
  switch (cmd) {
    case SIOCGIFNAME:
    case SIOCGIFINDEX:
    case SIOCGIFFLAGS:
    case SIOCGIFMTU:
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFHWADDR:
    case SIOCGIFTXQLEN:
    case SIOCGIFMETRIC:
    case SIOCGIFMAP:
    case SIOCGIFCONF:
      return true;
    default:
      return false;
  }
}

namespace {

const Interface* ByName(const struct ifreq& r) {
  char name[IFNAMSIZ + 1] = {};
  memcpy(name, r.ifr_name, IFNAMSIZ);
  for (const Interface& i : Interfaces()) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

const InterfaceAddr* V4Addr(const Interface& i) {
  for (const InterfaceAddr& a : i.addrs) {
    if (a.family == AF_INET) return &a;
  }
  return nullptr;
}

void PutV4(struct sockaddr* sa, const uint8_t* addr) {
  auto* in = reinterpret_cast<struct sockaddr_in*>(sa);
  memset(in, 0, sizeof(*in));
  in->sin_family = AF_INET;
  memcpy(&in->sin_addr, addr, 4);
}

SysResult<int64_t> IfConf(vfs::CallContext& ctx, uint64_t arg) {
  struct ifconf c;
  SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(GuestAddr(arg), &c));
  if (c.ifc_len < 0) return Errno(EINVAL);
  size_t want = 0;
  std::vector<struct ifreq> out;
  for (const Interface& i : Interfaces()) {
    const InterfaceAddr* a = V4Addr(i);
    if (a == nullptr) continue;
    struct ifreq r = {};
    strncpy(r.ifr_name, i.name.c_str(), IFNAMSIZ - 1);
    PutV4(&r.ifr_addr, a->addr);
    out.push_back(r);
    want += sizeof(r);
  }
  if (c.ifc_buf == nullptr) {
    // A null buffer asks for the length needed.
    c.ifc_len = static_cast<int>(want);
  } else {
    size_t room = static_cast<size_t>(c.ifc_len) / sizeof(struct ifreq);
    size_t n = std::min(room, out.size());
    if (n > 0) {
      SENTRY_RETURN_IF_ERROR(
          ctx.CopyOutFull(GuestAddr(reinterpret_cast<uint64_t>(c.ifc_buf)),
                          out.data(), n * sizeof(struct ifreq)));
    }
    c.ifc_len = static_cast<int>(n * sizeof(struct ifreq));
  }
  SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), c));
  return 0;
}

}  // namespace

SysResult<int64_t> InterfaceIoctl(vfs::CallContext& ctx, uint32_t cmd,
                                  uint64_t arg, bool inet) {
  if (cmd == SIOCGIFCONF) return IfConf(ctx, arg);
  bool addr_cmd = cmd == SIOCGIFADDR || cmd == SIOCGIFNETMASK ||
                  cmd == SIOCGIFBRDADDR || cmd == SIOCGIFDSTADDR;
  if (addr_cmd && !inet) return Errno(ENOTTY);
  struct ifreq r;
  SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(GuestAddr(arg), &r));
  const Interface* i = nullptr;
  if (cmd == SIOCGIFNAME) {
    for (const Interface& c : Interfaces()) {
      if (c.index == r.ifr_ifindex) i = &c;
    }
    if (i == nullptr) return Errno(ENODEV);
    memset(r.ifr_name, 0, IFNAMSIZ);
    strncpy(r.ifr_name, i->name.c_str(), IFNAMSIZ - 1);
    SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), r));
    return 0;
  }
  i = ByName(r);
  if (i == nullptr) return Errno(ENODEV);
  switch (cmd) {
    case SIOCGIFINDEX:
      r.ifr_ifindex = i->index;
      break;
    case SIOCGIFFLAGS:
      r.ifr_flags = static_cast<short>(i->flags);
      break;
    case SIOCGIFMTU:
      r.ifr_mtu = static_cast<int>(i->mtu);
      break;
    case SIOCGIFMETRIC:
      r.ifr_metric = 0;
      break;
    case SIOCGIFTXQLEN:
      r.ifr_qlen = 1000;
      break;
    case SIOCGIFMAP:
      memset(&r.ifr_map, 0, sizeof(r.ifr_map));
      break;
    case SIOCGIFHWADDR:
      memset(&r.ifr_hwaddr, 0, sizeof(r.ifr_hwaddr));
      r.ifr_hwaddr.sa_family = i->type;
      break;
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR: {
      const InterfaceAddr* a = V4Addr(*i);
      if (a == nullptr) return Errno(EADDRNOTAVAIL);
      uint8_t v[4];
      memcpy(v, a->addr, 4);
      if (cmd == SIOCGIFNETMASK) {
        uint32_t m =
            a->prefix_len == 0 ? 0 : htonl(~0u << (32 - a->prefix_len));
        memcpy(v, &m, 4);
      } else if (cmd == SIOCGIFBRDADDR) {
        // A loopback interface has no broadcast address.
        memset(v, 0, 4);
      }
      PutV4(&r.ifr_addr, v);
      break;
    }
    default:
      return Errno(EINVAL);
  }
  SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(GuestAddr(arg), r));
  return 0;
}

}  // namespace sentry::net
