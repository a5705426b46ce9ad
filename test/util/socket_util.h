// Helpers of the socket tests: a self-closing fd, inet socket addresses,
// the three ways of talking over loopback (IPv4, IPv6, v4-mapped IPv6)
// that TCP and UDP tests are parameterised over, and option shortcuts.

#ifndef TEST_UTIL_SOCKET_UTIL_H_
#define TEST_UTIL_SOCKET_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <ostream>
#include <string>

#include "gtest/gtest.h"

namespace testing_util {

// A file descriptor that closes itself.
class Fd final {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// An AF_INET or AF_INET6 socket address and its length.
struct SockAddr {
  struct sockaddr_storage ss = {};
  socklen_t len = 0;

  const struct sockaddr* sa() const {
    return reinterpret_cast<const struct sockaddr*>(&ss);
  }
  struct sockaddr* mutable_sa() {
    return reinterpret_cast<struct sockaddr*>(&ss);
  }
  int family() const { return ss.ss_family; }
  const struct sockaddr_in& in4() const {
    return *reinterpret_cast<const struct sockaddr_in*>(&ss);
  }
  const struct sockaddr_in6& in6() const {
    return *reinterpret_cast<const struct sockaddr_in6*>(&ss);
  }
  uint16_t port() const {
    return ntohs(family() == AF_INET ? in4().sin_port : in6().sin6_port);
  }
  void set_port(uint16_t port) {
    if (family() == AF_INET) {
      reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port = htons(port);
    } else {
      reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port = htons(port);
    }
  }
  // The address without the port, as inet_ntop(3) writes it.
  std::string Ip() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
      inet_ntop(AF_INET, &in4().sin_addr, buf, sizeof(buf));
    } else if (family() == AF_INET6) {
      inet_ntop(AF_INET6, &in6().sin6_addr, buf, sizeof(buf));
    } else {
      return "<family " + std::to_string(family()) + ">";
    }
    return buf;
  }
  // "127.0.0.1:80 (16)" or "[::1]:80 (28)": address, port and length.
  std::string ToString() const {
    std::string ip = family() == AF_INET6 ? "[" + Ip() + "]" : Ip();
    return ip + ":" + std::to_string(port()) + " (" + std::to_string(len) + ")";
  }
};

// One way of talking over loopback: the socket family and the addresses
// that go with it.
struct Variant {
  const char* name;
  int domain;
  const char* loopback;
  const char* any;
};

inline constexpr Variant kV4 = {"V4", AF_INET, "127.0.0.1", "0.0.0.0"};
inline constexpr Variant kV6 = {"V6", AF_INET6, "::1", "::"};
// An AF_INET6 socket speaking IPv4 through ::ffff:0:0/96.
inline constexpr Variant kV4MappedV6 = {"V4MappedOnV6", AF_INET6,
                                        "::ffff:127.0.0.1", "::"};
inline constexpr Variant kVariants[] = {kV4, kV6, kV4MappedV6};

// `ip` (of `family`) and `port`, with the family's full sockaddr length.
SockAddr MakeAddr(int family, const char* ip, uint16_t port);
SockAddr V4(const char* ip, uint16_t port = 0);
SockAddr V6(const char* ip, uint16_t port = 0);

std::string VariantName(const ::testing::TestParamInfo<Variant>& info);
// For gtest's messages about a failed parameterized test.
void PrintTo(const Variant& v, std::ostream* os);

// getsockname(2) or getpeername(2) into a full-size buffer (a test
// failure, and an empty address, if the call fails).
SockAddr SockName(int fd);
SockAddr PeerName(int fd);

// getsockopt(2)/setsockopt(2) of an int, failing the test on an error.
int GetIntOpt(int fd, int level, int name);
void SetIntOpt(int fd, int level, int name, int v);

}  // namespace testing_util

#endif  // TEST_UTIL_SOCKET_UTIL_H_
