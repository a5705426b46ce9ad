#include "sentry/loader/elf.h"

#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace sentry::loader {

namespace {

constexpr uint64_t kPage = 4096;
// Linux refuses program header tables over 64 KiB.
constexpr size_t kMaxPhdrBytes = 65536;
// Addresses must fit the 47-bit user address space.
constexpr uint64_t kUserLimit = 1ULL << 47;

SysResult<void> ReadFull(const ReadAtFn& read_at, uint64_t offset, char* buf,
                         size_t len) {
  size_t done = 0;
  while (done < len) {
    SENTRY_ASSIGN_OR_RETURN(size_t n,
                            read_at(offset + done, buf + done, len - done));
    if (n == 0) return Errno(ENOEXEC);  // truncated file
    done += n;
  }
  return Ok();
}

int ProtOf(uint32_t flags) {
  int prot = 0;
  if (flags & PF_R) prot |= PROT_READ;
  if (flags & PF_W) prot |= PROT_WRITE;
  if (flags & PF_X) prot |= PROT_EXEC;
  return prot;
}

}  // namespace

uint64_t ElfInfo::MinVaddr() const {
  uint64_t m = UINT64_MAX;
  for (const ElfSegment& s : loads) m = std::min(m, s.vaddr & ~(kPage - 1));
  return loads.empty() ? 0 : m;
}

uint64_t ElfInfo::MaxVaddr() const {
  uint64_t m = 0;
  for (const ElfSegment& s : loads)
    m = std::max(m, (s.vaddr + s.memsz + kPage - 1) & ~(kPage - 1));
  return m;
}

bool IsElf(const char* head, size_t len) {
  return len >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0;
}

SysResult<ElfInfo> ParseElf(const ReadAtFn& read_at) {
  Elf64_Ehdr eh;
  SENTRY_RETURN_IF_ERROR(
      ReadFull(read_at, 0, reinterpret_cast<char*>(&eh), sizeof(eh)));
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_ident[EI_VERSION] != EV_CURRENT) {
    return Errno(ENOEXEC);
  }
  if ((eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
      eh.e_machine != EM_X86_64) {
    return Errno(ENOEXEC);
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      static_cast<size_t>(eh.e_phnum) * sizeof(Elf64_Phdr) > kMaxPhdrBytes) {
    return Errno(ENOEXEC);
  }
  ElfInfo info;
  info.position_independent = eh.e_type == ET_DYN;
  info.entry = eh.e_entry;
  info.phnum = eh.e_phnum;
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  SENTRY_RETURN_IF_ERROR(ReadFull(read_at, eh.e_phoff,
                                  reinterpret_cast<char*>(ph.data()),
                                  ph.size() * sizeof(Elf64_Phdr)));
  uint64_t phdr_pt = 0;
  bool have_phdr_pt = false;
  for (const Elf64_Phdr& p : ph) {
    switch (p.p_type) {
      case PT_LOAD: {
        uint64_t end;
        if (p.p_filesz > p.p_memsz) return Errno(EINVAL);
        if (__builtin_add_overflow(p.p_vaddr, p.p_memsz, &end) ||
            end > kUserLimit) {
          return Errno(EINVAL);
        }
        uint64_t file_end;
        if (__builtin_add_overflow(p.p_offset, p.p_filesz, &file_end))
          return Errno(EINVAL);
        // A file page must land on a memory page at the same page offset.
        if ((p.p_vaddr - p.p_offset) % kPage != 0) return Errno(EINVAL);
        if (p.p_memsz == 0) break;
        info.loads.push_back(ElfSegment{p.p_vaddr, p.p_memsz, p.p_offset,
                                        p.p_filesz, ProtOf(p.p_flags)});
        if (p.p_align > info.max_align && (p.p_align & (p.p_align - 1)) == 0) {
          info.max_align = p.p_align;
        }
        break;
      }
      case PT_INTERP: {
        if (info.interpreter.has_value()) return Errno(ENOEXEC);
        if (p.p_filesz < 2 || p.p_filesz > 4096) return Errno(ENOEXEC);
        std::string path(p.p_filesz, '\0');
        SENTRY_RETURN_IF_ERROR(
            ReadFull(read_at, p.p_offset, path.data(), path.size()));
        if (path.back() != '\0') return Errno(ENOEXEC);
        path.pop_back();
        if (path.empty() || path.find('\0') != std::string::npos)
          return Errno(ENOEXEC);
        info.interpreter = std::move(path);
        break;
      }
      case PT_GNU_STACK:
        info.executable_stack = (p.p_flags & PF_X) != 0;
        break;
      case PT_PHDR:
        phdr_pt = p.p_vaddr;
        have_phdr_pt = true;
        break;
      default:
        break;
    }
  }
  if (info.loads.empty()) return Errno(ENOEXEC);
  // Where the program headers are in memory, for AT_PHDR.
  if (have_phdr_pt) {
    info.phdr_vaddr = phdr_pt;
  } else {
    for (const ElfSegment& s : info.loads) {
      if (eh.e_phoff >= s.offset && eh.e_phoff < s.offset + s.filesz) {
        info.phdr_vaddr = s.vaddr + (eh.e_phoff - s.offset);
        break;
      }
    }
  }
  return info;
}

}  // namespace sentry::loader
