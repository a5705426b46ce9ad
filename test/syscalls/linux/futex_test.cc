// futex(2) without a second thread: FUTEX_WAIT's value check and timeouts,
// FUTEX_WAKE with nobody waiting, the bitset variants and their absolute
// deadlines, and argument errors.

#include <linux/futex.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

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

}  // namespace
