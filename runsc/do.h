// `runsc do -- CMD [ARGS...]`: runs one program in a fresh sandbox with the
// host's root visible read-only, the caller's environment, cwd and stdio.

#ifndef RUNSC_DO_H_
#define RUNSC_DO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc {

// Starts the gofer and the sandbox, waits for the program, and returns its
// exit status (128 + N for death by signal N).
absl::StatusOr<int> RunDo(const std::vector<std::string>& command,
                          const std::vector<std::string>& env_overrides);

}  // namespace runsc

#endif  // RUNSC_DO_H_
