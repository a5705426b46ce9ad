// Job control on terminals: controlling terminals of sessions, foreground
// process groups, and the signals a terminal sends (Linux's tty_jobctrl.c).
// The terminals themselves (their line disciplines) live in sentry/fs; this
// is the kernel's side, acting on the Terminal each of them has.
//
// Every function here takes Kernel::mu_ itself: callers hold no kernel
// lock, and no terminal lock either (see terminal.h).

#ifndef SENTRY_KERNEL_JOB_CONTROL_H_
#define SENTRY_KERNEL_JOB_CONTROL_H_

#include <cstdint>
#include <memory>

#include "sentry/base/guest_addr.h"
#include "sentry/base/sys_result.h"
#include "sentry/kernel/terminal.h"
#include "sentry/vfs/vfs.h"

namespace sentry::kernel {

class Kernel;
class Task;
class ThreadGroup;

// The controlling terminal of `t`'s process, or null.
std::shared_ptr<Terminal> ControllingTerminal(Task& t);

// Linux's tty_check_change and job_control: may `t` read (`sig` SIGTTIN) or
// write or change the settings of (SIGTTOU) `term`? Yes unless `term` is
// its controlling terminal and its process group is in the background.
// Then: SIGTTIN ignored or blocked fails with EIO, SIGTTOU ignored or
// blocked lets the call through; an orphaned group fails with EIO;
// otherwise the group gets `sig` and the call returns kERESTARTSYS, to run
// again once the group is continued.
SysResult<void> CheckBackground(vfs::CallContext& ctx, Terminal& term, int sig);

// An open of `term` without O_NOCTTY (`flags` are the open flags): a
// session leader without a controlling terminal acquires it, if it controls
// no session yet. `ctx` that is no task (the kernel's own) acquires
// nothing.
void AcquireOnOpen(vfs::CallContext& ctx, const std::shared_ptr<Terminal>& term,
                   int flags);

// Sends `sig` to the foreground process group of `term` (the ISIG
// characters, SIGWINCH). `external` when the input came from outside the
// sandbox (the host terminal of `runsc do -t`): the sandbox's init then
// takes fatal signals as from runsc (Kernel::SendExternalSignal).
void SignalForeground(Kernel& k, Terminal& term, int sig, bool external);

// `term` hung up (its pty master closed): its session leader gets SIGHUP
// and SIGCONT, and no process keeps it as its controlling terminal.
void HangUp(Kernel& k, Terminal& term);

// A process exits: a session leader's terminal is no longer its session's
// (Linux's disassociate_ctty on exit, which for pseudo-terminals sends no
// signal), and the process lets go of its terminal.
void ReleaseTerminalOnExitLocked(Kernel& k, ThreadGroup* tg);

// The job-control ioctls: TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY,
// TIOCNOTTY, on `f` (a terminal, or a pty master).
SysResult<int64_t> JobControlIoctl(Task& t, TerminalFile& f, uint32_t cmd,
                                   GuestAddr arg);

// Whether `cmd` changes a terminal's settings, which a background process
// group may not do without SIGTTOU (TCSETS and friends, TCFLSH, ...).
bool IsSettingsChange(uint32_t cmd);

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_JOB_CONTROL_H_
