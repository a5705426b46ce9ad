#include "sentry/net/host/policy.h"

#include <arpa/inet.h>

#include <cstring>

#include "gtest/gtest.h"
#include "sentry/net/host/protocol.h"

namespace sentry::net::host {
namespace {

Destination V4(const char* a, uint16_t port) {
  struct sockaddr_storage ss = {};
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  inet_pton(AF_INET, a, &sin->sin_addr);
  Destination d;
  EXPECT_TRUE(DestinationOf(ss, sizeof(*sin), &d));
  return d;
}

Destination V6(const char* a, uint16_t port) {
  struct sockaddr_storage ss = {};
  auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  inet_pton(AF_INET6, a, &sin6->sin6_addr);
  Destination d;
  EXPECT_TRUE(DestinationOf(ss, sizeof(*sin6), &d));
  return d;
}

std::vector<AllowRule> Rules(std::initializer_list<const char*> values) {
  std::vector<AllowRule> out;
  for (const char* v : values) {
    absl::StatusOr<AllowRule> r = ParseAllowRule(v);
    EXPECT_TRUE(r.ok()) << v << ": " << r.status();
    if (r.ok()) out.push_back(*r);
  }
  return out;
}

TEST(PolicyTest, HostAndPort) {
  auto rules = Rules({"127.0.0.1:8080"});
  EXPECT_TRUE(Allowed(rules, V4("127.0.0.1", 8080)));
  EXPECT_FALSE(Allowed(rules, V4("127.0.0.1", 8081)));
  EXPECT_FALSE(Allowed(rules, V4("127.0.0.2", 8080)));
  // The same host through a v4-mapped IPv6 socket.
  EXPECT_TRUE(Allowed(rules, V6("::ffff:127.0.0.1", 8080)));
  EXPECT_FALSE(Allowed(rules, V6("::1", 8080)));
}

TEST(PolicyTest, CidrAndRanges) {
  auto rules = Rules({"10.0.0.0/8:8000-8100", "192.168.1.0/24"});
  EXPECT_TRUE(Allowed(rules, V4("10.1.2.3", 8000)));
  EXPECT_TRUE(Allowed(rules, V4("10.255.0.1", 8100)));
  EXPECT_FALSE(Allowed(rules, V4("10.1.2.3", 8101)));
  EXPECT_FALSE(Allowed(rules, V4("11.0.0.1", 8000)));
  EXPECT_TRUE(Allowed(rules, V4("192.168.1.200", 1)));
  EXPECT_TRUE(Allowed(rules, V4("192.168.1.200", 65535)));
  EXPECT_FALSE(Allowed(rules, V4("192.168.2.1", 80)));
  EXPECT_FALSE(Allowed({}, V4("10.1.2.3", 8000)));
}

TEST(PolicyTest, Everything) {
  auto rules = Rules({"0.0.0.0/0"});
  EXPECT_TRUE(Allowed(rules, V4("8.8.8.8", 53)));
  EXPECT_FALSE(Allowed(rules, V6("2001:db8::1", 53)));
  EXPECT_TRUE(Allowed(Rules({"[::]/0:443"}), V6("2001:db8::1", 443)));
  EXPECT_TRUE(Allowed(Rules({"[::/0]:443"}), V6("2001:db8::1", 443)));
  EXPECT_FALSE(Allowed(Rules({"[::/0]:443"}), V6("2001:db8::1", 80)));
}

TEST(PolicyTest, Ipv6Forms) {
  auto rules = Rules({"[::1]:8080", "2001:db8::/32", "[fd00::/8]:1-1024"});
  EXPECT_TRUE(Allowed(rules, V6("::1", 8080)));
  EXPECT_FALSE(Allowed(rules, V6("::1", 8081)));
  EXPECT_TRUE(Allowed(rules, V6("2001:db8:1::5", 9)));
  EXPECT_FALSE(Allowed(rules, V6("2001:db9::5", 9)));
  EXPECT_TRUE(Allowed(rules, V6("fd12::1", 1024)));
  EXPECT_FALSE(Allowed(rules, V6("fd12::1", 1025)));
}

TEST(PolicyTest, OddPrefixes) {
  auto rules = Rules({"10.0.0.0/9", "172.16.0.0/12"});
  EXPECT_TRUE(Allowed(rules, V4("10.127.255.255", 1)));
  EXPECT_FALSE(Allowed(rules, V4("10.128.0.0", 1)));
  EXPECT_TRUE(Allowed(rules, V4("172.31.0.1", 1)));
  EXPECT_FALSE(Allowed(rules, V4("172.32.0.1", 1)));
}

TEST(PolicyTest, RoundTrip) {
  for (const char* v : {"127.0.0.1/32:8080", "10.0.0.0/8:8000-8100",
                        "0.0.0.0/0", "[::1/128]:80", "[2001:db8::/32]"}) {
    absl::StatusOr<AllowRule> r = ParseAllowRule(v);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->ToString(), v);
  }
}

TEST(PolicyTest, BadRules) {
  for (const char* v :
       {"", "localhost", "10.0.0.1/33", "10.0.0.1/8",
        "10.0.0.0/8:", "10.0.0.0/8:0", "10.0.0.0/8:65536", "10.0.0.0/8:80-70",
        "10.0.0.0/8:http", "10.0.0.0/x", "10.0.0.0/", "[::1", "[::1]80",
        "[::1]:", "::1/129", "1.2.3.4:5:6", "10.0.0.0/8:-5", "[::1]:1-"}) {
    absl::StatusOr<AllowRule> r = ParseAllowRule(v);
    EXPECT_FALSE(r.ok()) << v << " parsed as " << r->ToString();
    if (!r.ok()) {
      EXPECT_NE(std::string(r.status().message()).find("--net-allow="),
                std::string::npos);
    }
  }
}

TEST(ProtocolTest, ValidateRequest) {
  BrokerRequest r;
  memset(&r, 0, sizeof(r));
  r.op = BrokerOp::kConnect;
  r.family = AF_INET;
  r.type = SOCK_STREAM;
  r.addrlen = sizeof(struct sockaddr_in);
  r.addr.ss_family = AF_INET;
  const char* why = nullptr;
  EXPECT_TRUE(ValidateRequest(r, &why));
  BrokerRequest bad = r;
  bad.op = static_cast<BrokerOp>(9);
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.family = AF_UNIX;
  bad.addr.ss_family = AF_UNIX;
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.addrlen = 200;
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.addr.ss_family = AF_INET6;
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.type = SOCK_RAW;
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.op = BrokerOp::kListen;
  bad.type = SOCK_DGRAM;
  EXPECT_FALSE(ValidateRequest(bad, &why));
  bad = r;
  bad.backlog = -1;
  EXPECT_FALSE(ValidateRequest(bad, &why));
}

}  // namespace
}  // namespace sentry::net::host
