#include "test/util/time_util.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace testing_util {

int64_t NowNs(clockid_t clock) {
  struct timespec ts = {};
  clock_gettime(clock, &ts);
  return ToNs(ts);
}

struct timespec FromNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kSec);
  ts.tv_nsec = static_cast<long>(ns % kSec);
  return ts;
}

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * kSec + ts.tv_nsec;
}

int64_t ToNs(const struct timeval& tv) {
  return static_cast<int64_t>(tv.tv_sec) * kSec + tv.tv_usec * kUs;
}

void SleepMs(int ms) {
  struct timespec ts = FromNs(ms * kMs);
  while (syscall(SYS_nanosleep, &ts, &ts) == -1 && errno == EINTR) {
  }
}

bool WaitFor(const std::function<bool()>& pred) {
  int64_t deadline = NowNs() + 10 * kSec;
  while (!pred()) {
    if (NowNs() > deadline) return false;
    usleep(1000);
  }
  return true;
}

}  // namespace testing_util
