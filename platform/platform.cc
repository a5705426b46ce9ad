#include "platform/platform.h"

#include "platform/ptrace/ptrace_platform.h"

namespace platform {

sentry::SysResult<std::unique_ptr<Platform>> Platform::Create(
    std::string_view name, std::string* error) {
  if (name == "ptrace") return ptrace::PtracePlatform::Create(error);
  *error = "unknown platform \"" + std::string(name) + "\" (known: ptrace)";
  return sentry::Errno(EINVAL);
}

}  // namespace platform
