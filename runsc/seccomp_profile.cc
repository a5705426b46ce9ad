#include "runsc/seccomp_profile.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sentry/base/host_fd.h"

namespace runsc {

namespace {

// An action by runc's name; `errno_ret` for ERRNO (default EPERM, as
// runc) and TRACE.
absl::StatusOr<uint32_t> Action(const std::string& name,
                                std::optional<uint32_t> errno_ret,
                                const std::string& field) {
  uint32_t ret = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD")
    return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     ": SCMP_ACT_NOTIFY is not supported: the sandbox has no "
                     "seccomp user notification"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": unknown action \"", name, "\""));
}

absl::StatusOr<scmp_compare> Operator(const std::string& name,
                                      const std::string& field) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = kOps.find(name);
  if (it == kOps.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": unknown operator \"", name, "\""));
  }
  return it->second;
}

// Checks each of `names` against `allowed`; an error names the first
// that is not there.
absl::Status Known(const std::vector<std::string>& names,
                   const std::set<std::string>& allowed,
                   const std::string& field, const char* what) {
  for (size_t i = 0; i < names.size(); i++) {
    if (allowed.count(names[i]) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: ", what, " \"", names[i], "\""));
    }
  }
  return absl::OkStatus();
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf): with a default
// that refuses, x86-64 system calls numbered above every call the profile
// names fail with ENOSYS instead, so programs fall back from calls newer
// than the profile (glibc's clone3 to clone) as they would on an older
// kernel. Empty where runc adds none: a permissive default (allow, log,
// trace), a default of ENOSYS already, or no x86-64 in the architectures.
std::string EnosysStub(const oci::Seccomp& profile) {
  const std::string& d = profile.default_action;
  if (d == "SCMP_ACT_ALLOW" || d == "SCMP_ACT_LOG" || d == "SCMP_ACT_TRACE")
    return "";
  if (profile.default_errno_ret == ENOSYS) return "";
  bool x86_64 = false;
  for (const std::string& a : profile.architectures)
    x86_64 |= a == "SCMP_ARCH_X86_64";
  if (!x86_64) return "";
  int last = 0;
  for (const oci::SeccompRule& rule : profile.syscalls) {
    for (const std::string& name : rule.names) {
      int nr =
          seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
      if (nr != __NR_SCMP_ERROR && nr > last) last = nr;
    }
  }
  if (last == 0) return "";
  // x32 calls (bit 30) and other architectures go straight to the
  // profile, as in runc's x86-64 section.
  const struct sock_filter stub[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(last), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  return std::string(reinterpret_cast<const char*>(stub), sizeof(stub));
}

}  // namespace

absl::StatusOr<std::string> CompileSeccomp(const oci::Seccomp& profile) {
  const std::string base = "linux.seccomp";
  absl::StatusOr<uint32_t> def =
      Action(profile.default_action, profile.default_errno_ret,
             base + ".defaultAction");
  if (!def.ok()) return def.status();
  if (!profile.listener_path.empty()) {
    return absl::InvalidArgumentError(
        base +
        ".listenerPath: not supported: the sandbox has no seccomp user "
        "notification");
  }
  // The sandbox runs x86-64 code only; other architectures' entries have
  // nothing to apply to.
  absl::Status known =
      Known(profile.architectures,
            {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
             "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
            base + ".architectures", "unknown architecture");
  if (known.ok()) {
    known = Known(profile.flags,
                  {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
                  base + ".flags", "unknown or unsupported flag");
  }
  if (!known.ok()) return known;
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(*def));
  if (ctx == nullptr)
    return absl::InternalError("seccomp_init: cannot make a filter");
  // The sentry runs the program on every guest system call: a binary tree
  // of system call numbers (libseccomp's level 2) tests a profile of
  // hundreds of calls in a few steps rather than one by one.
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) {
    return absl::InternalError("libseccomp: no binary tree optimization");
  }
  for (size_t r = 0; r < profile.syscalls.size(); r++) {
    const oci::SeccompRule& rule = profile.syscalls[r];
    std::string field = absl::StrCat(base, ".syscalls[", r, "]");
    absl::StatusOr<uint32_t> action =
        Action(rule.action, rule.errno_ret, field + ".action");
    if (!action.ok()) return action.status();
    // libseccomp refuses a rule that does what the default does; runc
    // leaves such rules out.
    if (*action == *def) continue;
    std::vector<struct scmp_arg_cmp> args;
    std::set<uint32_t> indexes;
    bool repeated = false;
    for (size_t a = 0; a < rule.args.size(); a++) {
      absl::StatusOr<scmp_compare> op =
          Operator(rule.args[a].op, absl::StrCat(field, ".args[", a, "].op"));
      if (!op.ok()) return op.status();
      args.push_back({rule.args[a].index, *op, rule.args[a].value,
                      rule.args[a].value_two});
      repeated |= !indexes.insert(rule.args[a].index).second;
    }
    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown here: skipped, as runc
      // Conditions on one argument given twice would be ANDed into
      // nothing by libseccomp; runc makes each its own rule (ORed).
      std::vector<std::vector<struct scmp_arg_cmp>> sets;
      if (repeated) {
        for (const struct scmp_arg_cmp& c : args) sets.push_back({c});
      } else {
        sets.push_back(args);
      }
      for (const auto& set : sets) {
        int rc = seccomp_rule_add_array(ctx.get(), *action, nr,
                                        static_cast<unsigned>(set.size()),
                                        set.empty() ? nullptr : set.data());
        if (rc != 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": ", name,
                           ": libseccomp refuses the rule: ", strerror(-rc)));
        }
      }
    }
  }
  sentry::HostFd out(memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!out.valid())
    return absl::InternalError(absl::StrCat("memfd: ", strerror(errno)));
  int rc = seccomp_export_bpf(ctx.get(), out.get());
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp_export_bpf: ", strerror(-rc)));
  }
  std::string bpf;
  char buf[65536];
  ssize_t n;
  lseek(out.get(), 0, SEEK_SET);
  while ((n = read(out.get(), buf, sizeof(buf))) > 0)
    bpf.append(buf, static_cast<size_t>(n));
  if (bpf.empty() || bpf.size() % 8 != 0)
    return absl::InternalError("seccomp_export_bpf: no whole program");
  return EnosysStub(profile) + bpf;
}

}  // namespace runsc
