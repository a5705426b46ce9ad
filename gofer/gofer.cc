#include "gofer/gofer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "gofer/server.h"
#include "sentry/base/host_fd.h"

namespace gofer {
namespace {

using sentry::HostFd;

// Everything the serving loop, malloc and glog need; nothing else. Kept
// separate from the sentry's filter: a different process with a different
// job.
absl::Status InstallSeccomp(bool read_only) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  const int allowed[] = {
      SCMP_SYS(read),
      SCMP_SYS(write),
      SCMP_SYS(close),
      SCMP_SYS(fstat),
      SCMP_SYS(newfstatat),
      SCMP_SYS(fstatfs),
      SCMP_SYS(openat),
      SCMP_SYS(getdents64),
      SCMP_SYS(lseek),
      SCMP_SYS(readlinkat),
      SCMP_SYS(recvmsg),
      SCMP_SYS(sendmsg),
      SCMP_SYS(sendto),  // send(2): replies without an fd
      SCMP_SYS(fcntl),
      SCMP_SYS(exit),
      SCMP_SYS(exit_group),
      SCMP_SYS(futex),
      SCMP_SYS(brk),
      SCMP_SYS(mmap),
      SCMP_SYS(munmap),
      SCMP_SYS(mremap),
      SCMP_SYS(madvise),
      SCMP_SYS(rt_sigreturn),
      SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(rt_sigaction),
      SCMP_SYS(clock_gettime),
      SCMP_SYS(gettid),
      SCMP_SYS(getpid),
      SCMP_SYS(tgkill),
      SCMP_SYS(restart_syscall),
      SCMP_SYS(sched_yield),
      SCMP_SYS(getrandom),
  };
  // What the changes of a read-write server make (server.cc), and only
  // those: the read-only root's gofer never gets them.
  const int changes[] = {
      SCMP_SYS(mkdirat),   SCMP_SYS(mknodat),  SCMP_SYS(symlinkat),
      SCMP_SYS(linkat),    SCMP_SYS(unlinkat), SCMP_SYS(renameat2),
      SCMP_SYS(fchmodat),  SCMP_SYS(fchownat), SCMP_SYS(utimensat),
      SCMP_SYS(ftruncate),
  };
  std::vector<int> all(std::begin(allowed), std::end(allowed));
  if (!read_only) all.insert(all.end(), std::begin(changes), std::end(changes));
  for (int nr : all) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
      seccomp_release(ctx);
      return absl::InternalError(
          absl::StrCat("seccomp_rule_add(", nr, ") failed"));
    }
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0)
    return absl::InternalError(absl::StrCat("seccomp_load: ", strerror(-rc)));
  return absl::OkStatus();
}

}  // namespace

// Keeps only the capabilities serving files needs (reading and writing
// files of other owners, as the host root the gofer serves for), dropping
// the rest from every set including the bounding set.
absl::Status DropCapabilities() {
  constexpr uint64_t kKeep = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) |
                             (1ULL << CAP_DAC_READ_SEARCH) |
                             (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID);
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
    if ((kKeep >> cap) & 1) continue;
    // EPERM: without CAP_SETPCAP there was nothing to drop from it anyway.
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL &&
        errno != EPERM) {
      return absl::InternalError(
          absl::StrCat("gofer: PR_CAPBSET_DROP: ", strerror(errno)));
    }
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return absl::InternalError(
        absl::StrCat("gofer: capget: ", strerror(errno)));
  }
  data[0].effective &= static_cast<uint32_t>(kKeep);
  data[0].permitted &= static_cast<uint32_t>(kKeep);
  data[0].inheritable = 0;
  data[1] = {};
  if (syscall(SYS_capset, &header, data) != 0) {
    return absl::InternalError(
        absl::StrCat("gofer: capset: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status RunGofer(const GoferConfig& config) {
  HostFd proc_self_fd(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!proc_self_fd.valid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "gofer: /proc/self/fd: ", strerror(errno), " (is /proc mounted?)"));
  }
  HostFd root;
  if (config.root_fd >= 0) {
    root.Reset(config.root_fd);
    struct stat st;
    if (fstat(root.get(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError("gofer: the root fd is no directory");
    }
    // The tree runsc opened, whatever its path names now.
    if (fchdir(root.get()) != 0 || chroot(".") != 0) {
      LOG(WARNING) << "gofer: chroot to the volume: " << strerror(errno)
                   << "; relying on handle confinement alone";
    }
  } else {
    root.Reset(open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!root.valid()) {
    return absl::NotFoundError(
        absl::StrCat("gofer: root \"", config.root, "\": ", strerror(errno)));
  }
  // New files get exactly the mode the sentry asks for.
  umask(0);
  // Handles already confine every request to the tree; a chroot also takes
  // the rest of the host away from this process where we may make one.
  if (config.root_fd < 0 && config.root != "/") {
    if (chroot(config.root.c_str()) == 0) {
      if (chdir("/") != 0)
        return absl::InternalError("gofer: chdir(/) after chroot failed");
    } else {
      LOG(WARNING) << "gofer: chroot(" << config.root
                   << "): " << strerror(errno)
                   << "; relying on handle confinement alone";
    }
  }
  // The sentry's dentry cache holds a handle per cached file.
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  absl::Status caps = DropCapabilities();
  if (!caps.ok()) return caps;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("gofer: no_new_privs: ", strerror(errno)));
  }
  if (config.seccomp) {
    absl::Status s = InstallSeccomp(config.read_only);
    if (!s.ok()) return s;
  }
  ServerOptions options;
  options.read_only = config.read_only;
  Server server(std::move(root), std::move(proc_self_fd), options);
  return server.Serve(config.sock_fd);
}

}  // namespace gofer
