// Fuzz target: what the network broker reads. A request from the sentry
// (untrusted: the sentry may be the guest's by then) either fails
// validation or names an address that decodes and is judged by the
// allowlist; and an allowlist rule that parses prints back to a rule that
// parses to the same thing.

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "sentry/net/host/policy.h"
#include "sentry/net/host/protocol.h"
#include "tools/fuzz/fuzz.h"

namespace {

using sentry::net::host::AllowRule;
using sentry::net::host::BrokerRequest;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "broker_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<AllowRule> rules = [] {
    std::vector<AllowRule> r;
    for (const char* v : {"127.0.0.1:8080", "10.0.0.0/8:1-1024", "[::1]:80"}) {
      r.push_back(*sentry::net::host::ParseAllowRule(v));
    }
    return r;
  }();
  if (size == sizeof(BrokerRequest)) {
    BrokerRequest req;
    memcpy(&req, data, sizeof(req));
    const char* why = nullptr;
    if (sentry::net::host::ValidateRequest(req, &why)) {
      sentry::net::host::Destination d;
      Check(sentry::net::host::DestinationOf(req.addr, req.addrlen, &d),
            "a valid request's address does not decode");
      (void)sentry::net::host::Allowed(rules, d);
      Check(!d.ToString().empty(), "empty destination");
    } else {
      Check(why != nullptr && why[0] != '\0', "a refusal without a reason");
    }
  }
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<AllowRule> r = sentry::net::host::ParseAllowRule(text);
  if (r.ok()) {
    std::string printed = r->ToString();
    absl::StatusOr<AllowRule> again =
        sentry::net::host::ParseAllowRule(printed);
    Check(again.ok(), "a printed rule does not parse");
    Check(again->ToString() == printed, "a printed rule changes");
    Check(memcmp(&again->net, &r->net, sizeof(r->net)) == 0 &&
              again->prefix == r->prefix && again->port_lo == r->port_lo &&
              again->port_hi == r->port_hi,
          "a printed rule means something else");
  } else {
    Check(!r.status().message().empty(), "an error without a message");
  }
  return 0;
}

std::vector<std::string> FuzzSeeds() {
  std::vector<std::string> seeds = {"127.0.0.1:8080", "10.0.0.0/8:80-90",
                                    "[::1]:443",      "2001:db8::/32",
                                    "[fd00::]/8:1-2", "0.0.0.0/0"};
  BrokerRequest req;
  memset(&req, 0, sizeof(req));
  req.op = sentry::net::host::BrokerOp::kConnect;
  req.family = AF_INET;
  req.type = SOCK_STREAM;
  req.addrlen = sizeof(struct sockaddr_in);
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&req.addr);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(8080);
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  seeds.emplace_back(reinterpret_cast<const char*>(&req), sizeof(req));
  req.op = sentry::net::host::BrokerOp::kListen;
  req.family = AF_INET6;
  req.addrlen = sizeof(struct sockaddr_in6);
  auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&req.addr);
  memset(sin6, 0, sizeof(*sin6));
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(80);
  seeds.emplace_back(reinterpret_cast<const char*>(&req), sizeof(req));
  return seeds;
}
