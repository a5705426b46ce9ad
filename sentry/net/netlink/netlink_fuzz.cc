// Fuzz target: netlink requests and inet socket addresses, both written by
// the guest. Whatever the bytes, a send is answered with well-formed
// netlink messages (each length within its datagram), and an address that
// parses encodes back to one that parses to the same thing.

#include <linux/netlink.h>

#include <cstring>
#include <string>

#include "sentry/net/inet/inet.h"
#include "sentry/net/netlink/netlink.h"
#include "tools/fuzz/fuzz.h"

namespace {

// A context for calls that never block or touch guest memory here.
class NoGuest final : public sentry::vfs::CallContext {
 public:
  const sentry::auth::Credentials& creds() const override { return creds_; }
  sentry::SysResult<size_t> CopyIn(sentry::GuestAddr, void*, size_t) override {
    return sentry::Errno(EFAULT);
  }
  sentry::SysResult<size_t> CopyOut(sentry::GuestAddr, const void*,
                                    size_t) override {
    return sentry::Errno(EFAULT);
  }

 private:
  sentry::auth::Credentials creds_;
};

std::string Request(uint16_t type, uint16_t flags, const std::string& body) {
  struct nlmsghdr h = {};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(body.size()));
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = 1;
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  out += body;
  out.append(NLMSG_ALIGN(out.size()) - out.size(), '\0');
  return out;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

std::vector<std::string> FuzzSeeds() {
  std::string ifi(16, '\0');
  std::string by_index = ifi;
  by_index[4] = 1;  // ifi_index
  return {
      Request(18 /* RTM_GETLINK */, NLM_F_REQUEST | NLM_F_DUMP, ifi),
      Request(22 /* RTM_GETADDR */, NLM_F_REQUEST | NLM_F_DUMP,
              std::string(1, 2 /* AF_INET */)),
      Request(18, NLM_F_REQUEST | NLM_F_ACK, by_index),
      Request(26 /* RTM_GETROUTE */, NLM_F_REQUEST | NLM_F_DUMP, "\x0a"),
      Request(16 /* RTM_NEWLINK */, NLM_F_REQUEST | NLM_F_ACK, by_index) +
          Request(0x7ff0, NLM_F_REQUEST, "abcd"),
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  NoGuest ctx;
  for (bool admin : {false, true}) {
    sentry::net::netlink::NetlinkSocket s(SOCK_RAW, NETLINK_ROUTE, 1);
    Check(s.Send(input, admin).ok());
    char buf[65536];
    for (;;) {
      auto r = s.Recv(ctx, buf, sizeof(buf), false, false, std::nullopt);
      if (!r.ok()) break;
      Check(r->copied == r->length);
      size_t off = 0;
      while (off < r->copied) {
        Check(r->copied - off >= NLMSG_HDRLEN);
        struct nlmsghdr h;
        memcpy(&h, buf + off, sizeof(h));
        Check(h.nlmsg_len >= NLMSG_HDRLEN && h.nlmsg_len <= r->copied - off);
        off += NLMSG_ALIGN(h.nlmsg_len);
      }
    }
  }
  using sentry::net::inet::AddrUse;
  for (int family : {AF_INET, AF_INET6}) {
    for (AddrUse use : {AddrUse::kBind, AddrUse::kConnect, AddrUse::kSendTo}) {
      auto a = sentry::net::inet::ParseSockAddr(family, input.data(),
                                                input.size(), use);
      if (!a.ok()) continue;
      // A v4 sockaddr on a v6 socket encodes as v4-mapped v6.
      struct sockaddr_storage ss;
      size_t n = sentry::net::inet::EncodeSockAddr(family, *a, &ss);
      auto b = sentry::net::inet::ParseSockAddr(family, &ss, n, use);
      Check(b.ok());
      Check(b->port == a->port);
      Check(family == AF_INET6 || b->addr == a->addr);
    }
  }
  return 0;
}
