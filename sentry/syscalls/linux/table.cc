// The syscall table is also the compatibility document: each entry says
// whether the call is fully supported, partially (naming what is missing),
// or always fails (with which errno and why). `runsc syscalls` prints it.

#include "sentry/syscalls/linux/table.h"

#include <sys/syscall.h>

#include <array>

#include "sentry/syscalls/linux/sys_common.h"

namespace sentry::syscalls {

// Handlers, one file per family.
SENTRY_SYSCALL(SysRead);
SENTRY_SYSCALL(SysWrite);
SENTRY_SYSCALL(SysPread64);
SENTRY_SYSCALL(SysPwrite64);
SENTRY_SYSCALL(SysReadv);
SENTRY_SYSCALL(SysWritev);
SENTRY_SYSCALL(SysPreadv);
SENTRY_SYSCALL(SysPwritev);
SENTRY_SYSCALL(SysPreadv2);
SENTRY_SYSCALL(SysPwritev2);
SENTRY_SYSCALL(SysLseek);
SENTRY_SYSCALL(SysOpen);
SENTRY_SYSCALL(SysOpenat);
SENTRY_SYSCALL(SysCreat);
SENTRY_SYSCALL(SysClose);
SENTRY_SYSCALL(SysCloseRange);
SENTRY_SYSCALL(SysDup);
SENTRY_SYSCALL(SysDup2);
SENTRY_SYSCALL(SysDup3);
SENTRY_SYSCALL(SysFcntl);
SENTRY_SYSCALL(SysIoctl);
SENTRY_SYSCALL(SysAccess);
SENTRY_SYSCALL(SysFaccessat);
SENTRY_SYSCALL(SysFaccessat2);
SENTRY_SYSCALL(SysGetcwd);
SENTRY_SYSCALL(SysChdir);
SENTRY_SYSCALL(SysFchdir);
SENTRY_SYSCALL(SysMkdir);
SENTRY_SYSCALL(SysMkdirat);
SENTRY_SYSCALL(SysRmdir);
SENTRY_SYSCALL(SysUnlink);
SENTRY_SYSCALL(SysUnlinkat);
SENTRY_SYSCALL(SysSymlink);
SENTRY_SYSCALL(SysSymlinkat);
SENTRY_SYSCALL(SysReadlink);
SENTRY_SYSCALL(SysReadlinkat);
SENTRY_SYSCALL(SysUmask);
SENTRY_SYSCALL(SysTruncate);
SENTRY_SYSCALL(SysFtruncate);
SENTRY_SYSCALL(SysFsync);
SENTRY_SYSCALL(SysFadvise64);
SENTRY_SYSCALL(SysGetdents64);
SENTRY_SYSCALL(SysStat);
SENTRY_SYSCALL(SysLstat);
SENTRY_SYSCALL(SysFstat);
SENTRY_SYSCALL(SysNewfstatat);
SENTRY_SYSCALL(SysStatx);
SENTRY_SYSCALL(SysStatfs);
SENTRY_SYSCALL(SysFstatfs);
SENTRY_SYSCALL(SysMmap);
SENTRY_SYSCALL(SysMunmap);
SENTRY_SYSCALL(SysMprotect);
SENTRY_SYSCALL(SysMremap);
SENTRY_SYSCALL(SysMadvise);
SENTRY_SYSCALL(SysBrk);
SENTRY_SYSCALL(SysMsync);
SENTRY_SYSCALL(SysExit);
SENTRY_SYSCALL(SysExitGroup);
SENTRY_SYSCALL(SysGetpid);
SENTRY_SYSCALL(SysGettid);
SENTRY_SYSCALL(SysGetppid);
SENTRY_SYSCALL(SysGetpgrp);
SENTRY_SYSCALL(SysGetpgid);
SENTRY_SYSCALL(SysGetsid);
SENTRY_SYSCALL(SysExecve);
SENTRY_SYSCALL(SysWait4);
SENTRY_SYSCALL(SysSetTidAddress);
SENTRY_SYSCALL(SysSetRobustList);
SENTRY_SYSCALL(SysGetRobustList);
SENTRY_SYSCALL(SysProcessVmReadv);
SENTRY_SYSCALL(SysProcessVmWritev);
SENTRY_SYSCALL(SysKcmp);
SENTRY_SYSCALL(SysArchPrctl);
SENTRY_SYSCALL(SysPrctl);
SENTRY_SYSCALL(SysSeccomp);
SENTRY_SYSCALL(SysUname);
SENTRY_SYSCALL(SysSysinfo);
SENTRY_SYSCALL(SysGetrandom);
SENTRY_SYSCALL(SysPrlimit64);
SENTRY_SYSCALL(SysGetrlimit);
SENTRY_SYSCALL(SysSetrlimit);
SENTRY_SYSCALL(SysSchedYield);
SENTRY_SYSCALL(SysSchedGetaffinity);
SENTRY_SYSCALL(SysGetcpu);
SENTRY_SYSCALL(SysClockGettime);
SENTRY_SYSCALL(SysClockGetres);
SENTRY_SYSCALL(SysGettimeofday);
SENTRY_SYSCALL(SysTime);
SENTRY_SYSCALL(SysNanosleep);
SENTRY_SYSCALL(SysClockNanosleep);
SENTRY_SYSCALL(SysRtSigaction);
SENTRY_SYSCALL(SysRtSigprocmask);
SENTRY_SYSCALL(SysSigaltstack);
SENTRY_SYSCALL(SysKill);
SENTRY_SYSCALL(SysTgkill);
SENTRY_SYSCALL(SysTkill);
SENTRY_SYSCALL(SysGetuid);
SENTRY_SYSCALL(SysGeteuid);
SENTRY_SYSCALL(SysGetgid);
SENTRY_SYSCALL(SysGetegid);
SENTRY_SYSCALL(SysGetresuid);
SENTRY_SYSCALL(SysGetresgid);
SENTRY_SYSCALL(SysGetgroups);
SENTRY_SYSCALL(SysFutex);
SENTRY_SYSCALL(SysGetxattr);
SENTRY_SYSCALL(SysLgetxattr);
SENTRY_SYSCALL(SysFgetxattr);
SENTRY_SYSCALL(SysSetxattr);
SENTRY_SYSCALL(SysLsetxattr);
SENTRY_SYSCALL(SysFsetxattr);
SENTRY_SYSCALL(SysListxattr);
SENTRY_SYSCALL(SysLlistxattr);
SENTRY_SYSCALL(SysFlistxattr);
SENTRY_SYSCALL(SysRemovexattr);
SENTRY_SYSCALL(SysLremovexattr);
SENTRY_SYSCALL(SysFremovexattr);
SENTRY_SYSCALL(SysClone);
SENTRY_SYSCALL(SysFork);
SENTRY_SYSCALL(SysVfork);
SENTRY_SYSCALL(SysClone3);
SENTRY_SYSCALL(SysExecveat);
SENTRY_SYSCALL(SysWaitid);
SENTRY_SYSCALL(SysSetpgid);
SENTRY_SYSCALL(SysSetsid);
SENTRY_SYSCALL(SysRtSigpending);
SENTRY_SYSCALL(SysRtSigsuspend);
SENTRY_SYSCALL(SysPause);
SENTRY_SYSCALL(SysRtSigtimedwait);
SENTRY_SYSCALL(SysRtSigreturn);
SENTRY_SYSCALL(SysRestartSyscall);
SENTRY_SYSCALL(SysRtSigqueueinfo);
SENTRY_SYSCALL(SysRtTgsigqueueinfo);
SENTRY_SYSCALL(SysPidfdOpen);
SENTRY_SYSCALL(SysPidfdSendSignal);
SENTRY_SYSCALL(SysClockSettime);
SENTRY_SYSCALL(SysSettimeofday);
SENTRY_SYSCALL(SysGetitimer);
SENTRY_SYSCALL(SysSetitimer);
SENTRY_SYSCALL(SysAlarm);
SENTRY_SYSCALL(SysTimerCreate);
SENTRY_SYSCALL(SysTimerSettime);
SENTRY_SYSCALL(SysTimerGettime);
SENTRY_SYSCALL(SysTimerGetoverrun);
SENTRY_SYSCALL(SysTimerDelete);
SENTRY_SYSCALL(SysTimes);
SENTRY_SYSCALL(SysGetrusage);
SENTRY_SYSCALL(SysSetuid);
SENTRY_SYSCALL(SysSetgid);
SENTRY_SYSCALL(SysSetreuid);
SENTRY_SYSCALL(SysSetregid);
SENTRY_SYSCALL(SysSetresuid);
SENTRY_SYSCALL(SysSetresgid);
SENTRY_SYSCALL(SysSetfsuid);
SENTRY_SYSCALL(SysSetfsgid);
SENTRY_SYSCALL(SysSetgroups);
SENTRY_SYSCALL(SysCapget);
SENTRY_SYSCALL(SysCapset);
SENTRY_SYSCALL(SysSchedSetaffinity);
SENTRY_SYSCALL(SysSchedGetparam);
SENTRY_SYSCALL(SysSchedGetscheduler);
SENTRY_SYSCALL(SysSchedSetscheduler);
SENTRY_SYSCALL(SysSchedSetparam);
SENTRY_SYSCALL(SysSchedGetPriorityMax);
SENTRY_SYSCALL(SysSchedGetPriorityMin);
SENTRY_SYSCALL(SysGetpriority);
SENTRY_SYSCALL(SysSetpriority);
SENTRY_SYSCALL(SysPipe);
SENTRY_SYSCALL(SysEpollCreate);
SENTRY_SYSCALL(SysEpollCreate1);
SENTRY_SYSCALL(SysEpollCtl);
SENTRY_SYSCALL(SysEpollWait);
SENTRY_SYSCALL(SysEpollPwait);
SENTRY_SYSCALL(SysEpollPwait2);
SENTRY_SYSCALL(SysLink);
SENTRY_SYSCALL(SysMknod);
SENTRY_SYSCALL(SysMknodat);
SENTRY_SYSCALL(SysChmod);
SENTRY_SYSCALL(SysFchmod);
SENTRY_SYSCALL(SysFchmodat);
SENTRY_SYSCALL(SysChown);
SENTRY_SYSCALL(SysLchown);
SENTRY_SYSCALL(SysFchown);
SENTRY_SYSCALL(SysFchownat);
SENTRY_SYSCALL(SysLinkat);
SENTRY_SYSCALL(SysPipe2);
SENTRY_SYSCALL(SysSocket);
SENTRY_SYSCALL(SysSocketpair);
SENTRY_SYSCALL(SysBind);
SENTRY_SYSCALL(SysListen);
SENTRY_SYSCALL(SysAccept);
SENTRY_SYSCALL(SysAccept4);
SENTRY_SYSCALL(SysConnect);
SENTRY_SYSCALL(SysGetsockname);
SENTRY_SYSCALL(SysGetpeername);
SENTRY_SYSCALL(SysSendto);
SENTRY_SYSCALL(SysRecvfrom);
SENTRY_SYSCALL(SysSendmsg);
SENTRY_SYSCALL(SysRecvmsg);
SENTRY_SYSCALL(SysSendmmsg);
SENTRY_SYSCALL(SysRecvmmsg);
SENTRY_SYSCALL(SysShutdown);
SENTRY_SYSCALL(SysSetsockopt);
SENTRY_SYSCALL(SysGetsockopt);
SENTRY_SYSCALL(SysPoll);
SENTRY_SYSCALL(SysPpoll);
SENTRY_SYSCALL(SysSelect);
SENTRY_SYSCALL(SysPselect6);
SENTRY_SYSCALL(SysSendfile);
SENTRY_SYSCALL(SysSplice);
SENTRY_SYSCALL(SysTee);
SENTRY_SYSCALL(SysVmsplice);
SENTRY_SYSCALL(SysCopyFileRange);
SENTRY_SYSCALL(SysEventfd);
SENTRY_SYSCALL(SysEventfd2);
SENTRY_SYSCALL(SysMqOpen);
SENTRY_SYSCALL(SysMqUnlink);
SENTRY_SYSCALL(SysMqTimedsend);
SENTRY_SYSCALL(SysMqTimedreceive);
SENTRY_SYSCALL(SysMqNotify);
SENTRY_SYSCALL(SysMqGetsetattr);
SENTRY_SYSCALL(SysTimerfdCreate);
SENTRY_SYSCALL(SysTimerfdSettime);
SENTRY_SYSCALL(SysTimerfdGettime);
SENTRY_SYSCALL(SysSignalfd);
SENTRY_SYSCALL(SysSignalfd4);
SENTRY_SYSCALL(SysGetdents);
SENTRY_SYSCALL(SysOpenat2);
SENTRY_SYSCALL(SysMount);
SENTRY_SYSCALL(SysUmount2);
SENTRY_SYSCALL(SysSchedRrGetInterval);
SENTRY_SYSCALL(SysInotifyInit);
SENTRY_SYSCALL(SysInotifyInit1);
SENTRY_SYSCALL(SysInotifyAddWatch);
SENTRY_SYSCALL(SysInotifyRmWatch);
SENTRY_SYSCALL(SysRename);
SENTRY_SYSCALL(SysRenameat);
SENTRY_SYSCALL(SysRenameat2);
SENTRY_SYSCALL(SysUtimensat);
SENTRY_SYSCALL(SysUtimes);
SENTRY_SYSCALL(SysFutimesat);
SENTRY_SYSCALL(SysUtime);
SENTRY_SYSCALL(SysFlock);
SENTRY_SYSCALL(SysFallocate);
SENTRY_SYSCALL(SysSync);
SENTRY_SYSCALL(SysSyncfs);
SENTRY_SYSCALL(SysMemfdCreate);

namespace {

using kernel::Support;
using kernel::SyscallEntry;

const char* const kNames[] = {
#include "sentry/syscalls/linux/syscall_names.inc"
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kMaxSyscall + 1);

class LinuxSyscallTable final : public kernel::SyscallTable {
 public:
  LinuxSyscallTable() {
    // Argument letters for --strace: d int, l long, u unsigned, x hex,
    // p pointer, f fd, s string, b buffer in (length next), B buffer out
    // (length = result), o open flags, m mode, P prot, M mmap flags,
    // w whence, a argv, e envp, A AT_* flags, c clock, S signal,
    // r rlimit resource, i ioctl request, k access mode.
    Full(SYS_read, SysRead, "fBu");
    Full(SYS_write, SysWrite, "fbu");
    Partial(SYS_open, SysOpen, "som",
            "O_TMPFILE on tmpfs and the root overlay; elsewhere it fails "
            "with EOPNOTSUPP");
    Full(SYS_close, SysClose, "f");
    Full(SYS_stat, SysStat, "sp");
    Full(SYS_fstat, SysFstat, "fp");
    Full(SYS_lstat, SysLstat, "sp");
    Full(SYS_lseek, SysLseek, "flw");
    Partial(SYS_mmap, SysMmap, "pxPMfx",
            "MAP_HUGETLB fails with EINVAL; MAP_32BIT is ignored", 'x');
    Full(SYS_mprotect, SysMprotect, "pxP");
    Full(SYS_munmap, SysMunmap, "px");
    Full(SYS_brk, SysBrk, "p", 'x');
    Full(SYS_rt_sigaction, SysRtSigaction, "Sppu");
    Full(SYS_rt_sigprocmask, SysRtSigprocmask, "dppu");
    Full(SYS_rt_sigreturn, SysRtSigreturn, "");
    Full(SYS_rt_sigpending, SysRtSigpending, "pu");
    Full(SYS_rt_sigtimedwait, SysRtSigtimedwait, "pppu");
    Full(SYS_rt_sigqueueinfo, SysRtSigqueueinfo, "dSp");
    Full(SYS_rt_sigsuspend, SysRtSigsuspend, "pu");
    Full(SYS_pause, SysPause, "");
    Full(SYS_rt_tgsigqueueinfo, SysRtTgsigqueueinfo, "ddSp");
    Full(SYS_restart_syscall, SysRestartSyscall, "");
    Full(SYS_pipe, SysPipe, "p");
    Partial(SYS_pipe2, SysPipe2, "po",
            "O_DIRECT packets count against the capacity in bytes, not "
            "in pages");
    Full(SYS_poll, SysPoll, "pud");
    Full(SYS_epoll_create, SysEpollCreate, "d");
    Full(SYS_epoll_create1, SysEpollCreate1, "x");
    Partial(SYS_epoll_ctl, SysEpollCtl, "fdfp",
            "EPOLLEXCLUSIVE wakes every waiter; EPOLLWAKEUP is ignored");
    Full(SYS_epoll_wait, SysEpollWait, "fpdd");
    Full(SYS_epoll_pwait, SysEpollPwait, "fpddpu");
    Full(SYS_epoll_pwait2, SysEpollPwait2, "fpdppu");
    Full(SYS_ppoll, SysPpoll, "puppu");
    Full(SYS_select, SysSelect, "dpppp");
    Full(SYS_pselect6, SysPselect6, "dppppp");
    Partial(SYS_sendfile, SysSendfile, "ffpu",
            "also reads files Linux cannot splice from (/proc/PID files) "
            "instead of failing with EINVAL");
    Partial(SYS_splice, SysSplice, "fpfpux",
            "copies (no zero-copy); a pipe fills to the byte, not in "
            "pages; bytes a file refuses after leaving a pipe are lost; "
            "SPLICE_F_MOVE and SPLICE_F_MORE are accepted hints");
    Full(SYS_tee, SysTee, "ffux");
    Partial(SYS_vmsplice, SysVmsplice, "fpux",
            "copies the data (SPLICE_F_GIFT is ignored); a pipe fills to the "
            "byte, not in pages");
    Full(SYS_copy_file_range, SysCopyFileRange, "fpfpux");
    Partial(SYS_ioctl, SysIoctl, "fip",
            "FIOCLEX, FIONCLEX, FIONBIO; job control on terminals "
            "(TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY, TIOCNOTTY; SIGTTOU "
            "for background settings changes); ptys: TCGETS, TCSETS*, "
            "TIOCGWINSZ, TIOCSWINSZ, FIONREAD, TIOCOUTQ, TCFLSH, TIOCGPTN, "
            "TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER, TIOCGETD/TIOCSETD (no "
            "TIOCPKT, TIOCSTI, TCGETA/TCSETA*, TCGETS2); host terminals: "
            "TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ; pipes: FIONREAD; "
            "anything else ENOTTY");
    Full(SYS_pread64, SysPread64, "fBul");
    Full(SYS_pwrite64, SysPwrite64, "fbul");
    Full(SYS_readv, SysReadv, "fpd");
    Full(SYS_writev, SysWritev, "fpd");
    Full(SYS_access, SysAccess, "sk");
    Full(SYS_sched_yield, SysSchedYield, "");
    Partial(SYS_mremap, SysMremap, "pxxdp",
            "MREMAP_DONTUNMAP and old_size 0 fail with EINVAL", 'x');
    Full(SYS_msync, SysMsync, "pxd");
    Partial(SYS_madvise, SysMadvise, "pxd",
            "DONTNEED, FREE, DONTFORK, DOFORK, WIPEONFORK and KEEPONFORK reach "
            "the host; pure hints are accepted; REMOVE and the rest fail with "
            "EINVAL");
    Full(SYS_dup, SysDup, "f");
    Full(SYS_dup2, SysDup2, "ff");
    Full(SYS_nanosleep, SysNanosleep, "pp");
    Full(SYS_getitimer, SysGetitimer, "dp");
    Full(SYS_setitimer, SysSetitimer, "dpp");
    Full(SYS_alarm, SysAlarm, "u");
    Full(SYS_getpid, SysGetpid, "");
    Full(SYS_exit, SysExit, "d");
    Partial(SYS_wait4, SysWait4, "dpdp", "the rusage holds CPU times only");
    Full(SYS_kill, SysKill, "dS");
    Full(SYS_clone, SysClone, "xpppx");
    Full(SYS_fork, SysFork, "");
    Full(SYS_vfork, SysVfork, "");
    Partial(SYS_clone3, SysClone3, "pu",
            "set_tid fails with EPERM; CLONE_INTO_CGROUP and "
            "CLONE_CLEAR_SIGHAND fail with EINVAL; new namespaces as clone");
    Full(SYS_execveat, SysExecveat, "fsaeA");
    Partial(SYS_waitid, SysWaitid, "ddpdp", "the rusage holds CPU times only");
    Full(SYS_uname, SysUname, "p");
    Partial(SYS_fcntl, SysFcntl, "fdx",
            "DUPFD, DUPFD_CLOEXEC, GETFD, SETFD, GETFL, SETFL, record locks "
            "(GETLK, SETLK, SETLKW and the OFD forms), GET/SETPIPE_SZ, "
            "ADD/GET_SEALS (memfds); leases, notify and owners fail with "
            "EINVAL");
    Full(SYS_fsync, SysFsync, "f");
    Full(SYS_fdatasync, SysFsync, "f");
    Full(SYS_truncate, SysTruncate, "sl");
    Full(SYS_ftruncate, SysFtruncate, "fl");
    Full(SYS_getcwd, SysGetcwd, "pu");
    Full(SYS_chdir, SysChdir, "s");
    Full(SYS_fchdir, SysFchdir, "f");
    Full(SYS_mkdir, SysMkdir, "sm");
    Full(SYS_rmdir, SysRmdir, "s");
    Full(SYS_creat, SysCreat, "sm");
    Full(SYS_unlink, SysUnlink, "s");
    Full(SYS_symlink, SysSymlink, "ss");
    Partial(SYS_link, SysLink, "ss",
            "tmpfs only; other filesystems fail with EPERM (#4)");
    Partial(SYS_linkat, SysLinkat, "fsfsA", "see link");
    const char* kMknodNote =
        "FIFOs, socket files and regular files on tmpfs; device nodes "
        "fail with EPERM (#4)";
    Partial(SYS_mknod, SysMknod, "smx", kMknodNote);
    Partial(SYS_mknodat, SysMknodat, "fsmx", kMknodNote);
    const char* kSetattrNote =
        "tmpfs files; files from the gofer fail with EROFS or EPERM (#4)";
    Partial(SYS_chmod, SysChmod, "sm", kSetattrNote);
    Partial(SYS_fchmod, SysFchmod, "fm", kSetattrNote);
    Partial(SYS_fchmodat, SysFchmodat, "fsm", kSetattrNote);
    Partial(SYS_chown, SysChown, "sdd", kSetattrNote);
    Partial(SYS_lchown, SysLchown, "sdd", kSetattrNote);
    Partial(SYS_fchown, SysFchown, "fdd", kSetattrNote);
    Partial(SYS_fchownat, SysFchownat, "fsddA", kSetattrNote);
    Full(SYS_readlink, SysReadlink, "spu");
    Full(SYS_umask, SysUmask, "m");
    Full(SYS_gettimeofday, SysGettimeofday, "pp");
    Full(SYS_getrlimit, SysGetrlimit, "rp");
    Full(SYS_sysinfo, SysSysinfo, "p");
    Full(SYS_getuid, SysGetuid, "");
    Full(SYS_getgid, SysGetgid, "");
    Full(SYS_geteuid, SysGeteuid, "");
    Full(SYS_getegid, SysGetegid, "");
    Full(SYS_getppid, SysGetppid, "");
    Full(SYS_getpgrp, SysGetpgrp, "");
    Full(SYS_getgroups, SysGetgroups, "dp");
    Full(SYS_getresuid, SysGetresuid, "ppp");
    Full(SYS_getresgid, SysGetresgid, "ppp");
    Full(SYS_getpgid, SysGetpgid, "d");
    Full(SYS_getsid, SysGetsid, "d");
    Full(SYS_setpgid, SysSetpgid, "dd");
    Full(SYS_setsid, SysSetsid, "");
    Full(SYS_setuid, SysSetuid, "d");
    Full(SYS_setgid, SysSetgid, "d");
    Full(SYS_setreuid, SysSetreuid, "dd");
    Full(SYS_setregid, SysSetregid, "dd");
    Full(SYS_setresuid, SysSetresuid, "ddd");
    Full(SYS_setresgid, SysSetresgid, "ddd");
    Full(SYS_setfsuid, SysSetfsuid, "d");
    Full(SYS_setfsgid, SysSetfsgid, "d");
    Full(SYS_setgroups, SysSetgroups, "dp");
    Partial(SYS_capget, SysCapget, "pp",
            "capabilities are the sandbox's own; there are no file "
            "capabilities");
    Full(SYS_capset, SysCapset, "pp");
    Partial(SYS_times, SysTimes, "p",
            "CPU time is measured around the guest's runs (see "
            "clock_gettime)");
    Partial(SYS_getrusage, SysGetrusage, "dp",
            "CPU times only; the other fields are zero");
    Full(SYS_sched_setaffinity, SysSchedSetaffinity, "dup");
    Full(SYS_sched_getparam, SysSchedGetparam, "dp");
    Full(SYS_sched_getscheduler, SysSchedGetscheduler, "d");
    Partial(SYS_sched_setscheduler, SysSchedSetscheduler, "ddp",
            "OTHER, BATCH and IDLE are accepted and not enforced; real-time "
            "policies fail with EPERM (no CAP_SYS_NICE)");
    Partial(SYS_sched_setparam, SysSchedSetparam, "dp",
            "see sched_setscheduler");
    Full(SYS_sched_get_priority_max, SysSchedGetPriorityMax, "d");
    Full(SYS_sched_get_priority_min, SysSchedGetPriorityMin, "d");
    Partial(SYS_getpriority, SysGetpriority, "dd",
            "nice values are recorded and reported, not enforced");
    Partial(SYS_setpriority, SysSetpriority, "ddd",
            "nice values are recorded and reported, not enforced");
    Full(SYS_sigaltstack, SysSigaltstack, "pp");
    Full(SYS_statfs, SysStatfs, "sp");
    Full(SYS_fstatfs, SysFstatfs, "fp");
    Partial(SYS_prctl, SysPrctl, "dxxxx",
            "PR_SET/GET_NAME, PR_SET/GET_DUMPABLE, PR_SET/GET_NO_NEW_PRIVS, "
            "PR_SET/GET_PDEATHSIG (on the parent process's exit), "
            "PR_SET/GET_CHILD_SUBREAPER, PR_SET/GET_KEEPCAPS, "
            "PR_CAPBSET_READ/DROP, PR_SET/GET_SECCOMP; the rest fail with "
            "EINVAL");
    Full(SYS_arch_prctl, SysArchPrctl, "dx");
    Full(SYS_setrlimit, SysSetrlimit, "rp");
    Full(SYS_gettid, SysGettid, "");
    Full(SYS_tkill, SysTkill, "dS");
    Full(SYS_time, SysTime, "p");
    Partial(SYS_sched_getaffinity, SysSchedGetaffinity, "dup",
            "reports every CPU of the sandbox");
    Full(SYS_getdents64, SysGetdents64, "fpu");
    Full(SYS_getdents, SysGetdents, "fpu");
    Partial(SYS_mount, SysMount, "sssxs",
            "with CAP_SYS_ADMIN in the sandbox: tmpfs (mode, uid, gid, size; "
            "nr_inodes is accepted, not enforced), more mounts of the "
            "sandbox's proc, sysfs and devpts, MS_BIND (without MS_REC's "
            "submounts), MS_REMOUNT of the flags, propagation flags (no "
            "effect: one mount namespace); MS_MOVE and other types fail "
            "with EINVAL and ENODEV");
    Partial(SYS_umount2, SysUmount2, "sx",
            "MNT_EXPIRE always fails with EAGAIN");
    Full(SYS_sched_rr_get_interval, SysSchedRrGetInterval, "dp");
    Partial(SYS_inotify_init, SysInotifyInit, "",
            "events for changes made in the sandbox (not by the host behind "
            "a gofer mount); IN_DELETE_SELF comes at the last unlink, not at "
            "the last close; /proc/PID/fdinfo lists no watches");
    Partial(SYS_inotify_init1, SysInotifyInit1, "x", "see inotify_init");
    Full(SYS_inotify_add_watch, SysInotifyAddWatch, "fsx");
    Full(SYS_inotify_rm_watch, SysInotifyRmWatch, "fd");
    Partial(SYS_openat2, SysOpenat2, "fspu",
            "every RESOLVE_ flag; RESOLVE_CACHED always fails with EAGAIN; "
            "O_CREAT through a final symlink with RESOLVE_BENEATH or "
            "RESOLVE_IN_ROOT fails with EXDEV; O_TMPFILE ignores the RESOLVE_ "
            "flags");
    Full(SYS_rename, SysRename, "ss");
    Full(SYS_renameat, SysRenameat, "fsfs");
    Partial(SYS_renameat2, SysRenameat2, "fsfsx",
            "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT fails "
            "with EINVAL");
    Full(SYS_utimensat, SysUtimensat, "fspA");
    Full(SYS_utimes, SysUtimes, "sp");
    Full(SYS_futimesat, SysFutimesat, "fsp");
    Full(SYS_utime, SysUtime, "sp");
    Full(SYS_flock, SysFlock, "fd");
    Partial(SYS_fallocate, SysFallocate, "fdll",
            "tmpfs files (every mode the host's shmem has); other "
            "filesystems fail with EOPNOTSUPP");
    Partial(SYS_sync, SysSync, "",
            "flushes nothing: sandbox filesystems are in memory and gofer "
            "files are written through to the host at once");
    Partial(SYS_syncfs, SysSyncfs, "f", "see sync");
    Partial(SYS_memfd_create, SysMemfdCreate, "sx",
            "MFD_HUGETLB fails with EINVAL");
    Full(SYS_set_tid_address, SysSetTidAddress, "p");
    Full(SYS_fadvise64, SysFadvise64, "flld");
    Partial(SYS_clock_gettime, SysClockGettime, "cp",
            "CPU-time clocks count the time a thread runs guest code as "
            "user time and the sentry's time on its system calls as system "
            "time");
    Full(SYS_clock_getres, SysClockGetres, "cp");
    Partial(SYS_clock_settime, SysClockSettime, "cp",
            "fails with EPERM: no guest has CAP_SYS_TIME");
    Partial(SYS_settimeofday, SysSettimeofday, "pp",
            "fails with EPERM: no guest has CAP_SYS_TIME");
    Full(SYS_clock_nanosleep, SysClockNanosleep, "cdpp");
    Partial(SYS_timer_create, SysTimerCreate, "cpp",
            "CPU-clock timers of another process measure the caller's "
            "process");
    Full(SYS_timer_settime, SysTimerSettime, "ddpp");
    Full(SYS_timer_gettime, SysTimerGettime, "dp");
    Full(SYS_timer_getoverrun, SysTimerGetoverrun, "d");
    Full(SYS_timer_delete, SysTimerDelete, "d");
    Full(SYS_eventfd, SysEventfd, "u");
    Full(SYS_eventfd2, SysEventfd2, "ux");
    Partial(SYS_mq_open, SysMqOpen, "sxop",
            "one IPC namespace's queues; limits are Linux's defaults (not "
            "settable: no /proc/sys/fs/mqueue)");
    Full(SYS_mq_unlink, SysMqUnlink, "s");
    Full(SYS_mq_timedsend, SysMqTimedsend, "fpuup");
    Full(SYS_mq_timedreceive, SysMqTimedreceive, "fpupp");
    Full(SYS_mq_notify, SysMqNotify, "fp");
    Full(SYS_mq_getsetattr, SysMqGetsetattr, "fpp");
    Partial(SYS_timerfd_create, SysTimerfdCreate, "cx",
            "REALTIME, MONOTONIC, BOOTTIME; the *_ALARM clocks fail with "
            "EPERM (no guest has CAP_WAKE_ALARM)");
    Partial(SYS_timerfd_settime, SysTimerfdSettime, "fxpp",
            "TFD_TIMER_CANCEL_ON_SET is accepted but never cancels: guests "
            "cannot set the realtime clock");
    Full(SYS_timerfd_gettime, SysTimerfdGettime, "fp");
    Full(SYS_signalfd, SysSignalfd, "fpu");
    Full(SYS_signalfd4, SysSignalfd4, "fpux");

    Full(SYS_exit_group, SysExitGroup, "d");
    Full(SYS_tgkill, SysTgkill, "ddS");
    Partial(SYS_openat, SysOpenat, "fsom", "see open");
    Full(SYS_mkdirat, SysMkdirat, "fsm");
    Full(SYS_newfstatat, SysNewfstatat, "fspA");
    Full(SYS_unlinkat, SysUnlinkat, "fsA");
    Full(SYS_symlinkat, SysSymlinkat, "sfs");
    Full(SYS_readlinkat, SysReadlinkat, "fspu");
    Full(SYS_faccessat, SysFaccessat, "fsk");
    Full(SYS_set_robust_list, SysSetRobustList, "pu");
    Full(SYS_get_robust_list, SysGetRobustList, "dpp");
    Full(SYS_process_vm_readv, SysProcessVmReadv, "dpupux");
    Full(SYS_process_vm_writev, SysProcessVmWritev, "dpupux");
    Partial(SYS_kcmp, SysKcmp, "dddxx",
            "no System V semaphores or I/O contexts: KCMP_SYSVSEM and "
            "KCMP_IO fail with EOPNOTSUPP");
    Full(SYS_dup3, SysDup3, "ffo");
    Full(SYS_preadv, SysPreadv, "fpdl");
    Full(SYS_pwritev, SysPwritev, "fpdl");
    Partial(SYS_prlimit64, SysPrlimit64, "drpp",
            "enforced: NOFILE, NPROC, AS, CPU, STACK (for exec), SIGPENDING; "
            "the rest are recorded");
    Full(SYS_pidfd_open, SysPidfdOpen, "dx");
    Full(SYS_pidfd_send_signal, SysPidfdSendSignal, "fSpx");
    Full(SYS_getcpu, SysGetcpu, "ppp");
    Full(SYS_getrandom, SysGetrandom, "pux");
    Partial(SYS_seccomp, SysSeccomp, "dxp",
            "strict and filter modes with every action, TSYNC, LOG, "
            "SPEC_ALLOW; no user notification (NEW_LISTENER fails with "
            "EINVAL, SECCOMP_RET_USER_NOTIF acts as with no listener: "
            "ENOSYS) and no tracer stops (SECCOMP_RET_TRACE: ENOSYS)");
    Full(SYS_execve, SysExecve, "sae");
    Partial(SYS_preadv2, SysPreadv2, "fpdlxx",
            "RWF_NOWAIT and RWF_APPEND fail with EOPNOTSUPP");
    Partial(SYS_pwritev2, SysPwritev2, "fpdlxx",
            "RWF_NOWAIT and RWF_APPEND fail with EOPNOTSUPP");
    Partial(SYS_statx, SysStatx, "fsAxp",
            "STATX_BASIC_STATS and STATX_MNT_ID; no birth time");
    Full(SYS_close_range, SysCloseRange, "ffx");
    Full(SYS_faccessat2, SysFaccessat2, "fskA");
    Partial(SYS_futex, SysFutex, "pdupxd",
            "WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE, "
            "WAKE_OP (private and shared, both clocks); the PI operations "
            "fail with ENOSYS");

    const char* kNoXattr =
        "user., trusted. and security. attributes on tmpfs and on files of "
        "the root overlay (copied up); host files behind the gofer have "
        "none (ENODATA under the overlay); system. (POSIX ACLs) fails with "
        "EOPNOTSUPP";
    Partial(SYS_getxattr, SysGetxattr, "sspu", kNoXattr);
    Partial(SYS_lgetxattr, SysLgetxattr, "sspu", kNoXattr);
    Partial(SYS_fgetxattr, SysFgetxattr, "fspu", kNoXattr);
    Partial(SYS_setxattr, SysSetxattr, "sspux", kNoXattr);
    Partial(SYS_lsetxattr, SysLsetxattr, "sspux", kNoXattr);
    Partial(SYS_fsetxattr, SysFsetxattr, "fspux", kNoXattr);
    Partial(SYS_listxattr, SysListxattr, "spu", kNoXattr);
    Partial(SYS_llistxattr, SysLlistxattr, "spu", kNoXattr);
    Partial(SYS_flistxattr, SysFlistxattr, "fpu", kNoXattr);
    Partial(SYS_removexattr, SysRemovexattr, "ss", kNoXattr);
    Partial(SYS_lremovexattr, SysLremovexattr, "ss", kNoXattr);
    Partial(SYS_fremovexattr, SysFremovexattr, "fs", kNoXattr);
    // Sockets: AF_UNIX, AF_INET/AF_INET6 on the loopback stack, and
    // AF_NETLINK's NETLINK_ROUTE.
    Partial(SYS_socket, SysSocket, "ddd",
            "AF_UNIX (stream, datagram, seqpacket); AF_INET and AF_INET6 "
            "TCP and UDP on a loopback-only stack (other destinations: "
            "ENETUNREACH; with --network=host, host sockets to what "
            "--net-allow allows, else EACCES); AF_NETLINK NETLINK_ROUTE "
            "(other netlink "
            "protocols EPROTONOSUPPORT); SOCK_RAW fails with EPERM, or "
            "ESOCKTNOSUPPORT with CAP_NET_RAW; ping sockets EACCES; UDP-Lite "
            "(IPPROTO_UDPLITE) EPROTONOSUPPORT; other "
            "families EAFNOSUPPORT");
    Partial(SYS_socketpair, SysSocketpair, "dddp", "AF_UNIX only");
    Partial(SYS_bind, SysBind, "fpu",
            "unix paths on tmpfs and the overlay root (a gofer-served "
            "directory fails with EPERM), abstract names, autobind; inet "
            "ports with SO_REUSEADDR/SO_REUSEPORT conflicts as Linux, but no "
            "TIME_WAIT (a closed connection's port is free at once)");
    Full(SYS_listen, SysListen, "fd");
    Full(SYS_accept, SysAccept, "fpp");
    Full(SYS_accept4, SysAccept4, "fppx");
    Full(SYS_connect, SysConnect, "fpu");
    Full(SYS_getsockname, SysGetsockname, "fpp");
    Full(SYS_getpeername, SysGetpeername, "fpp");
    Partial(SYS_sendto, SysSendto, "fpuxpu",
            "MSG_OOB fails with EOPNOTSUPP (no TCP urgent data); unix "
            "in-flight files are not garbage-collected (a socket sent over "
            "itself stays open) nor counted against RLIMIT_NOFILE; UDP "
            "control messages are checked, not applied; no multicast or "
            "broadcast delivery");
    Partial(SYS_recvfrom, SysRecvfrom, "fpuxpp",
            "MSG_OOB fails with EOPNOTSUPP (EINVAL on TCP), MSG_ERRQUEUE "
            "with EAGAIN; one call returns at most 4 MiB of a stream; UDP "
            "gives SO_TIMESTAMP(NS), IP_PKTINFO, IP_RECVTOS, IP_RECVTTL and "
            "the IPv6 equivalents");
    Partial(SYS_sendmsg, SysSendmsg, "fpx", "see sendto");
    Partial(SYS_recvmsg, SysRecvmsg, "fpx", "see recvfrom");
    Partial(SYS_sendmmsg, SysSendmmsg, "fpux", "see sendto");
    Partial(SYS_recvmmsg, SysRecvmmsg, "fpuxp",
            "the timeout is checked for validity but not applied");
    Full(SYS_shutdown, SysShutdown, "fd");
    Partial(SYS_setsockopt, SysSetsockopt, "fddpu",
            "unix: SOL_SOCKET only (SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, "
            "SO_RCVTIMEO, SO_SNDTIMEO, and flags with no effect on unix "
            "sockets); other levels EOPNOTSUPP. inet: SOL_SOCKET, SOL_TCP, "
            "SOL_UDP, SOL_IP, SOL_IPV6 options are checked and kept; those "
            "with an effect here are SO_REUSEADDR, SO_REUSEPORT, "
            "SO_BROADCAST, SO_LINGER, buffer sizes, timeouts, IP_TOS, "
            "IP_TTL, IPV6_V6ONLY and the receive-side cmsg flags; multicast "
            "membership fails with ENODEV, non-empty IP_OPTIONS with "
            "ENOPROTOOPT. netlink: buffer sizes, timeouts and SOL_NETLINK "
            "flags (groups are joined but never notified); socket filters "
            "(SO_ATTACH_FILTER) and SO_TIMESTAMP fail with ENOPROTOOPT");
    Partial(SYS_getsockopt, SysGetsockopt, "fddpp",
            "the options of setsockopt, SO_TYPE, SO_DOMAIN, SO_PROTOCOL, "
            "SO_ACCEPTCONN, SO_ERROR, SO_PEERCRED; TCP_INFO reports state "
            "and loopback constants, not live congestion figures");
    Error(SYS_rseq, ENOSYS,
          "restartable sequences are not supported; glibc falls back");
  }

  const SyscallEntry* Lookup(uint64_t nr) const override {
    if (nr >= entries_.size() || entries_[nr].name == nullptr) return nullptr;
    return &entries_[nr];
  }

  const char* Name(uint64_t nr) const override {
    return nr <= kMaxSyscall ? kNames[nr] : "";
  }

 private:
  void Add(uint64_t nr, kernel::SyscallFn fn, Support s, const char* args,
           const char* note, char ret) {
    entries_[nr] = SyscallEntry{kNames[nr], fn, s, note, args, ret};
  }
  void Full(uint64_t nr, kernel::SyscallFn fn, const char* args,
            char ret = 'd') {
    Add(nr, fn, Support::kFull, args, "", ret);
  }
  void Partial(uint64_t nr, kernel::SyscallFn fn, const char* args,
               const char* note, char ret = 'd') {
    Add(nr, fn, Support::kPartial, args, note, ret);
  }
  // A call that always fails with `err`: its handler is generated here.
  template <int kErr>
  static SysResult<uint64_t> Fail(Task&, const SyscallArgs&) {
    return Errno(kErr);
  }
  void Error(uint64_t nr, int err, const char* note) {
    kernel::SyscallFn fn = nullptr;
    switch (err) {
      case ENOSYS:
        fn = &Fail<ENOSYS>;
        break;
      case EAFNOSUPPORT:
        fn = &Fail<EAFNOSUPPORT>;
        break;
      default:
        LOG(FATAL) << "add a Fail<> instantiation for errno " << err;
    }
    Add(nr, fn, Support::kError, "", note, 'd');
  }

  std::array<SyscallEntry, kMaxSyscall + 1> entries_{};
};

}  // namespace

const kernel::SyscallTable& LinuxTable() {
  static const LinuxSyscallTable* table = new LinuxSyscallTable();
  return *table;
}

}  // namespace sentry::syscalls
