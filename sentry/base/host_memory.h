// The host's RAM, for the sentry's memory bounds that Linux states as a
// share of it (tmpfs's default size, the message queues' bound).

#ifndef SENTRY_BASE_HOST_MEMORY_H_
#define SENTRY_BASE_HOST_MEMORY_H_

#include <unistd.h>

#include <cstdint>

namespace sentry {

// `percent` of the host's physical memory, in bytes, in whole pages as
// Linux counts it (0 if unknown).
inline uint64_t HostRamShare(uint64_t percent) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return 0;
  return static_cast<uint64_t>(pages) * percent / 100 *
         static_cast<uint64_t>(size);
}

}  // namespace sentry

#endif  // SENTRY_BASE_HOST_MEMORY_H_
