// The name-resolution files a sandbox sees: /etc/resolv.conf and
// /etc/hosts are the host's unless `runsc do --dns*` or `--add-host` say
// otherwise, in which case runsc composes new ones here and the sandbox
// writes them into its root overlay at boot (the host's files never
// change).

#ifndef RUNSC_DNS_H_
#define RUNSC_DNS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc {

// glibc's and musl's resolvers use the first three nameservers (MAXNS) and
// silently ignore the rest, so more is refused rather than dropped.
constexpr size_t kMaxNameservers = 3;

// The resolv.conf for `servers` (--dns, IPv4 or IPv6 addresses), `search`
// (--dns-search domains) and `options` (--dns-option, resolv.conf(5)
// options such as "ndots:2"), built on the host's `host_conf`: each kind of
// line a flag names replaces the host's lines of that kind ("search" and
// "domain" for --dns-search); the host's other lines stay. An empty
// `search` or `options` keeps the host's. Errors name the bad value.
absl::StatusOr<std::string> ComposeResolvConf(
    const std::string& host_conf, const std::vector<std::string>& servers,
    const std::vector<std::string>& search,
    const std::vector<std::string>& options);

// The host's `host_hosts` after a line "IP\tNAME" per --add-host value
// ("NAME:IP" or "NAME=IP"; IP may be IPv6, whose colons follow the first
// separator), in order and first, so they win over the host's own
// entries for the same names (glibc takes the first match).
absl::StatusOr<std::string> ComposeHosts(const std::string& host_hosts,
                                         const std::vector<std::string>& add);

}  // namespace runsc

#endif  // RUNSC_DNS_H_
