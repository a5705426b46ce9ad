// SysResult<T>: a value or a Linux errno, the error type of the whole sentry.
//
// The errno is a positive Linux error number, including the kernel-internal
// restart codes (ERESTARTSYS and friends) that never reach a guest: the task
// loop turns them into EINTR or a restarted system call.

#ifndef SENTRY_BASE_SYS_RESULT_H_
#define SENTRY_BASE_SYS_RESULT_H_

#include <cerrno>
#include <type_traits>
#include <utility>
#include <variant>

#include "glog/logging.h"

namespace sentry {

// Kernel-internal errnos (include/linux/errno.h). They are only valid between
// a syscall handler and the task loop.
inline constexpr int kERESTARTSYS = 512;
inline constexpr int kERESTARTNOINTR = 513;
inline constexpr int kERESTARTNOHAND = 514;
inline constexpr int kERESTART_RESTARTBLOCK = 516;

// An errno value. Distinct type so an error can never be confused with a
// successful integer result.
class Errno {
 public:
  constexpr explicit Errno(int value) : value_(value) {}
  constexpr int value() const { return value_; }
  bool operator==(const Errno& other) const { return value_ == other.value_; }
  bool operator!=(const Errno& other) const { return value_ != other.value_; }

  // Returns the errno of the last failed host call (errno), never 0.
  static Errno FromHost() { return Errno(errno != 0 ? errno : EIO); }

 private:
  int value_;
};

template <typename T>
class [[nodiscard]] SysResult {
 public:
  // Implicit from a value and from an Errno so handlers read
  // `return n;` and `return Errno(EBADF);`.
  SysResult(T value) : v_(std::move(value)) {}  // NOLINT
  SysResult(Errno err) : v_(err) {}             // NOLINT

  bool ok() const { return v_.index() == 0; }
  Errno error() const {
    DCHECK(!ok());
    return std::get<1>(v_);
  }
  int err() const { return error().value(); }
  // The outcome without the value.
  SysResult<void> status() const;

  T& value() & {
    CHECK(ok()) << "SysResult::value() on errno " << std::get<1>(v_).value();
    return std::get<0>(v_);
  }
  const T& value() const& {
    CHECK(ok()) << "SysResult::value() on errno " << std::get<1>(v_).value();
    return std::get<0>(v_);
  }
  T&& value() && {
    CHECK(ok()) << "SysResult::value() on errno " << std::get<1>(v_).value();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Errno> v_;
};

template <>
class [[nodiscard]] SysResult<void> {
 public:
  SysResult() : err_(0) {}
  SysResult(Errno err) : err_(err.value()) {}  // NOLINT

  bool ok() const { return err_ == 0; }
  Errno error() const { return Errno(err_); }
  int err() const { return err_; }

 private:
  int err_;
};

inline SysResult<void> Ok() { return SysResult<void>(); }

template <typename T>
SysResult<void> SysResult<T>::status() const {
  if (ok()) return Ok();
  return error();
}

// Returns the errno of a host call that returned -1, or success.
inline SysResult<void> HostCall(long rc) {
  if (rc < 0) return Errno::FromHost();
  return Ok();
}

}  // namespace sentry

#define SENTRY_CONCAT_INNER_(a, b) a##b
#define SENTRY_CONCAT_(a, b) SENTRY_CONCAT_INNER_(a, b)

// Returns the error of `expr` (a SysResult) from the enclosing function.
#define SENTRY_RETURN_IF_ERROR(expr) \
  do {                               \
    auto sentry_status_ = (expr);    \
    if (!sentry_status_.ok()) {      \
      return sentry_status_.error(); \
    }                                \
  } while (0)

// `SENTRY_ASSIGN_OR_RETURN(auto x, Foo());` declares x with Foo()'s value or
// returns Foo()'s errno from the enclosing function.
#define SENTRY_ASSIGN_OR_RETURN(lhs, expr)                                     \
  SENTRY_ASSIGN_OR_RETURN_IMPL_(SENTRY_CONCAT_(sentry_result_, __LINE__), lhs, \
                                expr)
#define SENTRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.error();                  \
  lhs = std::move(tmp).value()

#endif  // SENTRY_BASE_SYS_RESULT_H_
