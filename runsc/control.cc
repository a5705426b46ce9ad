#include "runsc/control.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "runsc/control_request.h"
#include "sentry/base/host_fd.h"
#include "sentry/boot/boot.h"
#include "sentry/fs/devpts/console.h"
#include "sentry/kernel/kernel.h"
#include "sentry/strace/strace.h"
#include "sentry/syscalls/linux/table.h"

namespace runsc {
namespace {

constexpr size_t kMaxMessage = 160 * 1024;
constexpr int kRequestTimeoutMs = 5000;
// Connections served at once (each a thread; an exec's lasts as long as
// its process).
constexpr int kMaxConnections = 1024;
// How often an exec's waiter looks for runsc having hung up.
constexpr absl::Duration kHangupPoll = absl::Milliseconds(100);

void SendReply(int c, ControlReply reply) {
  reply.set_done(true);
  std::string out = reply.SerializeAsString();
  (void)!send(c, out.data(), out.size(), MSG_NOSIGNAL);
}

ControlReply Error(int err, std::string message) {
  ControlReply reply;
  reply.set_errno_value(err);
  reply.set_message(std::move(message));
  return reply;
}

ControlReply HandleSignal(const SignalRequest& req, sentry::kernel::Kernel* k) {
  int sig = req.signo();
  if (sig < 1 || sig >= 65)
    return Error(EINVAL, absl::StrCat("invalid signal ", sig));
  if (!k->SendRuntimeSignal(sig, req.all())) {
    return Error(ESRCH, "container not running");
  }
  return ControlReply();
}

// `runsc debug`. The tracer is made once and never freed: a system call
// in flight may still hold it after --strace=off.
ControlReply HandleDebug(const DebugRequest& req,
                         std::vector<sentry::HostFd> fds,
                         sentry::kernel::Kernel* k) {
  if (req.strace() == DebugRequest::ON) {
    static auto* tracer =
        new sentry::strace::Strace(sentry::syscalls::LinuxTable(), -1);
    tracer->Redirect(std::move(fds[0]));  // ParseRequest: one came
    k->set_observer(tracer);
    LOG(INFO) << "runsc debug: system call trace on";
  } else if (req.strace() == DebugRequest::OFF) {
    k->set_observer(nullptr);
    LOG(INFO) << "runsc debug: system call trace off";
  }
  ControlReply reply;
  if (req.stacks()) {
    int64_t now = absl::ToUnixNanos(absl::Now());
    for (const sentry::kernel::Kernel::TaskActivity& a : k->Activities()) {
      if (reply.ByteSizeLong() > kMaxMessage - 1024) break;  // as ps
      TaskState* t = reply.add_tasks();
      t->set_tid(a.tid);
      t->set_pid(a.tgid);
      t->set_comm(a.comm);
      t->set_syscall(a.syscall);
      t->set_ip(a.ip);
      t->set_sp(a.sp);
      t->set_stopped(a.stopped);
      if (a.blocked_since_ns > 0) {
        t->set_blocked_ms((now - a.blocked_since_ns) / 1000000);
      }
    }
  }
  return reply;
}

// Runs one exec on a thread of its own, from the start of the process to
// its end (or runsc hanging up, which kills it).
void ServeExec(sentry::HostFd conn, ExecRequest req,
               std::vector<sentry::HostFd> fds, sentry::kernel::Kernel* k) {
  sentry::boot::ExecOptions o;
  o.argv.assign(req.argv().begin(), req.argv().end());
  o.env.assign(req.env().begin(), req.env().end());
  o.cwd = req.cwd();
  o.uid = req.uid();
  o.gid = req.gid();
  o.limits = LimitsFromProto(req.limits());
  if (o.limits.groups.empty()) {
    o.limits.groups.assign(req.additional_gids().begin(),
                           req.additional_gids().end());
  }
  o.terminal = req.terminal();
  o.preserved = req.preserve_fds();
  o.fds = std::move(fds);
  o.fd_names.assign(req.fd_names().begin(), req.fd_names().end());
  sentry::boot::ExecStarted started = sentry::boot::StartExec(k, std::move(o));
  if (started.err != 0) {
    return SendReply(conn.get(), Error(started.err, started.message));
  }
  ControlReply running;
  running.set_pid(started.tg->tgid());
  SendReply(conn.get(), running);
  for (;;) {
    std::optional<sentry::kernel::ExitStatus> st =
        k->WaitProcess(*started.tg, kHangupPoll);
    if (st) {
      // Its last output reaches the host before the host hears it ended.
      if (started.console) started.console->Stop(absl::Seconds(2));
      ControlReply end;
      end.set_exited(true);
      end.set_exit_code(st->code);
      end.set_exit_signal(st->signal);
      return SendReply(conn.get(), end);
    }
    // runsc stands for the process outside (conmon waits on it): the
    // signals it gets come on this connection, and if it is gone, so is
    // the process. Signals go to the ThreadGroup, never to a pid a new
    // process may have taken.
    struct pollfd p = {conn.get(), POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) continue;
    if ((p.revents & POLLIN) != 0) {
      std::string buf(kMaxMessage, '\0');
      // recvmsg: the sentry's seccomp filter has it, not recvfrom.
      struct iovec iov = {buf.data(), buf.size()};
      struct msghdr msg = {};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = recvmsg(conn.get(), &msg, MSG_DONTWAIT);
      if (n > 0) {
        ControlRequest req;
        if (req.ParseFromArray(buf.data(), static_cast<int>(n)) &&
            req.has_signal() && req.signal().signo() >= 1 &&
            req.signal().signo() < 65) {
          k->SendRuntimeSignal(*started.tg, req.signal().signo());
        }
        continue;  // anything else is ignored
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      k->SendRuntimeSignal(*started.tg, SIGKILL);  // end of file
    } else if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      k->SendRuntimeSignal(*started.tg, SIGKILL);
    }
  }
}

// Reads one request and the fds that came with it.
absl::Status Receive(int c, ControlRequest* req,
                     std::vector<sentry::HostFd>* fds) {
  std::string buf(kMaxMessage, '\0');
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int) * kMaxControlFds)];
  } control;
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  ssize_t n;
  do {
    n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return absl::InternalError(strerror(errno));
  for (struct cmsghdr* h = CMSG_FIRSTHDR(&msg); h != nullptr;
       h = CMSG_NXTHDR(&msg, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
      fds->emplace_back(fd);
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
    return absl::InvalidArgumentError("request too large");
  return ParseRequest(std::string_view(buf.data(), static_cast<size_t>(n)),
                      fds->size(), req);
}

// Runs `f` with the working directory at `dir`, so a socket path of any
// length binds or connects as "control". Only for runsc's verbs, which
// are single-threaded.
template <typename F>
int InDir(const std::string& dir, F f) {
  int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (here < 0 || chdir(dir.c_str()) != 0) {
    int e = errno;
    if (here >= 0) close(here);
    errno = e;
    return -1;
  }
  int rc = f();
  int e = errno;
  (void)!fchdir(here);
  close(here);
  errno = e;
  return rc;
}

struct sockaddr_un ControlAddr() {
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, "control");
  return a;
}

}  // namespace

sentry::boot::ProcessLimits LimitsFromProto(const ProcessLimits& p) {
  sentry::boot::ProcessLimits l;
  l.caps_set = p.caps_set();
  // Capabilities Linux has not defined mean nothing to the sandbox.
  constexpr uint64_t kKnown = (uint64_t{1} << 41) - 1;
  l.cap_bounding = p.cap_bounding() & kKnown;
  l.cap_effective = p.cap_effective() & kKnown;
  l.cap_permitted = p.cap_permitted() & kKnown;
  l.cap_inheritable = p.cap_inheritable() & kKnown;
  l.cap_ambient = p.cap_ambient() & kKnown;
  for (const ProcessLimits::Rlimit& r : p.rlimits()) {
    // Only real resources, and a soft limit within the hard one, as
    // setrlimit(2) insists; others are dropped.
    if (r.resource() < 0 || r.resource() >= RLIM_NLIMITS ||
        r.soft() > r.hard()) {
      continue;
    }
    l.rlimits.push_back({r.resource(), r.soft(), r.hard()});
  }
  l.no_new_privs = p.no_new_privs();
  if (p.has_umask()) l.umask = p.umask() & 0777;
  l.groups.assign(p.additional_gids().begin(), p.additional_gids().end());
  return l;
}

namespace {

// Serves one connection: one request, one reply; an exec's connection
// lasts as long as its process.
void ServeConnection(sentry::HostFd c, sentry::kernel::Kernel* k) {
  // runsc writes its request at once.
  struct pollfd p = {c.get(), POLLIN, 0};
  if (poll(&p, 1, kRequestTimeoutMs) != 1) {
    LOG(WARNING) << "control socket: no request within " << kRequestTimeoutMs
                 << " ms";
    return;
  }
  ControlRequest req;
  std::vector<sentry::HostFd> fds;
  absl::Status s = Receive(c.get(), &req, &fds);
  if (!s.ok()) {
    LOG(WARNING) << "control socket: " << s;
    SendReply(c.get(), Error(EINVAL, std::string(s.message())));
    return;
  }
  switch (req.request_case()) {
    case ControlRequest::kSignal:
      SendReply(c.get(), HandleSignal(req.signal(), k));
      break;
    case ControlRequest::kPause:
      if (!req.pause().pause()) {
        k->Resume();
        SendReply(c.get(), ControlReply());
      } else if (!k->Pause()) {
        k->Resume();  // all or nothing, as runc thaws a failed freeze
        SendReply(c.get(), Error(EBUSY, "tasks still running after 5 s"));
      } else {
        SendReply(c.get(), ControlReply());
      }
      break;
    case ControlRequest::kPs: {
      ControlReply reply;
      for (const auto& proc : k->Processes()) {
        // One message holds them all but for the hugest sandboxes;
        // those get the first few thousand.
        if (reply.ByteSizeLong() > kMaxMessage - 1024) break;
        ProcessEntry* e = reply.add_processes();
        e->set_pid(proc.pid);
        e->set_ppid(proc.ppid);
        e->set_uid(proc.uid);
        e->set_comm(proc.comm);
        e->set_state(std::string(1, proc.state));
        e->set_cpu_ms(absl::ToInt64Milliseconds(proc.cpu));
        e->set_start_unix_ms(absl::ToUnixMillis(proc.start));
        e->set_stub_pid(proc.stub_pid);
      }
      SendReply(c.get(), reply);
      break;
    }
    case ControlRequest::kLimits:
      k->SetMaxTasks(req.limits().max_tasks());
      SendReply(c.get(), ControlReply());
      break;
    case ControlRequest::kDebug:
      SendReply(c.get(), HandleDebug(req.debug(), std::move(fds), k));
      break;
    case ControlRequest::kExec:
      // On this thread, for as long as the process lasts.
      ServeExec(std::move(c), std::move(*req.mutable_exec()), std::move(fds),
                k);
      break;
    default:
      SendReply(c.get(), Error(EINVAL, "unknown request"));
  }
}

}  // namespace

void StartControlServer(int listen_fd, sentry::kernel::Kernel* k) {
  std::thread([listen_fd, k] {
    for (;;) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        LOG(ERROR) << "control socket: accept: " << strerror(errno);
        return;
      }
      // A thread per connection: a peer that is slow to write must not
      // hold up kill or exec. Bounded, as threads are host resources.
      static std::atomic<int> active{0};
      if (active.load() >= kMaxConnections) {
        sentry::HostFd busy(fd);
        SendReply(busy.get(), Error(EBUSY, "too many control connections"));
        continue;
      }
      active.fetch_add(1);
      std::thread([fd, k] {
        ServeConnection(sentry::HostFd(fd), k);
        active.fetch_sub(1);
      }).detach();
    }
  }).detach();
}

absl::StatusOr<int> ListenControl(const std::string& dir) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  struct sockaddr_un a = ControlAddr();
  int rc = InDir(dir, [&] {
    return bind(s, reinterpret_cast<struct sockaddr*>(&a), sizeof(a));
  });
  if (rc != 0 || listen(s, 16) != 0) {
    int e = errno;
    close(s);
    return absl::InternalError(
        absl::StrCat("control socket in ", dir, ": ", strerror(e)));
  }
  return s;
}

namespace {

absl::StatusOr<sentry::HostFd> Connect(const std::string& dir) {
  sentry::HostFd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid())
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  struct sockaddr_un a = ControlAddr();
  int rc = InDir(dir, [&] {
    return connect(s.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof(a));
  });
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("the sandbox does not answer: ", strerror(errno)));
  }
  return s;
}

absl::Status Send(int s, const ControlRequest& req,
                  const std::vector<int>& fds) {
  std::string out = req.SerializeAsString();
  if (out.size() > kMaxMessage) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request is ", out.size(), " bytes, more than the sandbox takes (",
        kMaxMessage, ")"));
  }
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int) * kMaxControlFds)];
  } control = {};
  struct iovec iov = {out.data(), out.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    if (fds.size() > kMaxControlFds)
      return absl::InvalidArgumentError("too many fds for one request");
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    struct cmsghdr* h = CMSG_FIRSTHDR(&msg);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(s, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(out.size())) {
    return absl::UnavailableError(absl::StrCat(
        "the sandbox closed the control socket: ", strerror(errno)));
  }
  return absl::OkStatus();
}

// The next reply on `s`; Unavailable once the sandbox has hung up.
absl::StatusOr<ControlReply> Read(int s) {
  std::string buf(kMaxMessage, '\0');
  ssize_t n;
  do {
    n = read(s, buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  ControlReply reply;
  if (n <= 0 || !reply.ParseFromArray(buf.data(), static_cast<int>(n)) ||
      !reply.done()) {
    return absl::UnavailableError("the sandbox closed the control socket");
  }
  return reply;
}

}  // namespace

absl::StatusOr<ControlReply> CallSandbox(const std::string& dir,
                                         const ControlRequest& req,
                                         const std::vector<int>& fds) {
  absl::StatusOr<sentry::HostFd> s = Connect(dir);
  if (!s.ok()) return s.status();
  absl::Status sent = Send(s->get(), req, fds);
  if (!sent.ok()) return sent;
  return Read(s->get());
}

absl::StatusOr<ExecSession> ExecSession::Start(const std::string& dir,
                                               const ExecRequest& exec,
                                               const std::vector<int>& fds) {
  absl::StatusOr<sentry::HostFd> s = Connect(dir);
  if (!s.ok()) return s.status();
  ControlRequest req;
  *req.mutable_exec() = exec;
  absl::Status sent = Send(s->get(), req, fds);
  if (!sent.ok()) return sent;
  absl::StatusOr<ControlReply> reply = Read(s->get());
  if (!reply.ok()) return reply.status();
  if (reply->errno_value() != 0) {
    return absl::FailedPreconditionError(reply->message());
  }
  if (reply->pid() <= 0) {
    return absl::InternalError("the sandbox gave no pid for the process");
  }
  return ExecSession(std::move(*s), reply->pid());
}

ExecSession::End ExecSession::Wait(const std::vector<int>& forward,
                                   const std::function<void(int)>& before) {
  // Signals this process gets go to the process in the sandbox, as they
  // would reach the process itself under runc.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : forward) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sentry::HostFd sigfd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  for (;;) {
    struct pollfd p[2] = {{conn_.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    int n = poll(p, sigfd.valid() ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sigfd.get(), &si, sizeof(si)) == sizeof(si)) {
        if (before) before(static_cast<int>(si.ssi_signo));
        ControlRequest req;
        req.mutable_signal()->set_signo(static_cast<int>(si.ssi_signo));
        (void)Send(conn_.get(), req, {});
      }
    }
    if (p[0].revents != 0) break;
  }
  absl::StatusOr<ControlReply> reply = Read(conn_.get());
  // Gone without a word: the sandbox ended, and the process with it.
  if (!reply.ok() || !reply->exited()) return End{0, SIGKILL};
  return End{reply->exit_code(), reply->exit_signal()};
}

}  // namespace runsc
