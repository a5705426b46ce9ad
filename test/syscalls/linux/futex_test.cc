// futex(2): FUTEX_WAIT's value check and timeouts, FUTEX_WAKE with nobody
// waiting, the bitset variants and their absolute deadlines, and argument
// errors; then, with other threads and processes: a futex mutex under
// contention, FUTEX_WAKE's exact count, FUTEX_REQUEUE and FUTEX_CMP_REQUEUE,
// FUTEX_WAKE_OP, bitset selection, private vs shared keys (across fork and
// between two mappings of one page), timed waits ended by a wake, robust
// futexes (glibc's robust mutexes within and across processes, and raw robust
// lists: FUTEX_OWNER_DIED and the wake of a FUTEX_WAITERS waiter at exit,
// list_op_pending, get_robust_list) and the clear-child-tid word of a thread
// (CLONE_CHILD_CLEARTID, set_tid_address).

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test/util/test_util.h"

namespace {

long Futex(void* uaddr, int op, uint32_t val,
           const struct timespec* timeout = nullptr, void* uaddr2 = nullptr,
           uint32_t val3 = 0) {
  return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

int64_t NowNs(clockid_t clock) {
  struct timespec ts = {};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct timespec FromNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

constexpr int64_t kMs = 1000 * 1000;

TEST(FutexTest, WaitWithADifferentValueIsEAGAIN) {
  uint32_t word = 1;
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT, 0), EAGAIN);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_PRIVATE, 2), EAGAIN);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, nullptr,
                     FUTEX_BITSET_MATCH_ANY),
               EAGAIN);
}

TEST(FutexTest, WaitTimesOutAfterARelativeTimeout) {
  uint32_t word = 7;
  struct timespec timeout = FromNs(20 * kMs);
  int64_t before = NowNs(CLOCK_MONOTONIC);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_PRIVATE, 7, &timeout), ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_MONOTONIC) - before, 20 * kMs);
  // The shared (non-private) form on a private variable behaves the same.
  before = NowNs(CLOCK_MONOTONIC);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT, 7, &timeout), ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_MONOTONIC) - before, 20 * kMs);
}

TEST(FutexTest, WaitOnSharedMemoryTimesOut) {
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* word = static_cast<uint32_t*>(p);
  *word = 3;
  struct timespec timeout = FromNs(10 * kMs);
  EXPECT_ERRNO(Futex(word, FUTEX_WAIT, 3, &timeout), ETIMEDOUT);
  EXPECT_EQ(Futex(word, FUTEX_WAKE, 1), 0);
  munmap(p, 4096);
}

TEST(FutexTest, WaitWithAZeroTimeoutReturnsAtOnce) {
  uint32_t word = 0;
  struct timespec zero = {0, 0};
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_PRIVATE, 0, &zero), ETIMEDOUT);
}

TEST(FutexTest, WakeWithNoWaitersReturnsZero) {
  uint32_t word = 0;
  EXPECT_EQ(Futex(&word, FUTEX_WAKE, 1), 0);
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, 100), 0);
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, 0), 0);
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr,
                  FUTEX_BITSET_MATCH_ANY),
            0);
}

TEST(FutexTest, ZeroBitsetIsEINVAL) {
  uint32_t word = 0;
  struct timespec timeout = FromNs(NowNs(CLOCK_MONOTONIC) + 10 * kMs);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &timeout, nullptr, 0),
               EINVAL);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET, 0, &timeout, nullptr, 0),
               EINVAL);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0),
               EINVAL);
}

TEST(FutexTest, WaitBitsetDeadlineIsAbsolute) {
  uint32_t word = 0;
  // A deadline already in the past times out at once.
  struct timespec past = FromNs(NowNs(CLOCK_MONOTONIC) - 1000 * kMs);
  int64_t before = NowNs(CLOCK_MONOTONIC);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, nullptr,
                     FUTEX_BITSET_MATCH_ANY),
               ETIMEDOUT);
  // Generous: a relative reading of this deadline would wait for the whole
  // uptime of the machine.
  EXPECT_LT(NowNs(CLOCK_MONOTONIC) - before, 5000 * kMs);
  // A deadline 20ms ahead is reached, not cut short.
  int64_t deadline = NowNs(CLOCK_MONOTONIC) + 20 * kMs;
  struct timespec ahead = FromNs(deadline);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ahead, nullptr,
                     FUTEX_BITSET_MATCH_ANY),
               ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_MONOTONIC), deadline);
}

TEST(FutexTest, WaitBitsetRealtimeDeadline) {
  uint32_t word = 0;
  struct timespec past = FromNs(NowNs(CLOCK_REALTIME) - 1000 * kMs);
  int64_t before = NowNs(CLOCK_MONOTONIC);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
                     &past, nullptr, FUTEX_BITSET_MATCH_ANY),
               ETIMEDOUT);
  EXPECT_LT(NowNs(CLOCK_MONOTONIC) - before, 5000 * kMs);
  int64_t deadline = NowNs(CLOCK_REALTIME) + 20 * kMs;
  struct timespec ahead = FromNs(deadline);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
                     &ahead, nullptr, FUTEX_BITSET_MATCH_ANY),
               ETIMEDOUT);
  EXPECT_GE(NowNs(CLOCK_REALTIME), deadline);
}

TEST(FutexTest, ArgumentErrors) {
  alignas(8) uint32_t words[2] = {0, 0};
  struct timespec timeout = FromNs(10 * kMs);
  // The futex word must be 4-byte aligned.
  EXPECT_ERRNO(Futex(reinterpret_cast<char*>(words) + 1, FUTEX_WAIT_PRIVATE, 0,
                     &timeout),
               EINVAL);
  EXPECT_ERRNO(Futex(reinterpret_cast<char*>(words) + 2, FUTEX_WAKE_PRIVATE, 1),
               EINVAL);
  // An invalid timeout.
  struct timespec bad = {0, 1000000000};
  EXPECT_ERRNO(Futex(words, FUTEX_WAIT_PRIVATE, 0, &bad), EINVAL);
  bad = {-1, 0};
  EXPECT_ERRNO(Futex(words, FUTEX_WAIT_PRIVATE, 0, &bad), EINVAL);
  // Unmapped memory for the word or the timeout.
  EXPECT_ERRNO(
      Futex(reinterpret_cast<void*>(4096), FUTEX_WAIT_PRIVATE, 0, &timeout),
      EFAULT);
  EXPECT_ERRNO(Futex(words, FUTEX_WAIT_PRIVATE, 0,
                     reinterpret_cast<struct timespec*>(8)),
               EFAULT);
  // An operation that does not exist.
  EXPECT_ERRNO(Futex(words, 99, 0), ENOSYS);
}

TEST(FutexTest, ClockRealtimeFlagIsOnlyForWaits) {
  uint32_t word = 0;
  // FUTEX_CLOCK_REALTIME selects the clock of a timed wait; Linux rejects
  // it on operations that take no timeout.
  EXPECT_ERRNO(Futex(&word, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1),
               ENOSYS);
  EXPECT_ERRNO(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1,
                     nullptr, nullptr, FUTEX_BITSET_MATCH_ANY),
               ENOSYS);
}

TEST(FutexTest, CmpRequeueChecksTheValueFirst) {
  uint32_t word = 5, other = 0;
  // val3 is compared with *uaddr before anything else happens.
  EXPECT_ERRNO(Futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1,
                     reinterpret_cast<struct timespec*>(1), &other, 4),
               EAGAIN);
  // With a matching value and no waiters, nothing is woken or moved.
  EXPECT_EQ(Futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1,
                  reinterpret_cast<struct timespec*>(1), &other, 5),
            0);
}

TEST(FutexTest, ClockRealtimeWithAPlainWaitIsENOSYS) {
  // FUTEX_WAIT's timeout is relative; only FUTEX_WAIT_BITSET takes a clock.
  uint32_t word = 0;
  struct timespec timeout = FromNs(10 * kMs);
  EXPECT_ERRNO(
      Futex(&word, FUTEX_WAIT_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &timeout),
      ENOSYS);
}

// ---------------------------------------------------------------------------
// With other threads and processes.

constexpr int kAll = INT_MAX;
constexpr unsigned kWatchdogSeconds = 30;
// How long a helper waits for another thread before it gives up and fails.
constexpr int64_t kPatienceNs = 10000 * kMs;

// FUTEX_(CMP_)REQUEUE and FUTEX_WAKE_OP carry a count (val2) in the timeout
// argument.
long Futex2(void* uaddr, int op, uint32_t val, uint32_t val2, void* uaddr2,
            uint32_t val3 = 0) {
  return syscall(SYS_futex, uaddr, op, val, static_cast<uintptr_t>(val2),
                 uaddr2, val3);
}

uint32_t Load(const uint32_t* word) {
  return __atomic_load_n(word, __ATOMIC_SEQ_CST);
}

void Store(uint32_t* word, uint32_t v) {
  __atomic_store_n(word, v, __ATOMIC_SEQ_CST);
}

void WriteStderr(const char* msg) {
  if (write(STDERR_FILENO, msg, strlen(msg)) < 0) {
    // Nothing left to report it to.
  }
}

// Ends the test program if a test is still running after `seconds`: a lost
// wake-up must fail the run, not hang it. fork() clears alarms, so children
// call alarm() themselves; they inherit the handler.
class Watchdog final {
 public:
  explicit Watchdog(unsigned seconds = kWatchdogSeconds) {
    struct sigaction sa = {};
    sa.sa_handler = [](int) {
      WriteStderr("futex_test: watchdog expired (a lost wake-up?)\n");
      _exit(124);
    };
    sigaction(SIGALRM, &sa, &old_);
    alarm(seconds);
  }
  ~Watchdog() {
    alarm(0);
    sigaction(SIGALRM, &old_, nullptr);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  struct sigaction old_ = {};
};

// Yields until `done()` holds; false if it still does not after
// kPatienceNs. Allocates nothing, so a raw clone(2) thread may use it.
template <typename F>
bool Eventually(F done) {
  int64_t deadline = NowNs(CLOCK_MONOTONIC) + kPatienceNs;
  while (!done()) {
    if (NowNs(CLOCK_MONOTONIC) > deadline) return false;
    sched_yield();
  }
  return true;
}

// Returns true once exactly `n` tasks are blocked on the futex at `word`
// (`flags`: FUTEX_PRIVATE_FLAG or 0), having woken none of them. Linux offers
// no way to count a futex's waiters but FUTEX_REQUEUE's result: all are moved
// to a scratch futex and back, and the second move counts those that were
// there, each once (a waiter that leaves the scratch queue meanwhile, as a
// spurious wake-up may make it, is missed and the count retried). This is how
// the tests below know that a waiter is queued, without sleeping.
// Allocates nothing, so a raw clone(2) thread may use it.
bool AwaitWaiters(uint32_t* word, int n, int flags) {
  uint32_t scratch = 0;
  long seen = 0;
  bool ok = Eventually([&] {
    long moved = Futex2(word, FUTEX_REQUEUE | flags, 0, kAll, &scratch);
    seen = Futex2(&scratch, FUTEX_REQUEUE | flags, 0, kAll, word);
    return moved < 0 || seen < 0 || seen >= n;
  });
  return ok && seen == n;
}

// Drepper's mutex ("Futexes Are Tricky", mutex 2) on a raw word: 0 unlocked,
// 1 locked, 2 locked and perhaps waited for. `flags` is FUTEX_PRIVATE_FLAG,
// or 0 for a mutex in memory shared between processes.
void FutexLock(uint32_t* word, int flags) {
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(word, &c, 1, false, __ATOMIC_ACQUIRE,
                                  __ATOMIC_RELAXED)) {
    return;
  }
  if (c != 2) c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    Futex(word, FUTEX_WAIT | flags, 2);
    c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
  }
}

void FutexUnlock(uint32_t* word, int flags) {
  if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) {
    Futex(word, FUTEX_WAKE | flags, 1);
  }
}

// Threads that each make one blocking futex call. The destructor calls
// `release` until every thread has returned, so that a failed assertion
// leaves no thread blocked on a dead stack frame, and joins them.
class WaiterThreads final {
 public:
  static constexpr long kPending = LONG_MIN;

  explicit WaiterThreads(std::function<void()> release)
      : release_(std::move(release)) {
    for (auto& r : results_) r.store(kPending);
  }
  ~WaiterThreads() {
    while (done_.load() < static_cast<int>(threads_.size())) {
      release_();
      sched_yield();
    }
    for (auto& t : threads_) t.join();
  }
  WaiterThreads(const WaiterThreads&) = delete;
  WaiterThreads& operator=(const WaiterThreads&) = delete;

  // Starts thread number size() running `wait`, a futex call.
  void Start(std::function<long()> wait) {
    int i = static_cast<int>(threads_.size());
    ASSERT_LT(i, kMax);
    threads_.emplace_back([this, i, wait] {
      long r = wait();
      results_[i].store(r == -1 ? -errno : r);
      done_.fetch_add(1);
    });
  }
  int size() const { return static_cast<int>(threads_.size()); }
  // Thread i's result (-errno on failure), or kPending.
  long Result(int i) const { return results_[i].load(); }
  // How many returned 0: woken.
  int Woken() const {
    int n = 0;
    for (int i = 0; i < size(); i++) n += Result(i) == 0;
    return n;
  }
  // Waits until at least `n` threads have returned.
  bool AwaitDone(int n) const {
    return Eventually([&] { return done_.load() >= n; });
  }

 private:
  static constexpr int kMax = 16;
  std::function<void()> release_;
  std::atomic<long> results_[kMax];
  std::atomic<int> done_{0};
  std::vector<std::thread> threads_;
};

// Waits for `pid` and returns its wait status, or -1.
int WaitStatus(pid_t pid) {
  int status = 0;
  pid_t rc;
  do {
    rc = waitpid(pid, &status, 0);
  } while (rc == -1 && errno == EINTR);
  return rc == pid ? status : -1;
}

// Forks a child that runs `fn` under its own watchdog and exits with its
// result (0 for success).
template <typename F>
pid_t ForkChild(F fn) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(kWatchdogSeconds);
    _exit(fn());
  }
  return pid;
}

// One page of MAP_SHARED anonymous memory, shared with forked children.
class SharedPage final {
 public:
  SharedPage()
      : p_(mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {}
  ~SharedPage() {
    if (ok()) munmap(p_, kSize);
  }
  SharedPage(const SharedPage&) = delete;
  SharedPage& operator=(const SharedPage&) = delete;
  bool ok() const { return p_ != MAP_FAILED; }
  template <typename T>
  T* at(size_t offset) {
    return reinterpret_cast<T*>(static_cast<char*>(p_) + offset);
  }

 private:
  static constexpr size_t kSize = 4096;
  void* p_;
};

TEST(FutexContentionTest, EightThreadsCountExactlyUnderAFutexMutex) {
  Watchdog watchdog;
  constexpr int kThreads = 8;
  constexpr int kIterations = 5000;
  uint32_t lock = 0;
  uint64_t counter = 0;  // guarded by `lock`
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      for (int j = 0; j < kIterations; j++) {
        FutexLock(&lock, FUTEX_PRIVATE_FLAG);
        uint64_t v = counter;
        // Now and then hold the lock across a reschedule, so that the others
        // find it taken and block in FUTEX_WAIT.
        if (j % 64 == 0) sched_yield();
        counter = v + 1;
        FutexUnlock(&lock, FUTEX_PRIVATE_FLAG);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kIterations);
  EXPECT_EQ(lock, 0u);
}

TEST(FutexContentionTest, FourProcessesCountExactlyUnderASharedFutexMutex) {
  Watchdog watchdog;
  constexpr int kProcs = 4;
  constexpr int kIterations = 3000;
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* lock = page.at<uint32_t>(0);
  uint64_t* counter = page.at<uint64_t>(8);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    pid_t pid = ForkChild([&] {
      for (int j = 0; j < kIterations; j++) {
        FutexLock(lock, 0);
        uint64_t v = *counter;
        if (j % 64 == 0) sched_yield();
        *counter = v + 1;
        FutexUnlock(lock, 0);
      }
      return 0;
    });
    ASSERT_GT(pid, 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(*counter, uint64_t{kProcs} * kIterations);
  EXPECT_EQ(*lock, 0u);
}

TEST(FutexWakeTest, WakesExactlyTheRequestedCount) {
  Watchdog watchdog;
  constexpr int kWaiters = 6;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  for (int i = 0; i < kWaiters; i++) {
    waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  }
  ASSERT_TRUE(AwaitWaiters(&word, kWaiters, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, 2), 2);
  ASSERT_TRUE(waiters.AwaitDone(2));
  // The others are still queued, all of them.
  ASSERT_TRUE(AwaitWaiters(&word, kWaiters - 2, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(waiters.Woken(), 2);
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, 3), 3);
  ASSERT_TRUE(waiters.AwaitDone(5));
  ASSERT_TRUE(AwaitWaiters(&word, 1, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, kAll), 1);
  ASSERT_TRUE(waiters.AwaitDone(kWaiters));
  EXPECT_EQ(waiters.Woken(), kWaiters);
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, kAll), 0);
}

TEST(FutexWakeTest, WakeOfOneWakesOneWaiterAtATime) {
  // Needs no knowledge of when the waiters queue: every wake that reports
  // one waiter woken lets exactly one more thread return.
  Watchdog watchdog;
  constexpr int kWaiters = 4;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  for (int i = 0; i < kWaiters; i++) {
    waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  }
  int woken = 0;
  ASSERT_TRUE(Eventually([&] {
    long r = Futex(&word, FUTEX_WAKE_PRIVATE, 1);
    EXPECT_GE(r, 0);
    EXPECT_LE(r, 1);
    if (r == 1) {
      woken++;
      EXPECT_TRUE(waiters.AwaitDone(woken));
      EXPECT_EQ(waiters.Woken(), woken);
    }
    return r < 0 || woken == kWaiters;
  }));
  EXPECT_EQ(woken, kWaiters);
}

TEST(FutexWakeTest, WakeOfZeroWakesOne) {
  // Linux's futex_wake counts a waiter before comparing with the limit, so a
  // count of 0 wakes one waiter, as 1 does.
  Watchdog watchdog;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  ASSERT_TRUE(AwaitWaiters(&word, 2, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, 0), 1);
  ASSERT_TRUE(waiters.AwaitDone(1));
  ASSERT_TRUE(AwaitWaiters(&word, 1, FUTEX_PRIVATE_FLAG));
}

TEST(FutexRequeueTest, WakesOneAndMovesTheRest) {
  Watchdog watchdog;
  constexpr int kWaiters = 5;
  uint32_t from = 0, to = 0;
  WaiterThreads waiters([&] {
    Futex(&from, FUTEX_WAKE_PRIVATE, kAll);
    Futex(&to, FUTEX_WAKE_PRIVATE, kAll);
  });
  for (int i = 0; i < kWaiters; i++) {
    waiters.Start([&] { return Futex(&from, FUTEX_WAIT_PRIVATE, 0); });
  }
  ASSERT_TRUE(AwaitWaiters(&from, kWaiters, FUTEX_PRIVATE_FLAG));
  // One woken plus four moved.
  ASSERT_EQ(Futex2(&from, FUTEX_REQUEUE_PRIVATE, 1, kAll, &to), kWaiters);
  ASSERT_TRUE(waiters.AwaitDone(1));
  EXPECT_EQ(Futex(&from, FUTEX_WAKE_PRIVATE, kAll), 0);
  ASSERT_TRUE(AwaitWaiters(&to, kWaiters - 1, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(waiters.Woken(), 1);
  // A wake of the second futex brings them all back, from a wait on the
  // first.
  ASSERT_EQ(Futex(&to, FUTEX_WAKE_PRIVATE, kAll), kWaiters - 1);
  ASSERT_TRUE(waiters.AwaitDone(kWaiters));
  EXPECT_EQ(waiters.Woken(), kWaiters);
}

TEST(FutexRequeueTest, CmpRequeueHonoursBothCountsAndTheValue) {
  Watchdog watchdog;
  constexpr int kWaiters = 5;
  uint32_t from = 0, to = 0;
  WaiterThreads waiters([&] {
    Futex(&from, FUTEX_WAKE_PRIVATE, kAll);
    Futex(&to, FUTEX_WAKE_PRIVATE, kAll);
  });
  for (int i = 0; i < kWaiters; i++) {
    waiters.Start([&] { return Futex(&from, FUTEX_WAIT_PRIVATE, 0); });
  }
  ASSERT_TRUE(AwaitWaiters(&from, kWaiters, FUTEX_PRIVATE_FLAG));
  // Wake 1, move 2: 3 handled, 2 left behind.
  ASSERT_EQ(Futex2(&from, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, &to, 0), 3);
  ASSERT_TRUE(waiters.AwaitDone(1));
  ASSERT_TRUE(AwaitWaiters(&from, 2, FUTEX_PRIVATE_FLAG));
  ASSERT_TRUE(AwaitWaiters(&to, 2, FUTEX_PRIVATE_FLAG));
  // The word changed: nothing is woken or moved.
  Store(&from, 1);
  EXPECT_ERRNO(Futex2(&from, FUTEX_CMP_REQUEUE_PRIVATE, 1, kAll, &to, 0),
               EAGAIN);
  ASSERT_TRUE(AwaitWaiters(&from, 2, FUTEX_PRIVATE_FLAG));
  ASSERT_TRUE(AwaitWaiters(&to, 2, FUTEX_PRIVATE_FLAG));
  // Move the rest without waking any, then wake them all from `to`.
  EXPECT_EQ(Futex2(&from, FUTEX_CMP_REQUEUE_PRIVATE, 0, kAll, &to, 1), 2);
  EXPECT_EQ(waiters.Woken(), 1);
  ASSERT_TRUE(AwaitWaiters(&to, 4, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&to, FUTEX_WAKE_PRIVATE, kAll), 4);
  ASSERT_TRUE(waiters.AwaitDone(kWaiters));
  EXPECT_EQ(waiters.Woken(), kWaiters);
}

TEST(FutexRequeueTest, RequeueOntoItselfCountsTheWaiters) {
  // Linux moves each waiter to the same queue and counts it.
  Watchdog watchdog;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  ASSERT_TRUE(AwaitWaiters(&word, 2, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(Futex2(&word, FUTEX_REQUEUE_PRIVATE, 0, kAll, &word), 2);
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, kAll), 2);
  ASSERT_TRUE(waiters.AwaitDone(2));
  EXPECT_EQ(waiters.Woken(), 2);
}

TEST(FutexRequeueTest, ARequeuedWaiterTimesOutOfItsNewQueue) {
  Watchdog watchdog;
  uint32_t from = 0, to = 0;
  WaiterThreads waiters([&] {
    Futex(&from, FUTEX_WAKE_PRIVATE, kAll);
    Futex(&to, FUTEX_WAKE_PRIVATE, kAll);
  });
  waiters.Start([&] {
    struct timespec timeout = FromNs(100 * kMs);
    return Futex(&from, FUTEX_WAIT_PRIVATE, 0, &timeout);
  });
  ASSERT_TRUE(AwaitWaiters(&from, 1, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(Futex2(&from, FUTEX_REQUEUE_PRIVATE, 0, kAll, &to), 1);
  // Nobody wakes `to`: the timeout still applies, and the waiter leaves.
  ASSERT_TRUE(waiters.AwaitDone(1));
  EXPECT_EQ(waiters.Result(0), -ETIMEDOUT);
  EXPECT_EQ(Futex(&to, FUTEX_WAKE_PRIVATE, kAll), 0);
  EXPECT_EQ(Futex(&from, FUTEX_WAKE_PRIVATE, kAll), 0);
}

// FUTEX_WAKE_OP on words nobody waits on: the operation on the second word.
TEST(FutexWakeOpTest, OperationsUpdateTheSecondWord) {
  struct Case {
    int op;
    int oparg;
    uint32_t before;
    uint32_t after;
  };
  const Case cases[] = {
      {FUTEX_OP_SET, 5, 3, 5},
      {FUTEX_OP_ADD, 5, 3, 8},
      {FUTEX_OP_ADD, -1, 3, 2},  // oparg is a signed 12-bit field
      {FUTEX_OP_SET, -1, 3, 0xffffffffu},
      {FUTEX_OP_OR, 0x10, 3, 0x13},
      {FUTEX_OP_ANDN, 1, 3, 2},
      {FUTEX_OP_XOR, 6, 3, 5},
      // FUTEX_OP_OPARG_SHIFT: the operand is 1 << oparg.
      {FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, 3, 16},
      {FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 31, 3, 0x80000003u},
      {FUTEX_OP_ANDN | FUTEX_OP_OPARG_SHIFT, 1, 3, 1},
  };
  for (const Case& c : cases) {
    uint32_t word1 = 0, word2 = c.before;
    EXPECT_EQ(Futex2(&word1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word2,
                     FUTEX_OP(c.op, c.oparg, FUTEX_OP_CMP_EQ, 0)),
              0)
        << "op " << c.op << " oparg " << c.oparg;
    EXPECT_EQ(word2, c.after) << "op " << c.op << " oparg " << c.oparg;
    EXPECT_EQ(word1, 0u);
  }
}

TEST(FutexWakeOpTest, TheOldValueDecidesWhetherTheSecondFutexWakes) {
  Watchdog watchdog;
  uint32_t word1 = 0, word2 = 0;
  // As FUTEX_WAKE, a count of 0 would still wake one waiter: where the first
  // futex must not wake, `idle` (nobody waits on it) stands first.
  uint32_t idle = 0;
  WaiterThreads waiters([&] {
    Futex(&word1, FUTEX_WAKE_PRIVATE, kAll);
    Futex(&word2, FUTEX_WAKE_PRIVATE, kAll);
  });
  waiters.Start([&] { return Futex(&word1, FUTEX_WAIT_PRIVATE, 0); });
  for (int i = 0; i < 3; i++) {
    waiters.Start([&] { return Futex(&word2, FUTEX_WAIT_PRIVATE, 0); });
  }
  ASSERT_TRUE(AwaitWaiters(&word1, 1, FUTEX_PRIVATE_FLAG));
  ASSERT_TRUE(AwaitWaiters(&word2, 3, FUTEX_PRIVATE_FLAG));
  auto wake_op = [&](uint32_t* first, int nr1, int nr2, uint32_t op) {
    return Futex2(first, FUTEX_WAKE_OP_PRIVATE, nr1, nr2, &word2, op);
  };
  // Old value 0 is not 1: nobody wakes, the word is set all the same.
  EXPECT_EQ(wake_op(&idle, 1, 1, FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 1)),
            0);
  EXPECT_EQ(Load(&word2), 7u);
  // Old value 7 is 7: one waiter on the second futex wakes.
  EXPECT_EQ(wake_op(&idle, 1, 1, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 7)),
            1);
  EXPECT_EQ(Load(&word2), 8u);
  ASSERT_TRUE(waiters.AwaitDone(1));
  ASSERT_TRUE(AwaitWaiters(&word2, 2, FUTEX_PRIVATE_FLAG));
  // The old value (8) is compared, not the new one (100): no wake.
  EXPECT_EQ(
      wake_op(&idle, 1, kAll, FUTEX_OP(FUTEX_OP_SET, 100, FUTEX_OP_CMP_GT, 50)),
      0);
  EXPECT_EQ(Load(&word2), 100u);
  // The first futex's waiters wake whatever the comparison says.
  EXPECT_EQ(wake_op(&word1, 1, kAll,
                    FUTEX_OP(FUTEX_OP_SET, -1, FUTEX_OP_CMP_LT, 100)),
            1);
  EXPECT_EQ(Load(&word2), 0xffffffffu);
  ASSERT_TRUE(waiters.AwaitDone(2));
  EXPECT_EQ(waiters.Result(0), 0);
  ASSERT_TRUE(AwaitWaiters(&word2, 2, FUTEX_PRIVATE_FLAG));
  // The comparison is signed: -1 < 0.
  EXPECT_EQ(wake_op(&idle, 1, 1, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_LT, 0)),
            1);
  EXPECT_EQ(Load(&word2), 0u);
  ASSERT_TRUE(waiters.AwaitDone(3));
  ASSERT_TRUE(AwaitWaiters(&word2, 1, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(
      wake_op(&idle, kAll, kAll, FUTEX_OP(FUTEX_OP_OR, 0, FUTEX_OP_CMP_LE, 0)),
      1);
  ASSERT_TRUE(waiters.AwaitDone(4));
  EXPECT_EQ(waiters.Woken(), 4);
}

TEST(FutexWakeOpTest, Errors) {
  uint32_t word1 = 0, word2 = 5;
  // An unknown operation: nothing is changed.
  EXPECT_ERRNO(Futex2(&word1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word2,
                      FUTEX_OP(6, 9, FUTEX_OP_CMP_EQ, 0)),
               ENOSYS);
  EXPECT_EQ(word2, 5u);
  // An unknown comparison: Linux has already applied the operation.
  EXPECT_ERRNO(Futex2(&word1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word2,
                      FUTEX_OP(FUTEX_OP_SET, 9, 6, 0)),
               ENOSYS);
  EXPECT_EQ(word2, 9u);
  // The second word must be aligned and mapped.
  EXPECT_ERRNO(Futex2(&word1, FUTEX_WAKE_OP_PRIVATE, 1, 1,
                      reinterpret_cast<char*>(&word2) + 1,
                      FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)),
               EINVAL);
  EXPECT_ERRNO(
      Futex2(&word1, FUTEX_WAKE_OP_PRIVATE, 1, 1, reinterpret_cast<void*>(4096),
             FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)),
      EFAULT);
  EXPECT_EQ(word1, 0u);
}

TEST(FutexBitsetTest, WakeBitsetSelectsWaitersByTheirBits) {
  Watchdog watchdog;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  for (int i = 0; i < 3; i++) {
    waiters.Start([&word, i] {
      return Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, nullptr,
                   1u << i);
    });
  }
  // Only waiter 1 has bit 1: however many wakes it takes until one finds
  // it queued, nobody else returns.
  ASSERT_TRUE(Eventually([&] {
    return Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, kAll, nullptr, nullptr,
                 0x2) != 0;
  }));
  ASSERT_TRUE(waiters.AwaitDone(1));
  EXPECT_EQ(waiters.Result(1), 0);
  ASSERT_TRUE(AwaitWaiters(&word, 2, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(waiters.Result(0), WaiterThreads::kPending);
  EXPECT_EQ(waiters.Result(2), WaiterThreads::kPending);
  // No bit in common: no wake.
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, kAll, nullptr, nullptr,
                  0xfffffff8u),
            0);
  // Bits 0 and 2 match both; the count still limits.
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, nullptr, nullptr, 0x5),
            1);
  ASSERT_TRUE(waiters.AwaitDone(2));
  ASSERT_TRUE(AwaitWaiters(&word, 1, FUTEX_PRIVATE_FLAG));
  // Plain FUTEX_WAKE matches any bitset.
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, kAll), 1);
  ASSERT_TRUE(waiters.AwaitDone(3));
  EXPECT_EQ(waiters.Woken(), 3);
}

TEST(FutexBitsetTest, PlainWaitIsWokenByAnyBitset) {
  Watchdog watchdog;
  uint32_t word = 0;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  waiters.Start([&] { return Futex(&word, FUTEX_WAIT_PRIVATE, 0); });
  ASSERT_TRUE(AwaitWaiters(&word, 1, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_BITSET_PRIVATE, kAll, nullptr, nullptr,
                  0x80000000u),
            1);
  ASSERT_TRUE(waiters.AwaitDone(1));
  EXPECT_EQ(waiters.Result(0), 0);
}

TEST(FutexTimeoutTest, TimedWaitsOnEitherClockEndEarlyWhenWoken) {
  Watchdog watchdog;
  uint32_t word = 0;
  constexpr int64_t kFar = 10000 * kMs;
  WaiterThreads waiters([&] { Futex(&word, FUTEX_WAKE_PRIVATE, kAll); });
  int64_t start = NowNs(CLOCK_MONOTONIC);
  waiters.Start([&] {
    struct timespec relative = FromNs(kFar);
    return Futex(&word, FUTEX_WAIT_PRIVATE, 0, &relative);
  });
  waiters.Start([&] {
    struct timespec deadline = FromNs(NowNs(CLOCK_MONOTONIC) + kFar);
    return Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &deadline, nullptr,
                 FUTEX_BITSET_MATCH_ANY);
  });
  waiters.Start([&] {
    struct timespec deadline = FromNs(NowNs(CLOCK_REALTIME) + kFar);
    return Futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
                 &deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
  });
  ASSERT_TRUE(AwaitWaiters(&word, 3, FUTEX_PRIVATE_FLAG));
  ASSERT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, kAll), 3);
  ASSERT_TRUE(waiters.AwaitDone(3));
  for (int i = 0; i < 3; i++) EXPECT_EQ(waiters.Result(i), 0) << "waiter " << i;
  EXPECT_LT(NowNs(CLOCK_MONOTONIC) - start, kFar);
}

// Private and shared futexes are different keys, even on the same word: a
// wake reaches only waiters that used the same kind. Linux marks the shared
// key of a private page as such (FUT_OFF_MMSHARED), so this holds for private
// memory too.
void CheckPrivateAndSharedDoNotMeet(uint32_t* word) {
  Watchdog watchdog;
  WaiterThreads waiters([&] {
    Futex(word, FUTEX_WAKE_PRIVATE, kAll);
    Futex(word, FUTEX_WAKE, kAll);
  });
  waiters.Start([&] { return Futex(word, FUTEX_WAIT_PRIVATE, 0); });
  ASSERT_TRUE(AwaitWaiters(word, 1, FUTEX_PRIVATE_FLAG));
  EXPECT_EQ(Futex(word, FUTEX_WAKE, kAll), 0);
  ASSERT_EQ(Futex(word, FUTEX_WAKE_PRIVATE, kAll), 1);
  ASSERT_TRUE(waiters.AwaitDone(1));
  waiters.Start([&] { return Futex(word, FUTEX_WAIT, 0); });
  ASSERT_TRUE(AwaitWaiters(word, 1, 0));
  EXPECT_EQ(Futex(word, FUTEX_WAKE_PRIVATE, kAll), 0);
  ASSERT_EQ(Futex(word, FUTEX_WAKE, kAll), 1);
  ASSERT_TRUE(waiters.AwaitDone(2));
  EXPECT_EQ(waiters.Woken(), 2);
}

TEST(FutexSharedTest, PrivateAndSharedOpsDoNotMeetInPrivateMemory) {
  uint32_t word = 0;
  CheckPrivateAndSharedDoNotMeet(&word);
}

TEST(FutexSharedTest, PrivateAndSharedOpsDoNotMeetInSharedMemory) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  CheckPrivateAndSharedDoNotMeet(page.at<uint32_t>(0));
}

TEST(FutexSharedTest, SharedFutexIsKeyedByThePageNotTheAddress) {
  Watchdog watchdog;
  testing_util::TempPath dir;
  std::string path = dir / "page";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_OK(ftruncate(fd, 4096));
  void* a = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* b = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(a, MAP_FAILED);
  ASSERT_NE(b, MAP_FAILED);
  ASSERT_NE(a, b);
  uint32_t* wa = static_cast<uint32_t*>(a) + 8;
  uint32_t* wb = static_cast<uint32_t*>(b) + 8;
  {
    WaiterThreads waiters([&] { Futex(wa, FUTEX_WAKE, kAll); });
    waiters.Start([&] { return Futex(wa, FUTEX_WAIT, 0); });
    // Counted and woken through the other mapping.
    ASSERT_TRUE(AwaitWaiters(wb, 1, 0));
    // A private wake goes by the address: it does not reach it.
    EXPECT_EQ(Futex(wb, FUTEX_WAKE_PRIVATE, kAll), 0);
    ASSERT_EQ(Futex(wb, FUTEX_WAKE, kAll), 1);
    ASSERT_TRUE(waiters.AwaitDone(1));
    EXPECT_EQ(waiters.Result(0), 0);
  }
  munmap(a, 4096);
  munmap(b, 4096);
}

TEST(FutexSharedTest, SharedFutexWakesAWaiterInAForkedChild) {
  Watchdog watchdog;
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.at<uint32_t>(0);
  pid_t pid =
      ForkChild([&] { return Futex(word, FUTEX_WAIT, 0) == 0 ? 0 : 1; });
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(AwaitWaiters(word, 1, 0));
  EXPECT_EQ(Futex(word, FUTEX_WAKE, kAll), 1);
  EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(FutexSharedTest, AForkedChildWakesASharedFutex) {
  Watchdog watchdog;
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.at<uint32_t>(0);
  pid_t pid = ForkChild([&] {
    if (!AwaitWaiters(word, 1, 0)) return 1;
    return Futex(word, FUTEX_WAKE, kAll) == 1 ? 0 : 2;
  });
  ASSERT_GT(pid, 0);
  struct timespec timeout = FromNs(kPatienceNs);
  EXPECT_EQ(Futex(word, FUTEX_WAIT, 0, &timeout), 0) << strerror(errno);
  EXPECT_EQ(WaitStatus(pid), 0);
}

TEST(FutexSharedTest, PrivateFutexInSharedMemoryStaysInItsProcess) {
  Watchdog watchdog;
  SharedPage page;
  ASSERT_TRUE(page.ok());
  uint32_t* word = page.at<uint32_t>(0);
  uint32_t* step = page.at<uint32_t>(64);  // 1: child's waiter queued
  pid_t pid = ForkChild([&] {
    // A thread of the child waits on the word with FUTEX_PRIVATE_FLAG.
    std::atomic<long> result{WaiterThreads::kPending};
    std::thread waiter(
        [&] { result.store(Futex(word, FUTEX_WAIT_PRIVATE, 0)); });
    int rc = 0;
    if (!AwaitWaiters(word, 1, FUTEX_PRIVATE_FLAG)) rc = 1;
    Store(step, 1);
    Futex(step, FUTEX_WAKE, kAll);
    // The parent's wakes, private or shared, have not reached it.
    while (rc == 0 && Load(step) == 1) Futex(step, FUTEX_WAIT, 1);
    if (rc == 0 && !AwaitWaiters(word, 1, FUTEX_PRIVATE_FLAG)) rc = 2;
    if (Futex(word, FUTEX_WAKE_PRIVATE, kAll) != 1 && rc == 0) rc = 3;
    waiter.join();
    if (result.load() != 0 && rc == 0) rc = 4;
    return rc;
  });
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Eventually([&] { return Load(step) != 0; }));
  EXPECT_EQ(Futex(word, FUTEX_WAKE_PRIVATE, kAll), 0);
  EXPECT_EQ(Futex(word, FUTEX_WAKE, kAll), 0);
  Store(step, 2);
  Futex(step, FUTEX_WAKE, kAll);
  EXPECT_EQ(WaitStatus(pid), 0);
}

// The lock word of a glibc mutex (its first member, __data.__lock).
uint32_t* LockWord(pthread_mutex_t* m) {
  return reinterpret_cast<uint32_t*>(&m->__data.__lock);
}

// A robust mutex (PTHREAD_MUTEX_ROBUST), process-shared if asked.
void InitRobustMutex(pthread_mutex_t* m, bool pshared) {
  pthread_mutexattr_t attr;
  ASSERT_EQ(pthread_mutexattr_init(&attr), 0);
  ASSERT_EQ(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), 0);
  if (pshared) {
    ASSERT_EQ(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), 0);
  }
  ASSERT_EQ(pthread_mutex_init(m, &attr), 0);
  pthread_mutexattr_destroy(&attr);
}

// After EOWNERDEAD: the mutex is held, and usable once made consistent.
void ExpectRecoverable(pthread_mutex_t* m) {
  EXPECT_EQ(pthread_mutex_consistent(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  EXPECT_EQ(pthread_mutex_lock(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
}

TEST(FutexRobustTest, MutexOfAThreadThatExitedIsEOWNERDEAD) {
  Watchdog watchdog;
  pthread_mutex_t m;
  InitRobustMutex(&m, false);
  std::thread t([&] { ASSERT_EQ(pthread_mutex_lock(&m), 0); });
  t.join();
  // The kernel, walking the dead thread's robust list, marked the word.
  EXPECT_EQ(Load(LockWord(&m)) & FUTEX_OWNER_DIED, FUTEX_OWNER_DIED);
  EXPECT_EQ(pthread_mutex_lock(&m), EOWNERDEAD);
  ExpectRecoverable(&m);
  pthread_mutex_destroy(&m);
}

TEST(FutexRobustTest, BlockedLockerGetsEOWNERDEADWhenTheOwnerExits) {
  Watchdog watchdog;
  pthread_mutex_t m;
  InitRobustMutex(&m, false);
  uint32_t locked = 0;
  std::atomic<bool> saw_waiter{false};
  std::thread t([&] {
    EXPECT_EQ(pthread_mutex_lock(&m), 0);
    Store(&locked, 1);
    Futex(&locked, FUTEX_WAKE_PRIVATE, kAll);
    // Exit holding it once the main thread sleeps on it. glibc waits on a
    // robust mutex with a shared futex: the kernel wakes it that way.
    saw_waiter.store(AwaitWaiters(LockWord(&m), 1, 0));
  });
  while (Load(&locked) == 0) Futex(&locked, FUTEX_WAIT_PRIVATE, 0);
  EXPECT_EQ(pthread_mutex_lock(&m), EOWNERDEAD);
  t.join();
  EXPECT_TRUE(saw_waiter.load());
  ExpectRecoverable(&m);
  pthread_mutex_destroy(&m);
}

TEST(FutexRobustTest, SharedMutexOfAProcessThatExitedIsEOWNERDEAD) {
  Watchdog watchdog;
  SharedPage page;
  ASSERT_TRUE(page.ok());
  pthread_mutex_t* m = page.at<pthread_mutex_t>(0);
  InitRobustMutex(m, true);
  pid_t pid = ForkChild([&] {
    if (pthread_mutex_lock(m) != 0) return 1;
    _exit(0);  // holding it
    return 0;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitStatus(pid), 0);
  EXPECT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
  ExpectRecoverable(m);

  // Again with this process asleep on the mutex when the child exits.
  uint32_t* locked = page.at<uint32_t>(2048);
  pid = ForkChild([&] {
    if (pthread_mutex_lock(m) != 0) return 1;
    Store(locked, 1);
    Futex(locked, FUTEX_WAKE, kAll);
    _exit(AwaitWaiters(LockWord(m), 1, 0) ? 0 : 2);
    return 0;
  });
  ASSERT_GT(pid, 0);
  while (Load(locked) == 0) Futex(locked, FUTEX_WAIT, 0);
  EXPECT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
  EXPECT_EQ(WaitStatus(pid), 0);
  ExpectRecoverable(m);
  pthread_mutex_destroy(m);
}

// An entry of a raw robust list: the list link, then the futex word.
struct RobustLock {
  struct robust_list list;
  uint32_t word;
};

struct RobustListState {
  struct robust_list_head head = {};
  RobustLock held = {};     // on the list, owned by the thread
  RobustLock foreign = {};  // on the list, but another tid owns it
  RobustLock pending = {};  // list_op_pending, owned by the thread
  uint32_t tid = 0;
  std::atomic<bool> saw_waiter{false};
};

TEST(FutexRobustTest, RawListMarksOwnerDiedAndWakesAWaiter) {
  Watchdog watchdog;
  RobustListState s;
  s.head.list.next = &s.held.list;
  s.held.list.next = &s.foreign.list;
  s.foreign.list.next = &s.head.list;
  s.head.futex_offset = offsetof(RobustLock, word);
  s.head.list_op_pending = &s.pending.list;
  const uint32_t foreign_owner = static_cast<uint32_t>(getpid());
  s.foreign.word = foreign_owner;
  std::thread t([&] {
    uint32_t tid = static_cast<uint32_t>(gettid());
    s.held.word = tid;
    s.pending.word = tid;
    EXPECT_EQ(syscall(SYS_set_robust_list, &s.head, sizeof(s.head)), 0);
    Store(&s.tid, tid);
    Futex(&s.tid, FUTEX_WAKE_PRIVATE, kAll);
    // Exit once the main thread waits on the held lock.
    s.saw_waiter.store(AwaitWaiters(&s.held.word, 1, 0));
  });
  while (Load(&s.tid) == 0) Futex(&s.tid, FUTEX_WAIT_PRIVATE, 0);
  const uint32_t tid = Load(&s.tid);
  // Announce a waiter as a locker would, then sleep (shared: the kernel's
  // wake at exit is a shared one).
  uint32_t expected = tid;
  ASSERT_TRUE(__atomic_compare_exchange_n(&s.held.word, &expected,
                                          tid | FUTEX_WAITERS, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  struct timespec timeout = FromNs(kPatienceNs);
  long r = Futex(&s.held.word, FUTEX_WAIT, tid | FUTEX_WAITERS, &timeout);
  EXPECT_EQ(r, 0) << strerror(errno);
  t.join();
  EXPECT_TRUE(s.saw_waiter.load());
  // The owner's tid is gone, FUTEX_WAITERS kept, FUTEX_OWNER_DIED set.
  EXPECT_EQ(Load(&s.held.word), FUTEX_OWNER_DIED | FUTEX_WAITERS);
  EXPECT_EQ(Load(&s.pending.word), FUTEX_OWNER_DIED);
  EXPECT_EQ(Load(&s.foreign.word), foreign_owner);
}

TEST(FutexRobustTest, PendingUnlockedFutexWakesAWaiterAtExit) {
  // A thread that released a lock (word 0) and died before it could wake a
  // waiter, with the lock still list_op_pending: Linux wakes one waiter for
  // it, so that the waiter does not sleep forever.
  Watchdog watchdog;
  RobustListState s;
  s.head.list.next = &s.head.list;  // empty
  s.head.futex_offset = offsetof(RobustLock, word);
  s.head.list_op_pending = &s.pending.list;
  s.pending.word = 0;
  std::thread t([&] {
    EXPECT_EQ(syscall(SYS_set_robust_list, &s.head, sizeof(s.head)), 0);
    s.saw_waiter.store(AwaitWaiters(&s.pending.word, 1, 0));
  });
  struct timespec timeout = FromNs(3000 * kMs);
  long r = Futex(&s.pending.word, FUTEX_WAIT, 0, &timeout);
  EXPECT_EQ(r, 0) << strerror(errno);
  t.join();
  EXPECT_TRUE(s.saw_waiter.load());
  EXPECT_EQ(Load(&s.pending.word), 0u);
}

TEST(FutexRobustTest, GetRobustListReturnsWhatEachThreadSet) {
  Watchdog watchdog;
  struct robust_list_head head = {};
  head.list.next = &head.list;
  uint32_t tid = 0, done = 0;
  std::atomic<bool> own_ok{false};
  std::thread t([&] {
    EXPECT_EQ(syscall(SYS_set_robust_list, &head, sizeof(head)), 0);
    void* got = nullptr;
    size_t len = 0;
    EXPECT_EQ(syscall(SYS_get_robust_list, 0, &got, &len), 0);
    own_ok.store(got == &head && len == sizeof(head));
    Store(&tid, static_cast<uint32_t>(gettid()));
    Futex(&tid, FUTEX_WAKE_PRIVATE, kAll);
    while (Load(&done) == 0) Futex(&done, FUTEX_WAIT_PRIVATE, 0);
  });
  while (Load(&tid) == 0) Futex(&tid, FUTEX_WAIT_PRIVATE, 0);
  EXPECT_TRUE(own_ok.load());
  // Another thread's, by tid.
  void* got = nullptr;
  size_t len = 0;
  EXPECT_EQ(syscall(SYS_get_robust_list, Load(&tid), &got, &len), 0);
  EXPECT_EQ(got, &head);
  EXPECT_EQ(len, sizeof(head));
  // This thread's own is still glibc's.
  ASSERT_EQ(syscall(SYS_get_robust_list, 0, &got, &len), 0);
  EXPECT_NE(got, nullptr);
  EXPECT_NE(got, &head);
  Store(&done, 1);
  Futex(&done, FUTEX_WAKE_PRIVATE, kAll);
  t.join();
  // No such task.
  EXPECT_ERRNO(syscall(SYS_get_robust_list, INT_MAX, &got, &len), ESRCH);
}

// The top of a stack for a raw clone(2) thread, or null. Never freed: the
// thread may outlive a test that failed early.
void* NewCloneStack() {
  constexpr size_t kSize = 256 * 1024;
  void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p) + kSize;
}

// A thread of this process that glibc does not know about; it shares our
// TLS, so it makes only raw system calls and allocates nothing.
constexpr int kRawThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES |
                                CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

struct RawThreadState {
  uint32_t word = 0;   // the clear-child-tid word
  uint32_t ok = 0;     // the thread saw what it expected
  void* robust = &ok;  // what get_robust_list said
  size_t robust_len = 0;
};

int ExitWhenWaitedFor(void* arg) {
  auto* s = static_cast<RawThreadState*>(arg);
  syscall(SYS_get_robust_list, 0, &s->robust, &s->robust_len);
  Store(&s->ok, AwaitWaiters(&s->word, 1, 0) ? 1 : 2);
  return 0;
}

// Runs ExitWhenWaitedFor in a raw thread made with CLONE_CHILD_SETTID and
// CLONE_CHILD_CLEARTID on s->word, and sleeps on that word until the
// thread's exit clears it. Returns the result of the FUTEX_WAIT.
long RunRawThreadToItsExit(RawThreadState* s) {
  void* stack = NewCloneStack();
  EXPECT_NE(stack, nullptr);
  if (stack == nullptr) return -2;
  int tid = clone(ExitWhenWaitedFor, stack,
                  kRawThreadFlags | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID,
                  s, nullptr, nullptr, &s->word);
  EXPECT_GT(tid, 0) << strerror(errno);
  if (tid <= 0) return -2;
  // CLONE_CHILD_SETTID stores the tid as the thread starts; the thread
  // exits once we sleep on it, which zeroes it and wakes us (a shared
  // FUTEX_WAKE, as glibc's pthread_join expects).
  EXPECT_TRUE(
      Eventually([&] { return Load(&s->word) == static_cast<uint32_t>(tid); }));
  struct timespec timeout = FromNs(kPatienceNs);
  return Futex(&s->word, FUTEX_WAIT, static_cast<uint32_t>(tid), &timeout);
}

TEST(FutexClearTidTest, CloneChildCleartidZeroesAndWakesAtThreadExit) {
  Watchdog watchdog;
  // Never freed, as the thread's stack: it may outlive a failed test.
  RawThreadState& s = *new RawThreadState;
  long r = RunRawThreadToItsExit(&s);
  EXPECT_EQ(r, 0) << strerror(errno);
  EXPECT_EQ(Load(&s.word), 0u);
  EXPECT_EQ(Load(&s.ok), 1u);
}

TEST(FutexRobustTest, ANewThreadStartsWithoutARobustList) {
  // clone(2) does not pass the creator's robust list on (glibc registers one
  // in each pthread it starts): get_robust_list reports a null head, and, as
  // always, the size of struct robust_list_head.
  Watchdog watchdog;
  RawThreadState& s = *new RawThreadState;
  ASSERT_EQ(RunRawThreadToItsExit(&s), 0) << strerror(errno);
  EXPECT_EQ(s.robust, nullptr);
  EXPECT_EQ(s.robust_len, sizeof(struct robust_list_head));
}

int SetTidAddressAndExitWhenWaitedFor(void* arg) {
  auto* s = static_cast<RawThreadState*>(arg);
  long tid = syscall(SYS_set_tid_address, &s->word);
  Store(&s->word, static_cast<uint32_t>(tid));
  Store(&s->ok, AwaitWaiters(&s->word, 1, 0) ? 1 : 2);
  return 0;
}

TEST(FutexClearTidTest, SetTidAddressZeroesAndWakesAtThreadExit) {
  Watchdog watchdog;
  void* stack = NewCloneStack();
  ASSERT_NE(stack, nullptr);
  // Never freed, as the thread's stack: it may outlive a failed test.
  RawThreadState& s = *new RawThreadState;
  int tid =
      clone(SetTidAddressAndExitWhenWaitedFor, stack, kRawThreadFlags, &s);
  ASSERT_GT(tid, 0) << strerror(errno);
  // Wait until the thread has stored its tid, then until it exits.
  struct timespec timeout = FromNs(kPatienceNs);
  ASSERT_TRUE(Eventually([&] { return Load(&s.word) != 0; }));
  EXPECT_EQ(Load(&s.word), static_cast<uint32_t>(tid));
  long r = Futex(&s.word, FUTEX_WAIT, static_cast<uint32_t>(tid), &timeout);
  EXPECT_EQ(r, 0) << strerror(errno);
  EXPECT_EQ(Load(&s.word), 0u);
  EXPECT_EQ(Load(&s.ok), 1u);
}

TEST(FutexClearTidTest, PthreadJoinWaitsForTheThreadToExit) {
  // pthread_join sleeps on the tid word that CLONE_CHILD_CLEARTID clears:
  // not before the thread exits, and then surely.
  Watchdog watchdog;
  uint32_t go = 0;
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, nullptr,
                [](void* arg) -> void* {
                  auto* go = static_cast<uint32_t*>(arg);
                  while (Load(go) == 0) Futex(go, FUTEX_WAIT_PRIVATE, 0);
                  return arg;
                },
                &go),
            0);
  EXPECT_EQ(pthread_tryjoin_np(thread, nullptr), EBUSY);
  Store(&go, 1);
  Futex(&go, FUTEX_WAKE_PRIVATE, kAll);
  void* ret = nullptr;
  EXPECT_EQ(pthread_join(thread, &ret), 0);
  EXPECT_EQ(ret, &go);
}

}  // namespace
