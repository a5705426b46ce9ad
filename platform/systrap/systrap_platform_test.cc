// systrap-specific tests: the guest filter's rules, and guests that abuse
// the stub's code. The platform contract itself is in
// platform/platform_test.cc, which runs on every platform.

#include "platform/systrap/systrap_platform.h"

#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "platform/ptrace/stub.h"

namespace platform::systrap {
namespace {

using ptrace::kStubStart;

// Runs a classic BPF seccomp program over `data` (the subset the filter
// uses: absolute word loads, jumps on constants, returns).
uint32_t RunFilter(const std::vector<sock_filter>& prog,
                   const seccomp_data& data) {
  uint32_t a = 0;
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const sock_filter& f = prog[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        EXPECT_LE(f.k + 4, sizeof(data));
        memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, 4);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > f.k ? f.jt : f.jf;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "unexpected BPF instruction " << f.code;
        return 0;
    }
  }
  ADD_FAILURE() << "the filter fell off its end";
  return 0;
}

seccomp_data Call(uint64_t ip, int nr, uint64_t a0 = 0, uint64_t a1 = 0) {
  seccomp_data d{};
  d.arch = AUDIT_ARCH_X86_64;
  d.nr = nr;
  d.instruction_pointer = ip;
  d.args[0] = a0;
  d.args[1] = a1;
  return d;
}

TEST(GuestFilterTest, GuestCodeAlwaysTraps) {
  std::vector<sock_filter> f = BuildGuestFilter();
  for (int nr : {SYS_futex, SYS_rt_sigreturn, SYS_exit, SYS_mmap, SYS_execve,
                 SYS_arch_prctl, SYS_getpid}) {
    EXPECT_EQ(RunFilter(f, Call(0x400000, nr, 0x1002, FUTEX_WAKE)),
              static_cast<uint32_t>(SECCOMP_RET_TRAP))
        << nr;
  }
  // The vsyscall page, and the byte just past the stub page.
  EXPECT_EQ(RunFilter(f, Call(0xffffffffff600400ULL, SYS_time)),
            static_cast<uint32_t>(SECCOMP_RET_TRAP));
  EXPECT_EQ(RunFilter(f, Call(kStubStart + 0x1000, SYS_exit)),
            static_cast<uint32_t>(SECCOMP_RET_TRAP));
  EXPECT_EQ(RunFilter(f, Call(kStubStart - 1, SYS_exit)),
            static_cast<uint32_t>(SECCOMP_RET_TRAP));
  seccomp_data i386 = Call(kStubStart + 8, 1);
  i386.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(RunFilter(f, i386), static_cast<uint32_t>(SECCOMP_RET_TRAP));
}

TEST(GuestFilterTest, TheStubPageGetsOnlyWhatTheHandlerIssues) {
  std::vector<sock_filter> f = BuildGuestFilter();
  const uint64_t ip = kStubStart + 0x100;
  const uint32_t allow = SECCOMP_RET_ALLOW, trap = SECCOMP_RET_TRAP,
                 kill = SECCOMP_RET_KILL_PROCESS;
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_futex, 0, FUTEX_WAIT)), allow);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_futex, 0, FUTEX_WAKE)), allow);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_futex, 0, FUTEX_REQUEUE)), kill);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_futex, 0, FUTEX_WAIT_PRIVATE)), kill);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_arch_prctl, 0x1002)), allow);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_arch_prctl, 0x1001)), allow);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_arch_prctl, 0x1003)), kill);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_rt_sigreturn)), allow);
  EXPECT_EQ(RunFilter(f, Call(ip, SYS_exit)), allow);
  // Anything else a guest reaches by jumping onto a stub `syscall` is
  // emulated, never run.
  for (int nr : {SYS_mmap, SYS_mprotect, SYS_clone, SYS_execve, SYS_openat,
                 SYS_exit_group, SYS_rt_sigprocmask, SYS_sigaltstack,
                 SYS_seccomp, SYS_ptrace, SYS_pread64, SYS_read, SYS_recvmsg}) {
    EXPECT_EQ(RunFilter(f, Call(ip, nr)), trap) << nr;
  }
}

constexpr uint64_t kCode = 0x400000;
constexpr uint64_t kStack = 0x600000;

// A guest thread's registers in 64-bit user mode, about to run at `rip`.
Registers UserRegs(uint64_t rip) {
  Registers regs{};
  regs.cs = 0x33;
  regs.ss = 0x2b;
  regs.eflags = 0x202;
  regs.rip = rip;
  return regs;
}

// A systrap platform with one address space and one context.
class SystrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto p = Platform::Create("systrap", &error);
    ASSERT_TRUE(p.ok()) << error;
    platform_ = std::move(*p);
    auto as = platform_->NewAddressSpace();
    ASSERT_TRUE(as.ok());
    as_ = std::move(*as);
    ctx_ = platform_->NewContext();
  }

  std::unique_ptr<Platform> platform_;
  std::unique_ptr<AddressSpace> as_;
  std::unique_ptr<Context> ctx_;
};

TEST_F(SystrapTest, JumpingIntoTheHandlerEndsOnlyThatGuest) {
  // A guest that calls the handler itself, with its own stack: the handler
  // takes guest memory for its slot and waits there forever. The sentry
  // never hears, interrupts it, finds it in stub code, and ends it.
  ASSERT_TRUE(as_->Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
  ASSERT_TRUE(as_->Map(kStack, 0x20000, PROT_READ | PROT_WRITE, {}).ok());
  const uint8_t ud2[] = {0x0f, 0x0b};
  ASSERT_TRUE(as_->Write(kCode, ud2, sizeof(ud2)).ok());
  ASSERT_TRUE(as_->Protect(kCode, 0x1000, PROT_READ | PROT_EXEC).ok());
  Registers regs = UserRegs(ptrace::StubAddr(uks_systrap_handler));
  regs.rsp = kStack + 0x18000;
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx_->Interrupt();
  });
  SwitchResult r = ctx_->Switch(*as_, regs);
  interrupter.join();
  EXPECT_EQ(r.reason, StopReason::kDied);
  ctx_->Release(*as_);
  as_.reset();
  // The platform goes on: a new guest runs.
  auto as2 = platform_->NewAddressSpace();
  ASSERT_TRUE(as2.ok());
  ASSERT_TRUE((*as2)->Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
  ASSERT_TRUE((*as2)->Write(kCode, ud2, sizeof(ud2)).ok());
  ASSERT_TRUE((*as2)->Protect(kCode, 0x1000, PROT_READ | PROT_EXEC).ok());
  regs.rip = kCode;
  // The interrupt may still be pending: it makes one Switch return early.
  do {
    r = ctx_->Switch(**as2, regs);
  } while (r.reason == StopReason::kInterrupted);
  EXPECT_EQ(r.reason, StopReason::kFault);
  EXPECT_EQ(r.siginfo.si_signo, SIGILL);
  ctx_->Release(**as2);
}

// The timeout argument (the fourth) of each thread of process `pid` that
// is in futex(2) now, as /proc shows it ("0x0": none).
std::vector<std::string> FutexTimeouts(pid_t pid) {
  std::vector<std::string> out;
  for (int tid = pid; tid < pid + 64; tid++) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/task/" +
                    std::to_string(tid) + "/syscall");
    std::string line;
    if (!std::getline(f, line)) continue;
    std::vector<std::string> w = absl::StrSplit(line, ' ');
    if (w.size() > 4 && w[0] == std::to_string(SYS_futex)) out.push_back(w[4]);
  }
  return out;
}

// A guest that makes getpid calls forever: mov $39, %eax; syscall; jmp.
Registers GetpidLoop(AddressSpace& as) {
  const uint8_t code[] = {0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7};
  EXPECT_TRUE(as.Map(kCode, 0x1000, PROT_READ | PROT_WRITE, {}).ok());
  EXPECT_TRUE(as.Write(kCode, code, sizeof(code)).ok());
  EXPECT_TRUE(as.Protect(kCode, 0x1000, PROT_READ | PROT_EXEC).ok());
  return UserRegs(kCode);
}

// Context::NextEventTakes: the guest thread sleeps with a timeout through
// the expected answer, wakes by itself when it ends, and an earlier answer
// cuts it short.
TEST_F(SystrapTest, NapsEndByThemselvesOrAtTheAnswer) {
  if (std::thread::hardware_concurrency() < 2) {
    GTEST_SKIP() << "one CPU: a guest thread shares its sentry thread's CPU "
                    "and never naps";
  }
  Registers regs = GetpidLoop(*as_);
  ASSERT_EQ(ctx_->Switch(*as_, regs).reason, StopReason::kSyscall);
  const pid_t pid = as_->StubPid();

  // A 2 s nap (nap_for's seconds and nanoseconds both in use): the thread
  // is in a futex wait with a timeout; the answer wakes it at once.
  ctx_->NextEventTakes(2'000'000'000);
  ASSERT_EQ(ctx_->Switch(*as_, regs).reason, StopReason::kSyscall);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::string> timeouts = FutexTimeouts(pid);
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_NE(timeouts[0], "0x0") << "not napping";
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(ctx_->Switch(*as_, regs).reason, StopReason::kSyscall);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1))
      << "the answer waited for the nap to end";

  // A 1 ms nap ends by itself: the thread spins, then sleeps until woken.
  ctx_->NextEventTakes(1'000'000);
  ASSERT_EQ(ctx_->Switch(*as_, regs).reason, StopReason::kSyscall);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  timeouts = FutexTimeouts(pid);
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_EQ(timeouts[0], "0x0") << "still napping";
  ASSERT_EQ(ctx_->Switch(*as_, regs).reason, StopReason::kSyscall);

  // No hint, no nap: a nap is armed for one event only.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  timeouts = FutexTimeouts(pid);
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_EQ(timeouts[0], "0x0");
  ctx_->Release(*as_);
}

}  // namespace
}  // namespace platform::systrap
