// Loading a program into a fresh address space: #! scripts, ELF images
// (static, static-PIE, dynamic with their interpreter) and the initial stack
// (argv, envp, auxv), as Linux's binfmt_script and binfmt_elf do.

#ifndef SENTRY_LOADER_LOADER_H_
#define SENTRY_LOADER_LOADER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sentry/base/host_fd.h"
#include "sentry/base/sys_result.h"
#include "sentry/loader/elf.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

namespace sentry::loader {

// What the loader needs from the kernel.
class ExecEnvironment {
 public:
  virtual ~ExecEnvironment() = default;
  // Resolves `path` as execve does (from the caller's cwd and root) and
  // opens it for loading: a regular file the caller may execute on a mount
  // that allows it, else EACCES (or the resolution error).
  virtual SysResult<std::shared_ptr<vfs::FileDescription>> OpenExecutable(
      const std::string& path) = 0;
  virtual vfs::CallContext& ctx() = 0;
  // The path of an open file, for /proc/PID/maps.
  virtual std::string PathOf(const vfs::FileDescription& file) = 0;
};

// The vDSO every guest gets: its parameter page (mapped read-only and
// shared, "[vvar]") and, right after it, its image (read + execute,
// private, "[vdso]"), both memfds the sentry made at boot.
struct VdsoSource {
  std::shared_ptr<HostFd> params;
  std::shared_ptr<HostFd> image;
  uint64_t image_size = 0;
};

struct ExecRequest {
  std::string filename;  // as passed to execve
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  uint64_t stack_rlimit = 8 << 20;
  bool randomize = true;
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
  const VdsoSource* vdso = nullptr;  // none if null
  // execveat of a close-on-exec fd: a script could not be reopened by its
  // interpreter, so it fails with ENOENT (Linux's
  // BINPRM_FLAGS_PATH_INACCESSIBLE).
  bool script_inaccessible = false;
};

struct LoadedImage {
  uint64_t entry = 0;          // first instruction (the interpreter's, if any)
  uint64_t stack_pointer = 0;  // points at argc
  std::shared_ptr<vfs::FileDescription> executable;  // /proc/PID/exe
  std::vector<std::string> argv;                     // after #! rewriting
  std::vector<uint64_t> auxv;                        // key, value pairs
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

// Interpreter nesting allowed for #! (Linux's BINPRM_MAX_RECURSION).
inline constexpr int kMaxScriptDepth = 4;
// Bytes of a file examined for "#!" or the ELF magic (BINPRM_BUF_SIZE).
inline constexpr size_t kHeaderSize = 256;
// The longest single argument or environment string (MAX_ARG_STRLEN).
inline constexpr size_t kMaxArgStrlen = 32 * 4096;

// Loads `req` into `mm`, which must be empty and have a layout chosen.
SysResult<LoadedImage> Load(ExecEnvironment& env, mm::MemoryManager& mm,
                            ExecRequest req);

// Parses a "#!" line: the interpreter and its optional single argument.
// Exposed for tests. ENOEXEC if malformed.
struct ScriptLine {
  std::string interpreter;
  std::optional<std::string> arg;
};
SysResult<ScriptLine> ParseScriptLine(const char* head, size_t len);

}  // namespace sentry::loader

#endif  // SENTRY_LOADER_LOADER_H_
