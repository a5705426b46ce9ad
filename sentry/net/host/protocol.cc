#include "sentry/net/host/protocol.h"

#include <netinet/in.h>

namespace sentry::net::host {

bool ValidateRequest(const BrokerRequest& r, const char** why) {
  if (r.op != BrokerOp::kConnect && r.op != BrokerOp::kListen) {
    *why = "unknown operation";
    return false;
  }
  if (r.family != AF_INET && r.family != AF_INET6) {
    *why = "family is neither AF_INET nor AF_INET6";
    return false;
  }
  if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM) {
    *why = "type is neither SOCK_STREAM nor SOCK_DGRAM";
    return false;
  }
  if (r.op == BrokerOp::kListen && r.type != SOCK_STREAM) {
    *why = "only TCP sockets listen";
    return false;
  }
  size_t want = r.family == AF_INET ? sizeof(struct sockaddr_in)
                                    : sizeof(struct sockaddr_in6);
  if (r.addrlen != want || r.addr.ss_family != r.family) {
    *why = "the address does not match the family";
    return false;
  }
  if (r.backlog < 0 || r.backlog > 65535) {
    *why = "backlog out of range";
    return false;
  }
  return true;
}

}  // namespace sentry::net::host
