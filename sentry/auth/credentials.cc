#include "sentry/auth/credentials.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace sentry::auth {

namespace {
// CAP_LAST_CAP of Linux 6.x (CAP_CHECKPOINT_RESTORE).
constexpr uint64_t kAllCaps = (1ULL << 41) - 1;
}  // namespace

bool Credentials::InGroup(uint32_t gid) const {
  return gid == fsgid ||
         std::find(groups.begin(), groups.end(), gid) != groups.end();
}

Credentials Credentials::ForUser(uint32_t uid, uint32_t gid) {
  Credentials c;
  c.ruid = c.euid = c.suid = c.fsuid = uid;
  c.rgid = c.egid = c.sgid = c.fsgid = gid;
  c.cap_bounding = kAllCaps;
  if (uid == 0) c.cap_effective = c.cap_permitted = kAllCaps;
  return c;
}

namespace {
// The capabilities that follow fsuid (CAP_FS_MASK).
constexpr uint64_t kFsCaps = (1ULL << 0) | (1ULL << 1) | (1ULL << 2) |
                             (1ULL << 3) | (1ULL << 4) | (1ULL << 9) |
                             (1ULL << 27) | (1ULL << 32);
}  // namespace

void FixCapabilitiesAfterSetuid(const Credentials& old, Credentials* c,
                                bool keep_caps) {
  bool old_root = old.ruid == 0 || old.euid == 0 || old.suid == 0;
  bool new_root = c->ruid == 0 || c->euid == 0 || c->suid == 0;
  if (old_root && !new_root) {
    if (!keep_caps) c->cap_permitted = c->cap_effective = 0;
    c->cap_ambient = 0;
  }
  if (old.euid == 0 && c->euid != 0) c->cap_effective = 0;
  if (old.euid != 0 && c->euid == 0) c->cap_effective = c->cap_permitted;
  if (old.fsuid == 0 && c->fsuid != 0) {
    c->cap_effective &= ~kFsCaps;
  } else if (old.fsuid != 0 && c->fsuid == 0) {
    c->cap_effective |= c->cap_permitted & kFsCaps;
  }
}

void CapabilitiesForExec(Credentials* c) {
  if (c->ruid == 0 || c->euid == 0) {
    c->cap_permitted = (c->cap_inheritable | c->cap_bounding);
    c->cap_effective = c->euid == 0 ? c->cap_permitted : 0;
    c->cap_ambient = 0;
  } else {
    c->cap_permitted = c->cap_ambient;
    c->cap_effective = c->cap_ambient;
  }
}

int CheckPermission(const Credentials& creds, uint32_t mode, uint32_t uid,
                    uint32_t gid, int may) {
  uint32_t bits;
  if (creds.fsuid == uid) {
    bits = (mode >> 6) & 7;
  } else if (creds.InGroup(gid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  if ((bits & static_cast<uint32_t>(may)) == static_cast<uint32_t>(may))
    return 0;
  bool is_dir = S_ISDIR(mode);
  if (creds.HasCapability(Capability::kDacOverride)) {
    // Execute needs at least one x bit on a non-directory, even for root.
    if ((may & kMayExec) == 0 || is_dir || (mode & 0111) != 0) return 0;
  }
  if (creds.HasCapability(Capability::kDacReadSearch)) {
    if (may == kMayRead || (is_dir && (may & kMayWrite) == 0)) return 0;
  }
  return EACCES;
}

}  // namespace sentry::auth
