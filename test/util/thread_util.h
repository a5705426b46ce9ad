// Helpers for tests that use threads: a watchdog for blocking steps, a
// thread that acts after a delay, and an idle thread to direct signals at.

#ifndef TEST_UTIL_THREAD_UTIL_H_
#define TEST_UTIL_THREAD_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace testing_util {

// Ends the test program (exit 124, with a message) if it is not destroyed
// within `seconds`: guards a blocking step of a test that might never
// complete.
class Watchdog {
 public:
  explicit Watchdog(int seconds = 30);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// Starts a thread that sleeps `delay_ms` milliseconds and then runs `fn`
// (typically to wake the caller from a blocking call); join it.
std::thread RunLater(int delay_ms, std::function<void()> fn);

// A thread that runs `setup`, publishes its tid and then idles (sleeping in
// 1 ms steps) until destroyed; the destructor stops and joins it.
class IdleThread {
 public:
  explicit IdleThread(std::function<void()> setup = nullptr);
  ~IdleThread();
  IdleThread(const IdleThread&) = delete;
  IdleThread& operator=(const IdleThread&) = delete;
  // The thread's id once it has run `setup`, 0 before.
  pid_t tid() const { return tid_.load(); }
  // Stops and joins the thread now.
  void Stop();

 private:
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace testing_util

#endif  // TEST_UTIL_THREAD_UTIL_H_
