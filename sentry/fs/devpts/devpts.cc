#include "sentry/fs/devpts/devpts.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/time/clock.h"
#include "sentry/kernel/job_control.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::devpts {

namespace {

// What the slave's input queue holds at most: a writer to the master then
// waits for the slave to read (Linux throttles at a similar size).
constexpr size_t kInputCapacity = 65536;
// What the master's queue holds at most before a slave writer waits.
// Echoes are added beyond it, up to twice that, then dropped.
constexpr size_t kOutputCapacity = 65536;
// The longest line canonical mode edits (N_TTY_BUF_SIZE - 1): further
// characters but the line's end are dropped.
constexpr size_t kMaxLine = 4095;

constexpr uint32_t kPtmxMajor = 5, kPtmxMinor = 2;
constexpr uint32_t kSlaveMajor = 136;  // UNIX98_PTY_SLAVE_MAJOR
constexpr uint32_t kTtyGid = 5;        // the "tty" group, as devpts' gid=5
#ifndef TIOCGPTPEER
constexpr uint32_t TIOCGPTPEER = _IO('T', 0x41);
#endif
constexpr uint64_t kDevptsMagic = 0x1cd1;

struct timespec Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

bool IsControl(uint8_t c) { return c < 0x20 || c == 0x7f; }

// The special characters, disabled when 0 (_POSIX_VDISABLE).
bool Is(const KernelTermios& t, int index, uint8_t c) {
  return t.c_cc[index] != 0 && t.c_cc[index] == c;
}

// The inode of ptmx: every open makes a new pair.
class PtmxInode final : public vfs::Inode {
 public:
  explicit PtmxInode(DevptsFilesystem* fs)
      : Inode(S_IFCHR), fs_(fs), ino_(fs->NextIno()), ctime_(Now()) {}
  SysResult<vfs::Attr> GetAttr() override {
    vfs::Attr a;
    a.ino = ino_;
    a.dev = fs_->dev();
    // Docker and most containers mount devpts with ptmxmode=666.
    a.mode = S_IFCHR | 0666;
    a.rdev = makedev(kPtmxMajor, kPtmxMinor);
    a.atime = a.mtime = a.ctime = ctime_;
    return a;
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) override {
    return fs_->OpenMaster(ctx, vd, flags);
  }

 private:
  DevptsFilesystem* const fs_;
  const uint64_t ino_;
  const struct timespec ctime_;
};

// /dev/pts itself: ptmx and a node per pair whose master is open.
class RootInode final : public vfs::Inode {
 public:
  explicit RootInode(DevptsFilesystem* fs)
      : Inode(S_IFDIR),
        fs_(fs),
        ino_(fs->NextIno()),
        ctime_(Now()),
        ptmx_(std::make_shared<PtmxInode>(fs)) {}
  SysResult<vfs::Attr> GetAttr() override {
    vfs::Attr a;
    a.ino = ino_;
    a.dev = fs_->dev();
    a.mode = S_IFDIR | 0755;
    a.nlink = 2;
    a.atime = a.mtime = a.ctime = ctime_;
    return a;
  }
  bool CacheChildren() const override { return false; }
  SysResult<std::shared_ptr<vfs::Inode>> Lookup(
      vfs::CallContext&, const std::string& name) override {
    if (name == "ptmx") return std::shared_ptr<vfs::Inode>(ptmx_);
    if (name.empty() || name.size() > 9 ||
        name.find_first_not_of("0123456789") != std::string::npos ||
        (name.size() > 1 && name[0] == '0')) {
      return Errno(ENOENT);
    }
    std::shared_ptr<Pty> pty = fs_->Find(std::stoi(name));
    if (!pty) return Errno(ENOENT);
    return std::shared_ptr<vfs::Inode>(pty->inode());
  }
  SysResult<std::vector<vfs::Dirent>> ReadDir(vfs::CallContext&) override {
    std::vector<vfs::Dirent> out;
    SENTRY_ASSIGN_OR_RETURN(vfs::Attr p, ptmx_->GetAttr());
    out.push_back(vfs::Dirent{"ptmx", p.ino, DT_CHR});
    for (int i : fs_->Indexes()) {
      std::shared_ptr<Pty> pty = fs_->Find(i);
      if (!pty) continue;
      SENTRY_ASSIGN_OR_RETURN(vfs::Attr a, pty->inode()->GetAttr());
      out.push_back(vfs::Dirent{std::to_string(i), a.ino, DT_CHR});
    }
    return out;
  }
  SysResult<std::shared_ptr<vfs::FileDescription>> Open(
      vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) override {
    return std::shared_ptr<vfs::FileDescription>(
        std::make_shared<vfs::DirectoryFD>(vd, flags));
  }

 private:
  DevptsFilesystem* const fs_;
  const uint64_t ino_;
  const struct timespec ctime_;
  const std::shared_ptr<PtmxInode> ptmx_;
};

}  // namespace

KernelTermios DefaultTermios() {
  KernelTermios t{};
  t.c_iflag = ICRNL | IXON;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = B38400 | CS8 | CREAD;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  static const uint8_t kInitCC[] = {003, 034, 0177, 025, 004, 0,   1,   0, 021,
                                    023, 032, 0,    022, 017, 027, 026, 0};
  memcpy(t.c_cc, kInitCC, sizeof(kInitCC));
  return t;
}

// ---- Pty ----

Pty::Pty(DevptsFilesystem* fs, int index, uint32_t uid, uint32_t gid)
    : fs_(fs),
      index_(index),
      inode_(std::make_shared<SlaveInode>(fs, index, uid, gid)),
      termios_(DefaultTermios()) {}

Pty::~Pty() = default;

uint64_t Pty::DeviceNumber() const {
  return makedev(kSlaveMajor + index_ / 256, index_ % 256);
}

size_t Pty::InputBytesLocked() const {
  size_t n = raw_.size();
  for (const Line& l : lines_) n += l.data.size();
  return n;
}

bool Pty::SlaveReadableLocked() const {
  if (CanonicalLocked()) return !lines_.empty();
  // Poll waits for VMIN bytes when there is no timer, as Linux's does.
  size_t want = 1;
  if (termios_.c_cc[VTIME] == 0 && termios_.c_cc[VMIN] > 0)
    want = termios_.c_cc[VMIN];
  return raw_.size() >= want;
}

void Pty::OutputLocked(uint8_t c) {
  if ((termios_.c_oflag & OPOST) != 0) {
    if (c == '\n' && (termios_.c_oflag & ONLCR) != 0) {
      out_ += "\r\n";
      return;
    }
    if (c == '\r' && (termios_.c_oflag & OCRNL) != 0) c = '\n';
  }
  out_ += static_cast<char>(c);
}

void Pty::EchoLocked(uint8_t c) {
  if (out_.size() >= 2 * kOutputCapacity) return;  // as Linux drops echoes
  if ((termios_.c_lflag & ECHOCTL) != 0 && IsControl(c) && c != '\t') {
    out_ += '^';
    out_ += static_cast<char>(c ^ 0x40);
    return;
  }
  OutputLocked(c);
}

void Pty::EraseLocked(bool echo) {
  if (line_.empty()) return;
  // A UTF-8 character goes whole under IUTF8.
  size_t n = 1;
  if ((termios_.c_iflag & IUTF8) != 0) {
    while (n < line_.size() &&
           (static_cast<uint8_t>(line_[line_.size() - n]) & 0xc0) == 0x80) {
      n++;
    }
  }
  uint8_t last = static_cast<uint8_t>(line_[line_.size() - n]);
  line_.resize(line_.size() - n);
  if (!echo || (termios_.c_lflag & ECHO) == 0) return;
  if ((termios_.c_lflag & ECHOE) == 0) return;  // the caller echoes the char
  int columns =
      ((termios_.c_lflag & ECHOCTL) != 0 && IsControl(last) && last != '\t')
          ? 2
          : 1;
  for (int i = 0; i < columns; i++) out_ += "\b \b";
}

void Pty::FlushInputLocked() {
  lines_.clear();
  line_.clear();
  raw_.clear();
  lnext_ = false;
}

bool Pty::ReceiveLocked(uint8_t c, std::vector<int>* sigs) {
  const KernelTermios& t = termios_;
  const uint32_t lflag = t.c_lflag;
  const bool echo = (lflag & ECHO) != 0;
  if (InputBytesLocked() >= kInputCapacity) return false;
  if ((t.c_iflag & ISTRIP) != 0) c &= 0x7f;
  if (lnext_) {
    // The character after VLNEXT is taken as it is.
    lnext_ = false;
    if (CanonicalLocked()) {
      if (echo && (lflag & ECHOCTL) != 0) out_ += "\b";
      if (line_.size() < kMaxLine) {
        line_ += static_cast<char>(c);
        if (echo) EchoLocked(c);
      }
    } else {
      raw_ += static_cast<char>(c);
      if (echo) EchoLocked(c);
    }
    return true;
  }
  if ((t.c_iflag & IXON) != 0 && (Is(t, VSTART, c) || Is(t, VSTOP, c))) {
    return true;  // flow control: consumed (output never stops here)
  }
  if ((lflag & ISIG) != 0) {
    int sig = Is(t, VINTR, c)   ? SIGINT
              : Is(t, VQUIT, c) ? SIGQUIT
              : Is(t, VSUSP, c) ? SIGTSTP
                                : 0;
    if (sig != 0) {
      if ((lflag & NOFLSH) == 0) {
        FlushInputLocked();
        out_.clear();  // and what the master has not read yet
      }
      sigs->push_back(sig);
      if (echo) EchoLocked(c);
      return true;
    }
  }
  if (c == '\r') {
    if ((t.c_iflag & IGNCR) != 0) return true;
    if ((t.c_iflag & ICRNL) != 0) c = '\n';
  } else if (c == '\n' && (t.c_iflag & INLCR) != 0) {
    c = '\r';
  }
  if (!CanonicalLocked()) {
    raw_ += static_cast<char>(c);
    if (echo) EchoLocked(c);
    return true;
  }
  const bool iexten = (lflag & IEXTEN) != 0;
  if (Is(t, VERASE, c)) {
    if (echo && (lflag & ECHOE) == 0 && !line_.empty()) EchoLocked(c);
    EraseLocked(true);
    return true;
  }
  if (Is(t, VWERASE, c) && iexten) {
    // Blanks before the word, then the word.
    while (!line_.empty() && (line_.back() == ' ' || line_.back() == '\t'))
      EraseLocked(true);
    while (!line_.empty() && line_.back() != ' ' && line_.back() != '\t')
      EraseLocked(true);
    return true;
  }
  if (Is(t, VKILL, c)) {
    if (line_.empty()) return true;
    if (echo && ((lflag & (ECHOK | ECHOKE | ECHOE)) ==
                 static_cast<uint32_t>(ECHOK | ECHOKE | ECHOE))) {
      while (!line_.empty()) EraseLocked(true);
      return true;
    }
    line_.clear();
    if (echo) {
      EchoLocked(c);
      if ((lflag & ECHOK) != 0) OutputLocked('\n');
    }
    return true;
  }
  if (Is(t, VLNEXT, c) && iexten) {
    lnext_ = true;
    if (echo && (lflag & ECHOCTL) != 0) out_ += "^\b";
    return true;
  }
  if (Is(t, VREPRINT, c) && iexten) {
    if (echo) {
      EchoLocked(c);
      OutputLocked('\n');
      for (char x : line_) EchoLocked(static_cast<uint8_t>(x));
    }
    return true;
  }
  if (Is(t, VEOF, c)) {
    // The line ends without the character; alone, it is end of file.
    lines_.push_back(Line{std::move(line_)});
    line_.clear();
    return true;
  }
  if (c == '\n' || Is(t, VEOL, c) || (iexten && Is(t, VEOL2, c))) {
    if (c == '\n') {
      if (echo || (lflag & ECHONL) != 0) OutputLocked('\n');
    } else if (echo) {
      EchoLocked(c);
    }
    line_ += static_cast<char>(c);
    lines_.push_back(Line{std::move(line_)});
    line_.clear();
    return true;
  }
  if (line_.size() >= kMaxLine) return true;  // dropped: the line is full
  line_ += static_cast<char>(c);
  if (echo) EchoLocked(c);
  return true;
}

void Pty::SendSignals(const std::vector<int>& sigs, bool external) {
  for (int sig : sigs) {
    kernel::SignalForeground(*fs_->kernel(), *this, sig, external);
  }
}

SysResult<std::shared_ptr<vfs::FileDescription>> Pty::OpenSlave(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  {
    absl::MutexLock l(&mu_);
    if (locked_ || hung_up_ || master_opens_ == 0) return Errno(EIO);
  }
  auto f = std::make_shared<SlaveFD>(vd, flags, shared_from_this());
  kernel::AcquireOnOpen(ctx, shared_from_this(), flags);
  return std::shared_ptr<vfs::FileDescription>(std::move(f));
}

SysResult<std::shared_ptr<vfs::FileDescription>> Pty::OpenTty(
    vfs::CallContext&, const vfs::VirtualDentry& vd, int flags) {
  {
    absl::MutexLock l(&mu_);
    if (hung_up_) return Errno(EIO);
  }
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<SlaveFD>(vd, flags, shared_from_this()));
}

SysResult<size_t> Pty::MasterRead(vfs::CallContext& ctx, char* buf, size_t len,
                                  bool nonblock) {
  if (len == 0) return size_t{0};
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (!out_.empty()) {
        size_t n = std::min(len, out_.size());
        memcpy(buf, out_.data(), n);
        out_.erase(0, n);
        slave_queue_.Notify(kEventOut);
        return n;
      }
      // Every slave closed: end of the line (Linux's TTY_OTHER_CLOSED).
      if (slave_seen_ && slave_opens_ == 0) return Errno(EIO);
      if (nonblock) return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) return Errno(EAGAIN);
      wait.emplace(&master_queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;
    }
    SENTRY_RETURN_IF_ERROR(ctx.Block(std::nullopt));
  }
}

SysResult<size_t> Pty::MasterWrite(vfs::CallContext& ctx, const char* buf,
                                   size_t len, bool nonblock, bool external) {
  if (len == 0) return size_t{0};
  size_t done = 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    std::vector<int> sigs;
    bool full = false;
    {
      absl::MutexLock l(&mu_);
      size_t before = out_.size();
      while (done < len) {
        if (!ReceiveLocked(static_cast<uint8_t>(buf[done]), &sigs)) {
          full = true;
          break;
        }
        done++;
      }
      if (SlaveReadableLocked()) slave_queue_.Notify(kEventIn);
      if (out_.size() != before || !sigs.empty()) {
        master_queue_.Notify(kEventIn);
      }
    }
    SendSignals(sigs, external);
    if (!full) return done;
    if (nonblock) {
      if (done > 0) return done;
      return Errno(EAGAIN);
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      wait.emplace(&master_queue_, ctx.waiter(), kEventOut);
      continue;
    }
    SysResult<void> r = ctx.Block(std::nullopt);
    if (!r.ok()) {
      if (done > 0) return done;
      return r.error();
    }
  }
}

uint32_t Pty::MasterReadiness(uint32_t mask) {
  absl::MutexLock l(&mu_);
  uint32_t r = 0;
  if (!out_.empty()) r |= POLLIN | POLLRDNORM;
  if (InputBytesLocked() < kInputCapacity) r |= POLLOUT | POLLWRNORM;
  if (slave_seen_ && slave_opens_ == 0) r |= POLLHUP;
  return r & (mask | POLLHUP | POLLERR);
}

SysResult<size_t> Pty::SlaveRead(vfs::CallContext& ctx, char* buf, size_t len,
                                 bool nonblock) {
  SENTRY_RETURN_IF_ERROR(kernel::CheckBackground(ctx, *this, SIGTTIN));
  if (len == 0) return size_t{0};
  size_t done = 0;
  std::optional<ScopedWait> wait;
  std::optional<absl::Time> deadline;
  bool timer_started = false;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (hung_up_) return done;
      if (CanonicalLocked()) {
        if (!lines_.empty()) {
          Line& line = lines_.front();
          size_t n = std::min(len, line.data.size());
          memcpy(buf, line.data.data(), n);
          if (n == line.data.size()) {
            lines_.pop_front();
          } else {
            line.data.erase(0, n);
          }
          master_queue_.Notify(kEventOut);
          return n;
        }
      } else {
        size_t vmin = termios_.c_cc[VMIN];
        size_t vtime = termios_.c_cc[VTIME];
        size_t n = std::min(len - done, raw_.size());
        if (n > 0) {
          memcpy(buf + done, raw_.data(), n);
          raw_.erase(0, n);
          done += n;
          master_queue_.Notify(kEventOut);
        }
        // VMIN bytes (or as many as asked for) end the read; with VMIN 0
        // any byte does. VTIME then times the gap between bytes (or, with
        // VMIN 0, the wait for the first).
        size_t want = std::min(len, std::max<size_t>(vmin, 1));
        if (done >= want) return done;
        if (vmin == 0 && vtime == 0) return done;
        if (vtime > 0 && (n > 0 || (vmin == 0 && !timer_started))) {
          timer_started = true;
          deadline = absl::Now() + absl::Milliseconds(100 * vtime);
        }
      }
      if (nonblock) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      wait.emplace(&slave_queue_, ctx.waiter(), kEventIn | kEventHup);
      continue;
    }
    SysResult<void> r = ctx.Block(deadline);
    if (!r.ok()) {
      if (r.err() == ETIMEDOUT) return done;
      if (done > 0) return done;
      return r.error();
    }
  }
}

SysResult<size_t> Pty::SlaveWrite(vfs::CallContext& ctx, const char* buf,
                                  size_t len, bool nonblock) {
  bool tostop;
  {
    absl::MutexLock l(&mu_);
    tostop = (termios_.c_lflag & TOSTOP) != 0;
  }
  if (tostop) {
    SENTRY_RETURN_IF_ERROR(kernel::CheckBackground(ctx, *this, SIGTTOU));
  }
  if (len == 0) return size_t{0};
  size_t done = 0;
  std::optional<ScopedWait> wait;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (hung_up_) {
        if (done > 0) return done;
        return Errno(EIO);
      }
      size_t before = out_.size();
      while (done < len && out_.size() < kOutputCapacity) {
        OutputLocked(static_cast<uint8_t>(buf[done]));
        done++;
      }
      if (out_.size() != before) master_queue_.Notify(kEventIn);
      if (done == len) return done;
      if (nonblock) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
    }
    if (!wait) {
      if (ctx.waiter() == nullptr) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      wait.emplace(&slave_queue_, ctx.waiter(), kEventOut | kEventHup);
      continue;
    }
    SysResult<void> r = ctx.Block(std::nullopt);
    if (!r.ok()) {
      if (done > 0) return done;
      return r.error();
    }
  }
}

uint32_t Pty::SlaveReadiness(uint32_t mask) {
  absl::MutexLock l(&mu_);
  if (hung_up_) {
    return ((POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM) & mask) | POLLHUP |
           POLLERR;
  }
  uint32_t r = 0;
  if (SlaveReadableLocked()) r |= POLLIN | POLLRDNORM;
  if (out_.size() < kOutputCapacity) r |= POLLOUT | POLLWRNORM;
  return r & (mask | POLLHUP | POLLERR);
}

void Pty::SetTermiosLocked(const KernelTermios& t) {
  bool was_canonical = CanonicalLocked();
  termios_ = t;
  bool canonical = CanonicalLocked();
  if (was_canonical && !canonical) {
    // What was typed becomes readable as it is.
    for (Line& l : lines_) raw_ += l.data;
    raw_ += line_;
    lines_.clear();
    line_.clear();
  } else if (!was_canonical && canonical) {
    // Unread input becomes the start of the line being edited.
    line_ = raw_ + line_;
    raw_.clear();
  }
  slave_queue_.Notify(kEventIn | kEventOut);
  master_queue_.Notify(kEventIn | kEventOut);
}

void Pty::SetWindowSize(const struct winsize& ws, bool external) {
  {
    absl::MutexLock l(&mu_);
    if (memcmp(&ws, &winsize_, sizeof(ws)) == 0) return;
    winsize_ = ws;
  }
  kernel::SignalForeground(*fs_->kernel(), *this, SIGWINCH, external);
}

SysResult<int64_t> Pty::Ioctl(vfs::CallContext& ctx, bool master, uint32_t cmd,
                              uint64_t arg,
                              const vfs::VirtualDentry& master_vd) {
  GuestAddr addr(arg);
  if (!master) {
    absl::MutexLock l(&mu_);
    if (hung_up_) return Errno(EIO);
  }
  switch (cmd) {
    case TCGETS: {
      KernelTermios t;
      {
        absl::MutexLock l(&mu_);
        t = termios_;
      }
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, t));
      return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      KernelTermios t;
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(addr, &t));
      absl::MutexLock l(&mu_);
      // TCSETSW and TCSETSF wait for output to drain: it has, as far as
      // the terminal is concerned, once it is queued for the master.
      if (cmd == TCSETSF) FlushInputLocked();
      SetTermiosLocked(t);
      return 0;
    }
    case TIOCGWINSZ: {
      struct winsize ws;
      {
        absl::MutexLock l(&mu_);
        ws = winsize_;
      }
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, ws));
      return 0;
    }
    case TIOCSWINSZ: {
      struct winsize ws;
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(addr, &ws));
      SetWindowSize(ws, /*external=*/false);
      return 0;
    }
    case FIONREAD: {  // TIOCINQ
      int32_t n;
      {
        absl::MutexLock l(&mu_);
        n = static_cast<int32_t>(master ? out_.size() : InputBytesLocked());
      }
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, n));
      return 0;
    }
    case TIOCOUTQ: {
      int32_t n;
      {
        absl::MutexLock l(&mu_);
        n = static_cast<int32_t>(master ? InputBytesLocked() : out_.size());
      }
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, n));
      return 0;
    }
    case TCFLSH: {
      if (arg > TCIOFLUSH) return Errno(EINVAL);
      absl::MutexLock l(&mu_);
      // Each side's "input" is what it reads.
      bool in = arg == TCIFLUSH || arg == TCIOFLUSH;
      bool out = arg == TCOFLUSH || arg == TCIOFLUSH;
      if (master) std::swap(in, out);
      if (in) FlushInputLocked();
      if (out) out_.clear();
      slave_queue_.Notify(kEventOut);
      master_queue_.Notify(kEventOut);
      return 0;
    }
    case TCXONC:
    case TCSBRK:
    case TCSBRKP:
    case TIOCSBRK:
    case TIOCCBRK:
    case TIOCEXCL:
    case TIOCNXCL:
      return 0;
    case TIOCGETD: {
      int32_t ldisc = 0;  // N_TTY
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, ldisc));
      return 0;
    }
    case TIOCSETD: {
      int32_t ldisc;
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(addr, &ldisc));
      if (ldisc != 0) return Errno(EINVAL);
      return 0;
    }
    case TIOCGPTN: {
      if (!master) return Errno(ENOTTY);
      uint32_t n = static_cast<uint32_t>(index_);
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, n));
      return 0;
    }
    case TIOCSPTLCK: {
      if (!master) return Errno(ENOTTY);
      int32_t lock;
      SENTRY_RETURN_IF_ERROR(ctx.CopyInObj(addr, &lock));
      absl::MutexLock l(&mu_);
      locked_ = lock != 0;
      return 0;
    }
    case TIOCGPTLCK: {
      if (!master) return Errno(ENOTTY);
      int32_t lock;
      {
        absl::MutexLock l(&mu_);
        lock = locked_ ? 1 : 0;
      }
      SENTRY_RETURN_IF_ERROR(ctx.CopyOutObj(addr, lock));
      return 0;
    }
    case TIOCGPTPEER: {
      if (!master) return Errno(ENOTTY);
      auto* t = dynamic_cast<kernel::Task*>(&ctx);
      if (t == nullptr) return Errno(ENOTTY);
      int flags = static_cast<int>(arg);
      if ((flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) != 0)
        return Errno(EINVAL);
      auto dentry = std::make_shared<vfs::Dentry>(
          master_vd.mount->root(), std::to_string(index_), inode_);
      vfs::VirtualDentry vd{master_vd.mount, dentry};
      SENTRY_ASSIGN_OR_RETURN(auto f, OpenSlave(ctx, vd, flags));
      SENTRY_ASSIGN_OR_RETURN(int fd,
                              t->NewFd(std::move(f), (flags & O_CLOEXEC) != 0));
      return fd;
    }
    default:
      return Errno(ENOTTY);
  }
}

void Pty::MasterOpened() {
  absl::MutexLock l(&mu_);
  master_opens_++;
}

void Pty::MasterClosed() {
  {
    absl::MutexLock l(&mu_);
    if (--master_opens_ > 0) return;
    hung_up_ = true;
  }
  fs_->Remove(index_);
  slave_queue_.Notify(kEventAll);
  kernel::HangUp(*fs_->kernel(), *this);
}

void Pty::SlaveOpened() {
  absl::MutexLock l(&mu_);
  slave_opens_++;
  slave_seen_ = true;
}

void Pty::SlaveClosed() {
  absl::MutexLock l(&mu_);
  if (--slave_opens_ == 0) master_queue_.Notify(kEventIn | kEventHup);
}

// ---- SlaveInode ----

SlaveInode::SlaveInode(DevptsFilesystem* fs, int index, uint32_t uid,
                       uint32_t gid)
    : Inode(S_IFCHR) {
  (void)gid;
  attr_.ino = fs->NextIno();
  attr_.dev = fs->dev();
  attr_.mode = S_IFCHR | 0620;
  attr_.nlink = 1;
  attr_.uid = uid;
  attr_.gid = kTtyGid;
  attr_.rdev = makedev(kSlaveMajor + index / 256, index % 256);
  attr_.atime = attr_.mtime = attr_.ctime = Now();
}

SysResult<vfs::Attr> SlaveInode::GetAttr() {
  absl::MutexLock l(&mu_);
  return attr_;
}

SysResult<void> SlaveInode::SetAttr(vfs::CallContext&,
                                    const AttrChange& change) {
  absl::MutexLock l(&mu_);
  if (change.mode) attr_.mode = (attr_.mode & S_IFMT) | (*change.mode & 07777);
  if (change.uid) attr_.uid = *change.uid;
  if (change.gid) attr_.gid = *change.gid;
  if (change.atime) attr_.atime = *change.atime;
  if (change.mtime) attr_.mtime = *change.mtime;
  attr_.ctime = Now();
  return Ok();
}

SysResult<std::shared_ptr<vfs::FileDescription>> SlaveInode::Open(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  std::shared_ptr<Pty> pty = pty_.lock();
  if (!pty) return Errno(EIO);
  return pty->OpenSlave(ctx, vd, flags);
}

// ---- DevptsFilesystem ----

std::shared_ptr<DevptsFilesystem> DevptsFilesystem::Create(
    kernel::Kernel* kernel) {
  auto fs = std::shared_ptr<DevptsFilesystem>(new DevptsFilesystem(kernel));
  fs->root_ = std::make_shared<vfs::Dentry>(
      nullptr, "", std::make_shared<RootInode>(fs.get()));
  return fs;
}

SysResult<vfs::StatFs> DevptsFilesystem::GetStatFs() {
  vfs::StatFs s;
  s.type = kDevptsMagic;
  s.bsize = 4096;
  return s;
}

SysResult<std::shared_ptr<vfs::FileDescription>> DevptsFilesystem::OpenMaster(
    vfs::CallContext& ctx, const vfs::VirtualDentry& vd, int flags) {
  std::shared_ptr<Pty> pty;
  {
    absl::MutexLock l(&mu_);
    int index = 0;
    for (auto it = ptys_.begin(); it != ptys_.end() && it->first == index;
         ++it) {
      index++;
    }
    if (index >= kMaxPtys) return Errno(ENOSPC);
    const auth::Credentials& c = ctx.creds();
    pty = std::make_shared<Pty>(this, index, c.fsuid, c.fsgid);
    pty->inode()->set_pty(pty);
    ptys_[index] = pty;
  }
  // A master never becomes a controlling terminal.
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<MasterFD>(vd, flags, std::move(pty)));
}

std::shared_ptr<Pty> DevptsFilesystem::Find(int index) {
  absl::MutexLock l(&mu_);
  auto it = ptys_.find(index);
  return it == ptys_.end() ? nullptr : it->second.lock();
}

std::vector<int> DevptsFilesystem::Indexes() {
  absl::MutexLock l(&mu_);
  std::vector<int> out;
  for (const auto& [i, p] : ptys_) out.push_back(i);
  return out;
}

void DevptsFilesystem::Remove(int index) {
  absl::MutexLock l(&mu_);
  ptys_.erase(index);
}

// ---- MasterFD ----

MasterFD::MasterFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pty> pty)
    : StreamFD(std::move(vd), flags), pty_(std::move(pty)) {
  pty_->MasterOpened();
}

MasterFD::~MasterFD() { pty_->MasterClosed(); }

SysResult<size_t> MasterFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                 int64_t*) {
  return pty_->MasterRead(ctx, buf, len, (flags() & O_NONBLOCK) != 0);
}

SysResult<size_t> MasterFD::Write(vfs::CallContext& ctx, const char* buf,
                                  size_t len, int64_t*) {
  return pty_->MasterWrite(ctx, buf, len, (flags() & O_NONBLOCK) != 0,
                           /*external=*/false);
}

SysResult<size_t> MasterFD::WriteExternal(vfs::CallContext& ctx,
                                          const char* buf, size_t len) {
  return pty_->MasterWrite(ctx, buf, len, (flags() & O_NONBLOCK) != 0,
                           /*external=*/true);
}

SysResult<int64_t> MasterFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                   uint64_t arg) {
  return pty_->Ioctl(ctx, /*master=*/true, cmd, arg, vd());
}

uint32_t MasterFD::Readiness(uint32_t mask) {
  return pty_->MasterReadiness(mask);
}

// ---- SlaveFD ----

SlaveFD::SlaveFD(vfs::VirtualDentry vd, int flags, std::shared_ptr<Pty> pty)
    : StreamFD(std::move(vd), flags), pty_(std::move(pty)) {
  pty_->SlaveOpened();
}

SlaveFD::~SlaveFD() { pty_->SlaveClosed(); }

SysResult<size_t> SlaveFD::Read(vfs::CallContext& ctx, char* buf, size_t len,
                                int64_t*) {
  if (!readable()) return Errno(EBADF);
  return pty_->SlaveRead(ctx, buf, len, (flags() & O_NONBLOCK) != 0);
}

SysResult<size_t> SlaveFD::Write(vfs::CallContext& ctx, const char* buf,
                                 size_t len, int64_t*) {
  if (!writable()) return Errno(EBADF);
  return pty_->SlaveWrite(ctx, buf, len, (flags() & O_NONBLOCK) != 0);
}

SysResult<int64_t> SlaveFD::Ioctl(vfs::CallContext& ctx, uint32_t cmd,
                                  uint64_t arg) {
  return pty_->Ioctl(ctx, /*master=*/false, cmd, arg, vd());
}

uint32_t SlaveFD::Readiness(uint32_t mask) {
  return pty_->SlaveReadiness(mask);
}

}  // namespace sentry::fs::devpts
