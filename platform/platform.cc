#include "platform/platform.h"

#include "platform/ptrace/ptrace_platform.h"
#include "platform/systrap/systrap_platform.h"

namespace platform {

sentry::SysResult<std::unique_ptr<Platform>> Platform::Create(
    std::string_view name, std::string* error) {
  if (name == "ptrace") return ptrace::PtracePlatform::Create(error);
  if (name == "systrap") return systrap::SystrapPlatform::Create(error);
  *error =
      "unknown platform \"" + std::string(name) + "\" (known: systrap, ptrace)";
  return sentry::Errno(EINVAL);
}

}  // namespace platform
