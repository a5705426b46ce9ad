// The network broker of `runsc do --network=host`: a small process in the
// host's network namespace that makes host sockets for the sandbox,
// confined by its own seccomp filter. The sentry cannot make a socket
// itself (see sentry/net/host/protocol.h); every connection and datagram
// peer goes through here, is checked against the egress allowlist, and a
// refusal is logged on runsc's stderr as a denial naming the sandbox, the
// process, the address and the port.

#ifndef RUNSC_NETBROKER_H_
#define RUNSC_NETBROKER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sentry/net/host/policy.h"

namespace runsc {

struct NetBrokerConfig {
  int sock_fd = -1;  // the broker's end of the sentry's socket
  std::vector<sentry::net::host::AllowRule> allow;  // --net-allow
  // --net-listen: the host ports the sandbox may listen on.
  std::vector<std::pair<uint16_t, uint16_t>> listen;
  std::string sandbox;  // the sandbox's name in denial lines
};

// Serves requests until the sentry hangs up.
absl::Status RunNetBroker(const NetBrokerConfig& config);

// Parses one --net-listen value: PORT or PORT-PORT.
absl::StatusOr<std::pair<uint16_t, uint16_t>> ParseListenPorts(
    const std::string& value);

}  // namespace runsc

#endif  // RUNSC_NETBROKER_H_
