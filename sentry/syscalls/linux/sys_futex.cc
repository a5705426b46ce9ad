// Implements futex(2): WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE,
// CMP_REQUEUE and WAKE_OP, private or shared, with timeouts on either
// clock. The priority-inheritance operations fail with ENOSYS, as on a
// kernel built without them.

#include <linux/futex.h>

#include "absl/time/clock.h"
#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

using Op = platform::AddressSpace::AtomicOp;

// A futex wait: blocks until woken, the deadline, or a signal. Waits
// without a timeout restart transparently after a handler-less signal
// (ERESTARTSYS); timed ones resume through restart_syscall with the same
// deadline.
SysResult<uint64_t> FutexWait(Task& t, kernel::FutexTable::Key key,
                              uint64_t addr, uint32_t val, uint32_t bitset,
                              std::optional<absl::Time> deadline) {
  SysResult<void> r = t.kernel().futexes().Wait(
      t, key, bitset, deadline, [&]() -> SysResult<bool> {
        uint32_t cur;
        SENTRY_RETURN_IF_ERROR(t.CopyInObj(GuestAddr(addr), &cur));
        return cur == val;
      });
  if (r.ok()) return 0;
  if (r.err() != kERESTARTSYS) return r.error();
  if (!deadline) return Errno(kERESTARTSYS);
  t.SetRestart([key, addr, val, bitset, deadline](Task& t2) {
    return FutexWait(t2, key, addr, val, bitset, deadline);
  });
  return Errno(kERESTART_RESTARTBLOCK);
}

// FUTEX_WAKE_OP's encoded operation on the second word: op, cmp, oparg,
// cmparg (see futex(2)).
SysResult<bool> WakeOpUpdate(Task& t, uint64_t addr2, uint32_t encoded) {
  int op = (encoded >> 28) & 7;
  bool shift = ((encoded >> 28) & 8) != 0;  // FUTEX_OP_OPARG_SHIFT
  int cmp = (encoded >> 24) & 15;
  // oparg and cmparg are 12-bit signed.
  int32_t oparg = static_cast<int32_t>(encoded << 8) >> 20;
  int32_t cmparg = static_cast<int32_t>(encoded << 20) >> 20;
  if (shift) {
    if (oparg < 0 || oparg > 31) oparg &= 31;  // as Linux: warns, masks
    oparg = 1 << oparg;
  }
  Op atomic;
  uint32_t operand = static_cast<uint32_t>(oparg);
  switch (op) {
    case FUTEX_OP_SET:
      atomic = Op::kSet;
      break;
    case FUTEX_OP_ADD:
      atomic = Op::kAdd;
      break;
    case FUTEX_OP_OR:
      atomic = Op::kOr;
      break;
    case FUTEX_OP_ANDN:
      atomic = Op::kAndNot;
      break;
    case FUTEX_OP_XOR:
      atomic = Op::kXor;
      break;
    default:
      return Errno(ENOSYS);
  }
  // An unknown comparison fails only after the operation is done, as
  // on Linux.
  SENTRY_ASSIGN_OR_RETURN(uint32_t old_u,
                          t.mm().Atomic32(GuestAddr(addr2), atomic, operand));
  int32_t old = static_cast<int32_t>(old_u);
  switch (cmp) {
    case FUTEX_OP_CMP_EQ:
      return old == cmparg;
    case FUTEX_OP_CMP_NE:
      return old != cmparg;
    case FUTEX_OP_CMP_LT:
      return old < cmparg;
    case FUTEX_OP_CMP_LE:
      return old <= cmparg;
    case FUTEX_OP_CMP_GT:
      return old > cmparg;
    case FUTEX_OP_CMP_GE:
      return old >= cmparg;
    default:
      return Errno(ENOSYS);
  }
}

}  // namespace

// Implements Linux syscall futex(2).
SENTRY_SYSCALL(SysFutex) {
  uint64_t addr = a.U64(0);
  int op = a.Int(1);
  uint32_t val = a.U32(2);
  int cmd = op & FUTEX_CMD_MASK;
  bool priv = (op & FUTEX_PRIVATE_FLAG) != 0;
  bool realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
  // Only the waits that take an absolute time may name the realtime clock.
  if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT) {
    return Errno(ENOSYS);
  }
  if (realtime && cmd == FUTEX_WAIT) return Errno(ENOSYS);
  if (addr % 4 != 0) return Errno(EINVAL);
  kernel::FutexTable& table = t.kernel().futexes();
  auto key_of = [&](uint64_t at) {
    return kernel::FutexTable::KeyFor(t.mm(), at, priv);
  };
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
      SENTRY_ASSIGN_OR_RETURN(int n, table.Requeue(key_of(addr), key_of(addr2),
                                                   nr_wake, nr_requeue, check));
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
      return FutexWait(t, key_of(addr), addr, val, bitset, deadline);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : a.U32(5);
      if (bitset == 0) return Errno(EINVAL);
      int n = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      return static_cast<uint64_t>(table.Wake(key_of(addr), bitset, n));
    }
    case FUTEX_WAKE_OP: {
      uint64_t addr2 = a.U64(4);
      if (addr2 % 4 != 0) return Errno(EINVAL);
      int wake1 = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      int wake2 = static_cast<int>(std::min<uint64_t>(a.U64(3), INT32_MAX));
      uint32_t encoded = a.U32(5);
      SENTRY_ASSIGN_OR_RETURN(
          int n, table.WakeOp(key_of(addr), key_of(addr2), wake1, wake2, [&]() {
            return WakeOpUpdate(t, addr2, encoded);
          }));
      return static_cast<uint64_t>(n);
    }
    default:
      return Errno(ENOSYS);
  }
}

}  // namespace sentry::syscalls
