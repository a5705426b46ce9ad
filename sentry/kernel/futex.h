// Futexes: wait queues keyed by guest memory, as futex(2) needs them.
//
// A private futex (FUTEX_PRIVATE_FLAG, or any futex in private memory) is
// keyed by its address space and address. A shared one in a shared mapping
// is keyed by what backs the mapping (a file's inode, shared anonymous
// memory) and the offset in it, so processes that map the same page at
// different addresses, or forked children, meet on one queue.
//
// Waits block on the waiting task's Waiter and end early, with the
// task's restart code, when a signal arrives.
//
// Lock order: FutexTable::mu_ is taken after Kernel::mu_ and before any
// platform call (the atomic update of FUTEX_WAKE_OP runs under it).

#ifndef SENTRY_KERNEL_FUTEX_H_
#define SENTRY_KERNEL_FUTEX_H_

#include <cstdint>
#include <functional>
#include <list>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/sys_result.h"
#include "sentry/base/waiter.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

namespace sentry::kernel {

class FutexTable final {
 public:
  struct Key {
    const void* object;  // the address space, or the shared backing
    uint64_t offset;     // the address, or the offset in the backing
    bool operator==(const Key& o) const {
      return object == o.object && offset == o.offset;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.object, k.offset);
    }
  };

  // The key of the futex word at `addr` of `mm`.
  static Key KeyFor(mm::MemoryManager& mm, uint64_t addr, bool private_op);

  // Blocks `ctx` until woken by Wake with a matching bitset (Ok), until
  // `deadline` (ETIMEDOUT), or until a signal interrupts (kERESTARTSYS).
  // `check` runs under the table lock and says whether the futex word
  // still holds the expected value (else EAGAIN), or fails (EFAULT).
  SysResult<void> Wait(vfs::CallContext& ctx, Key key, uint32_t bitset,
                       std::optional<absl::Time> deadline,
                       const std::function<SysResult<bool>()>& check);

  // Wakes up to `n` waiters on `key` whose bitset intersects `bitset`.
  int Wake(Key key, uint32_t bitset, int n);

  // FUTEX_(CMP_)REQUEUE: wakes up to `wake` waiters on `from` and moves up
  // to `requeue` more to `to`. `check` (may be null) runs under the lock
  // first, as for Wait. Returns how many were woken or moved.
  SysResult<int> Requeue(Key from, Key to, int wake, int requeue,
                         const std::function<SysResult<bool>()>& check);

  // FUTEX_WAKE_OP: under the lock, `op` updates the second word and says
  // whether its old value passes the comparison; then up to `wake1`
  // waiters on `key1` wake, and up to `wake2` on `key2` if it passed.
  SysResult<int> WakeOp(Key key1, Key key2, int wake1, int wake2,
                        const std::function<SysResult<bool>()>& op);

 private:
  struct Waiter {
    Key key;  // the queue it is on; Requeue moves it
    uint32_t bitset;
    sentry::Waiter* waiter;
    bool woken = false;
  };
  int WakeLocked(Key key, uint32_t bitset, int n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<Key, std::list<Waiter*>> queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_FUTEX_H_
