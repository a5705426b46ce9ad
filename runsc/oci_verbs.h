// The runc command line: runsc as an OCI runtime. Each container's state
// lives in `--root`/ID/:
//   state.json  what `state` prints, plus the host pids runsc started and
//               their start times (so a recycled pid is never signalled)
//   start       a FIFO the sandbox blocks on until `runsc start`
//   exit        init's exit status, written by the sandbox as it ends
//   control     the sandbox's control socket (runsc/control.h)
// The container's process (the pid of `state` and --pid-file) is the
// sandbox process; it exits with init's status, 128+N for signal N.

#ifndef RUNSC_OCI_VERBS_H_
#define RUNSC_OCI_VERBS_H_

#include <string>
#include <vector>

#include "runsc/do.h"

namespace runsc {

// Runs OCI verb `verb` with its positional arguments `args.command` and
// its repeatable flags (the other flags are in gflags by now). Returns the
// process exit status; errors are printed on stderr (and to --log) in runc's
// words where runc has them.
int RunOciVerb(const std::string& verb, const DoArgs& args);

// Whether `verb` is one of RunOciVerb's.
bool IsOciVerb(const std::string& verb);

}  // namespace runsc

#endif  // RUNSC_OCI_VERBS_H_
