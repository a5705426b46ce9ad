#include "sentry/loader/elf.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "sentry/loader/loader.h"
#include "test/util/test_util.h"

namespace sentry::loader {
namespace {

std::string Fixture(const std::string& name) {
  const char* dir = getenv("TEST_SRCDIR");
  std::string data =
      testing_util::ReadFile(std::string(dir != nullptr ? dir : ".") +
                             "/uksandbox/test/fixtures/" + name);
  EXPECT_FALSE(data.empty()) << name;
  return data;
}

ReadAtFn Reader(const std::string& data) {
  return [&data](uint64_t off, char* buf, size_t len) -> SysResult<size_t> {
    if (off >= data.size()) return size_t{0};
    size_t n = std::min<size_t>(len, data.size() - off);
    memcpy(buf, data.data() + off, n);
    return n;
  };
}

TEST(ElfTest, StaticNonPie) {
  std::string data = Fixture("hello_static");
  auto info = ParseElf(Reader(data));
  ASSERT_TRUE(info.ok()) << info.err();
  EXPECT_FALSE(info->position_independent);
  EXPECT_FALSE(info->interpreter.has_value());
  EXPECT_GE(info->MinVaddr(), 0x400000u);
  EXPECT_NE(info->phdr_vaddr, 0u);
}

TEST(ElfTest, StaticPie) {
  std::string data = Fixture("hello_static_pie");
  auto info = ParseElf(Reader(data));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->position_independent);
  EXPECT_FALSE(info->interpreter.has_value());
  EXPECT_EQ(info->MinVaddr(), 0u);
}

TEST(ElfTest, DynamicPieHasInterpreter) {
  std::string data = Fixture("hello_pie");
  auto info = ParseElf(Reader(data));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->position_independent);
  ASSERT_TRUE(info->interpreter.has_value());
  EXPECT_EQ(*info->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_FALSE(info->executable_stack);
  // Text is not writable, data is not executable.
  for (const ElfSegment& s : info->loads) {
    EXPECT_FALSE((s.prot & PROT_WRITE) && (s.prot & PROT_EXEC));
  }
}

TEST(ElfTest, DynamicNonPie) {
  std::string data = Fixture("hello_nopie");
  auto info = ParseElf(Reader(data));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->position_independent);
  EXPECT_TRUE(info->interpreter.has_value());
}

class CorruptElfTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = Fixture("hello_static"); }
  Elf64_Ehdr* eh() { return reinterpret_cast<Elf64_Ehdr*>(data_.data()); }
  Elf64_Phdr* ph(int i) {
    return reinterpret_cast<Elf64_Phdr*>(data_.data() + eh()->e_phoff) + i;
  }
  Elf64_Phdr* FirstOfType(uint32_t type) {
    for (int i = 0; i < eh()->e_phnum; i++) {
      if (ph(i)->p_type == type) return ph(i);
    }
    return nullptr;
  }
  int Parse() {
    auto r = ParseElf(Reader(data_));
    return r.ok() ? 0 : r.err();
  }
  std::string data_;
};

TEST_F(CorruptElfTest, HeaderFields) {
  eh()->e_machine = EM_386;
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_ident[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_type = ET_CORE;
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_phentsize = 12;
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_phnum = 0;
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_phnum = 0xffff;  // 3.5 MiB of program headers
  EXPECT_EQ(Parse(), ENOEXEC);
  SetUp();
  eh()->e_phoff = ~0ULL - 8;  // beyond the file, and overflowing
  EXPECT_EQ(Parse(), ENOEXEC);
}

TEST_F(CorruptElfTest, Truncated) {
  for (size_t len : {0, 3, 63, 64, 100}) {
    data_.resize(len);
    EXPECT_EQ(Parse(), ENOEXEC) << len;
  }
}

TEST_F(CorruptElfTest, SegmentLayout) {
  Elf64_Phdr* load = FirstOfType(PT_LOAD);
  ASSERT_NE(load, nullptr);
  load->p_filesz = load->p_memsz + 1;
  EXPECT_EQ(Parse(), EINVAL);
  SetUp();
  load = FirstOfType(PT_LOAD);
  load->p_vaddr = ~0ULL - 10;
  EXPECT_EQ(Parse(), EINVAL);
  SetUp();
  load = FirstOfType(PT_LOAD);
  load->p_vaddr += 1;  // file page and memory page no longer congruent
  EXPECT_EQ(Parse(), EINVAL);
  SetUp();
  for (int i = 0; i < eh()->e_phnum; i++) {
    if (ph(i)->p_type == PT_LOAD) ph(i)->p_type = PT_NULL;
  }
  EXPECT_EQ(Parse(), ENOEXEC);
}

TEST_F(CorruptElfTest, Interpreter) {
  data_ = Fixture("hello_pie");
  Elf64_Phdr* interp = FirstOfType(PT_INTERP);
  ASSERT_NE(interp, nullptr);
  data_[interp->p_offset + interp->p_filesz - 1] = 'x';  // not NUL-terminated
  EXPECT_EQ(Parse(), ENOEXEC);
  data_ = Fixture("hello_pie");
  interp = FirstOfType(PT_INTERP);
  interp->p_filesz = 1 << 20;
  EXPECT_EQ(Parse(), ENOEXEC);
}

TEST(ScriptLineTest, InterpreterAndOneArgument) {
  auto p = [](const std::string& s) {
    return ParseScriptLine(s.data(), s.size());
  };
  auto r = p("#!/bin/sh\necho");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->interpreter, "/bin/sh");
  EXPECT_FALSE(r->arg.has_value());
  r = p("#!  /usr/bin/env   python3 -u  \n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->interpreter, "/usr/bin/env");
  EXPECT_EQ(*r->arg, "python3 -u");  // the rest of the line is one argument
  EXPECT_EQ(p("#!\n").err(), ENOEXEC);
  EXPECT_EQ(p("#!   \t\n").err(), ENOEXEC);
  EXPECT_EQ(p("#/bin/sh\n").err(), ENOEXEC);
  // An interpreter name running off the examined bytes is refused.
  EXPECT_EQ(p("#!" + std::string(300, 'a')).err(), ENOEXEC);
  EXPECT_TRUE(p("#!/bin/sh " + std::string(300, 'a')).ok());
}

}  // namespace
}  // namespace sentry::loader
