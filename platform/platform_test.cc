// Tests of the platform contract, run against every platform.

#include "platform/platform.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "platform/ptrace/stub.h"

// Guest code snippets, assembled here and copied into guest memory.
#define GUEST_SNIPPET(name, code)                                \
  extern "C" const char name##_begin[], name##_end[];            \
  asm(".pushsection .rodata\n" #name "_begin:\n" code "\n" #name \
      "_end:\n.popsection\n")

GUEST_SNIPPET(getpid_then_exit,
              "mov $39, %eax\n syscall\n"
              "mov %rax, %rdi\n mov $60, %eax\n syscall\n ud2\n");
GUEST_SNIPPET(read_null, "mov 8, %rax\n ud2\n");
GUEST_SNIPPET(write_rdi, "movq $1, (%rdi)\n ud2\n");
GUEST_SNIPPET(undefined, "ud2\n");
GUEST_SNIPPET(int80, "mov $20, %eax\n int $0x80\n ud2\n");
GUEST_SNIPPET(vsyscall_time,
              "xor %edi, %edi\n mov $0xffffffffff600400, %rax\n call *%rax\n"
              "ud2\n");
GUEST_SNIPPET(spin, "1: jmp 1b\n");
GUEST_SNIPPET(divide_zero, "xor %ecx, %ecx\n mov $1, %eax\n cqo\n idiv %rcx\n");
GUEST_SNIPPET(breakpoint, "int3\n ud2\n");
GUEST_SNIPPET(set_xmm3, "mov $0x1234, %eax\n movq %rax, %xmm3\n ud2\n");
GUEST_SNIPPET(get_xmm3, "movq %xmm3, %rax\n ud2\n");
GUEST_SNIPPET(set_xmm17, "mov $0x5678, %eax\n vmovq %rax, %xmm17\n ud2\n");
GUEST_SNIPPET(get_xmm17, "vmovq %xmm17, %rax\n ud2\n");

namespace platform {
namespace {

constexpr uint64_t kCode = 0x400000;
constexpr uint64_t kData = 0x500000;
constexpr uint64_t kStack = 0x600000;

class PlatformTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    auto p = Platform::Create(GetParam(), &error);
    ASSERT_TRUE(p.ok()) << error;
    platform_ = std::move(p).value();
    auto as = platform_->NewAddressSpace();
    ASSERT_TRUE(as.ok()) << as.err();
    as_ = std::move(as).value();
    ctx_ = platform_->NewContext();
  }

  // Makes an address space, runs an undefined instruction in it (a fault)
  // and lets it go.
  void RunUndefinedInstructionInNewAddressSpace() {
    auto as = platform_->NewAddressSpace();
    ASSERT_TRUE(as.ok()) << as.err();
    Registers regs = Initial();
    ASSERT_TRUE((*as)->Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
    size_t n = static_cast<size_t>(undefined_end - undefined_begin);
    ASSERT_TRUE((*as)->Write(kCode, undefined_begin, n).ok());
    ASSERT_TRUE((*as)->Protect(kCode, 0x1000, PROT_READ | PROT_EXEC).ok());
    regs.rip = kCode;
    EXPECT_EQ(ctx_->Switch(**as, regs).reason, StopReason::kFault);
    ctx_->Release(**as);
  }

  void TearDown() override {
    if (ctx_ && as_) ctx_->Release(*as_);
    as_.reset();
  }

  // Loads `code` at kCode (read+exec), a stack and a data page, and returns
  // registers that start it.
  Registers Load(const char* begin, const char* end) {
    EXPECT_TRUE(as_->Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
    size_t n = static_cast<size_t>(end - begin);
    auto w = as_->Write(kCode, begin, n);
    EXPECT_TRUE(w.ok() && *w == n);
    EXPECT_TRUE(as_->Protect(kCode, 0x1000, PROT_READ | PROT_EXEC).ok());
    EXPECT_TRUE(as_->Map(kData, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
    EXPECT_TRUE(as_->Map(kStack, 0x10000, PROT_READ | PROT_WRITE, {}).ok());
    Registers regs = Initial();
    regs.rip = kCode;
    regs.rsp = kStack + 0x10000 - 64;
    return regs;
  }

  // Registers with valid segment selectors, taken from a fresh stop.
  Registers Initial() {
    Registers r{};
    r.cs = 0x33;
    r.ss = 0x2b;
    r.eflags = 0x202;
    return r;
  }

  std::unique_ptr<Platform> platform_;
  std::unique_ptr<AddressSpace> as_;
  std::unique_ptr<Context> ctx_;
};

TEST_P(PlatformTest, MemoryRoundTrip) {
  ASSERT_TRUE(as_->Map(kData, 0x2000, PROT_READ | PROT_WRITE, {}).ok());
  std::string msg = "hello from the sentry";
  auto w = as_->Write(kData + 0xff0, msg.data(), msg.size());  // spans pages
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, msg.size());
  char buf[64] = {};
  auto r = as_->Read(kData + 0xff0, buf, msg.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(buf, *r), msg);
}

TEST_P(PlatformTest, CopiesHonourProtection) {
  ASSERT_TRUE(as_->Map(kData, 0x2000, PROT_READ | PROT_WRITE, {}).ok());
  ASSERT_TRUE(as_->Protect(kData + 0x1000, 0x1000, PROT_READ).ok());
  char buf[32] = "abc";
  EXPECT_EQ(as_->Write(kData + 0x1000, buf, 4).err(), EFAULT);
  // A copy that runs into the read-only page is short, not failed.
  auto w = as_->Write(kData + 0x1000 - 2, buf, 4);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 2u);
  ASSERT_TRUE(as_->Unmap(kData, 0x2000).ok());
  EXPECT_EQ(as_->Read(kData, buf, 4).err(), EFAULT);
}

TEST_P(PlatformTest, RefusesTheStubAndNullPage) {
  uint64_t max = platform_->MaxUserAddress();
  EXPECT_FALSE(as_->Map(max, 0x1000, PROT_READ, {}).ok());
  EXPECT_FALSE(as_->Map(max - 0x1000, 0x2000, PROT_READ, {}).ok());
  EXPECT_FALSE(as_->Unmap(max, 0x1000).ok());
  EXPECT_FALSE(as_->Map(0, 0x1000, PROT_READ, {}).ok());
}

TEST_P(PlatformTest, RemapMovesContentAndAdviseZeroes) {
  ASSERT_TRUE(as_->Map(kData, 0x2000, PROT_READ | PROT_WRITE, {}).ok());
  ASSERT_TRUE(as_->Write(kData + 0x1000, "moved", 5).ok());
  ASSERT_TRUE(as_->Remap(kData, 0x2000, kStack, 0x3000).ok());
  char buf[8] = {};
  EXPECT_EQ(as_->Read(kData, buf, 1).err(), EFAULT);
  ASSERT_TRUE(as_->Read(kStack + 0x1000, buf, 5).ok());
  EXPECT_EQ(std::string(buf, 5), "moved");
  ASSERT_TRUE(as_->Advise(kStack, 0x3000, MADV_DONTNEED).ok());
  ASSERT_TRUE(as_->Read(kStack + 0x1000, buf, 5).ok());
  EXPECT_EQ(std::string(buf, 5), std::string(5, '\0'));
}

TEST_P(PlatformTest, FileBackedMapping) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "t", MFD_CLOEXEC));
  ASSERT_GE(fd, 0);
  std::string content(8192, 'x');
  content[4096] = 'y';
  ASSERT_EQ(pwrite(fd, content.data(), content.size(), 0), 8192);
  ASSERT_TRUE(as_->Map(kData, 0x1000, PROT_READ, {fd, 4096, true}).ok());
  close(fd);  // The mapping keeps the file.
  char c = 0;
  ASSERT_TRUE(as_->Read(kData, &c, 1).ok());
  EXPECT_EQ(c, 'y');
}

TEST_P(PlatformTest, SyscallsStopAndNeverRunOnTheHost) {
  Registers regs = Load(getpid_then_exit_begin, getpid_then_exit_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kSyscall);
  EXPECT_EQ(regs.orig_rax, static_cast<uint64_t>(SYS_getpid));
  regs.rax = 4242;  // The sentry's answer.
  r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kSyscall);
  EXPECT_EQ(regs.orig_rax, static_cast<uint64_t>(SYS_exit));
  EXPECT_EQ(regs.rdi, 4242u);
  // exit() did not run: the guest is still there and reaches its ud2.
  regs.rax = 0;
  r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGILL);
}

TEST_P(PlatformTest, PreadToGuestIsPreadIntoTheGuestsBuffer) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "t", MFD_CLOEXEC));
  ASSERT_GE(fd, 0);
  std::string content(0x4000, '\0');
  for (size_t i = 0; i < content.size(); i++) content[i] = char(i * 7 % 251);
  ASSERT_EQ(pwrite(fd, content.data(), content.size(), 0), 0x4000);
  ASSERT_TRUE(as_->Map(kData, 0x3000, PROT_READ | PROT_WRITE, {}).ok());
  ASSERT_TRUE(as_->Protect(kData + 0x2000, 0x1000, PROT_READ).ok());
  auto n = as_->PreadToGuest(fd, 0x100, kData, 0x1000);
  ASSERT_TRUE(n.ok()) << n.err();
  EXPECT_EQ(*n, 0x1000u);
  std::string got(0x1000, '\0');
  ASSERT_TRUE(as_->Read(kData, got.data(), got.size()).ok());
  EXPECT_EQ(got, content.substr(0x100, 0x1000));
  // Short at a page the guest cannot write; EFAULT if it can write none.
  n = as_->PreadToGuest(fd, 0, kData + 0x1000, 0x2000);
  ASSERT_TRUE(n.ok()) << n.err();
  EXPECT_EQ(*n, 0x1000u);
  EXPECT_EQ(as_->PreadToGuest(fd, 0, kData + 0x2000, 0x1000).err(), EFAULT);
  EXPECT_EQ(as_->PreadToGuest(fd, 0, 0x10000, 0x1000).err(), EFAULT);
  // Beyond the guest's addresses (the stub's own pages) nothing is tried.
  uint64_t max = platform_->MaxUserAddress();
  EXPECT_EQ(as_->PreadToGuest(fd, 0, max - 0x1000, 0x2000).err(), EFAULT);
  EXPECT_EQ(as_->PreadToGuest(fd, 0, 0, 0x1000).err(), EFAULT);
  // Short at the end of the file, then nothing.
  n = as_->PreadToGuest(fd, 0x3800, kData, 0x1000);
  ASSERT_TRUE(n.ok()) << n.err();
  EXPECT_EQ(*n, 0x800u);
  n = as_->PreadToGuest(fd, 0x5000, kData, 0x1000);
  ASSERT_TRUE(n.ok()) << n.err();
  EXPECT_EQ(*n, 0u);
  // The file's own errors: a pipe cannot be read at an offset.
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  EXPECT_EQ(as_->PreadToGuest(pipefd[0], 0, kData, 0x1000).err(), ESPIPE);
  close(pipefd[0]);
  close(pipefd[1]);
  close(fd);
  // The guest runs on afterwards.
  Registers regs = Load(getpid_then_exit_begin, getpid_then_exit_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kSyscall);
  EXPECT_EQ(regs.orig_rax, static_cast<uint64_t>(SYS_getpid));
}

TEST_P(PlatformTest, JumpingIntoTheStubStillStops) {
  Registers regs = Load(undefined_begin, undefined_end);
  // A guest that forges a call to the stub's syscall instruction is trapped
  // like any other system call; exit_group must not kill the stub.
  regs.rip = platform::ptrace::StubAddr(uks_stub_syscall);
  regs.rax = SYS_exit_group;
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kSyscall);
  EXPECT_EQ(regs.orig_rax, static_cast<uint64_t>(SYS_exit_group));
  regs.rip = kCode;
  r = ctx_->Switch(*as_, regs);
  EXPECT_EQ(r.reason, StopReason::kFault);
}

TEST_P(PlatformTest, SegvHasAddressAndCode) {
  Registers regs = Load(read_null_begin, read_null_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGSEGV);
  EXPECT_EQ(r.siginfo.si_code, SEGV_MAPERR);
  EXPECT_EQ(reinterpret_cast<uint64_t>(r.siginfo.si_addr), 8u);
}

TEST_P(PlatformTest, WriteToReadOnlyIsAccessError) {
  Registers regs = Load(write_rdi_begin, write_rdi_end);
  ASSERT_TRUE(as_->Protect(kData, 0x1000, PROT_READ).ok());
  regs.rdi = kData;
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGSEGV);
  EXPECT_EQ(r.siginfo.si_code, SEGV_ACCERR);
  EXPECT_EQ(reinterpret_cast<uint64_t>(r.siginfo.si_addr), kData);
}

TEST_P(PlatformTest, ArithmeticAndBreakpointFaults) {
  Registers regs = Load(divide_zero_begin, divide_zero_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGFPE);
  EXPECT_EQ(r.siginfo.si_code, FPE_INTDIV);

  regs = Load(breakpoint_begin, breakpoint_end);
  r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGTRAP);
}

TEST_P(PlatformTest, Int80IsRefused) {
  Registers regs = Load(int80_begin, int80_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGSEGV);
}

TEST_P(PlatformTest, VsyscallBecomesASyscall) {
  Registers regs = Load(vsyscall_time_begin, vsyscall_time_end);
  SwitchResult r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kSyscall);
  EXPECT_EQ(regs.orig_rax, static_cast<uint64_t>(SYS_time));
  // The kernel already returned from the vsyscall: we land on the ud2.
  regs.rax = 1;
  r = ctx_->Switch(*as_, regs);
  ASSERT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGILL);
}

// Runs a snippet that ends in ud2 and returns rax at that point.
uint64_t RunForRax(Context& ctx, AddressSpace& as, const char* begin,
                   const char* end, uint64_t code_addr) {
  size_t n = static_cast<size_t>(end - begin);
  EXPECT_TRUE(as.Protect(code_addr, 0x1000, PROT_READ | PROT_WRITE).ok());
  EXPECT_TRUE(as.Write(code_addr, begin, n).ok());
  EXPECT_TRUE(as.Protect(code_addr, 0x1000, PROT_READ | PROT_EXEC).ok());
  Registers regs{};
  regs.cs = 0x33;
  regs.ss = 0x2b;
  regs.eflags = 0x202;
  regs.rip = code_addr;
  SwitchResult r = ctx.Switch(as, regs);
  EXPECT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGILL);
  return regs.rax;
}

TEST_P(PlatformTest, ResetFPStateClearsVectorRegisters) {
  ASSERT_TRUE(as_->Map(kCode, 0x1000, PROT_READ, {}).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, set_xmm3_begin, set_xmm3_end, kCode),
            0x1234u);
  EXPECT_EQ(RunForRax(*ctx_, *as_, get_xmm3_begin, get_xmm3_end, kCode),
            0x1234u);
  ASSERT_TRUE(ctx_->ResetFPState(*as_).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, get_xmm3_begin, get_xmm3_end, kCode), 0u);
  if (!__builtin_cpu_supports("avx512f")) {
    GTEST_SKIP() << "no AVX-512 on this CPU: xmm16-31 do not exist to check";
  }
  // xmm17 is AVX-512 state only: PTRACE_SETFPREGS alone would keep it.
  EXPECT_EQ(RunForRax(*ctx_, *as_, set_xmm17_begin, set_xmm17_end, kCode),
            0x5678u);
  ASSERT_TRUE(ctx_->ResetFPState(*as_).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, get_xmm17_begin, get_xmm17_end, kCode), 0u);
}

TEST_P(PlatformTest, ForkCopiesPrivateAndSharesSharedMemory) {
  ASSERT_TRUE(as_->Map(kData, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
  int fd = static_cast<int>(syscall(SYS_memfd_create, "shared", MFD_CLOEXEC));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 0x1000), 0);
  ASSERT_TRUE(
      as_->Map(kStack, 0x1000, PROT_READ | PROT_WRITE, {fd, 0, true}).ok());
  close(fd);
  ASSERT_TRUE(as_->Write(kData, "parent", 6).ok());
  ASSERT_TRUE(as_->Write(kStack, "before", 6).ok());
  auto child = as_->Fork();
  ASSERT_TRUE(child.ok()) << child.err();
  char buf[8] = {};
  ASSERT_TRUE((*child)->Read(kData, buf, 6).ok());
  EXPECT_EQ(std::string(buf, 6), "parent");
  // Private memory is copied on write; shared memory stays shared.
  ASSERT_TRUE((*child)->Write(kData, "child!", 6).ok());
  ASSERT_TRUE((*child)->Write(kStack, "after!", 6).ok());
  ASSERT_TRUE(as_->Read(kData, buf, 6).ok());
  EXPECT_EQ(std::string(buf, 6), "parent");
  ASSERT_TRUE(as_->Read(kStack, buf, 6).ok());
  EXPECT_EQ(std::string(buf, 6), "after!");
  // The child runs guest code of its own, and unmapping there leaves the
  // parent alone.
  ASSERT_TRUE((*child)->Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
  EXPECT_EQ(RunForRax(*ctx_, **child, set_xmm3_begin, set_xmm3_end, kCode),
            0x1234u);

  ASSERT_TRUE((*child)->Unmap(kData, 0x1000).ok());
  EXPECT_TRUE(as_->Read(kData, buf, 6).ok());
  ctx_->Release(**child);
}

TEST_P(PlatformTest, FPStateRoundTrips) {
  ASSERT_TRUE(as_->Map(kCode, 0x1000, PROT_READ, {}).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, set_xmm3_begin, set_xmm3_end, kCode),
            0x1234u);
  auto saved = ctx_->GetFPState(*as_);
  ASSERT_TRUE(saved.ok());
  EXPECT_GE(saved->size(), 576u);  // legacy area + XSAVE header at least
  ASSERT_TRUE(ctx_->ResetFPState(*as_).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, get_xmm3_begin, get_xmm3_end, kCode), 0u);
  ASSERT_TRUE(ctx_->SetFPState(*as_, *saved).ok());
  EXPECT_EQ(RunForRax(*ctx_, *as_, get_xmm3_begin, get_xmm3_end, kCode),
            0x1234u);
  // An image the host would not load is refused, not applied.
  std::vector<uint8_t> bad = *saved;
  bad[512 + 8] = 0xff;  // XCOMP_BV: compacted format in a standard image
  bad[512 + 15] = 0x80;
  EXPECT_EQ(ctx_->SetFPState(*as_, bad).err(), EINVAL);
}

TEST_P(PlatformTest, InterruptStopsARunningGuest) {
  Registers regs = Load(spin_begin, spin_end);
  std::thread t([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx_->Interrupt();
  });
  SwitchResult r = ctx_->Switch(*as_, regs);
  t.join();
  EXPECT_EQ(r.reason, StopReason::kInterrupted);
  // An interrupt before Switch is not lost either.
  ctx_->Interrupt();
  r = ctx_->Switch(*as_, regs);
  EXPECT_EQ(r.reason, StopReason::kInterrupted);
}

// The children of process `pid` ("self" or a number), as its threads'
// /proc children files list them.
std::set<pid_t> ChildrenOf(const std::string& pid) {
  std::set<pid_t> found;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + pid + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t child;
    while (in >> child) found.insert(child);
  }
  return found;
}

// Every process below this one (stubs are forked from the zygote, so
// they are its children).
std::set<pid_t> Descendants() {
  std::set<pid_t> found;
  std::vector<std::string> todo = {"self"};
  while (!todo.empty()) {
    std::string pid = todo.back();
    todo.pop_back();
    for (pid_t child : ChildrenOf(pid)) {
      if (found.insert(child).second) todo.push_back(std::to_string(child));
    }
  }
  return found;
}

TEST_P(PlatformTest, ManyAddressSpacesLeaveNoProcesses) {
  ctx_->Release(*as_);
  as_.reset();
  // What stays is the platform's own: the zygote stubs are forked from.
  const std::set<pid_t> before = Descendants();
  EXPECT_LE(before.size(), 1u);
  for (int i = 0; i < 20; i++) {
    RunUndefinedInstructionInNewAddressSpace();
  }
  // Every stub was killed and reaped: none is left, not even a zombie.
  EXPECT_EQ(Descendants(), before);
}

TEST_P(PlatformTest, AddressSpacesOutliveTheZygote) {
  // The only child of this process is the zygote (SetUp made an address
  // space from it); the stubs are its children.
  std::set<pid_t> zygote = ChildrenOf("self");
  ASSERT_EQ(zygote.size(), 1u);
  ASSERT_EQ(kill(*zygote.begin(), SIGKILL), 0);
  RunUndefinedInstructionInNewAddressSpace();
  // A new zygote replaced the old one.
  std::set<pid_t> now = ChildrenOf("self");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(*now.begin(), *zygote.begin());
}

INSTANTIATE_TEST_SUITE_P(AllPlatforms, PlatformTest,
                         ::testing::Values("ptrace", "systrap"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace platform
