#include "runsc/dns.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runsc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHostConf[] =
    "# host's\n"
    "domain corp.example\n"
    "search corp.example lab.example\n"
    "nameserver 127.0.0.53\n"
    "options edns0 trust-ad\n"
    "sortlist 130.155.160.0/255.255.240.0\n";

TEST(ResolvConf, DnsReplacesOnlyTheNameservers) {
  absl::StatusOr<std::string> c =
      ComposeResolvConf(kHostConf, {"10.0.0.2", "2001:db8::53"}, {}, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, Not(HasSubstr("127.0.0.53")));
  EXPECT_THAT(*c, HasSubstr("nameserver 10.0.0.2\nnameserver 2001:db8::53\n"));
  EXPECT_THAT(*c, HasSubstr("search corp.example lab.example\n"));
  EXPECT_THAT(*c, HasSubstr("domain corp.example\n"));
  EXPECT_THAT(*c, HasSubstr("options edns0 trust-ad\n"));
  EXPECT_THAT(*c, HasSubstr("sortlist 130.155.160.0/255.255.240.0\n"));
}

TEST(ResolvConf, SearchReplacesSearchAndDomainAndKeepsServers) {
  absl::StatusOr<std::string> c =
      ComposeResolvConf(kHostConf, {}, {"a.example", "b.example"}, {"ndots:2"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, HasSubstr("nameserver 127.0.0.53\n"));
  EXPECT_THAT(*c, HasSubstr("search a.example b.example\n"));
  EXPECT_THAT(*c, Not(HasSubstr("corp.example")));
  EXPECT_THAT(*c, HasSubstr("options ndots:2\n"));
  EXPECT_THAT(*c, Not(HasSubstr("edns0")));
}

TEST(ResolvConf, EmptyHostFileGivesJustTheFlags) {
  absl::StatusOr<std::string> c = ComposeResolvConf("", {"1.1.1.1"}, {}, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, HasSubstr("nameserver 1.1.1.1\n"));
  EXPECT_THAT(*c, Not(HasSubstr("\nsearch")));
}

TEST(ResolvConf, BadValuesAreNamed) {
  struct {
    std::vector<std::string> servers, search, options;
    const char* named;
  } cases[] = {
      {{"10.0.0.300"}, {}, {}, "--dns=10.0.0.300"},
      {{"example.com"}, {}, {}, "--dns=example.com"},
      {{"1.1.1.1\nnameserver 6.6.6.6"}, {}, {}, "--dns=1.1.1.1"},
      {{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}, {}, {}, "at most 3"},
      {{}, {"a b"}, {}, "--dns-search=a b"},
      {{}, {"evil\nnameserver 6.6.6.6"}, {}, "--dns-search=evil"},
      {{}, {"a..b"}, {}, "--dns-search=a..b"},
      {{}, {std::string(254, 'a')}, {}, "--dns-search="},
      {{}, {}, {"ndots:1 rotate"}, "--dns-option=ndots:1 rotate"},
      {{}, {}, {""}, "--dns-option="},
  };
  for (const auto& c : cases) {
    absl::StatusOr<std::string> r =
        ComposeResolvConf(kHostConf, c.servers, c.search, c.options);
    ASSERT_FALSE(r.ok()) << c.named;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.named));
  }
}

TEST(Hosts, AddedNamesComeFirstAndTheHostsFollow) {
  absl::StatusOr<std::string> h =
      ComposeHosts("127.0.0.1\tlocalhost\n10.9.9.9\tdb",
                   {"db:10.1.2.3", "v6.example=2001:db8::1", "x:::1"});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h,
            "# runsc do --add-host\n"
            "10.1.2.3\tdb\n"
            "2001:db8::1\tv6.example\n"
            "::1\tx\n"
            "127.0.0.1\tlocalhost\n"
            "10.9.9.9\tdb\n");
}

TEST(Hosts, NothingAddedIsTheHostsFile) {
  absl::StatusOr<std::string> h = ComposeHosts("127.0.0.1 localhost\n", {});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "127.0.0.1 localhost\n");
}

TEST(Hosts, BadValuesAreNamed) {
  for (const char* bad :
       {"db", "db:", ":10.0.0.1", "db:host.example", "d b:10.0.0.1",
        "db:10.0.0.1 evil", "db#:1.2.3.4", "db:10.0.0.1\n6.6.6.6 bank"}) {
    absl::StatusOr<std::string> h = ComposeHosts("", {bad});
    ASSERT_FALSE(h.ok()) << bad;
    EXPECT_THAT(std::string(h.status().message()),
                HasSubstr(std::string("--add-host=") + bad));
  }
}

}  // namespace
}  // namespace runsc
