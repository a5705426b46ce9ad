// Implements poll(2), ppoll(2), select(2) and pselect6(2).
//
// Each waits on the queues of the files it polls, plus the host fds of
// files the host serves (an inherited terminal or pipe), and re-checks
// every file after each wake.

#include <poll.h>
#include <sys/select.h>

#include "absl/time/clock.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

// What select's sets count as ready (Linux's POLLIN_SET and friends).
constexpr uint32_t kInSet =
    POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
constexpr uint32_t kOutSet = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
constexpr uint32_t kExSet = POLLPRI;

struct PollEntry {
  int fd = -1;
  uint32_t events = 0;
  uint32_t revents = 0;
  std::shared_ptr<vfs::FileDescription> file;
};

// Polls until one entry is ready, `deadline` passes (0 ready), or a
// signal comes (kERESTARTSYS). Entries with a negative fd are skipped;
// entries whose fd is not open report POLLNVAL.
SysResult<int> PollEntries(Task& t, std::vector<PollEntry>& entries,
                           std::optional<absl::Time> deadline) {
  for (PollEntry& e : entries) {
    if (e.fd < 0) continue;
    SysResult<std::shared_ptr<vfs::FileDescription>> f = t.GetFile(e.fd);
    if (f.ok()) e.file = *f;
  }
  // The queues outlive the registrations on them (destroyed last).
  std::vector<std::shared_ptr<WaitQueue>> queues;
  std::vector<std::unique_ptr<ScopedWait>> waits;
  std::vector<struct pollfd> host;
  bool registered = false;
  bool timed_out = false;
  for (;;) {
    int ready = 0;
    for (PollEntry& e : entries) {
      e.revents = 0;
      if (e.fd < 0) continue;
      if (e.file == nullptr) {
        e.revents = POLLNVAL;
      } else {
        e.revents = e.file->Readiness(e.events | POLLERR | POLLHUP) &
                    (e.events | POLLERR | POLLHUP);
      }
      if (e.revents != 0) ready++;
    }
    if (ready > 0 || timed_out) return ready;
    if (deadline && *deadline <= absl::Now()) return 0;
    if (!registered) {
      // Register, then check again: a change between the first check and
      // the registration would otherwise be missed.
      registered = true;
      for (PollEntry& e : entries) {
        if (e.file == nullptr) continue;
        if (std::shared_ptr<WaitQueue> q = e.file->EventQueue()) {
          waits.push_back(
              std::make_unique<ScopedWait>(q.get(), t.waiter(), kEventAll));
          queues.push_back(std::move(q));
        }
        e.file->HostPollFds(e.events, &host);
      }
      continue;
    }
    SysResult<void> r = t.Block(deadline, host.empty() ? nullptr : &host);
    if (!r.ok()) {
      if (r.err() != ETIMEDOUT) return r.error();
      timed_out = true;
    }
  }
}

std::optional<absl::Time> DeadlineFromTimespec(const struct timespec& ts) {
  return absl::Now() + absl::DurationFromTimespec(ts);
}

// poll with its arguments in guest memory; also restart_syscall's body.
SysResult<uint64_t> DoPoll(Task& t, GuestAddr fds_addr, uint64_t nfds,
                           std::optional<absl::Time> deadline,
                           bool restartable) {
  if (nfds > t.RlimitCur(RLIMIT_NOFILE) || nfds > (1u << 20)) {
    return Errno(EINVAL);
  }
  std::vector<struct pollfd> fds(nfds);
  if (nfds > 0) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyInFull(fds_addr, fds.data(), nfds * sizeof(struct pollfd)));
  }
  std::vector<PollEntry> entries(nfds);
  for (size_t i = 0; i < nfds; i++) {
    entries[i].fd = fds[i].fd;
    entries[i].events = static_cast<uint16_t>(fds[i].events);
  }
  SysResult<int> n = PollEntries(t, entries, deadline);
  if (!n.ok()) {
    if (n.err() != kERESTARTSYS) return n.error();
    if (restartable && deadline) {
      // A handler-less signal resumes the poll with its deadline kept.
      t.SetRestart([fds_addr, nfds, deadline](Task& t2) {
        return DoPoll(t2, fds_addr, nfds, deadline, true);
      });
      return Errno(kERESTART_RESTARTBLOCK);
    }
    return Errno(kERESTARTNOHAND);
  }
  for (size_t i = 0; i < nfds; i++) {
    fds[i].revents = static_cast<short>(entries[i].revents);
  }
  if (nfds > 0) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyOutFull(fds_addr, fds.data(), nfds * sizeof(struct pollfd)));
  }
  return static_cast<uint64_t>(*n);
}

// Writes back the time left, as Linux does for ppoll, select and pselect.
SysResult<void> WriteRemaining(Task& t, GuestAddr addr,
                               std::optional<absl::Time> deadline,
                               bool timeval) {
  if (addr.IsNull() || !deadline) return Ok();
  absl::Duration left = *deadline - absl::Now();
  if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
  if (timeval) return t.CopyOutObj(addr, absl::ToTimeval(left));
  return t.CopyOutObj(addr, absl::ToTimespec(left));
}

// select and pselect6: fd_sets in guest memory.
SysResult<uint64_t> DoSelect(Task& t, int nfds, GuestAddr rset, GuestAddr wset,
                             GuestAddr eset,
                             std::optional<absl::Time> deadline) {
  if (nfds < 0) return Errno(EINVAL);
  nfds = std::min<int>(nfds, static_cast<int>(std::min<uint64_t>(
                                 t.RlimitCur(RLIMIT_NOFILE), 1 << 20)));
  size_t bytes = ((static_cast<size_t>(nfds) + 63) / 64) * 8;
  std::vector<uint8_t> in[3];
  GuestAddr addrs[3] = {rset, wset, eset};
  for (int s = 0; s < 3; s++) {
    in[s].assign(bytes, 0);
    if (!addrs[s].IsNull() && bytes > 0) {
      SENTRY_RETURN_IF_ERROR(t.CopyInFull(addrs[s], in[s].data(), bytes));
    }
  }
  std::vector<PollEntry> entries;
  for (int fd = 0; fd < nfds; fd++) {
    uint32_t ev = 0;
    auto bit = [&](int s) { return (in[s][fd / 8] >> (fd % 8)) & 1; };
    if (bit(0)) ev |= POLLIN | POLLRDNORM | POLLRDBAND;
    if (bit(1)) ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
    if (bit(2)) ev |= POLLPRI;
    if (ev == 0) continue;
    if (!t.GetFile(fd).ok()) return Errno(EBADF);
    PollEntry e;
    e.fd = fd;
    e.events = ev;
    entries.push_back(e);
  }
  SysResult<int> n = PollEntries(t, entries, deadline);
  if (!n.ok()) {
    if (n.err() == kERESTARTSYS) return Errno(kERESTARTNOHAND);
    return n.error();
  }
  std::vector<uint8_t> out[3];
  for (int s = 0; s < 3; s++) out[s].assign(bytes, 0);
  uint64_t count = 0;
  for (const PollEntry& e : entries) {
    auto set = [&](int s) {
      out[s][e.fd / 8] |= static_cast<uint8_t>(1 << (e.fd % 8));
      count++;
    };
    if ((e.events & POLLIN) && (e.revents & kInSet)) set(0);
    if ((e.events & POLLOUT) && (e.revents & kOutSet)) set(1);
    if ((e.events & POLLPRI) && (e.revents & kExSet)) set(2);
  }
  for (int s = 0; s < 3; s++) {
    if (!addrs[s].IsNull() && bytes > 0) {
      SENTRY_RETURN_IF_ERROR(t.CopyOutFull(addrs[s], out[s].data(), bytes));
    }
  }
  return count;
}

}  // namespace

// Implements Linux syscall poll(2).
SENTRY_SYSCALL(SysPoll) {
  int timeout = a.Int(2);
  std::optional<absl::Time> deadline;
  if (timeout >= 0) deadline = absl::Now() + absl::Milliseconds(timeout);
  return DoPoll(t, a.Addr(0), a.U64(1), deadline, /*restartable=*/true);
}

// Implements Linux syscall ppoll(2).
SENTRY_SYSCALL(SysPpoll) {
  std::optional<absl::Time> deadline;
  if (!a.Addr(2).IsNull()) {
    struct timespec ts;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(2), &ts));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
      return Errno(EINVAL);
    }
    deadline = DeadlineFromTimespec(ts);
  }
  SENTRY_RETURN_IF_ERROR(ApplySigmask(t, a.Addr(3), a.U64(4)));
  SysResult<uint64_t> r =
      DoPoll(t, a.Addr(0), a.U64(1), deadline, /*restartable=*/false);
  SENTRY_RETURN_IF_ERROR(WriteRemaining(t, a.Addr(2), deadline, false));
  return r;
}

// Implements Linux syscall select(2).
SENTRY_SYSCALL(SysSelect) {
  std::optional<absl::Time> deadline;
  if (!a.Addr(4).IsNull()) {
    struct timeval tv;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(4), &tv));
    if (tv.tv_sec < 0 || tv.tv_usec < 0) return Errno(EINVAL);
    // Linux normalizes an oversized tv_usec rather than refusing it.
    deadline =
        absl::Now() + absl::Seconds(tv.tv_sec) + absl::Microseconds(tv.tv_usec);
  }
  SysResult<uint64_t> r =
      DoSelect(t, a.Int(0), a.Addr(1), a.Addr(2), a.Addr(3), deadline);
  SENTRY_RETURN_IF_ERROR(WriteRemaining(t, a.Addr(4), deadline, true));
  return r;
}

// Implements Linux syscall pselect6(2). The sixth argument points at
// {const sigset_t* ss; size_t ss_len}.
SENTRY_SYSCALL(SysPselect6) {
  std::optional<absl::Time> deadline;
  if (!a.Addr(4).IsNull()) {
    struct timespec ts;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(4), &ts));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
      return Errno(EINVAL);
    }
    deadline = DeadlineFromTimespec(ts);
  }
  if (!a.Addr(5).IsNull()) {
    struct {
      uint64_t ss;
      uint64_t ss_len;
    } sm;
    SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(5), &sm));
    SENTRY_RETURN_IF_ERROR(ApplySigmask(t, GuestAddr(sm.ss), sm.ss_len));
  }
  SysResult<uint64_t> r =
      DoSelect(t, a.Int(0), a.Addr(1), a.Addr(2), a.Addr(3), deadline);
  SENTRY_RETURN_IF_ERROR(WriteRemaining(t, a.Addr(4), deadline, false));
  return r;
}

}  // namespace sentry::syscalls
