#include "runsc/flags.h"

DEFINE_string(platform, "ptrace", "How guest code runs: ptrace.");
DEFINE_bool(strace, false,
            "Print every guest system call, with decoded arguments and its "
            "result, on stderr "
            "in strace's format.");
DEFINE_string(debug_log, "",
              "Write the sandbox's and the gofer's logs to this file.");
DEFINE_string(cwd, "",
              "Working directory of the program (default: the caller's).");
DEFINE_string(hostname, "sandbox", "Host name inside the sandbox.");
DEFINE_bool(debug, false, "Verbose logs (to --debug_log).");
DEFINE_int32(max_tasks, 4096,
             "The most threads the sandbox may hold at once; fork and clone "
             "beyond it fail with EAGAIN.");

DEFINE_int32(config_fd, -1, "(internal) fd of the boot configuration.");
DEFINE_int32(gofer_fd, -1, "(internal) fd of the sentry-gofer socket.");
DEFINE_int32(log_fd, -1, "(internal) fd to write logs to.");
DEFINE_string(gofer_root, "/", "(internal) the tree the gofer serves.");

DEFINE_string(format, "table",
              "Output format of `runsc syscalls`: table or markdown.");
