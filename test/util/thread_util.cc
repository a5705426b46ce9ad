#include "test/util/thread_util.h"

#include <stdio.h>
#include <unistd.h>

#include <chrono>

#include "test/util/signal_util.h"
#include "test/util/time_util.h"

namespace testing_util {

Watchdog::Watchdog(int seconds)
    : thread_([this, seconds] {
        std::unique_lock<std::mutex> l(mu_);
        if (!cv_.wait_for(l, std::chrono::seconds(seconds),
                          [this] { return done_; })) {
          fprintf(stderr, "watchdog: the test blocked for %d s\n", seconds);
          _exit(124);
        }
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::thread RunLater(int delay_ms, std::function<void()> fn) {
  return std::thread([delay_ms, fn = std::move(fn)] {
    SleepMs(delay_ms);
    fn();
  });
}

IdleThread::IdleThread(std::function<void()> setup)
    : thread_([this, setup = std::move(setup)] {
        if (setup) setup();
        tid_ = Gettid();
        while (!stop_) usleep(1000);
      }) {}

IdleThread::~IdleThread() { Stop(); }

void IdleThread::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace testing_util
