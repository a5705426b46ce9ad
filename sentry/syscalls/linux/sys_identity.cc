// Implements the credential system calls: getuid(2) and friends,
// getresuid(2), getresgid(2), getgroups(2), setuid(2), setgid(2),
// setreuid(2), setregid(2), setresuid(2), setresgid(2), setfsuid(2),
// setfsgid(2), setgroups(2), capget(2) and capset(2). Credentials are the
// sandbox's own: a guest's "root" is root inside the sandbox only.

#include <linux/capability.h>

#include <algorithm>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

namespace {

constexpr uint32_t kUnchanged = static_cast<uint32_t>(-1);
constexpr size_t kNgroupsMax = 65536;

// Applies `c` as the task's new credentials, with Linux's capability
// changes for a change of uids.
void Commit(Task& t, auth::Credentials c, bool uid_change) {
  const auth::Credentials& old = t.creds();
  if (uid_change) auth::FixCapabilitiesAfterSetuid(old, &c, t.keep_caps);
  // A change of effective or filesystem ids makes the process
  // non-dumpable (fs.suid_dumpable's default, 0), as commit_creds does.
  if (old.euid != c.euid || old.egid != c.egid || old.fsuid != c.fsuid ||
      old.fsgid != c.fsgid || (c.cap_permitted & ~old.cap_permitted) != 0) {
    absl::MutexLock l(&t.kernel().mu());
    t.tg().dumpable = false;
  }
  t.set_creds(std::move(c));
}

bool IsOneOf(uint32_t id, uint32_t a, uint32_t b, uint32_t c) {
  return id == a || id == b || id == c;
}

}  // namespace

// Implements Linux syscall getuid(2).
SENTRY_SYSCALL(SysGetuid) { return t.creds().ruid; }

// Implements Linux syscall geteuid(2).
SENTRY_SYSCALL(SysGeteuid) { return t.creds().euid; }

// Implements Linux syscall getgid(2).
SENTRY_SYSCALL(SysGetgid) { return t.creds().rgid; }

// Implements Linux syscall getegid(2).
SENTRY_SYSCALL(SysGetegid) { return t.creds().egid; }

// Implements Linux syscall getresuid(2).
SENTRY_SYSCALL(SysGetresuid) {
  const auth::Credentials& c = t.creds();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), c.ruid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), c.euid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), c.suid));
  return 0;
}

// Implements Linux syscall getresgid(2).
SENTRY_SYSCALL(SysGetresgid) {
  const auth::Credentials& c = t.creds();
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(0), c.rgid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(1), c.egid));
  SENTRY_RETURN_IF_ERROR(t.CopyOutObj(a.Addr(2), c.sgid));
  return 0;
}

// Implements Linux syscall getgroups(2).
SENTRY_SYSCALL(SysGetgroups) {
  int size = a.Int(0);
  const std::vector<uint32_t>& groups = t.creds().groups;
  if (size < 0) return Errno(EINVAL);
  if (size == 0) return groups.size();
  if (static_cast<size_t>(size) < groups.size()) return Errno(EINVAL);
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(a.Addr(1), groups.data(), groups.size() * 4));
  return groups.size();
}

// Implements Linux syscall setuid(2).
SENTRY_SYSCALL(SysSetuid) {
  uint32_t uid = a.U32(0);
  if (uid == kUnchanged) return Errno(EINVAL);
  auth::Credentials c = t.creds();
  if (c.HasCapability(auth::Capability::kSetuid)) {
    c.ruid = c.euid = c.suid = c.fsuid = uid;
  } else if (uid == c.ruid || uid == c.suid) {
    c.euid = c.fsuid = uid;
  } else {
    return Errno(EPERM);
  }
  Commit(t, std::move(c), true);
  return 0;
}

// Implements Linux syscall setgid(2).
SENTRY_SYSCALL(SysSetgid) {
  uint32_t gid = a.U32(0);
  if (gid == kUnchanged) return Errno(EINVAL);
  auth::Credentials c = t.creds();
  if (c.HasCapability(auth::Capability::kSetgid)) {
    c.rgid = c.egid = c.sgid = c.fsgid = gid;
  } else if (gid == c.rgid || gid == c.sgid) {
    c.egid = c.fsgid = gid;
  } else {
    return Errno(EPERM);
  }
  Commit(t, std::move(c), false);
  return 0;
}

// Implements Linux syscall setreuid(2).
SENTRY_SYSCALL(SysSetreuid) {
  uint32_t r = a.U32(0), e = a.U32(1);
  auth::Credentials c = t.creds();
  bool cap = c.HasCapability(auth::Capability::kSetuid);
  uint32_t old_ruid = c.ruid;
  if (r != kUnchanged) {
    if (!cap && r != c.ruid && r != c.euid) return Errno(EPERM);
  }
  if (e != kUnchanged) {
    if (!cap && !IsOneOf(e, c.ruid, c.euid, c.suid)) return Errno(EPERM);
  }
  if (r != kUnchanged) c.ruid = r;
  if (e != kUnchanged) c.euid = e;
  if (r != kUnchanged || (e != kUnchanged && e != old_ruid)) c.suid = c.euid;
  c.fsuid = c.euid;
  Commit(t, std::move(c), true);
  return 0;
}

// Implements Linux syscall setregid(2).
SENTRY_SYSCALL(SysSetregid) {
  uint32_t r = a.U32(0), e = a.U32(1);
  auth::Credentials c = t.creds();
  bool cap = c.HasCapability(auth::Capability::kSetgid);
  uint32_t old_rgid = c.rgid;
  if (r != kUnchanged) {
    if (!cap && r != c.rgid && r != c.egid) return Errno(EPERM);
  }
  if (e != kUnchanged) {
    if (!cap && !IsOneOf(e, c.rgid, c.egid, c.sgid)) return Errno(EPERM);
  }
  if (r != kUnchanged) c.rgid = r;
  if (e != kUnchanged) c.egid = e;
  if (r != kUnchanged || (e != kUnchanged && e != old_rgid)) c.sgid = c.egid;
  c.fsgid = c.egid;
  Commit(t, std::move(c), false);
  return 0;
}

// Implements Linux syscall setresuid(2).
SENTRY_SYSCALL(SysSetresuid) {
  uint32_t r = a.U32(0), e = a.U32(1), s = a.U32(2);
  auth::Credentials c = t.creds();
  if (!c.HasCapability(auth::Capability::kSetuid)) {
    for (uint32_t id : {r, e, s}) {
      if (id != kUnchanged && !IsOneOf(id, c.ruid, c.euid, c.suid)) {
        return Errno(EPERM);
      }
    }
  }
  if (r != kUnchanged) c.ruid = r;
  if (e != kUnchanged) c.euid = e;
  if (s != kUnchanged) c.suid = s;
  c.fsuid = c.euid;
  Commit(t, std::move(c), true);
  return 0;
}

// Implements Linux syscall setresgid(2).
SENTRY_SYSCALL(SysSetresgid) {
  uint32_t r = a.U32(0), e = a.U32(1), s = a.U32(2);
  auth::Credentials c = t.creds();
  if (!c.HasCapability(auth::Capability::kSetgid)) {
    for (uint32_t id : {r, e, s}) {
      if (id != kUnchanged && !IsOneOf(id, c.rgid, c.egid, c.sgid)) {
        return Errno(EPERM);
      }
    }
  }
  if (r != kUnchanged) c.rgid = r;
  if (e != kUnchanged) c.egid = e;
  if (s != kUnchanged) c.sgid = s;
  c.fsgid = c.egid;
  Commit(t, std::move(c), false);
  return 0;
}

// Implements Linux syscall setfsuid(2): returns the old fsuid whether or
// not the change was allowed.
SENTRY_SYSCALL(SysSetfsuid) {
  uint32_t uid = a.U32(0);
  auth::Credentials c = t.creds();
  uint32_t old = c.fsuid;
  if (uid != kUnchanged &&
      (c.HasCapability(auth::Capability::kSetuid) ||
       IsOneOf(uid, c.ruid, c.euid, c.suid) || uid == c.fsuid)) {
    c.fsuid = uid;
    Commit(t, std::move(c), true);
  }
  return old;
}

// Implements Linux syscall setfsgid(2).
SENTRY_SYSCALL(SysSetfsgid) {
  uint32_t gid = a.U32(0);
  auth::Credentials c = t.creds();
  uint32_t old = c.fsgid;
  if (gid != kUnchanged &&
      (c.HasCapability(auth::Capability::kSetgid) ||
       IsOneOf(gid, c.rgid, c.egid, c.sgid) || gid == c.fsgid)) {
    c.fsgid = gid;
    Commit(t, std::move(c), false);
  }
  return old;
}

// Implements Linux syscall setgroups(2).
SENTRY_SYSCALL(SysSetgroups) {
  int size = a.Int(0);
  if (size < 0 || static_cast<size_t>(size) > kNgroupsMax) {
    return Errno(EINVAL);
  }
  std::vector<uint32_t> groups(static_cast<size_t>(size));
  if (size > 0) {
    SENTRY_RETURN_IF_ERROR(
        t.CopyInFull(a.Addr(1), groups.data(), groups.size() * 4));
  }
  if (!t.creds().HasCapability(auth::Capability::kSetgid)) {
    return Errno(EPERM);
  }
  std::sort(groups.begin(), groups.end());
  auth::Credentials c = t.creds();
  c.groups = std::move(groups);
  Commit(t, std::move(c), false);
  return 0;
}

namespace {

constexpr uint32_t kCapV1 = _LINUX_CAPABILITY_VERSION_1;
constexpr uint32_t kCapV2 = _LINUX_CAPABILITY_VERSION_2;
constexpr uint32_t kCapV3 = _LINUX_CAPABILITY_VERSION_3;

struct CapHeader {
  uint32_t version;
  int32_t pid;
};
struct CapData {
  uint32_t effective, permitted, inheritable;
};

// The number of 32-bit words a header version carries, or 0 if unknown
// (then the kernel's preferred version is written back: EINVAL).
SysResult<int> CapWords(Task& t, GuestAddr hdr_addr, CapHeader* hdr) {
  SENTRY_RETURN_IF_ERROR(t.CopyInObj(hdr_addr, hdr));
  switch (hdr->version) {
    case kCapV1:
      return 1;
    case kCapV2:
    case kCapV3:
      return 2;
    default:
      hdr->version = kCapV3;
      SENTRY_RETURN_IF_ERROR(t.CopyOutObj(hdr_addr, *hdr));
      return Errno(EINVAL);
  }
}

}  // namespace

// Implements Linux syscall capget(2).
SENTRY_SYSCALL(SysCapget) {
  CapHeader hdr;
  SysResult<int> w = CapWords(t, a.Addr(0), &hdr);
  // Probing with no data pointer learns the preferred version: success.
  if (!w.ok() && w.err() == EINVAL && a.Addr(1).IsNull()) return 0;
  SENTRY_ASSIGN_OR_RETURN(int words, w);
  if (hdr.pid < 0) return Errno(EINVAL);
  auth::Credentials c;
  if (hdr.pid == 0 || hdr.pid == t.tid()) {
    c = t.creds();
  } else {
    std::shared_ptr<Task> other = t.kernel().FindTask(hdr.pid);
    if (other == nullptr) return Errno(ESRCH);
    c = other->GetCreds();
  }
  if (a.Addr(1).IsNull()) return 0;
  CapData data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(c.cap_effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(c.cap_permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(c.cap_inheritable >> (32 * i));
  }
  SENTRY_RETURN_IF_ERROR(
      t.CopyOutFull(a.Addr(1), data, sizeof(CapData) * words));
  return 0;
}

// Implements Linux syscall capset(2): the calling thread only.
SENTRY_SYSCALL(SysCapset) {
  CapHeader hdr;
  SENTRY_ASSIGN_OR_RETURN(int words, CapWords(t, a.Addr(0), &hdr));
  if (hdr.pid != 0 && hdr.pid != t.tid()) return Errno(EPERM);
  CapData data[2] = {};
  SENTRY_RETURN_IF_ERROR(
      t.CopyInFull(a.Addr(1), data, sizeof(CapData) * words));
  uint64_t eff = 0, perm = 0, inh = 0;
  for (int i = 0; i < words; i++) {
    eff |= static_cast<uint64_t>(data[i].effective) << (32 * i);
    perm |= static_cast<uint64_t>(data[i].permitted) << (32 * i);
    inh |= static_cast<uint64_t>(data[i].inheritable) << (32 * i);
  }
  auth::Credentials c = t.creds();
  bool setpcap = ((c.cap_effective >> CAP_SETPCAP) & 1) != 0;
  // Linux's cap_capset: no new permitted capabilities; inheritable only
  // from the permitted set (or anything bounded, with CAP_SETPCAP);
  // effective within permitted.
  if ((perm & ~c.cap_permitted) != 0) return Errno(EPERM);
  uint64_t inh_allowed = c.cap_inheritable | c.cap_permitted;
  if (setpcap) inh_allowed = c.cap_inheritable | c.cap_bounding;
  if ((inh & ~inh_allowed) != 0) return Errno(EPERM);
  if ((inh & ~(c.cap_inheritable | c.cap_bounding)) != 0) return Errno(EPERM);
  if ((eff & ~perm) != 0) return Errno(EPERM);
  c.cap_effective = eff;
  c.cap_permitted = perm;
  c.cap_inheritable = inh;
  c.cap_ambient &= perm & inh;
  t.set_creds(std::move(c));
  return 0;
}

}  // namespace sentry::syscalls
