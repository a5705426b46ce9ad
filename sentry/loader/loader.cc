#include "sentry/loader/loader.h"

#include <elf.h>
#include <sys/auxv.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sentry::loader {

namespace {

constexpr uint64_t kPage = kPageSize;
uint64_t PageUp(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
uint64_t PageDown(uint64_t v) { return v & ~(kPage - 1); }

// Where Linux puts a PIE main executable: 2/3 of the 47-bit space.
constexpr uint64_t kElfEtDynBase =
    (((1ULL << 47) - kPage) / 3 * 2) & ~(kPage - 1);

uint64_t Random(uint64_t max_pages) {
  uint64_t r = 0;
  if (max_pages == 0 || getrandom(&r, sizeof(r), 0) != sizeof(r)) return 0;
  return (r % max_pages) * kPage;
}

SysResult<size_t> ReadAt(vfs::CallContext& ctx, vfs::FileDescription& f,
                         uint64_t off, char* buf, size_t len) {
  int64_t pos = static_cast<int64_t>(off);
  return f.Read(ctx, buf, len, &pos);
}

struct Mapped {
  uint64_t bias = 0;
  uint64_t end = 0;  // end of the highest segment, biased
};

// Maps the PT_LOAD segments of `elf` from `file`. `base` is where the lowest
// page goes for position-independent images (0: let the mm choose).
SysResult<Mapped> MapImage(ExecEnvironment& env, mm::MemoryManager& mm,
                           const ElfInfo& elf,
                           const std::shared_ptr<vfs::FileDescription>& file,
                           uint64_t base) {
  const std::string name = env.PathOf(*file);
  uint64_t lo = elf.MinVaddr(), hi = elf.MaxVaddr();
  if (hi <= lo) return Errno(ENOEXEC);
  Mapped m;
  if (elf.position_independent) {
    // Reserve the whole span first so the segments land together, as
    // Linux's total_mapping_size does.
    mm::MMapRequest reserve;
    reserve.addr = base;
    reserve.length = hi - lo;
    reserve.prot = PROT_NONE;
    reserve.flags =
        MAP_PRIVATE | MAP_ANONYMOUS | (base != 0 ? MAP_FIXED_NOREPLACE : 0);
    SENTRY_ASSIGN_OR_RETURN(uint64_t at, mm.MMap(reserve));
    m.bias = at - lo;
  }
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const ElfSegment& s : elf.loads) {
    uint64_t start = PageDown(s.vaddr + m.bias);
    uint64_t file_end = s.vaddr + m.bias + s.filesz;
    uint64_t mem_end = PageUp(s.vaddr + m.bias + s.memsz);
    if (s.filesz > 0) {
      mm::MMapRequest r;
      r.addr = start;
      r.length = PageUp(file_end) - start;
      r.prot = s.prot;
      r.flags = MAP_PRIVATE | MAP_FIXED;
      r.file = file;
      r.offset = PageDown(s.offset);
      r.name = name;
      SENTRY_RETURN_IF_ERROR(mm.MMap(r));
      // The rest of the last file page belongs to .bss: zero it.
      uint64_t pad = PageUp(file_end) - file_end;
      if (pad > 0 && s.memsz > s.filesz && (s.prot & PROT_WRITE) != 0) {
        std::string zeros(pad, '\0');
        SENTRY_RETURN_IF_ERROR(
            mm.CopyOut(GuestAddr(file_end), zeros.data(), pad));
      }
    }
    uint64_t anon_start = s.filesz > 0 ? PageUp(file_end) : start;
    if (mem_end > anon_start) {
      mm::MMapRequest r;
      r.addr = anon_start;
      r.length = mem_end - anon_start;
      r.prot = s.prot;
      r.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      SENTRY_RETURN_IF_ERROR(mm.MMap(r));
    }
    used.emplace_back(start, mem_end);
    m.end = std::max(m.end, s.vaddr + m.bias + s.memsz);
  }
  if (elf.position_independent) {
    // Give back the holes between segments, as Linux leaves them unmapped.
    std::sort(used.begin(), used.end());
    uint64_t cur = lo + m.bias;
    for (const auto& [a, b] : used) {
      if (a > cur) SENTRY_RETURN_IF_ERROR(mm.MUnmap(cur, a - cur));
      cur = std::max(cur, b);
    }
  }
  return m;
}

// Maps the vDSO's parameter page and image next to each other, where an
// mmap would go; returns the image's address (AT_SYSINFO_EHDR).
SysResult<uint64_t> MapVdso(mm::MemoryManager& mm, const VdsoSource& v) {
  uint64_t image_len = PageUp(v.image_size);
  // Reserve both pages in one gap, then put each in place.
  mm::MMapRequest reserve;
  reserve.length = kPage + image_len;
  reserve.prot = PROT_NONE;
  reserve.flags = MAP_PRIVATE | MAP_ANONYMOUS;
  SENTRY_ASSIGN_OR_RETURN(uint64_t base, mm.MMap(reserve));
  mm::MMapRequest params;
  params.addr = base;
  params.length = kPage;
  params.prot = PROT_READ;
  params.flags = MAP_SHARED | MAP_FIXED;
  params.backing = v.params;
  params.max_prot = PROT_READ;  // mprotect to writable: EACCES, as Linux
  params.name = "[vvar]";
  SENTRY_RETURN_IF_ERROR(mm.MMap(params).status());
  mm::MMapRequest image;
  image.addr = base + kPage;
  image.length = image_len;
  image.prot = PROT_READ | PROT_EXEC;
  image.flags = MAP_PRIVATE | MAP_FIXED;
  image.backing = v.image;
  image.max_prot = PROT_READ | PROT_WRITE | PROT_EXEC;
  image.name = "[vdso]";
  SENTRY_RETURN_IF_ERROR(mm.MMap(image).status());
  return base + kPage;
}

// Copies the strings and the argc/argv/envp/auxv block onto the stack.
SysResult<uint64_t> BuildStack(mm::MemoryManager& mm, uint64_t top,
                               const ExecRequest& req, LoadedImage* img,
                               std::vector<uint64_t> auxv) {
  uint64_t sp = top;
  auto push_bytes = [&](const void* data, size_t len) -> SysResult<uint64_t> {
    sp -= len;
    SENTRY_ASSIGN_OR_RETURN(size_t n, mm.CopyOut(GuestAddr(sp), data, len));
    if (n != len) return Errno(EFAULT);
    return sp;
  };
  auto push_string = [&](const std::string& s) {
    return push_bytes(s.c_str(), s.size() + 1);
  };

  SENTRY_ASSIGN_OR_RETURN(uint64_t execfn, push_string(req.filename));
  std::vector<uint64_t> envp(req.envp.size());
  img->env_end = sp;
  for (size_t i = req.envp.size(); i-- > 0;) {
    SENTRY_ASSIGN_OR_RETURN(envp[i], push_string(req.envp[i]));
  }
  img->env_start = sp;
  std::vector<uint64_t> argv(img->argv.size());
  img->arg_end = sp;
  for (size_t i = img->argv.size(); i-- > 0;) {
    SENTRY_ASSIGN_OR_RETURN(argv[i], push_string(img->argv[i]));
  }
  img->arg_start = sp;
  SENTRY_ASSIGN_OR_RETURN(uint64_t platform, push_string("x86_64"));
  char random[16];
  if (getrandom(random, sizeof(random), 0) != sizeof(random)) return Errno(EIO);
  sp &= ~uint64_t{15};
  SENTRY_ASSIGN_OR_RETURN(uint64_t at_random,
                          push_bytes(random, sizeof(random)));

  auxv.insert(auxv.end(), {AT_RANDOM, at_random, AT_EXECFN, execfn, AT_PLATFORM,
                           platform, AT_NULL, 0});
  img->auxv = auxv;
  std::vector<uint64_t> block;
  block.push_back(argv.size());
  block.insert(block.end(), argv.begin(), argv.end());
  block.push_back(0);
  block.insert(block.end(), envp.begin(), envp.end());
  block.push_back(0);
  block.insert(block.end(), auxv.begin(), auxv.end());
  // argc must end up 16-byte aligned (the x86-64 ABI's entry state).
  sp &= ~uint64_t{15};
  if ((block.size() % 2) != 0) sp -= 8;
  SENTRY_ASSIGN_OR_RETURN(uint64_t start,
                          push_bytes(block.data(), block.size() * 8));
  return start;
}

}  // namespace

SysResult<ScriptLine> ParseScriptLine(const char* head, size_t len) {
  if (len < 2 || head[0] != '#' || head[1] != '!') return Errno(ENOEXEC);
  std::string_view line(head + 2, len - 2);
  size_t nl = line.find('\n');
  bool truncated = nl == std::string_view::npos;
  if (!truncated) line = line.substr(0, nl);
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  size_t i = 0;
  while (i < line.size() && is_space(line[i])) i++;
  size_t j = i;
  while (j < line.size() && !is_space(line[j]) && line[j] != '\0') j++;
  // An interpreter name cut off by the end of the buffer cannot be trusted.
  if (truncated && j == line.size()) return Errno(ENOEXEC);
  ScriptLine out;
  out.interpreter = std::string(line.substr(i, j - i));
  if (out.interpreter.empty()) return Errno(ENOEXEC);
  size_t k = j;
  while (k < line.size() && is_space(line[k])) k++;
  size_t end = line.size();
  while (end > k && (is_space(line[end - 1]) || line[end - 1] == '\0')) end--;
  if (end > k) out.arg = std::string(line.substr(k, end - k));
  return out;
}

SysResult<LoadedImage> Load(ExecEnvironment& env, mm::MemoryManager& mm,
                            ExecRequest req) {
  vfs::CallContext& ctx = env.ctx();
  // The argument limits of Linux's execve: each string and their total.
  uint64_t total = 0;
  for (const auto* list : {&req.argv, &req.envp}) {
    for (const std::string& s : *list) {
      if (s.size() + 1 > kMaxArgStrlen) return Errno(E2BIG);
      total += s.size() + 1 + sizeof(uint64_t);
    }
  }
  if (total > std::max<uint64_t>(req.stack_rlimit / 4, 32 * kPage))
    return Errno(E2BIG);

  LoadedImage img;
  img.argv = req.argv;
  std::string path = req.filename;
  std::shared_ptr<vfs::FileDescription> file;
  char head[kHeaderSize];
  size_t head_len = 0;
  for (int depth = 0;; depth++) {
    SENTRY_ASSIGN_OR_RETURN(file, env.OpenExecutable(path));
    SENTRY_ASSIGN_OR_RETURN(head_len,
                            ReadAt(ctx, *file, 0, head, sizeof(head)));
    if (IsElf(head, head_len)) break;
    SENTRY_ASSIGN_OR_RETURN(ScriptLine script, ParseScriptLine(head, head_len));
    if (depth == 0 && req.script_inaccessible) return Errno(ENOENT);
    if (depth >= kMaxScriptDepth) return Errno(ELOOP);
    // argv becomes: interpreter [arg] script-path original-argv[1:].
    std::vector<std::string> argv = {script.interpreter};
    if (script.arg) argv.push_back(*script.arg);
    argv.push_back(path);
    for (size_t i = 1; i < img.argv.size(); i++) argv.push_back(img.argv[i]);
    img.argv = std::move(argv);
    path = script.interpreter;
  }
  auto read_main = [&](uint64_t off, char* buf, size_t len) {
    return ReadAt(ctx, *file, off, buf, len);
  };
  SENTRY_ASSIGN_OR_RETURN(ElfInfo elf, ParseElf(read_main));

  uint64_t base = 0;
  if (elf.position_independent) {
    base = kElfEtDynBase + (req.randomize ? Random(1ULL << 28) : 0);
    if (elf.max_align > kPage) base &= ~(elf.max_align - 1);
    base = PageDown(base);
  }
  SENTRY_ASSIGN_OR_RETURN(Mapped main, MapImage(env, mm, elf, file, base));
  uint64_t entry = elf.entry + main.bias;
  uint64_t interp_base = 0;
  if (elf.interpreter) {
    SENTRY_ASSIGN_OR_RETURN(auto interp_file,
                            env.OpenExecutable(*elf.interpreter));
    auto read_interp = [&](uint64_t off, char* buf, size_t len) {
      return ReadAt(ctx, *interp_file, off, buf, len);
    };
    SENTRY_ASSIGN_OR_RETURN(ElfInfo interp, ParseElf(read_interp));
    if (interp.interpreter) return Errno(ELIBBAD);
    SENTRY_ASSIGN_OR_RETURN(Mapped im,
                            MapImage(env, mm, interp, interp_file, 0));
    interp_base = interp.position_independent ? im.bias + interp.MinVaddr() : 0;
    entry = interp.entry + im.bias;
  }

  // The heap starts past the main image, randomized by up to 32 MiB.
  uint64_t brk =
      PageUp(main.end) + (req.randomize ? Random((32 << 20) / kPage) : 0);
  mm.SetBrkStart(brk);

  // The stack: RLIMIT_STACK worth of lazily-populated memory under the top.
  uint64_t stack_size =
      std::clamp<uint64_t>(req.stack_rlimit, 128 << 10, 64 << 20);
  stack_size = PageUp(stack_size);
  mm::MMapRequest stack;
  stack.addr = mm.stack_top() - stack_size;
  stack.length = stack_size;
  stack.prot = PROT_READ | PROT_WRITE | (elf.executable_stack ? PROT_EXEC : 0);
  stack.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN;
  stack.name = "[stack]";
  SENTRY_RETURN_IF_ERROR(mm.MMap(stack));

  uint64_t vdso_base = 0;
  if (req.vdso != nullptr) {
    SENTRY_ASSIGN_OR_RETURN(vdso_base, MapVdso(mm, *req.vdso));
  }

  std::vector<uint64_t> auxv = {
      AT_HWCAP,       getauxval(AT_HWCAP),
      AT_PAGESZ,      kPage,
      AT_CLKTCK,      100,
      AT_PHDR,        elf.phdr_vaddr != 0 ? elf.phdr_vaddr + main.bias : 0,
      AT_PHENT,       sizeof(Elf64_Phdr),
      AT_PHNUM,       elf.phnum,
      AT_BASE,        interp_base,
      AT_FLAGS,       0,
      AT_ENTRY,       elf.entry + main.bias,
      AT_UID,         req.uid,
      AT_EUID,        req.euid,
      AT_GID,         req.gid,
      AT_EGID,        req.egid,
      AT_SECURE,      0,
      AT_HWCAP2,      getauxval(AT_HWCAP2),
      AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ),
  };
  if (vdso_base != 0) auxv.insert(auxv.end(), {AT_SYSINFO_EHDR, vdso_base});
  SENTRY_ASSIGN_OR_RETURN(uint64_t sp,
                          BuildStack(mm, mm.stack_top(), req, &img, auxv));
  img.entry = entry;
  img.stack_pointer = sp;
  img.executable = std::move(file);
  return img;
}

}  // namespace sentry::loader
