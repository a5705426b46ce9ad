// HostFd: sole owner of one host file descriptor.

#ifndef SENTRY_BASE_HOST_FD_H_
#define SENTRY_BASE_HOST_FD_H_

#include <unistd.h>

#include <utility>

namespace sentry {

// Owns a host fd and closes it on destruction. Move-only: two owners of one fd
// would close it twice.
class HostFd final {
 public:
  HostFd() = default;
  explicit HostFd(int fd) : fd_(fd) {}
  ~HostFd() { Reset(); }

  HostFd(HostFd&& other) noexcept : fd_(other.Release()) {}
  HostFd& operator=(HostFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  HostFd(const HostFd&) = delete;
  HostFd& operator=(const HostFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }

  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace sentry

#endif  // SENTRY_BASE_HOST_FD_H_
