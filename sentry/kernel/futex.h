// Futexes: wait queues keyed by guest address, as futex(2) needs them.
//
// Private futexes are keyed by (address space, address). Shared futexes
// (mappings of the same file or shared memory in different processes) are
// keyed the same way until fork exists (#3): with one process per address
// space, no two processes can share one yet.
//
// Lock order: FutexTable::mu_ is a leaf.

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

namespace sentry::kernel {

class FutexTable final {
 public:
  struct Key {
    const void* space;  // the address space
    uint64_t addr;
    bool operator==(const Key& o) const {
      return space == o.space && addr == o.addr;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.space, k.addr);
    }
  };

  // Blocks until woken by Wake with a matching bitset, or until `deadline`
  // (ETIMEDOUT). `check` runs under the table lock and returns whether the
  // futex word still holds the expected value (else EAGAIN), or an error.
  SysResult<void> Wait(Key key, uint32_t bitset,
                       std::optional<absl::Time> deadline,
                       const std::function<SysResult<bool>()>& check);

  // Wakes up to `n` waiters on `key` whose bitset intersects `bitset`.
  int Wake(Key key, uint32_t bitset, int n);

  // FUTEX_(CMP_)REQUEUE: wakes up to `wake` waiters on `from` and moves up
  // to `requeue` more to `to`. `check` (may be null) runs under the lock
  // first, as for Wait. Returns how many were woken or moved.
  SysResult<int> Requeue(Key from, Key to, int wake, int requeue,
                         const std::function<SysResult<bool>()>& check);

 private:
  struct Waiter {
    Key key;  // the queue it is on; Requeue moves it
    uint32_t bitset;
    bool woken = false;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<Key, std::list<Waiter*>> queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_FUTEX_H_
