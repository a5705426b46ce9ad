// ELF parsing: turns the bytes of an untrusted executable into a checked
// description of what to map. Nothing here touches guest memory, so the
// parser can be fuzzed on its own.

#ifndef SENTRY_LOADER_ELF_H_
#define SENTRY_LOADER_ELF_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sentry/base/sys_result.h"

namespace sentry::loader {

struct ElfSegment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  int prot = 0;  // PROT_*
};

struct ElfInfo {
  bool position_independent = false;  // ET_DYN
  uint64_t entry = 0;                 // unbiased
  uint64_t phdr_vaddr =
      0;  // unbiased address of the program headers, 0 if unmapped
  uint16_t phnum = 0;
  std::vector<ElfSegment> loads;  // PT_LOAD, in file order
  std::optional<std::string> interpreter;
  bool executable_stack = false;
  uint64_t max_align = 0;  // largest PT_LOAD p_align

  // The unbiased page-aligned span covered by the loads.
  uint64_t MinVaddr() const;
  uint64_t MaxVaddr() const;
};

// Reads up to `len` bytes at `offset`; returns how many were read.
using ReadAtFn =
    std::function<SysResult<size_t>(uint64_t offset, char* buf, size_t len)>;

// Parses and validates an ELF executable for x86-64 Linux. Malformed input is
// ENOEXEC (or EINVAL for impossible segment layouts, as Linux reports), never
// a crash.
SysResult<ElfInfo> ParseElf(const ReadAtFn& read_at);

// True if `head` starts with the ELF magic.
bool IsElf(const char* head, size_t len);

}  // namespace sentry::loader

#endif  // SENTRY_LOADER_ELF_H_
