#include "platform/platform.h"

#include "glog/logging.h"
#include "platform/ptrace/ptrace_platform.h"
#include "platform/systrap/systrap_platform.h"

namespace platform {

sentry::SysResult<std::unique_ptr<Platform>> Platform::Create(
    std::string_view name, std::string* error) {
  if (name == "auto") {
    // systrap where the kernel supports it; ptrace everywhere else.
    std::string why;
    auto systrap = systrap::SystrapPlatform::Create(&why);
    if (systrap.ok()) return systrap;
    LOG(WARNING) << "systrap platform unavailable (" << why
                 << "); using ptrace";
    return ptrace::PtracePlatform::Create(error);
  }
  if (name == "ptrace") return ptrace::PtracePlatform::Create(error);
  if (name == "systrap") return systrap::SystrapPlatform::Create(error);
  *error = "unknown platform \"" + std::string(name) +
           "\" (known: auto, systrap, ptrace)";
  return sentry::Errno(EINVAL);
}

}  // namespace platform
