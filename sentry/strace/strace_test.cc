#include "sentry/strace/strace.h"

#include <fcntl.h>

#include "gtest/gtest.h"

namespace sentry::strace {
namespace {

TEST(StraceFormatTest, QuotesLikeStrace) {
  EXPECT_EQ(QuoteBytes("hi\n", 32), "\"hi\\n\"");
  EXPECT_EQ(QuoteBytes(std::string("\x7f"
                                   "ELF\x02",
                                   5),
                       32),
            "\"\\177ELF\\2\"");
  EXPECT_EQ(QuoteBytes(std::string("\0"
                                   "1",
                                   2),
                       32),
            "\"\\0001\"");
  EXPECT_EQ(QuoteBytes("a\"b\\", 32), "\"a\\\"b\\\\\"");
  EXPECT_EQ(QuoteBytes("abcdef", 3), "\"abc\"");
}

TEST(StraceFormatTest, OpenFlags) {
  EXPECT_EQ(OpenFlags(O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(OpenFlags(O_WRONLY | O_CREAT | O_TRUNC),
            "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(OpenFlags(O_RDWR), "O_RDWR");
}

TEST(StraceFormatTest, Errors) {
  EXPECT_EQ(ErrnoText(-ENOENT), "-1 ENOENT (No such file or directory)");
  EXPECT_EQ(ErrnoText(-ENOSYS), "-1 ENOSYS (Function not implemented)");
}

}  // namespace
}  // namespace sentry::strace
