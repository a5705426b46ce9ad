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

// ---- The systrap platform (platform/systrap) ----
//
// Guest threads of a systrap stub run untraced. Each owns a 64 KiB slot
// (a memfd page shared with the sentry, then its signal stack); the
// layout is platform/systrap/sysmsg.h. Every guest system call traps
// (SIGSYS), and every fault or interrupt raises a signal; all land in
// uks_systrap_handler on the slot's signal stack, which publishes the
// signal frame's address to the sentry, waits until the sentry has
// answered (written the guest's next registers into that frame), and
// returns through rt_sigreturn. All signals are blocked while it runs.

// A new guest thread: clone(2) injected into the syscall thread with r12
// = the thread's slot and r13 = the guest filter's sock_fprog. The child
// sheds the sentry's fd table, takes its slot as its signal stack,
// installs the guest filter, and parks in the handler at the int3.
  .globl uks_systrap_clone
uks_systrap_clone:
  syscall
  test %rax, %rax
  jz 1f
  int3
1:
  mov $436, %eax           // SYS_close_range(0, ~0U, 0)
  xor %edi, %edi
  mov $-1, %esi
  xor %edx, %edx
  syscall
  test %rax, %rax
  jnz 9f
  lea 4096(%r12), %rax     // SYS_sigaltstack({slot + 4 KiB, 0, 60 KiB}, NULL)
  mov %rax, 128(%r12)
  movq $0, 136(%r12)
  movq $61440, 144(%r12)
  mov $131, %eax
  lea 128(%r12), %rdi
  xor %esi, %esi
  syscall
  test %rax, %rax
  jnz 9f
  mov $317, %eax           // SYS_seccomp(SECCOMP_SET_MODE_FILTER, 0, r13)
  mov $1, %edi
  xor %esi, %esi
  mov %r13, %rdx
  syscall
  test %rax, %rax
  jnz 9f
  int3
  .globl uks_systrap_ready
uks_systrap_ready:
9:
  mov $60, %eax            // SYS_exit(1): the sentry sees the thread gone
  mov $1, %edi
  syscall

// The handler: rdi = signal, rsi = siginfo, rdx = ucontext, rsp = the
// frame (on the slot's signal stack, so the slot is rsp rounded down).
  .globl uks_systrap_handler
uks_systrap_handler:
  mov %rsp, %rbx
  and $-65536, %rbx
  mov %rdx, 16(%rbx)       // ucontext
  mov %rsi, 24(%rbx)       // siginfo
  mov %rdi, 32(%rbx)       // signal
  mov $2, %eax             // state = kEvent; xchg is a full barrier
  xchg %eax, (%rbx)
  cmpl $0, 8(%rbx)         // the sentry sleeps: wake it
  je 1f
  mov $202, %eax           // SYS_futex(&state, FUTEX_WAKE, 1)
  mov %rbx, %rdi
  mov $1, %esi
  mov $1, %edx
  syscall
1:
  mov 12(%rbx), %ecx       // spin this many times before sleeping (again
2:                         // after each wake: ResumeSoon's early wake)
  cmpl $2, (%rbx)
  jne 4f
  test %ecx, %ecx
  jz 3f
  pause
  dec %ecx
  jmp 2b
3:
  xor %eax, %eax           // a nap armed at the resume: take it, once
  xchg %eax, 68(%rbx)
  test %eax, %eax
  jz 10f
  mov $2, %eax             // stub_sleeping = kStubNapping, check once more
  xchg %eax, 4(%rbx)
  cmpl $2, (%rbx)
  jne 5f
  mov $202, %eax           // SYS_futex(&state, FUTEX_WAIT, kEvent, &nap_for)
  mov %rbx, %rdi
  xor %esi, %esi
  mov $2, %edx
  lea 80(%rbx), %r10
  syscall
  movl $0, 4(%rbx)
  mov 72(%rbx), %ecx       // woken or timed out: spin nap_spin times
  jmp 2b
10:
  mov $1, %eax             // stub_sleeping = kStubAsleep, check once more
  xchg %eax, 4(%rbx)
  cmpl $2, (%rbx)
  jne 5f
  mov $202, %eax           // SYS_futex(&state, FUTEX_WAIT, kEvent, NULL)
  mov %rbx, %rdi
  xor %esi, %esi
  mov $2, %edx
  xor %r10d, %r10d
  syscall
5:
  movl $0, 4(%rbx)
  jmp 1b
4:
  cmpl $3, (%rbx)          // kExit
  je 7f
  cmpl $0, 56(%rbx)        // set_fs
  je 6f
  movl $0, 56(%rbx)
  mov $158, %eax           // SYS_arch_prctl(ARCH_SET_FS, fs_base)
  mov $0x1002, %edi
  mov 40(%rbx), %rsi
  syscall
6:
  cmpl $0, 60(%rbx)        // set_gs
  je 8f
  movl $0, 60(%rbx)
  mov $158, %eax           // SYS_arch_prctl(ARCH_SET_GS, gs_base)
  mov $0x1001, %edi
  mov 48(%rbx), %rsi
  syscall
8:
  ret                      // to the restorer, with rsp at the frame
7:
  mov $60, %eax            // SYS_exit(0)
  xor %edi, %edi
  syscall

  .globl uks_systrap_restorer
uks_systrap_restorer:
  mov $15, %eax            // SYS_rt_sigreturn
  syscall
  int3

  .globl uks_stub_end
uks_stub_end:
  .section .note.GNU-stack, "", @progbits
