// Implements futex(2): WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE and
// CMP_REQUEUE, private or not, with timeouts on either clock. WAKE_OP (an
// atomic update of guest memory) and the PI operations are the task-model
// issue's (#3).

#include <linux/futex.h>

#include "absl/time/clock.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

// Implements Linux syscall futex(2).
SENTRY_SYSCALL(SysFutex) {
  uint64_t addr = a.U64(0);
  int op = a.Int(1);
  uint32_t val = a.U32(2);
  int cmd = op & FUTEX_CMD_MASK;
  bool realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
  // Only the waits that take an absolute time may name the realtime clock.
  if (realtime && cmd != FUTEX_WAIT_BITSET) return Errno(ENOSYS);
  if (addr % 4 != 0) return Errno(EINVAL);
  kernel::FutexTable::Key key{&t.mm(), addr};
  switch (cmd) {
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      int nr_wake = a.Int(2);
      int nr_requeue = a.Int(3);  // the timeout slot carries val2
      uint64_t addr2 = a.U64(4);
      if (nr_wake < 0 || nr_requeue < 0 || addr2 % 4 != 0) return Errno(EINVAL);
      uint32_t expected = a.U32(5);
      std::function<SysResult<bool>()> check;
      if (cmd == FUTEX_CMP_REQUEUE) {
        check = [&]() -> SysResult<bool> {
          uint32_t cur;
          SENTRY_RETURN_IF_ERROR(t.CopyInObj(GuestAddr(addr), &cur));
          return cur == expected;
        };
      }
      SENTRY_ASSIGN_OR_RETURN(
          int n, t.kernel().futexes().Requeue(key, {&t.mm(), addr2}, nr_wake,
                                              nr_requeue, check));
      return static_cast<uint64_t>(n);
    }
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      uint32_t bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : a.U32(5);
      if (bitset == 0) return Errno(EINVAL);

      std::optional<absl::Time> deadline;
      if (!a.Addr(3).IsNull()) {
        struct timespec ts;
        SENTRY_RETURN_IF_ERROR(t.CopyInObj(a.Addr(3), &ts));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
          return Errno(EINVAL);
        absl::Duration d = absl::DurationFromTimespec(ts);
        if (cmd == FUTEX_WAIT) {
          deadline = absl::Now() + d;  // relative
        } else if (realtime) {
          deadline = absl::UnixEpoch() + d;
        } else {
          // An absolute CLOCK_MONOTONIC time: convert through the present.
          struct timespec now;
          clock_gettime(CLOCK_MONOTONIC, &now);
          deadline = absl::Now() + (d - absl::DurationFromTimespec(now));
        }
      }
      SENTRY_RETURN_IF_ERROR(t.kernel().futexes().Wait(
          key, bitset, deadline, [&]() -> SysResult<bool> {
            uint32_t cur;
            SENTRY_RETURN_IF_ERROR(t.CopyInObj(GuestAddr(addr), &cur));
            return cur == val;
          }));
      return 0;
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : a.U32(5);
      if (bitset == 0) return Errno(EINVAL);
      int n = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      return static_cast<uint64_t>(t.kernel().futexes().Wake(key, bitset, n));
    }
    default:
      return Errno(ENOSYS);
  }
}

}  // namespace sentry::syscalls
