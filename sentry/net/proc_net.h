// The files of /proc/net, generated from the sandbox's own network state:
// tcp, tcp6, udp, udp6 (the loopback stack's sockets), sockstat and
// sockstat6 (its counters), unix (bound unix
// sockets), dev, if_inet6 and route (the interfaces), in Linux's formats,
// which ss(8) and netstat(8) parse.

#ifndef SENTRY_NET_PROC_NET_H_
#define SENTRY_NET_PROC_NET_H_

#include <string>
#include <vector>

namespace sentry::net {

// The names of the files, in the order a listing shows them.
const std::vector<std::string>& ProcNetFiles();
// The contents of /proc/net/`name`; empty for an unknown name.
std::string ProcNetFile(const std::string& name);

}  // namespace sentry::net

#endif  // SENTRY_NET_PROC_NET_H_
