#include "runsc/netbroker.h"

#include <errno.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gofer/protocol/transport.h"
#include "sentry/base/host_fd.h"
#include "sentry/boot/sentry_seccomp.h"
#include "sentry/net/host/protocol.h"

namespace runsc {

namespace {

using sentry::HostFd;
using sentry::net::host::BrokerOp;
using sentry::net::host::BrokerReply;
using sentry::net::host::BrokerRequest;
using sentry::net::host::Destination;

// Everything the loop needs, nothing more: sockets of the inet families,
// connecting, binding and listening, and talking to the sentry.
absl::Status InstallBrokerFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  auto fail = [&](int nr) {
    seccomp_release(ctx);
    return absl::InternalError(absl::StrCat("seccomp_rule_add(", nr, ")"));
  };
  const int allowed[] = {
      SCMP_SYS(connect),       SCMP_SYS(bind),         SCMP_SYS(listen),
      SCMP_SYS(setsockopt),    SCMP_SYS(sendmsg),      SCMP_SYS(recvmsg),
      SCMP_SYS(close),         SCMP_SYS(write),        SCMP_SYS(exit),
      SCMP_SYS(exit_group),    SCMP_SYS(futex),        SCMP_SYS(brk),
      SCMP_SYS(mmap),          SCMP_SYS(munmap),       SCMP_SYS(mremap),
      SCMP_SYS(madvise),       SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(clock_gettime), SCMP_SYS(getpid),       SCMP_SYS(gettid),
      SCMP_SYS(fstat),         SCMP_SYS(newfstatat),
      SCMP_SYS(sendto),  // send(2): a reply without a socket
  };
  for (int nr : allowed) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) return fail(nr);
  }
  for (scmp_datum_t family : {AF_INET, AF_INET6}) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                         SCMP_A0(SCMP_CMP_EQ, family)) != 0) {
      return fail(SCMP_SYS(socket));
    }
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("seccomp_load: ", strerror(-rc)));
  }
  return absl::OkStatus();
}

// A guest's command name, fit for a log line.
std::string Printable(const char* s, size_t max) {
  std::string out;
  for (size_t i = 0; i < max && s[i] != '\0'; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += std::isprint(c) != 0 ? static_cast<char>(c) : '?';
  }
  return out;
}

// Handles one well-formed request: the reply and the socket to donate.
BrokerReply Handle(const NetBrokerConfig& config, const BrokerRequest& req,
                   HostFd* out) {
  BrokerReply reply = {};
  Destination dest;
  sentry::net::host::DestinationOf(req.addr, req.addrlen, &dest);
  const char* proto = req.type == SOCK_STREAM ? "tcp" : "udp";
  bool allowed = false;
  const char* rule = "";
  if (req.op == BrokerOp::kConnect) {
    allowed = sentry::net::host::Allowed(config.allow, dest);
    rule = config.allow.empty() ? "no --net-allow given" : "not in --net-allow";
  } else {
    allowed = sentry::net::host::InPortRanges(config.listen, dest.port);
    rule =
        config.listen.empty() ? "no --net-listen given" : "not in --net-listen";
  }
  if (!allowed) {
    // The denial operators see: sandbox, process, address and port.
    fprintf(stderr,
            "runsc: network: denied %s %s %s by pid %d (%s) in sandbox %s: "
            "%s\n",
            req.op == BrokerOp::kConnect ? "connect to" : "listen on",
            dest.ToString().c_str(), proto, req.pid,
            Printable(req.comm, sizeof(req.comm)).c_str(),
            config.sandbox.c_str(), rule);
    reply.error = EACCES;
    return reply;
  }
  HostFd fd(socket(req.family, req.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    reply.error = errno;
    return reply;
  }
  const auto* addr = reinterpret_cast<const struct sockaddr*>(&req.addr);
  if (req.op == BrokerOp::kConnect) {
    if (connect(fd.get(), addr, req.addrlen) != 0 && errno != EINPROGRESS) {
      reply.error = errno;
      return reply;
    }
  } else {
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), addr, req.addrlen) != 0 ||
        listen(fd.get(), req.backlog) != 0) {
      reply.error = errno;
      return reply;
    }
  }
  *out = std::move(fd);
  return reply;
}

}  // namespace

absl::StatusOr<std::pair<uint16_t, uint16_t>> ParseListenPorts(
    const std::string& value) {
  absl::StatusOr<sentry::net::host::PortRange> r =
      sentry::net::host::ParsePortRange(value);
  if (!r.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--net-listen=", value, ": ",
                                                   r.status().message(),
                                                   " (expected PORT[-PORT])"));
  }
  return *r;
}

absl::Status RunNetBroker(const NetBrokerConfig& config) {
  absl::Status s = sentry::boot::DropCapabilities();
  if (!s.ok()) return s;
  s = InstallBrokerFilter();
  if (!s.ok()) return s;
  for (;;) {
    // The gofer's transport: one packet at a time, any fds closed.
    std::vector<uint8_t> bytes;
    int err = gofer::proto::RecvPacket(config.sock_fd, &bytes, nullptr);
    if (err == ECONNRESET) return absl::OkStatus();  // the sandbox is gone
    if (err != 0 && err != EMSGSIZE) {
      return absl::InternalError(absl::StrCat("recvmsg: ", strerror(err)));
    }
    BrokerRequest req;
    BrokerReply reply = {};
    HostFd fd;
    const char* why = nullptr;
    if (err != 0 || bytes.size() != sizeof(req)) {
      why = "wrong size";
    } else {
      memcpy(&req, bytes.data(), sizeof(req));
      if (sentry::net::host::ValidateRequest(req, &why)) why = nullptr;
    }
    if (why != nullptr) {
      fprintf(stderr, "runsc: network: refused a malformed request (%s)\n",
              why);
      reply.error = EINVAL;
    } else {
      reply = Handle(config, req, &fd);
    }
    bytes.assign(reinterpret_cast<const uint8_t*>(&reply),
                 reinterpret_cast<const uint8_t*>(&reply + 1));
    if (gofer::proto::SendPacket(config.sock_fd, bytes, fd.get()) != 0) {
      return absl::OkStatus();  // the sandbox is gone
    }
  }
}

}  // namespace runsc
