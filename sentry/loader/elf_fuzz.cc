// Fuzz target: ELF parsing and #! parsing of untrusted executables.

#include <elf.h>

#include <cstring>
#include <string>

#include "sentry/loader/elf.h"
#include "sentry/loader/loader.h"
#include "tools/fuzz/fuzz.h"

std::vector<std::string> FuzzSeeds() {
  // A minimal valid static executable image: header, one PT_LOAD, one
  // PT_INTERP and one PT_GNU_STACK.
  std::string elf(64 + 3 * 56 + 32, '\0');
  auto* eh = reinterpret_cast<Elf64_Ehdr*>(elf.data());
  memcpy(eh->e_ident, ELFMAG, SELFMAG);
  eh->e_ident[EI_CLASS] = ELFCLASS64;
  eh->e_ident[EI_DATA] = ELFDATA2LSB;
  eh->e_ident[EI_VERSION] = EV_CURRENT;
  eh->e_type = ET_DYN;
  eh->e_machine = EM_X86_64;
  eh->e_phoff = 64;
  eh->e_phentsize = 56;
  eh->e_phnum = 3;
  auto* ph = reinterpret_cast<Elf64_Phdr*>(elf.data() + 64);
  ph[0].p_type = PT_LOAD;
  ph[0].p_flags = PF_R | PF_X;
  ph[0].p_filesz = ph[0].p_memsz = elf.size();
  ph[0].p_align = 4096;
  ph[1].p_type = PT_INTERP;
  ph[1].p_offset = 64 + 3 * 56;
  ph[1].p_filesz = 12;
  memcpy(elf.data() + ph[1].p_offset, "/lib/ld.so\0", 11);
  ph[2].p_type = PT_GNU_STACK;
  return {elf, "#!/bin/sh -e\n", "#! /usr/bin/env python3\n"};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto read_at = [&](uint64_t off, char* buf,
                     size_t len) -> sentry::SysResult<size_t> {
    if (off >= input.size()) return size_t{0};
    size_t n = std::min<size_t>(len, input.size() - off);
    memcpy(buf, input.data() + off, n);
    return n;
  };
  auto info = sentry::loader::ParseElf(read_at);
  if (info.ok()) {
    // Whatever parses must be self-consistent.
    for (const auto& s : info->loads) {
      if (s.filesz > s.memsz || s.vaddr + s.memsz < s.vaddr) abort();
    }
    if (info->MaxVaddr() < info->MinVaddr()) abort();
  }
  (void)sentry::loader::ParseScriptLine(input.data(),
                                        std::min<size_t>(input.size(), 256));
  return 0;
}
