#include "test/util/signal_util.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace testing_util {

namespace {

// The kernel signal set holding `sigs`.
uint64_t SetOf(std::initializer_list<int> sigs) {
  uint64_t set = 0;
  for (int s : sigs) set |= SigBit(s);
  return set;
}

}  // namespace

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

void RaiseToSelf(int sig) { syscall(SYS_tgkill, getpid(), Gettid(), sig); }

uint64_t CurrentMask() {
  uint64_t mask = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask, kKernelSigsetSize);
  return mask;
}

uint64_t PendingMask() {
  uint64_t set = 0;
  syscall(SYS_rt_sigpending, &set, kKernelSigsetSize);
  return set;
}

long RtSigtimedwait(uint64_t set, siginfo_t* info,
                    const struct timespec* timeout) {
  return syscall(SYS_rt_sigtimedwait, &set, info, timeout, kKernelSigsetSize);
}

void Drain(std::initializer_list<int> sigs) {
  struct timespec zero = {0, 0};
  while (RtSigtimedwait(SetOf(sigs), nullptr, &zero) > 0) {
  }
}

long ChangeMask(int how, std::initializer_list<int> sigs) {
  uint64_t set = SetOf(sigs);
  return syscall(SYS_rt_sigprocmask, how, &set, nullptr, kKernelSigsetSize);
}

void DefaultAndUnblock(int sig) {
  signal(sig, SIG_DFL);
  ChangeMask(SIG_UNBLOCK, {sig});
}

ScopedAction::ScopedAction(int sig, void (*action)(int, siginfo_t*, void*),
                           int flags, std::initializer_list<int> mask)
    : sig_(sig) {
  struct sigaction act = {};
  act.sa_sigaction = action;
  act.sa_flags = flags | SA_SIGINFO;
  sigemptyset(&act.sa_mask);
  for (int s : mask) sigaddset(&act.sa_mask, s);
  EXPECT_EQ(sigaction(sig, &act, &old_), 0) << strerror(errno);
}

ScopedAction::ScopedAction(int sig, void (*disposition)(int)) : sig_(sig) {
  struct sigaction act = {};
  act.sa_handler = disposition;
  sigemptyset(&act.sa_mask);
  EXPECT_EQ(sigaction(sig, &act, &old_), 0) << strerror(errno);
}

ScopedAction::~ScopedAction() { sigaction(sig_, &old_, nullptr); }

ScopedMask::ScopedMask(int how, std::initializer_list<int> sigs) {
  uint64_t set = SetOf(sigs);
  EXPECT_EQ(syscall(SYS_rt_sigprocmask, how, &set, &old_, kKernelSigsetSize),
            0);
}

ScopedMask::~ScopedMask() {
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_, nullptr, kKernelSigsetSize);
}

Interrupter::Interrupter(int sig) : tid_(Gettid()) {
  thread_ = std::thread([this, sig] {
    while (!stop_) {
      syscall(SYS_tgkill, getpid(), tid_, sig);
      usleep(5000);
    }
  });
}

Interrupter::~Interrupter() {
  stop_ = true;
  thread_.join();
}

}  // namespace testing_util
