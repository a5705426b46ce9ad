// devpts: pseudo-terminals. Opening /dev/pts/ptmx (or /dev/ptmx, a link to
// it) makes a new pair: the description returned is the master, and
// /dev/pts/N appears for the slave, locked until unlockpt (TIOCSPTLCK).
//
// Between the two runs the line discipline (Linux's n_tty): bytes written
// to the master are the terminal's input, which the slave reads, after
// input translation (ICRNL, INLCR, IGNCR, ISTRIP), the signal characters
// (ISIG: VINTR, VQUIT, VSUSP to the foreground process group), and, in
// canonical mode (ICANON), line editing (VERASE, VKILL, VWERASE, VLNEXT,
// VREPRINT, VEOF, VEOL); echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL)
// goes back to the master. Bytes written to the slave are the output the
// master reads, after output translation (OPOST: ONLCR, OCRNL). In
// non-canonical mode reads follow VMIN and VTIME.
//
// Not implemented: flow control (VSTART/VSTOP are consumed but stop
// nothing), packet mode (TIOCPKT), TIOCSTI, struct termio and termios2,
// IUCLC/OLCUC, tab and column tracking for erasing tabs, parity marking.
//
// Job control (whose foreground group a signal reaches, SIGTTIN and SIGTTOU
// for background groups, hang-up when the master closes) is the kernel's:
// each pty is a kernel::Terminal (sentry/kernel/job_control.h).
//
// Lock order: DevptsFilesystem::mu_, then Pty::mu_; both are leaves
// otherwise: signals are sent, and the kernel's lock taken, only after
// they are released. Waits happen with them released.

#ifndef SENTRY_FS_DEVPTS_DEVPTS_H_
#define SENTRY_FS_DEVPTS_DEVPTS_H_

#include <sys/ioctl.h>
#include <termios.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "sentry/base/waiter.h"
#include "sentry/kernel/terminal.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

namespace sentry::kernel {
class Kernel;
}

namespace sentry::fs::devpts {

// The kernel's struct termios (36 bytes), which TCGETS/TCSETS move.
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36, "the kernel ABI's struct termios");

// The settings of a fresh terminal (Linux's tty_std_termios).
KernelTermios DefaultTermios();

// How many pairs may exist at once (Linux's /proc/sys/kernel/pty/max is
// 4096; a sandbox needs fewer).
inline constexpr int kMaxPtys = 1024;

class DevptsFilesystem;
class SlaveInode;

// One pseudo-terminal: the line discipline and the queues between master
// and slave. The slave's job-control state is the kernel::Terminal part.
class Pty final : public kernel::Terminal,
                  public std::enable_shared_from_this<Pty> {
 public:
  Pty(DevptsFilesystem* fs, int index, uint32_t uid, uint32_t gid);
  ~Pty() override;

  int index() const { return index_; }
  const std::shared_ptr<SlaveInode>& inode() const { return inode_; }

  uint64_t DeviceNumber() const override;

  // kernel::Terminal: /dev/tty opens the slave.
  SysResult<std::shared_ptr<vfs::FileDescription>> OpenTty(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

  // Opens a slave description at `vd` (EIO while locked or once hung up).
  SysResult<std::shared_ptr<vfs::FileDescription>> OpenSlave(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags);

  // The master side. `external` marks input from outside the sandbox (the
  // host terminal of `runsc do -t`), whose signal characters reach the
  // sandbox's init as runsc's forwarded signals do.
  SysResult<size_t> MasterRead(vfs::CallContext& ctx, char* buf, size_t len,
                               bool nonblock);
  SysResult<size_t> MasterWrite(vfs::CallContext& ctx, const char* buf,
                                size_t len, bool nonblock, bool external);
  uint32_t MasterReadiness(uint32_t mask);

  // The slave side.
  SysResult<size_t> SlaveRead(vfs::CallContext& ctx, char* buf, size_t len,
                              bool nonblock);
  SysResult<size_t> SlaveWrite(vfs::CallContext& ctx, const char* buf,
                               size_t len, bool nonblock);
  uint32_t SlaveReadiness(uint32_t mask);

  // The terminal ioctls of either side (TCGETS, TIOCGWINSZ, FIONREAD, the
  // TIOC*PT* calls of the master, ...); job control is SysIoctl's.
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, bool master, uint32_t cmd,
                           uint64_t arg, const vfs::VirtualDentry& master_vd);

  // Sets the window size (TIOCSWINSZ), signalling SIGWINCH to the
  // foreground group if it changed.
  void SetWindowSize(const struct winsize& ws, bool external);

  // unlockpt(3), for the kernel's own pairs.
  void Unlock() {
    absl::MutexLock l(&mu_);
    locked_ = false;
  }

  void MasterOpened();
  void MasterClosed();
  void SlaveOpened();
  void SlaveClosed();

  WaitQueue& master_queue() { return master_queue_; }
  WaitQueue& slave_queue() { return slave_queue_; }

 private:
  // Canonical mode: complete lines the slave may read, each ending in its
  // delimiter (none after VEOF: an empty line is end of file).
  struct Line {
    std::string data;
  };

  bool CanonicalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (termios_.c_lflag & ICANON) != 0;
  }
  size_t InputBytesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SlaveReadableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One input byte, as the line discipline takes it. Returns false when
  // the input queue is full (the byte is not taken). Signals to send are
  // appended to `sigs`.
  bool ReceiveLocked(uint8_t c, std::vector<int>* sigs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `c` to the master's queue through output translation.
  void OutputLocked(uint8_t c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Echoes `c` (^X for control characters under ECHOCTL).
  void EchoLocked(uint8_t c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rubs out the last character of the line being edited.
  void EraseLocked(bool echo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushInputLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetTermiosLocked(const KernelTermios& t)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `sigs` to the foreground group; no lock held.
  void SendSignals(const std::vector<int>& sigs, bool external);

  DevptsFilesystem* const fs_;  // outlives every pty (its mount holds it)
  const int index_;
  const std::shared_ptr<SlaveInode> inode_;

  absl::Mutex mu_;
  KernelTermios termios_ ABSL_GUARDED_BY(mu_);
  struct winsize winsize_ ABSL_GUARDED_BY(mu_) {};
  std::deque<Line> lines_ ABSL_GUARDED_BY(mu_);  // canonical, complete
  std::string line_ ABSL_GUARDED_BY(mu_);        // canonical, being edited
  std::string raw_ ABSL_GUARDED_BY(mu_);         // non-canonical input
  bool lnext_ ABSL_GUARDED_BY(mu_) = false;      // VLNEXT: take next as is
  // Erasing echoes since the last ordinary character (ECHOPRT's state is
  // not kept; this is only for "\b \b").
  std::string out_ ABSL_GUARDED_BY(mu_);  // for the master to read
  bool locked_ ABSL_GUARDED_BY(mu_) = true;
  int master_opens_ ABSL_GUARDED_BY(mu_) = 0;
  int slave_opens_ ABSL_GUARDED_BY(mu_) = 0;
  bool slave_seen_ ABSL_GUARDED_BY(mu_) = false;  // a slave was opened
  bool hung_up_ ABSL_GUARDED_BY(mu_) = false;     // the master closed
  WaitQueue master_queue_;
  WaitQueue slave_queue_;
};

// The inode of /dev/pts/N.
class SlaveInode final : public vfs::Inode {
 public:
  SlaveInode(DevptsFilesystem* fs, int index, uint32_t uid, uint32_t gid);
  void set_pty(std::weak_ptr<Pty> pty) { pty_ = std::move(pty); }
  SysResult<vfs::Attr> GetAttr() override;
  SysResult<void> SetAttr(vfs::CallContext& ctx,
                          const AttrChange& change) override;
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override;

 private:
  std::weak_ptr<Pty> pty_;  // set once, before the inode is reachable
  absl::Mutex mu_;
  vfs::Attr attr_ ABSL_GUARDED_BY(mu_);
};

class DevptsFilesystem final
    : public vfs::Filesystem,
      public std::enable_shared_from_this<DevptsFilesystem> {
 public:
  // `kernel` receives the terminals' signals.
  static std::shared_ptr<DevptsFilesystem> Create(kernel::Kernel* kernel);

  SysResult<vfs::StatFs> GetStatFs() override;
  const std::shared_ptr<vfs::Dentry>& root() const { return root_; }
  kernel::Kernel* kernel() const { return kernel_; }
  uint64_t NextIno() { return next_ino_.fetch_add(1); }

  // A new pair owned by uid/gid: its master, opened at `vd` (ptmx's
  // dentry). ENOSPC when kMaxPtys are in use.
  SysResult<std::shared_ptr<vfs::FileDescription>> OpenMaster(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags);

  // The pty numbered `index` while its master is open, or null.
  std::shared_ptr<Pty> Find(int index);
  // Every pty number in use, in order.
  std::vector<int> Indexes();
  // The master closed: /dev/pts/N goes away and N may be reused.
  void Remove(int index);

 private:
  explicit DevptsFilesystem(kernel::Kernel* kernel)
      : Filesystem("devpts"), kernel_(kernel) {}

  kernel::Kernel* const kernel_;
  std::shared_ptr<vfs::Dentry> root_;
  std::atomic<uint64_t> next_ino_{1};
  absl::Mutex mu_;
  std::map<int, std::weak_ptr<Pty>> ptys_ ABSL_GUARDED_BY(mu_);
};

// The master side of a pair.
class MasterFD final : public vfs::StreamFD, public kernel::TerminalFile {
 public:
  MasterFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pty> pty);
  ~MasterFD() override;

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(pty_, &pty_->master_queue());
  }
  bool IsTerminal() const override { return true; }

  std::shared_ptr<kernel::Terminal> terminal() const override { return pty_; }
  bool is_pty_master() const override { return true; }

  const std::shared_ptr<Pty>& pty() const { return pty_; }
  // Input from outside the sandbox (see Pty::MasterWrite).
  SysResult<size_t> WriteExternal(vfs::CallContext& ctx, const char* buf,
                                  size_t len);

 private:
  const std::shared_ptr<Pty> pty_;
};

// The slave side: /dev/pts/N, or /dev/tty standing for it.
class SlaveFD final : public vfs::StreamFD, public kernel::TerminalFile {
 public:
  SlaveFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pty> pty);
  ~SlaveFD() override;

  SysResult<size_t> Read(vfs::CallContext& ctx, char* buf, size_t len,
                         int64_t* offset) override;
  SysResult<size_t> Write(vfs::CallContext& ctx, const char* buf, size_t len,
                          int64_t* offset) override;
  SysResult<int64_t> Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                           uint64_t arg) override;
  uint32_t Readiness(uint32_t mask) override;
  std::shared_ptr<WaitQueue> EventQueue() override {
    return std::shared_ptr<WaitQueue>(pty_, &pty_->slave_queue());
  }
  bool IsTerminal() const override { return true; }

  std::shared_ptr<kernel::Terminal> terminal() const override { return pty_; }

 private:
  const std::shared_ptr<Pty> pty_;
};

}  // namespace sentry::fs::devpts

#endif  // SENTRY_FS_DEVPTS_DEVPTS_H_
