// The messages between the sentry and the network broker of
// `--network=host` (runsc/netbroker.h), over a SOCK_SEQPACKET socketpair.
//
// The sentry cannot make host sockets (its seccomp filter has no socket,
// connect, bind or sendmsg); it asks the broker, which checks the egress
// allowlist, makes the socket, starts the connection and donates the fd
// with SCM_RIGHTS. The sentry then only reads, writes, polls and shuts
// down what it was given: a connected socket cannot be pointed elsewhere
// without connect(2) or a send with an address, which its filter refuses.
// So even a sentry that the guest took over reaches only allowed
// destinations.
//
// Every request is untrusted input to the broker: fixed size, each field
// checked (see ValidateRequest).

#ifndef SENTRY_NET_HOST_PROTOCOL_H_
#define SENTRY_NET_HOST_PROTOCOL_H_

#include <sys/socket.h>

#include <cstdint>

namespace sentry::net::host {

enum class BrokerOp : uint32_t {
  // A socket of `family` and `type` connected (TCP: the connection
  // started, non-blocking) to `addr`.
  kConnect = 1,
  // A TCP socket bound to `addr` and listening with `backlog`: allowed
  // only for the ports of --net-listen.
  kListen = 2,
};

struct BrokerRequest {
  BrokerOp op;
  int32_t family;  // AF_INET or AF_INET6
  int32_t type;    // SOCK_STREAM or SOCK_DGRAM
  uint32_t addrlen;
  struct sockaddr_storage addr;
  int32_t backlog;
  // Who asked, for the denial log only (the broker trusts none of it).
  int32_t pid;
  char comm[16];
};

struct BrokerReply {
  // 0 with the socket attached, or the errno the guest gets: EACCES when
  // the allowlist refuses, or what socket/bind/connect said. A connection
  // may still be in progress: the sentry waits for POLLOUT and reads
  // SO_ERROR.
  int32_t error;
};

// Checks a request's fields; false (and `why`) for anything malformed.
bool ValidateRequest(const BrokerRequest& r, const char** why);

}  // namespace sentry::net::host

#endif  // SENTRY_NET_HOST_PROTOCOL_H_
