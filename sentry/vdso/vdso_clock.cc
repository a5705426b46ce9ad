// VdsoClock: calibrating the vDSO's TSC clock against the host's clocks and
// publishing it on the parameter page. See vdso_clock.h for the algorithm.

#include "sentry/vdso/vdso_clock.h"

#include <cpuid.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "glog/logging.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010  // Linux 5.1
#endif

namespace sentry::vdso {
namespace {

using uint128 = unsigned __int128;

// A sample whose TSC bracket is wider than this was interrupted (about
// 30-100 µs at 1-3 GHz); it is dropped and the clock runs on unchanged.
constexpr uint64_t kMaxSampleWindowTicks = 1 << 17;
// Same for the clock_gettime brackets of the offsets.
constexpr int64_t kMaxOffsetWindowNs = 20'000;
// Tries per sample; the tightest bracket wins.
constexpr int kSampleTries = 8;

int64_t HostNow(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The TSC, read after the instructions before and before those after: the
// host clock read between two of these happened between them.
uint64_t ReadTscOrdered() {
  uint32_t lo, hi;
  asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
  return (uint64_t{hi} << 32) | lo;
}

// The TSC after every earlier store is globally visible. A reader that
// validates the old parameters read its TSC before it could see the odd
// seq, hence before this read: see Publish.
uint64_t ReadTscAfterStores() {
  uint32_t lo, hi;
  asm volatile("mfence\n\tlfence\n\trdtsc\n\tlfence"
               : "=a"(lo), "=d"(hi)
               :
               : "memory");
  return (uint64_t{hi} << 32) | lo;
}

// `clock` minus CLOCK_MONOTONIC, from the tightest of a few monotonic
// brackets around a read of `clock`.
std::optional<int64_t> HostOffset(clockid_t clock) {
  int64_t best_window = std::numeric_limits<int64_t>::max();
  int64_t offset = 0;
  for (int i = 0; i < kSampleTries; i++) {
    int64_t before = HostNow(CLOCK_MONOTONIC);
    int64_t value = HostNow(clock);
    int64_t after = HostNow(CLOCK_MONOTONIC);
    if (after - before < best_window) {
      best_window = after - before;
      offset = value - (before + (after - before) / 2);
    }
  }
  if (best_window > kMaxOffsetWindowNs) return std::nullopt;
  return offset;
}

std::optional<HostSample> SampleHost() {
  HostSample s;
  uint64_t best_window = std::numeric_limits<uint64_t>::max();
  for (int i = 0; i < kSampleTries; i++) {
    uint64_t before = ReadTscOrdered();
    int64_t mono = HostNow(CLOCK_MONOTONIC);
    uint64_t after = ReadTscOrdered();
    if (after - before < best_window) {
      best_window = after - before;
      s.tsc = before + (after - before) / 2;
      s.monotonic_ns = mono;
    }
  }
  if (best_window > kMaxSampleWindowTicks) return std::nullopt;
  s.realtime_offset_ns = HostOffset(CLOCK_REALTIME);
  s.boottime_offset_ns = HostOffset(CLOCK_BOOTTIME);
  return s;
}

// The host's offset if it moved by more than noise, else `current`.
int64_t TrackOffset(int64_t current, const std::optional<int64_t>& host) {
  if (!host.has_value()) return current;
  int64_t diff = *host - current;
  return (diff > Calibrator::kOffsetNoiseNs ||
          diff < -Calibrator::kOffsetNoiseNs)
             ? *host
             : current;
}

}  // namespace

int64_t MonotonicAt(const ClockParams& p, uint64_t tsc) {
  // Same arithmetic as vdso.c's read_clock.
  uint64_t delta =
      static_cast<int64_t>(tsc - p.tsc_base) > 0 ? tsc - p.tsc_base : 0;
  uint64_t ns =
      static_cast<uint64_t>((uint128{delta} * p.mult) >> (p.shift & 127));
  return p.monotonic_base_ns + static_cast<int64_t>(ns);
}

bool HostHasInvariantTsc() {
  unsigned int eax, ebx, ecx, edx;
  if (__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) == 0 ||
      eax < 0x80000007) {
    return false;
  }
  if (__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;
}

Calibrator::Calibrator(absl::Duration interval)
    : interval_ns_(std::max<int64_t>(absl::ToInt64Nanoseconds(interval),
                                     kMinRateWindowNs)) {}

std::optional<Calibrator::Update> Calibrator::Plan(const HostSample& now) {
  // The rate over the last interval. Shorter windows are extended to a later
  // sample; a TSC that went backwards (reset) starts a new measurement.
  if (!prev_.has_value() || now.tsc < prev_->tsc) {
    prev_ = now;
  } else {
    int64_t ns = now.monotonic_ns - prev_->monotonic_ns;
    if (ns >= kMinRateWindowNs) {
      uint64_t rate = static_cast<uint64_t>((uint128(ns) << kShift) /
                                            (now.tsc - prev_->tsc));
      // Host CLOCK_MONOTONIC cannot change rate by this much (adjtimex
      // bounds the tick to +-10%): the TSC stopped or jumped. The error
      // term below deals with the offset; the old rate stays right.
      uint64_t change =
          rate > rate_mult_ ? rate - rate_mult_ : rate_mult_ - rate;
      if (rate_mult_ == 0 || change <= rate_mult_ / kMaxRateChangeDenominator) {
        rate_mult_ = rate;
      } else {
        LOG(WARNING) << "vDSO clock: TSC rate against the host jumped from "
                     << rate_mult_ << " to " << rate << " (>> " << kShift
                     << "); ignored";
      }
      prev_ = now;
    }
  }
  if (rate_mult_ == 0) return std::nullopt;

  Update u;
  if (!calibrated_) {
    // No clock yet, nothing to be continuous with: start at the sample.
    if (!now.realtime_offset_ns || !now.boottime_offset_ns) {
      return std::nullopt;
    }
    u.anchor.tsc_base = now.tsc;
    u.anchor.monotonic_base_ns = now.monotonic_ns;
    u.anchor.mult = rate_mult_;
    u.mult = rate_mult_;
    u.realtime_offset_ns = *now.realtime_offset_ns;
    u.boottime_offset_ns = *now.boottime_offset_ns;
    last_error_ns_ = 0;
    return u;
  }

  int64_t error = now.monotonic_ns - MonotonicAt(current_, now.tsc);
  last_error_ns_ = error;
  u.anchor = current_;
  if (error > kMaxSlewableLagNs) {
    LOG(WARNING) << "vDSO clock " << error
                 << " ns behind the host (TSC stopped or reset?): stepping";
    u.anchor.monotonic_base_ns += error;
    error = 0;
  }
  // Aim to meet the host at the next update; a positive rate whatever the
  // error, so the clock never runs backwards.
  const int64_t max_slew = interval_ns_ / kMaxSlewDenominator;
  if (error > max_slew || error < -max_slew) {
    LOG_EVERY_N(WARNING, 100)
        << "vDSO clock off the host by " << error << " ns; slewing at the "
        << "maximum rate";
    error = std::clamp(error, -max_slew, max_slew);
  }
  u.mult = static_cast<uint64_t>(uint128{rate_mult_} *
                                 static_cast<uint64_t>(interval_ns_ + error) /
                                 static_cast<uint64_t>(interval_ns_));
  u.mult = std::max<uint64_t>(u.mult, 1);
  u.realtime_offset_ns =
      TrackOffset(current_.realtime_offset_ns, now.realtime_offset_ns);
  u.boottime_offset_ns =
      TrackOffset(current_.boottime_offset_ns, now.boottime_offset_ns);
  return u;
}

const ClockParams& Calibrator::Commit(const Update& update, uint64_t tsc) {
  ClockParams next;
  next.tsc_base = tsc;
  // Continuity: the old clock's value here is the new clock's base.
  next.monotonic_base_ns = MonotonicAt(update.anchor, tsc);
  next.mult = update.mult;
  next.shift = kShift;
  next.realtime_offset_ns = update.realtime_offset_ns;
  next.boottime_offset_ns = update.boottime_offset_ns;
  current_ = next;
  calibrated_ = true;
  return current_;
}

std::unique_ptr<VdsoClock> VdsoClock::Create(absl::Duration update_interval) {
  HostFd fd(memfd_create("vdso_params", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) {
    PLOG(ERROR) << "memfd_create(vdso_params)";
    return nullptr;
  }
  if (ftruncate(fd.get(), VDSO_PARAMS_SIZE) != 0) {
    PLOG(ERROR) << "ftruncate(vdso_params)";
    return nullptr;
  }
  // Our writable mapping comes first: F_SEAL_FUTURE_WRITE forbids new ones.
  void* page = mmap(nullptr, VDSO_PARAMS_SIZE, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd.get(), 0);
  if (page == MAP_FAILED) {
    PLOG(ERROR) << "mmap(vdso_params)";
    return nullptr;
  }
  const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (fcntl(fd.get(), F_ADD_SEALS, seals | F_SEAL_FUTURE_WRITE) != 0 &&
      (errno != EINVAL || fcntl(fd.get(), F_ADD_SEALS, seals) != 0)) {
    PLOG(ERROR) << "F_ADD_SEALS(vdso_params)";
    munmap(page, VDSO_PARAMS_SIZE);
    return nullptr;
  }
  return std::unique_ptr<VdsoClock>(new VdsoClock(
      std::move(fd), static_cast<vdso_params*>(page), update_interval));
}

VdsoClock::VdsoClock(HostFd fd, volatile vdso_params* page,
                     absl::Duration interval)
    : fd_(std::move(fd)),
      page_(page),
      interval_(interval),
      calibrator_(interval) {}

VdsoClock::~VdsoClock() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  munmap(const_cast<vdso_params*>(page_), VDSO_PARAMS_SIZE);
}

void VdsoClock::Start() {
  CHECK(!thread_.joinable()) << "VdsoClock::Start called twice";
  if (!HostHasInvariantTsc()) {
    LOG(WARNING) << "host TSC is not invariant: guests' vDSO clocks make "
                    "system calls";
    return;
  }
  thread_ = std::thread(&VdsoClock::Run, this);
}

bool VdsoClock::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
  return !stop_;
}

void VdsoClock::Run() {
  // For ps and debuggers; on the calling thread this is a prctl, not a file.
  pthread_setname_np(pthread_self(), "vdso-clock");
  do {
    if (std::optional<HostSample> s = SampleHost()) {
      if (std::optional<Calibrator::Update> u = calibrator_.Plan(*s)) {
        Publish(*u);
        VLOG(2) << "vDSO clock: error " << calibrator_.last_error_ns()
                << " ns, mult " << calibrator_.current().mult;
      }
    }
  } while (Sleep(calibrator_.calibrated() ? interval_ : kFirstCalibration));
}

void VdsoClock::Publish(const Calibrator::Update& update) {
  // Readers retry while seq is odd or changed (vdso_params.h). The update's
  // TSC is read only once the odd seq is visible: a reader that validated
  // the old parameters therefore read an older TSC, where the old clock is
  // at most its value at this TSC, which is where the new clock starts. A
  // reader of the new parameters reads a TSC at least this one. So no
  // reader, on any CPU, sees the clock go backwards across the update.
  __atomic_store_n(&page_->seq, ++seq_, __ATOMIC_RELAXED);
  const ClockParams& p = calibrator_.Commit(update, ReadTscAfterStores());
  page_->tsc_base = p.tsc_base;
  page_->mult = p.mult;
  page_->shift = p.shift;
  page_->monotonic_base_ns = p.monotonic_base_ns;
  page_->realtime_offset_ns = p.realtime_offset_ns;
  page_->boottime_offset_ns = p.boottime_offset_ns;
  page_->ready = 1;
  // x86 keeps stores in order; the release store also stops the compiler.
  __atomic_store_n(&page_->seq, ++seq_, __ATOMIC_RELEASE);
}

}  // namespace sentry::vdso
