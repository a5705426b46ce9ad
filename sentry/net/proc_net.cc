#include "sentry/net/proc_net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sentry/net/af_unix/af_unix.h"
#include "sentry/net/inet/inet.h"
#include "sentry/net/inet/tcp.h"
#include "sentry/net/interfaces.h"

namespace sentry::net {

namespace {

// An address as /proc/net prints it: the 32-bit words of the network-order
// address, each printed as the host-order number it is in memory.
std::string Hex4(const inet::IpAddr& a) {
  uint32_t w = a.is_v4() ? a.v4() : 0;
  return absl::StrFormat("%08X", w);
}

std::string Hex16(const inet::IpAddr& a) {
  std::string out;
  for (int i = 0; i < 4; i++) {
    uint32_t w;
    memcpy(&w, &a.b[i * 4], 4);
    absl::StrAppendFormat(&out, "%08X", w);
  }
  return out;
}

std::string InetTable(int protocol, int family) {
  bool tcp = protocol == IPPROTO_TCP;
  std::string out;
  if (family == AF_INET) {
    out = tcp ? "  sl  local_address rem_address   st tx_queue rx_queue tr "
                "tm->when retrnsmt   uid  timeout inode\n"
              : "   sl  local_address rem_address   st tx_queue rx_queue tr "
                "tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
  } else {
    out =
        tcp ? "  sl  local_address                         remote_address      "
              "                  st tx_queue rx_queue tr tm->when retrnsmt   "
              "uid  timeout inode\n"
            : "  sl  local_address                         remote_address      "
              "                  st tx_queue rx_queue tr tm->when retrnsmt   "
              "uid  timeout inode ref pointer drops\n";
  }
  int sl = 0;
  for (const auto& s : inet::Stack::Get().All(protocol)) {
    if (s->family() != family) continue;
    int st = s->State();
    // Linux lists TCP sockets that are in its hash tables: listening or
    // connected, not merely bound.
    if (tcp && st == TCP_CLOSE) continue;
    inet::SockAddr local = s->LocalAddr();
    SysResult<inet::SockAddr> peer = s->PeerAddr();
    inet::SockAddr remote = peer.ok() ? *peer : inet::SockAddr{};
    if (!peer.ok() && family == AF_INET) remote.addr = inet::IpAddr::V4(0);
    std::string la = family == AF_INET ? Hex4(local.addr) : Hex16(local.addr);
    std::string ra = family == AF_INET ? Hex4(remote.addr) : Hex16(remote.addr);
    size_t rxq = s->rx_bytes();
    if (tcp && st == TCP_LISTEN) {
      // A listener's rx_queue is its accept queue.
      rxq = static_cast<inet::TcpSocket&>(*s).AcceptQueueLen();
    }
    absl::StrAppendFormat(&out,
                          "%4d: %s:%04X %s:%04X %02X %08X:%08X 00:00000000 "
                          "00000000 %5u        0 %u 1 0000000000000000",
                          sl++, la, local.port, ra, remote.port, st, 0,
                          static_cast<uint32_t>(rxq), s->uid(),
                          static_cast<uint32_t>(s->ino.load()));
    out += tcp ? " 100 0 0 10 0\n" : " 0\n";
  }
  return out;
}

std::string Dev() {
  std::string out =
      "Inter-|   Receive                                                |  "
      "Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|"
      "bytes    packets errs drop fifo colls carrier compressed\n";
  for (const Interface& i : Interfaces()) {
    absl::StrAppendFormat(&out,
                          "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d "
                          "%4d %4d %5d %7d %10d\n",
                          i.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                          0);
  }
  return out;
}

std::string IfInet6() {
  std::string out;
  for (const Interface& i : Interfaces()) {
    for (const InterfaceAddr& a : i.addrs) {
      if (a.family != AF_INET6) continue;
      std::string hex;
      for (int k = 0; k < 16; k++)
        absl::StrAppendFormat(&hex, "%02x", a.addr[k]);
      // Scope 0x10 is host (loopback); flags 0x80 permanent.
      absl::StrAppendFormat(&out, "%s %02x %02x %02x %02x %8s\n", hex, i.index,
                            a.prefix_len, 0x10, 0x80, i.name);
    }
  }
  return out;
}

std::string Unix() {
  std::string out = "Num       RefCount Protocol Flags    Type St Inode Path\n";
  for (const af_unix::BoundInfo& b : af_unix::BoundSockets()) {
    std::string path = b.name;
    if (!path.empty() && path[0] == '\0') path[0] = '@';
    absl::StrAppendFormat(&out,
                          "0000000000000000: %08X %08X %08X %04X %02X %5u %s\n",
                          2, 0, b.listening ? 0x10000 : 0, b.type,
                          b.listening ? 1 : (b.connected ? 3 : 1), 0u, path);
  }
  return out;
}

// Linux's counters, from the sandbox's stack. TCP's alloc is every TCP
// socket object alive (both families, as tcp_sockets_allocated); inuse
// counts port-table entries; there are no orphans (a closed socket is
// freed at once, its TIME_WAIT kept as a port-table entry: tw); mem is
// pages of queued data.
std::string SockStat(bool v6) {
  using inet::Stack;
  Stack& st = Stack::Get();
  auto pages = [](int protocol) {
    size_t bytes = 0;
    for (const auto& s : Stack::Get().All(protocol)) bytes += s->rx_bytes();
    return (bytes + 4095) / 4096;
  };
  if (v6) {
    return absl::StrFormat(
        "TCP6: inuse %u\nUDP6: inuse %u\nUDPLITE6: inuse 0\nRAW6: inuse 0\n"
        "FRAG6: inuse 0 memory 0\n",
        st.InUse(IPPROTO_TCP, AF_INET6), st.InUse(IPPROTO_UDP, AF_INET6));
  }
  size_t tcp = inet::LiveSockets(IPPROTO_TCP);
  size_t udp = inet::LiveSockets(IPPROTO_UDP);
  return absl::StrFormat(
      "sockets: used %u\nTCP: inuse %u orphan 0 tw %u alloc %u mem %u\n"
      "UDP: inuse %u mem %u\nUDPLITE: inuse 0\nRAW: inuse 0\n"
      "FRAG: inuse 0 memory 0\n",
      tcp + udp, st.InUse(IPPROTO_TCP, AF_INET), st.TimeWaits(IPPROTO_TCP), tcp,
      pages(IPPROTO_TCP), st.InUse(IPPROTO_UDP, AF_INET), pages(IPPROTO_UDP));
}

}  // namespace

const std::vector<std::string>& ProcNetFiles() {
  static const std::vector<std::string> names = {
      "dev", "if_inet6", "route", "sockstat", "sockstat6",
      "tcp", "tcp6",     "udp",   "udp6",     "unix"};
  return names;
}

std::string ProcNetFile(const std::string& name) {
  if (name == "tcp") return InetTable(IPPROTO_TCP, AF_INET);
  if (name == "tcp6") return InetTable(IPPROTO_TCP, AF_INET6);
  if (name == "udp") return InetTable(IPPROTO_UDP, AF_INET);
  if (name == "udp6") return InetTable(IPPROTO_UDP, AF_INET6);
  if (name == "dev") return Dev();
  if (name == "sockstat") return SockStat(false);
  if (name == "sockstat6") return SockStat(true);
  if (name == "if_inet6") return IfInet6();
  if (name == "unix") return Unix();
  if (name == "route") {
    // The main table is empty with only `lo`.
    return "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask"
           "\t\tMTU\tWindow\tIRTT                                          "
           "             \n";
  }
  return "";
}

}  // namespace sentry::net
