// OCI linux.seccomp profiles compiled to the classic BPF program the
// sandbox installs on the container's processes, with libseccomp as runc
// compiles them (the sandbox then checks and runs the program as Linux
// would a guest's seccomp(2) filter).
#ifndef RUNSC_SECCOMP_PROFILE_H_
#define RUNSC_SECCOMP_PROFILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "runsc/oci/spec.h"

namespace runsc {

// The program's bytes (struct sock_filter, 8 bytes each). Errors name the
// field: an unknown action, operator, architecture or flag, an action the
// sandbox cannot carry out (SCMP_ACT_NOTIFY: no user notification).
// Unknown system call names are skipped, as runc skips them. As runc, a
// profile that refuses by default answers system calls newer than any it
// names with ENOSYS.
absl::StatusOr<std::string> CompileSeccomp(const oci::Seccomp& profile);

}  // namespace runsc

#endif  // RUNSC_SECCOMP_PROFILE_H_
