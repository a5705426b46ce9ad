// Credentials of a guest task: ids and capabilities inside the sandbox.
// They are emulated; nothing here is a host credential.

#ifndef SENTRY_AUTH_CREDENTIALS_H_
#define SENTRY_AUTH_CREDENTIALS_H_

#include <cstdint>
#include <vector>

namespace sentry::auth {

// Linux capability numbers the sentry checks.
enum class Capability : int {
  kChown = 0,
  kDacOverride = 1,
  kDacReadSearch = 2,
  kFowner = 3,
  kFsetid = 4,
  kKill = 5,
  kSetgid = 6,
  kSetuid = 7,
  kNetBindService = 10,
  kNetAdmin = 12,
  kNetRaw = 13,
  kSysChroot = 18,
  kSysPtrace = 19,
  kSysAdmin = 21,
  kSysResource = 24,
};

struct Credentials {
  uint32_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<uint32_t> groups;
  uint64_t cap_effective = 0, cap_permitted = 0, cap_inheritable = 0;
  uint64_t cap_bounding = 0, cap_ambient = 0;

  bool HasCapability(Capability c) const {
    return (cap_effective >> static_cast<int>(c)) & 1;
  }
  bool InGroup(uint32_t gid) const;

  // Root with every capability, or an unprivileged user with none, as
  // Linux gives a fresh process of that uid.
  static Credentials ForUser(uint32_t uid, uint32_t gid);
};

// Linux's cap_task_fix_setuid: after a change of uids from `old` to `c`,
// capabilities follow (root losing all of its uids loses its capabilities
// unless `keep_caps`; effective caps track euid 0; filesystem caps track
// fsuid 0).
void FixCapabilitiesAfterSetuid(const Credentials& old, Credentials* c,
                                bool keep_caps);

// The capabilities a process has after execve (no file capabilities, no
// set-user-ID bits): root gets its bounding set, others their ambient set.
void CapabilitiesForExec(Credentials* c);

// Access wanted, as for access(2): MAY_READ etc.
inline constexpr int kMayExec = 1;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayRead = 4;

// Linux's generic_permission(): owner, group or other bits, with
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. Returns 0 or EACCES.
int CheckPermission(const Credentials& creds, uint32_t mode, uint32_t uid,
                    uint32_t gid, int may);

}  // namespace sentry::auth

#endif  // SENTRY_AUTH_CREDENTIALS_H_
