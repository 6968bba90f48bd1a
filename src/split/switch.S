/*
 * Entering the lower half, coming back from it, and crossing into it.
 *
 * The two halves each have a libc, and each libc owns the thread pointer
 * (the FS base): its TLS, its errno, its stack canary and pointer guard
 * live there. So whoever runs lower-half code must first set FS to the
 * lower half's thread pointer, and set it back after. With FSGSBASE
 * (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) that is one wrfsbase; without,
 * an arch_prctl system call. The current thread pointer is read from
 * %fs:0, the TCB's pointer to itself, which costs nothing, where
 * ARCH_GET_FS would be another system call.
 *
 * These run with either half's FS: no TLS, no libc.
 */
	.text

/*
 * split_set_fs(rdi = thread pointer). Clobbers rax, rcx, rsi, rdi, r11.
 */
	.globl split_set_fs
	.hidden split_set_fs
	.type split_set_fs,@function
split_set_fs:
	cmpb $0, split_fsgsbase(%rip)
	je 1f
	wrfsbase %rdi
	ret
1:	movq %rdi, %rsi
	movl $0x1002, %edi		/* ARCH_SET_FS */
	movl $158, %eax			/* SYS_arch_prctl */
	syscall
	ret
	.size split_set_fs, .-split_set_fs

/*
 * long split_start(uintptr_t entry, uintptr_t sp): saves the upper half's
 * callee-saved registers and stack, then jumps to the lower loader's entry
 * on the lower half's initial stack, as the kernel would after execve
 * (rdx = 0: no function for atexit). Returns, through split_return, 0 after
 * the hand-off or 1 + the helper's exit status.
 */
	.globl split_start
	.hidden split_start
	.type split_start,@function
split_start:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, upper_sp(%rip)
	movq %rsi, %rsp
	xorl %edx, %edx
	xorl %ebp, %ebp
	jmp *%rdi
	.size split_start, .-split_start

/*
 * split_return(rdi = value): back on the upper half's stack and FS, and out
 * of split_start with that value. The robust list and the TID address are
 * put back by the C caller (load.c), which may use libc again.
 */
	.globl split_return
	.hidden split_return
	.type split_return,@function
split_return:
	movq upper_sp(%rip), %rsp
	movq %rdi, %r12
	movq split_upper_fs(%rip), %rdi
	call split_set_fs
	movq %r12, %rax
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size split_return, .-split_return

/*
 * split_handoff(rdi = table, rsi = n, rdx = services): what the helper's
 * main calls, with the lower half's FS, which the loading thread keeps for
 * its crossings. Never returns to the helper: the lower main thread's TCB
 * is the loading thread's from now on.
 */
	.globl split_handoff
	.hidden split_handoff
	.type split_handoff,@function
split_handoff:
	endbr64
	movq %rdi, split_table(%rip)
	movq %rsi, split_ntable(%rip)
	movq %rdx, split_svc(%rip)
	movq %fs:0, %rax
	movq %rax, split_lower_fs(%rip)
	xorl %edi, %edi
	jmp split_return
	.size split_handoff, .-split_handoff

/*
 * The signal restorer given to the kernel with every handler signal.c
 * installs: what the handler returns to, in upper-half code, whichever
 * half's handler ran.
 */
	.globl split_restore_rt
	.hidden split_restore_rt
	.type split_restore_rt,@function
split_restore_rt:
	movl $15, %eax			/* SYS_rt_sigreturn */
	syscall
	ud2
	.size split_restore_rt, .-split_restore_rt

	.bss
	.align 8
upper_sp:
	.zero 8

	.section .note.GNU-stack,"",@progbits
