#include "test/util/socket_util.h"

#include <errno.h>

#include <cstring>

#include "test/util/test_util.h"

namespace testing_util {

// `ip` (of `family`) and `port`, with the family's full sockaddr length.
SockAddr MakeAddr(int family, const char* ip, uint16_t port) {
  SockAddr a;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&a.ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, ip, &sin->sin_addr), 1) << ip;
    a.len = sizeof(*sin);
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&a.ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1) << ip;
    a.len = sizeof(*sin6);
  }
  return a;
}

SockAddr V4(const char* ip, uint16_t port) {
  return MakeAddr(AF_INET, ip, port);
}
SockAddr V6(const char* ip, uint16_t port) {
  return MakeAddr(AF_INET6, ip, port);
}

std::string VariantName(const ::testing::TestParamInfo<Variant>& info) {
  return info.param.name;
}

// For gtest's messages about a failed parameterized test.
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

// getsockname(2) or getpeername(2) into a full-size buffer.
SockAddr SockName(int fd) {
  SockAddr a;
  a.len = sizeof(a.ss);
  if (getsockname(fd, a.mutable_sa(), &a.len) != 0) {
    ADD_FAILURE() << "getsockname: " << strerror(errno);
    a.len = 0;
  }
  return a;
}

SockAddr PeerName(int fd) {
  SockAddr a;
  a.len = sizeof(a.ss);
  if (getpeername(fd, a.mutable_sa(), &a.len) != 0) {
    ADD_FAILURE() << "getpeername: " << strerror(errno);
    a.len = 0;
  }
  return a;
}

int GetIntOpt(int fd, int level, int name) {
  int v = -12345;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, level, name, &v, &len) != 0) {
    ADD_FAILURE() << "getsockopt(" << level << ", " << name
                  << "): " << strerror(errno);
    return -12345;
  }
  EXPECT_EQ(len, sizeof(v));
  return v;
}

void SetIntOpt(int fd, int level, int name, int v) {
  ASSERT_OK(setsockopt(fd, level, name, &v, sizeof(v)));
}

}  // namespace testing_util
