// The egress allowlist of `runsc do --network=host`: which host addresses
// and ports a sandbox may reach. The network broker (runsc/netbroker.h)
// checks every connection the sentry asks it for against these rules; the
// sentry itself cannot make a host socket.
//
// A rule is `CIDR[:PORT[-PORT]]`: `10.0.0.0/8`, `127.0.0.1:8080`,
// `192.168.1.0/24:8000-8100`; IPv6 in brackets when a port follows:
// `[::1]:8080`, `[2001:db8::/32]:443`, or bare without one: `::1`. An
// address without a prefix length is one host. IPv4 rules also match
// v4-mapped IPv6 destinations (::ffff:a.b.c.d), which reach the same host.

#ifndef SENTRY_NET_HOST_POLICY_H_
#define SENTRY_NET_HOST_POLICY_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sentry::net::host {

struct AllowRule {
  struct in6_addr net = {};  // IPv4 as v4-mapped
  int prefix = 0;            // in IPv6 bits (an IPv4 /24 is 120)
  uint16_t port_lo = 1;
  uint16_t port_hi = 65535;

  std::string ToString() const;
};

// Parses one --net-allow value; the error names what is wrong with it.
absl::StatusOr<AllowRule> ParseAllowRule(const std::string& value);

// A destination: the address in IPv6 form (IPv4 v4-mapped) and the port.
struct Destination {
  struct in6_addr addr = {};
  uint16_t port = 0;
  std::string ToString() const;  // 10.0.0.1:80, [::1]:80
};

// Decodes an AF_INET or AF_INET6 sockaddr of `len` bytes; false for
// anything else.
bool DestinationOf(const struct sockaddr_storage& ss, size_t len,
                   Destination* out);

bool Allowed(const std::vector<AllowRule>& rules, const Destination& d);

// A range of ports, first and last: `PORT` or `PORT-PORT` (the port part
// of a rule, and --net-listen's value).
using PortRange = std::pair<uint16_t, uint16_t>;
absl::StatusOr<PortRange> ParsePortRange(const std::string& value);
bool InPortRanges(const std::vector<PortRange>& ranges, uint16_t port);

}  // namespace sentry::net::host

#endif  // SENTRY_NET_HOST_POLICY_H_
