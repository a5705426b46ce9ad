#include "sentry/net/host/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sentry::net::host {

namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                         0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const struct in6_addr& a) {
  return memcmp(a.s6_addr, kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

std::string AddrString(const struct in6_addr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (IsV4Mapped(a)) {
    inet_ntop(AF_INET, a.s6_addr + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, &a, buf, sizeof(buf));
  }
  return buf;
}

bool PrefixMatches(const struct in6_addr& net, int prefix,
                   const struct in6_addr& a) {
  int full = prefix / 8;
  if (memcmp(net.s6_addr, a.s6_addr, static_cast<size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (net.s6_addr[full] & mask) == (a.s6_addr[full] & mask);
}

absl::StatusOr<uint16_t> ParsePort(const std::string& s) {
  uint32_t v;
  if (!absl::SimpleAtoi(s, &v) || v < 1 || v > 65535 ||
      s.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("port \"", s, "\" is not a number from 1 to 65535"));
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string AllowRule::ToString() const {
  bool v4 = IsV4Mapped(net) && prefix >= 96;
  std::string cidr =
      absl::StrCat(AddrString(net), "/", v4 ? prefix - 96 : prefix);
  if (!v4) cidr = absl::StrCat("[", cidr, "]");
  if (port_lo == 1 && port_hi == 65535) return cidr;
  if (port_lo == port_hi) return absl::StrCat(cidr, ":", port_lo);
  return absl::StrCat(cidr, ":", port_lo, "-", port_hi);
}

std::string Destination::ToString() const {
  if (IsV4Mapped(addr)) return absl::StrCat(AddrString(addr), ":", port);
  return absl::StrCat("[", AddrString(addr), "]:", port);
}

absl::StatusOr<AllowRule> ParseAllowRule(const std::string& value) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--net-allow=", value, ": ", why,
                     " (expected CIDR[:PORT[-PORT]], IPv6 as [CIDR]:PORT)"));
  };
  std::string cidr, ports;
  if (!value.empty() && value[0] == '[') {
    size_t close = value.find(']');
    if (close == std::string::npos) return bad("no closing ]");
    cidr = value.substr(1, close - 1);
    std::string rest = value.substr(close + 1);
    if (!rest.empty() && rest[0] == '/') {  // [::1]/128:80 as [::1/128]:80
      size_t colon = rest.find(':');
      cidr += rest.substr(0, colon);
      rest = colon == std::string::npos ? "" : rest.substr(colon);
    }
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("expected :PORT after ]");
      ports = rest.substr(1);
      if (ports.empty()) return bad("an empty port");
    }
  } else if (value.find(':') != value.rfind(':')) {
    cidr = value;  // a bare IPv6 address: no port
  } else {
    size_t colon = value.find(':');
    cidr = value.substr(0, colon);
    if (colon != std::string::npos) {
      ports = value.substr(colon + 1);
      if (ports.empty()) return bad("an empty port");
    }
  }
  std::string addr = cidr;
  int prefix = -1;
  size_t slash = cidr.find('/');
  if (slash != std::string::npos) {
    addr = cidr.substr(0, slash);
    std::string p = cidr.substr(slash + 1);
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(p, &prefix)) {
      return bad(absl::StrCat("prefix length \"", p, "\" is not a number"));
    }
  }
  AllowRule r;
  struct in_addr a4;
  if (inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    if (prefix > 32) return bad("an IPv4 prefix length is at most 32");
    memcpy(r.net.s6_addr, kV4MappedPrefix, sizeof(kV4MappedPrefix));
    memcpy(r.net.s6_addr + 12, &a4, 4);
    r.prefix = (prefix < 0 ? 32 : prefix) + 96;
  } else if (inet_pton(AF_INET6, addr.c_str(), &r.net) == 1) {
    if (prefix > 128) return bad("an IPv6 prefix length is at most 128");
    r.prefix = prefix < 0 ? 128 : prefix;
  } else {
    return bad(absl::StrCat("\"", addr, "\" is not an IP address"));
  }
  // Host bits set (10.0.0.1/8) are a likely mistake: say so.
  struct in6_addr masked = {};
  for (int i = 0; i < 16; i++) {
    int bits = std::min(8, std::max(0, r.prefix - 8 * i));
    masked.s6_addr[i] =
        r.net.s6_addr[i] &
        static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
  }
  if (memcmp(&masked, &r.net, sizeof(masked)) != 0) {
    return bad("the address has bits set beyond the prefix length");
  }
  if (!ports.empty()) {
    absl::StatusOr<PortRange> range = ParsePortRange(ports);
    if (!range.ok()) return bad(std::string(range.status().message()));
    r.port_lo = range->first;
    r.port_hi = range->second;
  }
  return r;
}

absl::StatusOr<PortRange> ParsePortRange(const std::string& value) {
  size_t dash = value.find('-');
  absl::StatusOr<uint16_t> lo = ParsePort(value.substr(0, dash));
  if (!lo.ok()) return lo.status();
  if (dash == std::string::npos) return PortRange(*lo, *lo);
  absl::StatusOr<uint16_t> hi = ParsePort(value.substr(dash + 1));
  if (!hi.ok()) return hi.status();
  if (*hi < *lo) {
    return absl::InvalidArgumentError("the port range ends before it starts");
  }
  return PortRange(*lo, *hi);
}

bool InPortRanges(const std::vector<PortRange>& ranges, uint16_t port) {
  for (const auto& [lo, hi] : ranges) {
    if (port >= lo && port <= hi) return true;
  }
  return false;
}

bool DestinationOf(const struct sockaddr_storage& ss, size_t len,
                   Destination* out) {
  if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(&ss);
    memset(&out->addr, 0, sizeof(out->addr));
    memcpy(out->addr.s6_addr, kV4MappedPrefix, sizeof(kV4MappedPrefix));
    memcpy(out->addr.s6_addr + 12, &sin->sin_addr, 4);
    out->port = ntohs(sin->sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const auto* sin6 = reinterpret_cast<const struct sockaddr_in6*>(&ss);
    out->addr = sin6->sin6_addr;
    out->port = ntohs(sin6->sin6_port);
    return true;
  }
  return false;
}

bool Allowed(const std::vector<AllowRule>& rules, const Destination& d) {
  for (const AllowRule& r : rules) {
    if (d.port < r.port_lo || d.port > r.port_hi) continue;
    if (PrefixMatches(r.net, r.prefix, d.addr)) return true;
  }
  return false;
}

}  // namespace sentry::net::host
