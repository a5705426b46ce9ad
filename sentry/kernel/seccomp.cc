#include "sentry/kernel/seccomp.h"

#include <cstring>
#include <utility>

namespace sentry::kernel {

namespace {

constexpr size_t kMaxInsns = 4096;       // BPF_MAXINSNS
constexpr size_t kMaxPathInsns = 32768;  // MAX_INSNS_PER_PATH
constexpr uint32_t kMemWords = 16;       // BPF_MEMWORDS

// Linux orders actions by their top 16 bits taken as signed: kill process
// (0x80000000) comes first, allow last.
int32_t ActionOnly(uint32_t ret) {
  return static_cast<int32_t>(ret & SECCOMP_RET_ACTION_FULL);
}

// Whether `code` is one of the opcodes seccomp_check_filter admits.
bool Admitted(uint16_t code) {
  switch (code) {
    case BPF_RET | BPF_K:
    case BPF_RET | BPF_A:
    case BPF_ALU | BPF_ADD | BPF_K:
    case BPF_ALU | BPF_ADD | BPF_X:
    case BPF_ALU | BPF_SUB | BPF_K:
    case BPF_ALU | BPF_SUB | BPF_X:
    case BPF_ALU | BPF_MUL | BPF_K:
    case BPF_ALU | BPF_MUL | BPF_X:
    case BPF_ALU | BPF_DIV | BPF_K:
    case BPF_ALU | BPF_DIV | BPF_X:
    case BPF_ALU | BPF_AND | BPF_K:
    case BPF_ALU | BPF_AND | BPF_X:
    case BPF_ALU | BPF_OR | BPF_K:
    case BPF_ALU | BPF_OR | BPF_X:
    case BPF_ALU | BPF_XOR | BPF_K:
    case BPF_ALU | BPF_XOR | BPF_X:
    case BPF_ALU | BPF_LSH | BPF_K:
    case BPF_ALU | BPF_LSH | BPF_X:
    case BPF_ALU | BPF_RSH | BPF_K:
    case BPF_ALU | BPF_RSH | BPF_X:
    case BPF_ALU | BPF_NEG:
    case BPF_LD | BPF_W | BPF_ABS:
    case BPF_LD | BPF_W | BPF_LEN:
    case BPF_LDX | BPF_W | BPF_LEN:
    case BPF_LD | BPF_IMM:
    case BPF_LDX | BPF_IMM:
    case BPF_MISC | BPF_TAX:
    case BPF_MISC | BPF_TXA:
    case BPF_LD | BPF_MEM:
    case BPF_LDX | BPF_MEM:
    case BPF_ST:
    case BPF_STX:
    case BPF_JMP | BPF_JA:
    case BPF_JMP | BPF_JEQ | BPF_K:
    case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K:
    case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K:
    case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K:
    case BPF_JMP | BPF_JSET | BPF_X:
      return true;
    default:
      return false;
  }
}

// bpf_check_classic and seccomp_check_filter: what Load refuses.
bool Valid(const std::vector<struct sock_filter>& prog) {
  size_t n = prog.size();
  if (n == 0 || n > kMaxInsns) return false;
  // Scratch words known written on every path into each instruction
  // (check_load_and_stores): jumps only go forward, so one pass does.
  std::vector<uint16_t> valid_in(n, 0xffff);
  valid_in[0] = 0;
  uint16_t valid = 0xffff;
  for (size_t pc = 0; pc < n; pc++) {
    const struct sock_filter& f = prog[pc];
    if (!Admitted(f.code)) return false;
    valid &= valid_in[pc];
    switch (BPF_CLASS(f.code)) {
      case BPF_LD:
      case BPF_LDX:
        if (BPF_MODE(f.code) == BPF_ABS &&
            (f.k >= sizeof(struct seccomp_data) || (f.k & 3) != 0)) {
          return false;
        }
        if (BPF_MODE(f.code) == BPF_MEM &&
            (f.k >= kMemWords || (valid & (1u << f.k)) == 0)) {
          return false;
        }
        break;
      case BPF_ST:
      case BPF_STX:
        if (f.k >= kMemWords) return false;
        valid |= static_cast<uint16_t>(1u << f.k);
        break;
      case BPF_ALU:
        if (BPF_SRC(f.code) == BPF_K &&
            ((BPF_OP(f.code) == BPF_DIV && f.k == 0) ||
             ((BPF_OP(f.code) == BPF_LSH || BPF_OP(f.code) == BPF_RSH) &&
              f.k >= 32))) {
          return false;
        }
        break;
      case BPF_JMP:
        if (BPF_OP(f.code) == BPF_JA) {
          if (f.k >= n - pc - 1) return false;
          valid_in[pc + 1 + f.k] &= valid;
        } else {
          if (pc + 1 + f.jt >= n || pc + 1 + f.jf >= n) return false;
          valid_in[pc + 1 + f.jt] &= valid;
          valid_in[pc + 1 + f.jf] &= valid;
        }
        valid = 0xffff;
        break;
      default:
        break;
    }
  }
  return BPF_CLASS(prog[n - 1].code) == BPF_RET;
}

}  // namespace

SeccompFilter::SeccompFilter(std::vector<struct sock_filter> prog,
                             std::shared_ptr<const SeccompFilter> prev)
    : prog_(std::move(prog)),
      prev_(std::move(prev)),
      count_(prev_ ? prev_->count_ + 1 : 1),
      // Each older filter costs its length and a 4-instruction penalty.
      path_insns_(prog_.size() + (prev_ ? prev_->path_insns_ + 4 : 0)) {}

SysResult<std::shared_ptr<const SeccompFilter>> SeccompFilter::Load(
    std::vector<struct sock_filter> prog,
    std::shared_ptr<const SeccompFilter> prev) {
  if (!Valid(prog)) return Errno(EINVAL);
  std::shared_ptr<const SeccompFilter> f(
      new SeccompFilter(std::move(prog), std::move(prev)));
  if (f->path_insns_ > kMaxPathInsns) return Errno(ENOMEM);
  return f;
}

uint32_t SeccompFilter::Run(const struct seccomp_data& data) const {
  uint32_t a = 0, x = 0, mem[kMemWords] = {};
  size_t pc = 0;
  // Valid() bounds every load, store and jump, and ends the program in a
  // return; the loop cannot leave it.
  for (;;) {
    const struct sock_filter& f = prog_[pc++];
    uint32_t src = BPF_SRC(f.code) == BPF_X ? x : f.k;
    switch (f.code) {
      case BPF_RET | BPF_K:
        return f.k;
      case BPF_RET | BPF_A:
        return a;
      case BPF_LD | BPF_W | BPF_ABS:
        memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, sizeof(a));
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        a = sizeof(struct seccomp_data);
        break;
      case BPF_LDX | BPF_W | BPF_LEN:
        x = sizeof(struct seccomp_data);
        break;
      case BPF_LD | BPF_IMM:
        a = f.k;
        break;
      case BPF_LDX | BPF_IMM:
        x = f.k;
        break;
      case BPF_LD | BPF_MEM:
        a = mem[f.k];
        break;
      case BPF_LDX | BPF_MEM:
        x = mem[f.k];
        break;
      case BPF_ST:
        mem[f.k] = a;
        break;
      case BPF_STX:
        mem[f.k] = x;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_MISC | BPF_TXA:
        a = x;
        break;
      case BPF_ALU | BPF_NEG:
        a = 0u - a;
        break;
      case BPF_JMP | BPF_JA:
        pc += f.k;
        break;
      default:
        if (BPF_CLASS(f.code) == BPF_ALU) {
          switch (BPF_OP(f.code)) {
            case BPF_ADD:
              a += src;
              break;
            case BPF_SUB:
              a -= src;
              break;
            case BPF_MUL:
              a *= src;
              break;
            case BPF_DIV:
              // Classic BPF ends a program that divides by zero with 0.
              if (src == 0) return 0;
              a /= src;
              break;
            case BPF_AND:
              a &= src;
              break;
            case BPF_OR:
              a |= src;
              break;
            case BPF_XOR:
              a ^= src;
              break;
            case BPF_LSH:
              a = src < 32 ? a << src : 0;
              break;
            case BPF_RSH:
              a = src < 32 ? a >> src : 0;
              break;
          }
        } else {  // BPF_JMP, conditional
          bool taken = false;
          switch (BPF_OP(f.code)) {
            case BPF_JEQ:
              taken = a == src;
              break;
            case BPF_JGT:
              taken = a > src;
              break;
            case BPF_JGE:
              taken = a >= src;
              break;
            case BPF_JSET:
              taken = (a & src) != 0;
              break;
          }
          pc += taken ? f.jt : f.jf;
        }
        break;
    }
  }
}

uint32_t SeccompFilter::Evaluate(const struct seccomp_data& data) const {
  uint32_t ret = SECCOMP_RET_ALLOW;
  bool first = true;
  for (const SeccompFilter* f = this; f != nullptr; f = f->prev_.get()) {
    uint32_t cur = f->Run(data);
    if (first || ActionOnly(cur) < ActionOnly(ret)) ret = cur;
    first = false;
  }
  return ret;
}

bool SeccompFilter::Extends(const SeccompFilter* older) const {
  if (older == nullptr) return true;
  for (const SeccompFilter* f = this; f != nullptr; f = f->prev_.get()) {
    if (f == older) return true;
  }
  return false;
}

bool SeccompActionAvailable(uint32_t action) {
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS:
    case SECCOMP_RET_KILL_THREAD:
    case SECCOMP_RET_TRAP:
    case SECCOMP_RET_ERRNO:
    case SECCOMP_RET_TRACE:
    case SECCOMP_RET_LOG:
    case SECCOMP_RET_ALLOW:
      return true;
    default:
      return false;
  }
}

}  // namespace sentry::kernel
