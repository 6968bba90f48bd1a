/*
 * cairn inspect: an image, for a human.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/load.h"

static const char help[] =
	"usage: cairn inspect IMAGE\n"
	"\n"
	"Verifies IMAGE and prints what it holds: its header, sections and their\n"
	"checksums, memory regions (address, size, protections, backing, bytes\n"
	"stored), threads, descriptors, signal actions and pending signals, and\n"
	"timers. Exit status 1 if the image is invalid.\n";

static void human(uint64_t n, char *out, size_t len)
{
	if (n >= (1ull << 30))
		snprintf(out, len, "%.1f GiB", (double)n / (1 << 30));
	else if (n >= (1ull << 20))
		snprintf(out, len, "%.1f MiB", (double)n / (1 << 20));
	else if (n >= 1024)
		snprintf(out, len, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, len, "%llu B", (unsigned long long)n);
}

int cmd_inspect(int argc, char **argv)
{
	struct loaded l;
	char err[1024], a[32], b[32];

	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 2) {
		fputs(help, stderr);
		return 2;
	}
	if (load_image(argv[1], &l, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "cairn: image %s %s\n", argv[1], err);
		return 1;
	}
	const struct img_header *h = &l.r.hdr;
	const struct img_meta *m = l.meta;
	time_t when = (time_t)(h->created_ns / 1000000000ull);
	char ts[64];
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", gmtime(&when));
	human(h->file_size, a, sizeof(a));
	printf("image %s: cairn format %u, %s, all checksums good\n", argv[1], h->version, a);
	printf("  taken      %s from pid %u (%s), user %u\n", ts, h->pid, load_str(&l, m->comm), h->uid);
	printf("  program    %s\n", load_str(&l, m->exe));
	printf("  cwd        %s   umask %03o\n", load_str(&l, m->cwd), m->umask);
	printf("  machine    %s, kernel %s, glibc %s, XCR0 %#llx, vDSO %llu bytes (hash %016llx)\n",
	       h->machine, h->kernel, h->libc, (unsigned long long)h->xfeatures,
	       (unsigned long long)h->vdso_size, (unsigned long long)h->vdso_hash);
	printf("  brk        %#llx-%#llx\n", (unsigned long long)m->start_brk, (unsigned long long)m->brk);

	printf("\nsections (%u):\n", h->nsections);
	for (uint32_t i = 0; i < h->nsections; i++) {
		human(l.r.sec[i].size, a, sizeof(a));
		printf("  %-12s at %12llu  %10s  xxh3 %016llx\n", img_section_name(l.r.sec[i].type),
		       (unsigned long long)l.r.sec[i].offset, a, (unsigned long long)l.r.sec[i].checksum);
	}

	uint64_t total = 0, stored = 0;
	printf("\nmemory regions (%zu):\n", l.nvmas);
	printf("  %-33s %10s %4s %-11s %10s  %s\n", "address", "size", "prot", "kind", "stored", "backing");
	for (size_t i = 0; i < l.nvmas; i++) {
		const struct img_vma *v = &l.vmas[i];
		char prot[5] = "---p";
		prot[0] = v->prot & PROT_READ ? 'r' : '-';
		prot[1] = v->prot & PROT_WRITE ? 'w' : '-';
		prot[2] = v->prot & PROT_EXEC ? 'x' : '-';
		prot[3] = v->kind == VMA_ANON_SHARED || v->kind == VMA_FILE_SHARED ? 's' : 'p';
		human(v->end - v->start, a, sizeof(a));
		human(v->stored, b, sizeof(b));
		printf("  %016llx-%016llx %10s %4s %-11s %10s  %s\n", (unsigned long long)v->start,
		       (unsigned long long)v->end, a, prot, vma_kind_name(v->kind), b, load_str(&l, v->path));
		total += v->end - v->start;
		stored += v->stored;
	}
	human(total, a, sizeof(a));
	human(stored, b, sizeof(b));
	printf("  total %s mapped, %s stored in %zu chunks\n", a, b, l.nchunks);

	printf("\nthreads (%zu):\n", l.nthreads);
	for (size_t i = 0; i < l.nthreads; i++) {
		const struct img_thread *t = &l.threads[i];
		printf("  tid %-7u %-16s %s%sfs %#llx rip %#llx rsp %#llx mxcsr %#x fpucw %#x\n", t->tid,
		       t->name, t->flags & THREAD_MAIN ? "main " : "",
		       t->flags & THREAD_MANAGER ? "cairn-manager " : "", (unsigned long long)t->fs_base,
		       (unsigned long long)t->ctx.rip, (unsigned long long)t->ctx.rsp, t->ctx.mxcsr,
		       t->ctx.fpucw);
		if (t->altstack_sp)
			printf("              altstack %#llx size %llu\n", (unsigned long long)t->altstack_sp,
			       (unsigned long long)t->altstack_size);
	}

	printf("\ndescriptors (%zu):\n", l.nfds);
	for (size_t i = 0; i < l.nfds; i++) {
		const struct img_fd *f = &l.fds[i];
		printf("  %4d %-12s flags %#o%s", f->fd, fd_kind_name(f->kind), f->flags,
		       f->cloexec ? " cloexec" : "");
		if (f->kind == FD_STD)
			printf("  restarter's fd %u\n", f->std_of);
		else if (f->kind == FD_DUP)
			printf("  same file as fd %d\n", f->dup_of);
		else if (f->kind == FD_PIPE)
			printf("  pipe %u, %llu bytes unread\n", f->pipe_id, (unsigned long long)f->data_len);
		else
			printf("  offset %llu  %s%s\n", (unsigned long long)f->pos, load_str(&l, f->path),
			       f->kind == FD_DELETED ? " (contents saved)" : "");
	}

	printf("\nsignal actions:\n");
	for (int s = 1; s <= 64; s++) {
		const struct img_sigaction *sa = &l.sigacts[s - 1];
		if (!sa->handler)
			continue;
		const char *name = s <= 31 ? sigabbrev_np(s) : NULL;
		printf("  %2d %-6s handler %#llx flags %#llx mask %#llx\n", s, name ? name : "",
		       (unsigned long long)sa->handler, (unsigned long long)sa->flags,
		       (unsigned long long)sa->mask);
	}
	printf("pending signals (%zu):\n", l.npend);
	for (size_t i = 0; i < l.npend; i++) {
		siginfo_t si;
		memcpy(&si, l.pend[i].info, sizeof(si));
		if (l.pend[i].thread == ~0u)
			printf("  %d (process-wide) code %d\n", si.si_signo, si.si_code);
		else
			printf("  %d to thread %u code %d\n", si.si_signo, l.pend[i].thread, si.si_code);
	}
	printf("timers (%zu):\n", l.ntimers);
	for (size_t i = 0; i < l.ntimers; i++) {
		const struct img_timer *t = &l.timers[i];
		printf("  %s %d: %.3f s left, interval %.3f s", t->kind == TIMER_ITIMER ? "itimer" : "posix",
		       t->id, (double)t->value_ns / 1e9, (double)t->interval_ns / 1e9);
		if (t->kind == TIMER_POSIX)
			printf(", clock %d, signal %d", t->clock, t->signo);
		printf("\n");
	}
	load_free(&l);
	return 0;
}
