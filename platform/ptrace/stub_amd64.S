// The stub page: the only code a stub process has besides guest code.
//
// The sentry copies these bytes into a sealed memfd that every stub maps
// read+execute at kStubStart. Stubs run under a seccomp filter that admits
// system calls only from this page, and only those the sentry injects here;
// guest system calls never reach that filter because PTRACE_SYSEMU stops them
// first. All code is position-independent and uses no stack.

  .section .rodata.uks_stub, "a"
  .p2align 12
  .globl uks_stub_begin
uks_stub_begin:

// Offset 0: an injected system call. The tracer sets rax and the arguments,
// points rip here and continues; the int3 hands control back.
  .globl uks_stub_syscall
uks_stub_syscall:
  syscall
  int3

// An injected clone(). The caller traps at the int3; the new thread or
// process (rax == 0) waits in pause() untraced until its own tracer seizes it.
  .globl uks_stub_clone
uks_stub_clone:
  syscall
  test %rax, %rax
  jz 1f
  int3
1:
  mov $34, %eax            // SYS_pause
  syscall
  jmp 1b

// An atomic update of the 32-bit guest word at rdi, as futex(2) needs it
// (FUTEX_WAKE_OP, robust lists): ecx is the operation (0 set, 1 add, 2 or,
// 3 and-not, 4 xor, 5 compare-exchange), esi the operand, edx the value
// compare-exchange expects. The old value is left in eax. A fault on the
// word stops the thread with SIGSEGV or SIGBUS, which the tracer turns
// into EFAULT.
  .globl uks_stub_atomic
uks_stub_atomic:
  cmp $5, %ecx
  je 5f
  mov (%rdi), %eax
1:
  mov %eax, %r8d
  cmp $0, %ecx
  jne 2f
  mov %esi, %r8d
  jmp 4f
2:
  cmp $1, %ecx
  jne 3f
  add %esi, %r8d
  jmp 4f
3:
  cmp $2, %ecx
  jne 6f
  or %esi, %r8d
  jmp 4f
6:
  cmp $3, %ecx
  jne 7f
  mov %esi, %r9d
  not %r9d
  and %r9d, %r8d
  jmp 4f
7:
  xor %esi, %r8d
4:
  lock cmpxchg %r8d, (%rdi)
  jnz 1b
  int3
5:
  mov %edx, %eax
  lock cmpxchg %esi, (%rdi)
  int3

// Entry of a new stub process: rdi = first stub byte, rsi = end of the stub,
// rdx = top of the user address space. Unmaps everything the sentry's copy
// left behind, then stops itself until the tracer injects work.
  .globl uks_stub_init
uks_stub_init:
  mov %rdi, %r12
  mov %rsi, %r13
  mov %rdx, %r14
  mov $11, %eax            // SYS_munmap(0, stub start)
  xor %edi, %edi
  mov %r12, %rsi
  syscall
  mov %r14, %rsi           // SYS_munmap(stub end, top - stub end), if any
  sub %r13, %rsi
  jz 2f
  mov $11, %eax
  mov %r13, %rdi
  syscall
2:
  mov $186, %eax           // SYS_gettid
  syscall
  mov %eax, %edi
  mov $19, %esi            // SIGSTOP
  mov $200, %eax           // SYS_tkill
  syscall
  jmp 2b

  .globl uks_stub_end
uks_stub_end:
  .section .note.GNU-stack, "", @progbits
