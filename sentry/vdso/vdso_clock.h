// VdsoClock: the sentry side of the vDSO's clocks. It owns the parameter
// page (vdso_params.h) as a memfd that the loader maps into every guest, and
// keeps it calibrated against the host's clocks from a background thread.
//
// Threads: Create() and Start() run on the caller's thread; after Start(),
// only the update thread touches the calibrator and writes the page. mu_ only
// guards the stop flag. Guests read the page concurrently through the seqlock
// described in vdso_params.h.

#ifndef SENTRY_VDSO_VDSO_CLOCK_H_
#define SENTRY_VDSO_VDSO_CLOCK_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sentry/base/host_fd.h"
#include "sentry/vdso/vdso_params.h"

namespace sentry::vdso {

// Scale of `mult`: ns per TSC tick in 32.32 fixed point.
inline constexpr uint32_t kShift = 32;

// The clock as the vDSO computes it (see vdso_params.h).
struct ClockParams {
  uint64_t tsc_base = 0;
  int64_t monotonic_base_ns = 0;
  uint64_t mult = 0;
  uint32_t shift = kShift;
  int64_t realtime_offset_ns = 0;
  int64_t boottime_offset_ns = 0;
};

// CLOCK_MONOTONIC at `tsc` under `p`, bit for bit what the vDSO returns.
int64_t MonotonicAt(const ClockParams& p, uint64_t tsc);

// One reading of the host's clocks.
struct HostSample {
  uint64_t tsc = 0;
  int64_t monotonic_ns = 0;  // host CLOCK_MONOTONIC at `tsc`
  // Host CLOCK_REALTIME and CLOCK_BOOTTIME minus CLOCK_MONOTONIC, unless the
  // reading was disturbed (then the previous offsets are kept).
  std::optional<int64_t> realtime_offset_ns;
  std::optional<int64_t> boottime_offset_ns;
};

// The calibration algorithm, free of threads and clocks so tests can drive it
// with made-up samples. Each update:
//  - measures the TSC rate over the last sample interval (host ns per tick;
//    a change beyond what adjtimex allows means the TSC stopped or jumped,
//    and the old rate is kept);
//  - takes the error e = host - ours at the new sample, and sets the rate to
//    measured * (interval + e) / interval, so that e is gone at the next
//    update (slewed, with |e| / interval capped at kMaxSlew);
//  - starts the new parameters at the update's own TSC with the value the
//    old ones give there, so the clock is continuous and, the rate being
//    positive, never goes backwards;
//  - copies the host's realtime/boottime offsets when they moved by more than
//    measurement noise (a host clock_settime or a suspend: a step, as on
//    Linux).
class Calibrator {
 public:
  // Largest rate correction: 5%, i.e. 10 ms of error per 200 ms interval.
  // Errors are normally well under a microsecond; this bounds how wrong a
  // guest's measured intervals can be after a disturbance.
  static constexpr int64_t kMaxSlewDenominator = 20;
  // Behind the host by more than this, the clock steps forward instead
  // (possible only when the TSC stopped or was reset under us, e.g. a
  // suspend or VM migration); forward steps keep it monotonic.
  static constexpr int64_t kMaxSlewableLagNs = 1'000'000'000;
  // Offset changes below this are measurement noise, not a clock step.
  static constexpr int64_t kOffsetNoiseNs = 1000;
  // A measured rate more than 1/8 away from the last one is not believed.
  static constexpr uint64_t kMaxRateChangeDenominator = 8;
  // Shortest sample spacing worth measuring a rate over.
  static constexpr int64_t kMinRateWindowNs = 1'000'000;

  explicit Calibrator(absl::Duration interval);

  // What to publish next, fixed up to the TSC at which it takes effect:
  // the new parameters start at that TSC with MonotonicAt(anchor, tsc).
  struct Update {
    ClockParams anchor;
    uint64_t mult = 0;
    int64_t realtime_offset_ns = 0;
    int64_t boottime_offset_ns = 0;
  };

  // Feeds a fresh sample. Returns the next update, or nullopt while the
  // first rate measurement is incomplete.
  std::optional<Update> Plan(const HostSample& now);

  // The parameters of `update` taking effect at `tsc`; they become current.
  const ClockParams& Commit(const Update& update, uint64_t tsc);

  bool calibrated() const { return calibrated_; }
  const ClockParams& current() const { return current_; }
  // Host minus our CLOCK_MONOTONIC at the last sample (before correction).
  int64_t last_error_ns() const { return last_error_ns_; }

 private:
  const int64_t interval_ns_;
  bool calibrated_ = false;
  std::optional<HostSample> prev_;  // the last sample a rate was measured to
  uint64_t rate_mult_ = 0;          // measured, before slewing
  ClockParams current_;
  int64_t last_error_ns_ = 0;
};

// Whether the host's TSC runs at a constant rate through frequency changes
// and idle states (CPUID 0x80000007 EDX bit 8, "invariant TSC"). Without it,
// the TSC is no clock and guests keep making system calls.
bool HostHasInvariantTsc();

class VdsoClock final {
 public:
  static constexpr absl::Duration kDefaultUpdateInterval =
      absl::Milliseconds(200);
  // Between the first two samples, which give the first rate.
  static constexpr absl::Duration kFirstCalibration = absl::Milliseconds(20);

  // Creates the page (all zero: not ready). nullptr, logged, if the host
  // refuses the memfd or its mapping.
  static std::unique_ptr<VdsoClock> Create(
      absl::Duration update_interval = kDefaultUpdateInterval);
  ~VdsoClock();

  VdsoClock(const VdsoClock&) = delete;
  VdsoClock& operator=(const VdsoClock&) = delete;

  // The parameter page: a memfd of VDSO_PARAMS_SIZE bytes whose size is
  // sealed and, on Linux >= 5.1, that nobody can map writable again
  // (F_SEAL_FUTURE_WRITE), so a guest can never write the page the others
  // read. The loader maps it PROT_READ, MAP_SHARED, right before the vDSO.
  int params_fd() const { return fd_.get(); }

  // Starts the update thread: first calibration within kFirstCalibration,
  // then an update every update_interval. Does nothing (the page stays not
  // ready) on a host without an invariant TSC. Call at most once.
  void Start();

 private:
  VdsoClock(HostFd fd, volatile vdso_params* page, absl::Duration interval);

  void Run();
  // Waits up to `d`; false once stopping.
  bool Sleep(absl::Duration d);
  // Writes `update` to the page under the seqlock.
  void Publish(const Calibrator::Update& update);

  HostFd fd_;
  volatile vdso_params* const page_;  // the sentry's writable mapping
  const absl::Duration interval_;
  Calibrator calibrator_;  // update thread only, once started
  uint32_t seq_ = 0;       // the page's seq; update thread only
  std::thread thread_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sentry::vdso

#endif  // SENTRY_VDSO_VDSO_CLOCK_H_
