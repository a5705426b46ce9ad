#include "sentry/strace/strace.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sentry::strace {

namespace {

// strace's default string limit (-s 32).
constexpr size_t kStringLimit = 32;

struct Flag {
  uint64_t bit;
  const char* name;
};

std::string Flags(uint64_t v, const std::vector<Flag>& known,
                  const char* zero) {
  std::vector<std::string> parts;
  for (const Flag& f : known) {
    if (f.bit != 0 && (v & f.bit) == f.bit) {
      parts.push_back(f.name);
      v &= ~f.bit;
    }
  }
  if (v != 0) parts.push_back(absl::StrFormat("%#x", v));
  if (parts.empty()) return zero;
  return absl::StrJoin(parts, "|");
}

std::string Hex(uint64_t v) { return absl::StrFormat("%#x", v); }
std::string Ptr(uint64_t v) { return v == 0 ? "NULL" : Hex(v); }

std::string Fd(int64_t v) {
  if (static_cast<int>(v) == AT_FDCWD) return "AT_FDCWD";
  return std::to_string(static_cast<int>(v));
}

std::string ReadString(kernel::Task& t, uint64_t addr) {
  if (addr == 0) return "NULL";
  SysResult<std::string> s = t.CopyInString(GuestAddr(addr), 4095);
  if (!s.ok()) return Hex(addr);
  return QuoteBytes(*s, 4096);
}

std::string ReadBuffer(kernel::Task& t, uint64_t addr, int64_t len) {
  if (len <= 0) return "\"\"";
  size_t n = std::min<size_t>(static_cast<size_t>(len), kStringLimit);
  std::string buf(n, '\0');
  SysResult<size_t> got = t.CopyIn(GuestAddr(addr), buf.data(), n);
  if (!got.ok()) return Hex(addr);
  buf.resize(*got);
  std::string q = QuoteBytes(buf, kStringLimit);
  if (static_cast<size_t>(len) > kStringLimit) q += "...";
  return q;
}

std::string StringArray(kernel::Task& t, uint64_t addr, bool count_only) {
  if (addr == 0) return "NULL";
  std::vector<std::string> parts;
  size_t count = 0;
  for (;; count++) {
    uint64_t p;
    if (!t.CopyInObj(GuestAddr(addr + count * 8), &p).ok()) return Hex(addr);
    if (p == 0) break;
    if (!count_only && count < 32) parts.push_back(ReadString(t, p));
    if (count > 4096) break;
  }
  if (count_only) return absl::StrFormat("%#x /* %d vars */", addr, count);
  if (count > 32) parts.push_back("...");
  return "[" + absl::StrJoin(parts, ", ") + "]";
}

std::string Prot(uint64_t v) {
  return Flags(v,
               {{PROT_READ, "PROT_READ"},
                {PROT_WRITE, "PROT_WRITE"},
                {PROT_EXEC, "PROT_EXEC"}},
               "PROT_NONE");
}

std::string MapFlags(uint64_t v) {
  std::string type;
  switch (v & MAP_TYPE) {
    case MAP_SHARED:
      type = "MAP_SHARED";
      break;
    case MAP_PRIVATE:
      type = "MAP_PRIVATE";
      break;
    case MAP_SHARED_VALIDATE:
      type = "MAP_SHARED_VALIDATE";
      break;
    default:
      type = Hex(v & MAP_TYPE);
  }
  std::string rest = Flags(v & ~static_cast<uint64_t>(MAP_TYPE),
                           {{MAP_FIXED, "MAP_FIXED"},
                            {MAP_ANONYMOUS, "MAP_ANONYMOUS"},
                            {MAP_DENYWRITE, "MAP_DENYWRITE"},
                            {MAP_NORESERVE, "MAP_NORESERVE"},
                            {MAP_POPULATE, "MAP_POPULATE"},
                            {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
                            {MAP_STACK, "MAP_STACK"},
                            {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
                            {MAP_32BIT, "MAP_32BIT"},
                            {MAP_HUGETLB, "MAP_HUGETLB"}},
                           "");
  return rest.empty() ? type : type + "|" + rest;
}

std::string AtFlags(uint64_t v) {
  return Flags(v,
               {{AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
                {AT_REMOVEDIR, "AT_REMOVEDIR"},
                {AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
                {AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
                {AT_EMPTY_PATH, "AT_EMPTY_PATH"}},
               "0");
}

std::string Whence(uint64_t v) {
  switch (v) {
    case SEEK_SET:
      return "SEEK_SET";
    case SEEK_CUR:
      return "SEEK_CUR";
    case SEEK_END:
      return "SEEK_END";
    case SEEK_DATA:
      return "SEEK_DATA";
    case SEEK_HOLE:
      return "SEEK_HOLE";
    default:
      return std::to_string(v);
  }
}

std::string AccessMode(uint64_t v) {
  if (v == F_OK) return "F_OK";
  return Flags(v, {{R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"}}, "F_OK");
}

std::string Clock(uint64_t v) {
  static const char* const kNames[] = {
      "CLOCK_REALTIME",           "CLOCK_MONOTONIC",
      "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
      "CLOCK_MONOTONIC_RAW",      "CLOCK_REALTIME_COARSE",
      "CLOCK_MONOTONIC_COARSE",   "CLOCK_BOOTTIME"};
  if (v < sizeof(kNames) / sizeof(kNames[0])) return kNames[v];
  return std::to_string(static_cast<int>(v));
}

std::string Signal(uint64_t v) {
  const char* abbrev = sigabbrev_np(static_cast<int>(v));
  if (abbrev != nullptr) return absl::StrCat("SIG", abbrev);
  return std::to_string(static_cast<int>(v));
}

std::string Resource(uint64_t v) {
  static const char* const kNames[] = {
      "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
      "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
      "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
  if (v < sizeof(kNames) / sizeof(kNames[0])) return kNames[v];
  return std::to_string(v);
}

std::string Ioctl(uint64_t v) {
  switch (v) {
    case TCGETS:
      return "TCGETS";
    case TCSETS:
      return "TCSETS";
    case TCSETSW:
      return "TCSETSW";
    case TCSETSF:
      return "TCSETSF";
    case TIOCGWINSZ:
      return "TIOCGWINSZ";
    case TIOCSWINSZ:
      return "TIOCSWINSZ";
    case TIOCGPGRP:
      return "TIOCGPGRP";
    case TIOCSPGRP:
      return "TIOCSPGRP";
    case FIONBIO:
      return "FIONBIO";
    case FIOCLEX:
      return "FIOCLEX";
    case FIONCLEX:
      return "FIONCLEX";
    case FIONREAD:
      return "FIONREAD";
    default:
      return Hex(v);
  }
}

// The argument list of a call in progress, with a hole for each argument
// only known at exit ('B').
struct Pending {
  std::string name;
  std::vector<std::string> args;
  int out_buffer = -1;  // index of a 'B' argument
  bool active = false;
};

thread_local Pending pending;

}  // namespace

std::string QuoteBytes(const std::string& bytes, size_t max) {
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          // An octal escape, three digits when a digit follows (as strace).
          bool digit_next = i + 1 < bytes.size() && bytes[i + 1] >= '0' &&
                            bytes[i + 1] <= '7';
          out += digit_next ? absl::StrFormat("\\%03o", c)
                            : absl::StrFormat("\\%o", c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string OpenFlags(int flags) {
  std::string acc;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      acc = "O_RDONLY";
      break;
    case O_WRONLY:
      acc = "O_WRONLY";
      break;
    case O_RDWR:
      acc = "O_RDWR";
      break;
    default:
      acc = "O_ACCMODE";
  }
  std::string rest = Flags(static_cast<uint64_t>(flags & ~O_ACCMODE),
                           {{O_CREAT, "O_CREAT"},
                            {O_EXCL, "O_EXCL"},
                            {O_NOCTTY, "O_NOCTTY"},
                            {O_TRUNC, "O_TRUNC"},
                            {O_APPEND, "O_APPEND"},
                            {O_NONBLOCK, "O_NONBLOCK"},
                            {O_SYNC, "O_SYNC"},
                            {O_DSYNC, "O_DSYNC"},
                            {O_DIRECT, "O_DIRECT"},
                            {O_LARGEFILE, "O_LARGEFILE"},
                            {O_DIRECTORY, "O_DIRECTORY"},
                            {O_NOFOLLOW, "O_NOFOLLOW"},
                            {O_NOATIME, "O_NOATIME"},
                            {O_CLOEXEC, "O_CLOEXEC"},
                            {O_PATH, "O_PATH"},
                            {O_ASYNC, "O_ASYNC"}},
                           "");
  return rest.empty() ? acc : acc + "|" + rest;
}

std::string ErrnoText(int64_t result) {
  int err = static_cast<int>(-result);
  const char* name = strerrorname_np(err);
  return absl::StrFormat("-1 %s (%s)",
                         name != nullptr ? name : std::to_string(err),
                         strerror(err));
}

void Strace::Enter(kernel::Task& t, uint64_t nr, const kernel::SyscallArgs& a) {
  pending = Pending{};
  pending.active = true;
  const kernel::SyscallEntry* e = table_.Lookup(nr);
  const char* name = table_.Name(nr);
  pending.name = name[0] != '\0' ? name : absl::StrCat("syscall_", nr);
  if (e == nullptr) {
    for (int i = 0; i < 6; i++) pending.args.push_back(Hex(a.raw[i]));
    return;
  }
  const char* fmt = e->args;
  for (int i = 0; fmt[i] != '\0' && i < 6; i++) {
    uint64_t v = a.raw[i];
    std::string s;
    switch (fmt[i]) {
      case 'd':
        s = std::to_string(static_cast<int>(v));
        break;
      case 'l':
        s = std::to_string(static_cast<int64_t>(v));
        break;
      case 'u':
        s = std::to_string(v);
        break;
      case 'x':
        s = Hex(v);
        break;
      case 'p':
        s = Ptr(v);
        break;
      case 'f':
        s = Fd(static_cast<int64_t>(v));
        break;
      case 's':
        s = ReadString(t, v);
        break;
      case 'b':
        s = ReadBuffer(t, v,
                       i + 1 < 6 ? static_cast<int64_t>(a.raw[i + 1]) : 0);
        break;
      case 'B':
        pending.out_buffer = i;
        s = Ptr(v);
        break;
      case 'o':
        s = OpenFlags(static_cast<int>(v));
        break;
      case 'k':
        s = AccessMode(v);
        break;
      case 'm':
        s = absl::StrFormat("%#o", v);
        break;
      case 'P':
        s = Prot(v);
        break;
      case 'M':
        s = MapFlags(v);
        break;
      case 'w':
        s = Whence(v);
        break;
      case 'a':
        s = StringArray(t, v, false);
        break;
      case 'e':
        s = StringArray(t, v, true);
        break;
      case 'A':
        s = AtFlags(v);
        break;
      case 'c':
        s = Clock(v);
        break;
      case 'S':
        s = Signal(v);
        break;
      case 'r':
        s = Resource(v);
        break;
      case 'i':
        s = Ioctl(v);
        break;
      default:
        s = Hex(v);
    }
    pending.args.push_back(std::move(s));
    // strace shows open's mode only when the call can create a file.
    if (fmt[i] == 'o' && fmt[i + 1] == 'm' &&
        (v & (O_CREAT | __O_TMPFILE)) == 0)
      break;
  }
  // Calls that may not return print their line now, as strace does.
  if (nr == SYS_exit || nr == SYS_exit_group) {
    std::string line = absl::StrCat(
        t.kernel().TaskCount() > 1 ? absl::StrCat("[pid ", t.tid(), "] ") : "",
        pending.name, "(", absl::StrJoin(pending.args, ", "), ") = ?\n");
    Emit(line);
    pending.active = false;
  }
}

void Strace::Exit(kernel::Task& t, uint64_t nr, const kernel::SyscallArgs& a,
                  int64_t result) {
  if (!pending.active) return;
  pending.active = false;
  if (pending.out_buffer >= 0) {
    pending.args[static_cast<size_t>(pending.out_buffer)] =
        result >= 0 ? ReadBuffer(t, a.raw[pending.out_buffer], result)
                    : Ptr(a.raw[pending.out_buffer]);
  }
  const kernel::SyscallEntry* e = table_.Lookup(nr);
  std::string ret;
  if (result < 0 && result > -4096) {
    ret = ErrnoText(result);
  } else if (e != nullptr && e->ret == 'x') {
    ret = Hex(static_cast<uint64_t>(result));
  } else {
    ret = std::to_string(result);
  }
  std::string prefix = t.kernel().TaskCount() > 1
                           ? absl::StrCat("[pid ", t.tid(), "] ")
                           : std::string();
  std::string line =
      absl::StrCat(prefix, pending.name, "(", absl::StrJoin(pending.args, ", "),
                   ") = ", ret, "\n");
  Emit(line);
}

void Strace::Emit(const std::string& line) {
  absl::ReaderMutexLock l(&mu_);
  (void)!write(fd_, line.data(), line.size());
}

void Strace::Redirect(HostFd fd) {
  absl::MutexLock l(&mu_);
  owned_ = std::move(fd);
  fd_ = owned_.get();
}

}  // namespace sentry::strace
