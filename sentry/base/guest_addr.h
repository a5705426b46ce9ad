// Guest addresses: a type of their own so guest memory can only be reached
// through the memory manager's copy-in/copy-out helpers, never dereferenced.

#ifndef SENTRY_BASE_GUEST_ADDR_H_
#define SENTRY_BASE_GUEST_ADDR_H_

#include <cstdint>
#include <optional>

namespace sentry {

inline constexpr uint64_t kPageSize = 4096;

class GuestAddr {
 public:
  constexpr GuestAddr() = default;
  constexpr explicit GuestAddr(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  constexpr bool IsNull() const { return value_ == 0; }

  // Overflow-checked arithmetic: guest-supplied lengths may be anything.
  std::optional<GuestAddr> Add(uint64_t n) const {
    uint64_t r;
    if (__builtin_add_overflow(value_, n, &r)) return std::nullopt;
    return GuestAddr(r);
  }
  constexpr GuestAddr operator+(uint64_t n) const {
    return GuestAddr(value_ + n);
  }
  constexpr bool operator==(GuestAddr o) const { return value_ == o.value_; }
  constexpr bool operator!=(GuestAddr o) const { return value_ != o.value_; }
  constexpr bool operator<(GuestAddr o) const { return value_ < o.value_; }

  constexpr GuestAddr PageDown() const {
    return GuestAddr(value_ & ~(kPageSize - 1));
  }
  constexpr bool PageAligned() const { return (value_ & (kPageSize - 1)) == 0; }

 private:
  uint64_t value_ = 0;
};

// A typed guest pointer: documents what the guest claims lives there. Still
// cannot be dereferenced.
template <typename T>
class GuestPtr {
 public:
  constexpr GuestPtr() = default;
  constexpr explicit GuestPtr(GuestAddr addr) : addr_(addr) {}
  constexpr explicit GuestPtr(uint64_t addr) : addr_(addr) {}
  constexpr GuestAddr addr() const { return addr_; }
  constexpr bool IsNull() const { return addr_.IsNull(); }

 private:
  GuestAddr addr_;
};

// Rounds up to a page boundary; nullopt on overflow.
inline std::optional<uint64_t> PageRoundUp(uint64_t v) {
  uint64_t r;
  if (__builtin_add_overflow(v, kPageSize - 1, &r)) return std::nullopt;
  return r & ~(kPageSize - 1);
}

}  // namespace sentry

#endif  // SENTRY_BASE_GUEST_ADDR_H_
