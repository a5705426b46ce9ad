// Helpers for signal tests: the kernel's 64-bit signal sets, scoped actions
// and masks, and a thread that keeps signalling another.

#ifndef TEST_UTIL_SIGNAL_UTIL_H_
#define TEST_UTIL_SIGNAL_UTIL_H_

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <initializer_list>
#include <thread>

namespace testing_util {

// The size of the kernel's sigset_t on x86-64 (glibc's is larger): the
// sigsetsize argument of the rt_sig* system calls.
constexpr size_t kKernelSigsetSize = 8;

// The kernel's struct sigaction, for rt_sigaction(2).
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};

// The bit of signal `sig` in a kernel signal set.
constexpr uint64_t SigBit(int sig) { return uint64_t{1} << (sig - 1); }

// The calling thread's id.
pid_t Gettid();

// Sends `sig` to the calling thread with tgkill(2).
void RaiseToSelf(int sig);

// The calling thread's signal mask, read with rt_sigprocmask(2).
uint64_t CurrentMask();

// The signals pending for the calling thread or its process, read with
// rt_sigpending(2).
uint64_t PendingMask();

// Dequeues every pending instance of the signals in `sigs` (which should be
// blocked) with rt_sigtimedwait(2).
void Drain(std::initializer_list<int> sigs);

// Applies `how` (SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK) with the signals in
// `sigs` to the calling thread's mask through rt_sigprocmask(2); returns
// what the system call returns.
long ChangeMask(int how, std::initializer_list<int> sigs);

// rt_sigtimedwait(2) for the signals in the kernel set `set`.
long RtSigtimedwait(uint64_t set, siginfo_t* info,
                    const struct timespec* timeout);

// Puts `sig` back to its default action and unblocks it for the calling
// thread (in a child, whose parent's harness may have set them otherwise).
void DefaultAndUnblock(int sig);

// Installs an action for `sig` and restores the previous one when
// destroyed.
class ScopedAction {
 public:
  // An SA_SIGINFO handler, with `flags` and the signals in `mask` blocked
  // while it runs.
  ScopedAction(int sig, void (*action)(int, siginfo_t*, void*), int flags = 0,
               std::initializer_list<int> mask = {});
  // SIG_DFL or SIG_IGN.
  ScopedAction(int sig, void (*disposition)(int));
  ~ScopedAction();
  ScopedAction(const ScopedAction&) = delete;
  ScopedAction& operator=(const ScopedAction&) = delete;

 private:
  int sig_;
  struct sigaction old_ = {};
};

// Changes the calling thread's signal mask with rt_sigprocmask(2) (`how` is
// SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK) and restores it when destroyed.
class ScopedMask {
 public:
  ScopedMask(int how, std::initializer_list<int> sigs);
  ~ScopedMask();
  ScopedMask(const ScopedMask&) = delete;
  ScopedMask& operator=(const ScopedMask&) = delete;
  // The mask before.
  uint64_t old() const { return old_; }

 private:
  uint64_t old_ = 0;
};

// Sends `sig` to the thread that created it every 5 ms until destroyed, so
// that the signal arrives while that thread is blocked no matter when it
// blocks.
class Interrupter {
 public:
  explicit Interrupter(int sig);
  ~Interrupter();
  Interrupter(const Interrupter&) = delete;
  Interrupter& operator=(const Interrupter&) = delete;

 private:
  pid_t tid_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace testing_util

#endif  // TEST_UTIL_SIGNAL_UTIL_H_
