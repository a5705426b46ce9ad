// Helpers for tests that measure or wait: time units, conversions between
// nanoseconds and struct timespec/timeval, the monotonic clock, and sleeps.

#ifndef TEST_UTIL_TIME_UTIL_H_
#define TEST_UTIL_TIME_UTIL_H_

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include <functional>

namespace testing_util {

// Nanoseconds in a microsecond, a millisecond and a second.
constexpr int64_t kUs = 1000;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kSec = 1000 * kMs;

// Reads `clock` with clock_gettime(3) (through the vDSO where it has one),
// in nanoseconds.
int64_t NowNs(clockid_t clock = CLOCK_MONOTONIC);

// A struct timespec holding `ns` nanoseconds (`ns` >= 0).
struct timespec FromNs(int64_t ns);

// The nanoseconds in a struct timespec or struct timeval.
int64_t ToNs(const struct timespec& ts);
int64_t ToNs(const struct timeval& tv);

// Sleeps `ms` milliseconds with the raw nanosleep(2), resuming after
// signal handlers. Safe in a vfork(2) child.
void SleepMs(int ms);

// Polls `pred` every millisecond until it holds (true) or 10 s have passed
// (false).
bool WaitFor(const std::function<bool()>& pred);

}  // namespace testing_util

#endif  // TEST_UTIL_TIME_UTIL_H_
