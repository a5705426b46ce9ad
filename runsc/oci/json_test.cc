#include "runsc/oci/json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runsc::oci {
namespace {

using ::testing::HasSubstr;

TEST(Json, ParsesEveryKind) {
  absl::StatusOr<Json> j = ParseJson(
      R"( {"s": "a\"b\\c\n\u00e9\ud83d\ude00", "n": -12, "f": 1.5e3,
           "big": 18446744073709551615, "t": true, "z": null,
           "a": [1, [], {}], "dup": 1, "dup": 2} )");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Find("s")->text(), "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(j->Find("n")->AsInt64(), -12);
  EXPECT_EQ(j->Find("n")->AsUint64(), std::nullopt);
  EXPECT_EQ(j->Find("f")->AsInt64(), std::nullopt);
  EXPECT_EQ(j->Find("f")->text(), "1.5e3");
  EXPECT_EQ(j->Find("big")->AsUint64(), UINT64_MAX);
  EXPECT_EQ(j->Find("big")->AsInt64(), std::nullopt);
  EXPECT_TRUE(j->Find("t")->bool_value());
  EXPECT_TRUE(j->Find("z")->is_null());
  EXPECT_EQ(j->Find("a")->items().size(), 3u);
  EXPECT_EQ(j->Find("dup")->AsInt64(), 2);  // the last one wins
  EXPECT_EQ(j->Find("absent"), nullptr);
}

TEST(Json, RejectsMalformedWithAnOffset) {
  for (const char* bad :
       {"",        "{",           "[1,]",        "{\"a\"}",   "{\"a\":1,}",
        "01",      "1.",          "-",           "+1",        "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "tru",       "nul",
        "[1] 2",   "{'a':1}",     "\"a\nb\"",    "\"\\u12\"", "1e",
        "NaN"}) {
    absl::StatusOr<Json> j = ParseJson(bad);
    ASSERT_FALSE(j.ok()) << bad;
    EXPECT_THAT(std::string(j.status().message()),
                HasSubstr("invalid JSON at byte"))
        << bad;
  }
}

TEST(Json, DepthAndSizeAreBounded) {
  std::string deep(100000, '[');
  absl::StatusOr<Json> j = ParseJson(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(std::string(j.status().message()),
              HasSubstr("nested too deeply"));
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
  JsonLimits small;
  small.max_bytes = 10;
  j = ParseJson("[1,2,3,4,5,6]", small);
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(std::string(j.status().message()), HasSubstr("more than 10"));
}

TEST(Json, DumpRoundTrips) {
  Json o = Json::Object();
  o.Set("id", Json::String("c1\n\"x\"\x01"));
  o.Set("pid", Json::Int(42));
  o.Set("ok", Json::Bool(false));
  Json a = Json::Array();
  a.Append(Json::Uint(UINT64_MAX));
  a.Append(Json::Null());
  o.Set("list", a);
  o.Set("pid", Json::Int(43));  // replaces
  EXPECT_EQ(o.Dump(), R"({"id":"c1\n\"x\"\u0001","pid":43,"ok":false,)"
                      R"("list":[18446744073709551615,null]})");
  absl::StatusOr<Json> back = ParseJson(o.Pretty());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Dump(), o.Dump());
}

}  // namespace
}  // namespace runsc::oci
