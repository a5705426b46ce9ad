// Escape attempts a guest might make. Each mode prints what it observed or
// dies; test/security/escape_test.sh checks the outcome from outside.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Where the ptrace platform puts its stub page (platform/ptrace/stub.h).
#define STUB_PAGE 0x7fffffffe000UL

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  // Some modes die on purpose; what they printed first must not be lost.
  setvbuf(stdout, NULL, _IONBF, 0);

  if (strcmp(mode, "int80") == 0) {
    // A 32-bit system call: exit(77) if the host ran it.
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(1), "b"(77) : "memory");
    printf("int80 returned %ld\n", rc);
    return 0;
  }
  if (strcmp(mode, "stub-syscall") == 0) {
    // Jump onto the stub page's syscall instruction with exit_group(42). If
    // the host executed it the stub would die and the sandbox report a
    // kill; emulated, the sandbox exits 42.
    __asm__ volatile(
        "mov $231, %%eax\n mov $42, %%edi\n jmp *%0" ::"r"(STUB_PAGE)
        : "rax", "rdi", "memory");
    return 1;
  }
  if (strcmp(mode, "stub-map") == 0) {
    // The stub page is outside the guest's address space: it can be neither
    // replaced, unmapped, nor reprotected.
    void* p = mmap((void*)STUB_PAGE, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mmap %s\n", p == MAP_FAILED ? strerror(errno) : "succeeded");
    printf("munmap %s\n",
           munmap((void*)STUB_PAGE, 4096) != 0 ? strerror(errno) : "succeeded");
    printf("mprotect %s\n", mprotect((void*)STUB_PAGE, 4096,
                                     PROT_READ | PROT_WRITE | PROT_EXEC) != 0
                                ? strerror(errno)
                                : "succeeded");
    // Writing to it faults (or the mapping changed, which is a failure).
    *(volatile char*)STUB_PAGE = 0;
    printf("wrote the stub page\n");
    return 0;
  }
  if (strcmp(mode, "vsyscall") == 0) {
    // The kernel emulates the vsyscall page without a ptrace stop; the stub
    // filter traps it so the sentry answers instead.
    time_t (*vtime)(time_t*) = (time_t(*)(time_t*))0xffffffffff600400UL;
    time_t v = vtime(NULL);
    time_t now = time(NULL);
    printf("vsyscall time %s\n",
           (v > now - 5 && v < now + 5) ? "agrees" : "disagrees");
    return 0;
  }
  if (strcmp(mode, "stub-pread") == 0) {
    // The stub page's filter admits pread64 for the sentry's injections.
    // A guest that jumps onto the stub's syscall with pread64 on the
    // sentry's fd numbers must get its own (emulated) call, never the
    // host's: the sentry holds the file below as a memfd, and no fd of
    // the guest names it. Each try is a child that dies in the stub code
    // after the call; a shared page shows what the call wrote.
    const char secret[] = "SECRET-BYTES";
    FILE* f = fopen("/tmp/escape-secret", "w");
    if (f == NULL || fputs(secret, f) < 0 || fclose(f) != 0) return 3;
    char* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 3;
    int leaked = 0;
    for (long fd = 0; fd < 128; fd++) {
      memset(shared, 0, 64);
      pid_t child = fork();
      if (child == 0) {
        __asm__ volatile(
            "mov $17, %%eax\n mov %1, %%rdi\n mov %2, %%rsi\n"
            "mov $12, %%edx\n xor %%r10d, %%r10d\n jmp *%0" ::"r"(STUB_PAGE),
            "r"(fd), "r"(shared)
            : "rax", "rdi", "rsi", "rdx", "r10", "memory");
        _exit(1);
      }
      if (child < 0) return 3;
      waitpid(child, NULL, 0);
      if (memcmp(shared, secret, 12) == 0) leaked++;
    }
    printf("host preads from the stub page: %d\n", leaked);
    return 0;
  }
  if (strcmp(mode, "pid") == 0) {
    printf("%ld\n", (long)syscall(SYS_getpid));
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
