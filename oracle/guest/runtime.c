// daxref oracle runtime: runs one scenario's steps as real system calls, in the order of the
// generated entry list, and prints after every entry the real counters of the pages the
// scenario names (read through /proc/daxref_page) and what each step did (done or blocked,
// its error, and which entry released a blocked step).
//
// Usage: prog ID MOUNTDIR SLOWDEV   (SLOWDEV: a block device whose I/O completes slowly,
//        used for FOLL_PIN via O_DIRECT; null_blk with irqmode=2).
// Output lines: "DAXREF <ID> <json>" on stdout.
//
// Every scenario process is a real process; every scenario thread a pthread in it that waits
// for commands in shared memory. The controller (the main process, not a scenario process)
// dispatches each entry, waits up to BLOCK_MS for the step, and calls it blocked otherwise.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

#define MAXT 16
#define MAXP 16
#define MAXR 32
#define MAXPG 64
#define BLOCK_MS 1500   /* a step not done after this long is blocked */
#define SETTLE_MS 300   /* after each entry: time for released steps to finish */
#define PIN_MS 300      /* after starting O_DIRECT: time for the bio to pin the pages */
#define DIO_WAIT_MS 30000
#define REGION_BASE 0x200000000000UL
#define REGION_STRIDE (1UL << 30)

enum { MB_IDLE, MB_RUNNING, MB_DONE };
struct mbox { volatile int cmd, state, err; volatile double t0, t1; };
enum { REF_NONE, REF_HELD, REF_RELEASED, REF_FAILED };
struct ref {
	volatile int kind, held, state, pipe_r, pipe_w, ring;
	volatile int dio_started, dio_done;
	volatile long dio_ret;
};
struct shared {
	struct mbox mb[MAXT];
	volatile int pid[MAXP];
	struct ref refs[MAXR];
};

static const struct dr_scenario *S;
static struct shared *sh;
static const char *id, *mnt, *slowdev;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static void sleep_ms(int ms) { usleep(ms * 1000); }

static void out(const char *fmt, ...)
{
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "DAXREF %s ", id);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
	buf[n++] = '\n';
	if (write(1, buf, n) < 0) _exit(98);
}

static const char *errname(int e)
{
	static char b[16];
	switch (e) {
	case 0: return "none";
	case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EINTR: return "EINTR";
	case ENXIO: return "ENXIO"; case ENOMEM: return "ENOMEM"; case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY"; case EINVAL: return "EINVAL"; case ENOSPC: return "ENOSPC";
	case EOPNOTSUPP: return "EOPNOTSUPP"; case EXDEV: return "EXDEV"; case EACCES: return "EACCES";
	case 1000 + SIGBUS: return "SIGBUS"; case 1000 + SIGSEGV: return "SIGSEGV";
	}
	snprintf(b, sizeof b, "E%d", e);
	return b;
}

static void path_of(int f, char *buf, size_t len) { snprintf(buf, len, "%s/%s", mnt, S->files[f].name); }
static char *region_addr(int r) { return (char *)(REGION_BASE + r * REGION_STRIDE); }

/* ---- faults during touch: a signal ends the step with SIGBUS/SIGSEGV */
static __thread sigjmp_buf touch_jb;
static __thread volatile int in_touch;
static void on_fault(int sig)
{
	if (in_touch) siglongjmp(touch_jb, sig);
	_exit(100 + sig);
}

/* ---- the steps */
static void *dio_thread(void *arg)
{
	const struct dr_step *st = arg;
	struct ref *g = &sh->refs[st->ref];
	char *buf = region_addr(st->region) + st->offset;
	int fd = open(slowdev, (st->write ? O_RDONLY : O_WRONLY) | O_DIRECT);
	if (fd < 0) { g->dio_ret = -errno; g->dio_started = 1; g->dio_done = 1; return NULL; }
	g->dio_started = 1;
	/* write=1: the device writes into the page (FOLL_WRITE), a read from the slow device */
	ssize_t r = st->write ? pread(fd, buf, st->len, 0) : pwrite(fd, buf, st->len, 0);
	g->dio_ret = r < 0 ? -errno : r;
	close(fd);
	g->dio_done = 1;
	return NULL;
}

static int gup_once(const struct dr_step *st);

/* gup: take the reference; the scenario's later unpin/dma_write of a failed one do nothing */
static int do_gup(const struct dr_step *st)
{
	int e = gup_once(st);
	sh->refs[st->ref].state = e ? REF_FAILED : REF_HELD;
	return e;
}

static int gup_once(const struct dr_step *st)
{
	struct ref *g = &sh->refs[st->ref];
	char *addr = region_addr(st->region) + st->offset;
	g->kind = st->gup;
	if (st->gup == DR_GUP_GET) {
		int p[2];
		if (pipe(p)) return errno;
		if (st->len > 65536) fcntl(p[1], F_SETPIPE_SZ, (int)st->len);
		struct iovec iov = { addr, st->len };
		ssize_t n = vmsplice(p[1], &iov, 1, 0);
		if (n < 0) { int e = errno; close(p[0]); close(p[1]); return e; }
		g->pipe_r = p[0]; g->pipe_w = p[1]; g->held = 1;
		return 0;
	}
	if (st->gup == DR_GUP_PIN) {
		pthread_t th;
		g->dio_started = g->dio_done = 0;
		if (pthread_create(&th, NULL, dio_thread, (void *)st)) return ENOMEM;
		pthread_detach(th);
		while (!g->dio_started) sleep_ms(1);
		sleep_ms(PIN_MS);
		if (g->dio_done && g->dio_ret < 0) return (int)-g->dio_ret;
		g->held = 1;
		return 0;
	}
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	int ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) return errno;
	struct iovec iov = { addr, st->len };
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
		int e = errno;
		close(ring);
		return e;
	}
	g->ring = ring; g->held = 1;
	return 0;
}

static int do_unpin(const struct dr_step *st)
{
	struct ref *g = &sh->refs[st->ref];
	/* as the model: the unpin of a failed GUP is skipped, a second unpin is EINVAL */
	if (g->state == REF_FAILED) return 0;
	if (g->state != REF_HELD) return EINVAL;
	g->held = 0;
	g->state = REF_RELEASED;
	switch (g->kind) {
	case DR_GUP_GET: close(g->pipe_r); close(g->pipe_w); break;
	case DR_GUP_PIN: {
		double t = now_ms();
		while (!g->dio_done && now_ms() - t < DIO_WAIT_MS) sleep_ms(5);
		break;
	}
	default:
		syscall(__NR_io_uring_register, g->ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
		close(g->ring);
	}
	return 0;
}

static void proc_main(int p);

static int run_step(const struct dr_step *st)
{
	char path[256], path2[256];
	int fd, r = 0;
	switch (st->op) {
	case DR_MMAP: {
		path_of(st->file, path, sizeof path);
		fd = open(path, O_RDWR);
		if (fd < 0) return errno;
		int flags = st->shared ? (st->sync ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED) : MAP_PRIVATE;
		/* MAP_FIXED, not MAP_FIXED_NOREPLACE: MAP_SHARED_VALIDATE refuses flags outside the
		 * legacy set (EOPNOTSUPP); each region has its own 1 GiB slot, nothing is replaced */
		void *m = mmap(region_addr(st->region), st->len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, st->offset);
		r = m == MAP_FAILED ? errno : 0;
		close(fd);
		return r;
	}
	case DR_MUNMAP:
		return munmap(region_addr(st->region) + st->offset, st->len) ? errno : 0;
	case DR_MADVISE:
		return madvise(region_addr(st->region) + st->offset, st->len, MADV_DONTNEED) ? errno : 0;
	case DR_TOUCH: {
		volatile char *a = region_addr(st->region) + st->offset;
		unsigned long n = st->len ? (st->len + 4095) / 4096 : 1;
		int sig = sigsetjmp(touch_jb, 1);
		if (sig) { in_touch = 0; return 1000 + sig; }
		in_touch = 1;
		for (unsigned long i = 0; i < n; i++) {
			if (st->write) a[i * 4096] = 1;
			else (void)a[i * 4096];
		}
		in_touch = 0;
		return 0;
	}
	case DR_GUP: return do_gup(st);
	case DR_UNPIN: return do_unpin(st);
	case DR_DMA_WRITE: /* the device's access is the O_DIRECT I/O itself, or nothing for vmsplice */
		return sh->refs[st->ref].state == REF_HELD || sh->refs[st->ref].state == REF_FAILED ? 0 : EINVAL;
	case DR_FORK: {
		pid_t c = fork();
		if (c < 0) return errno;
		if (c == 0) proc_main(st->process); /* does not return */
		while (!sh->pid[st->process]) sleep_ms(1);
		return 0;
	}
	case DR_EXIT:
		syscall(SYS_exit_group, 0);
		return 0;
	case DR_TRUNCATE:
		path_of(st->file, path, sizeof path);
		return truncate(path, st->len) ? errno : 0;
	case DR_PUNCH_HOLE:
		path_of(st->file, path, sizeof path);
		fd = open(path, O_RDWR);
		if (fd < 0) return errno;
		r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st->offset, st->len) ? errno : 0;
		close(fd);
		return r;
	case DR_UNLINK:
		path_of(st->file, path, sizeof path);
		return unlink(path) ? errno : 0;
	case DR_UNMOUNT:
		return umount(mnt) ? errno : 0;
	case DR_REFLINK: {
		path_of(st->file, path, sizeof path);
		path_of(st->file2, path2, sizeof path2);
		int s = open(path, O_RDONLY), d = open(path2, O_RDWR | O_CREAT, 0644);
		if (s < 0 || d < 0) r = errno;
		else {
			struct file_clone_range fcr = { .src_fd = s, .src_offset = st->offset, .src_length = st->len, .dest_offset = st->offset2 };
			r = ioctl(d, FICLONERANGE, &fcr) ? errno : 0;
		}
		if (s >= 0) close(s);
		if (d >= 0) close(d);
		return r;
	}
	case DR_WRITE: {
		path_of(st->file, path, sizeof path);
		fd = open(path, O_RDWR);
		if (fd < 0) return errno;
		char *buf = calloc(1, st->len ? st->len : 1);
		ssize_t n = pwrite(fd, buf, st->len, st->offset);
		r = n < 0 ? errno : 0;
		free(buf);
		close(fd);
		return r;
	}
	case DR_UNSUPPORTED:
		return EINVAL;
	case DR_FSYNC:
		path_of(st->file, path, sizeof path);
		fd = open(path, O_RDWR);
		if (fd < 0) return errno;
		if (st->len) r = sync_file_range(fd, st->offset, st->len, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) ? errno : 0;
		else r = fsync(fd) ? errno : 0;
		close(fd);
		return r;
	}
	return EINVAL;
}

/* ---- scenario processes and threads */
static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct mbox *mb = &sh->mb[t];
	int seen = 0;
	for (;;) {
		while (mb->cmd == seen) sleep_ms(1);
		seen = mb->cmd;
		const struct dr_step *st = &S->steps[seen - 1];
		mb->t0 = now_ms();
		mb->state = MB_RUNNING;
		mb->err = run_step(st);
		mb->t1 = now_ms();
		mb->state = MB_DONE;
	}
	return NULL;
}

static void proc_main(int p)
{
	/* a forked child must not keep the parent's vmsplice pipes: their pages' references
	 * belong to the process that took them, and its unpin must drop them */
	if (!S->processes[p].initial)
		for (int g = 0; g < S->nrefs; g++)
			if (sh->refs[g].held && sh->refs[g].kind == DR_GUP_GET) {
				close(sh->refs[g].pipe_r);
				close(sh->refs[g].pipe_w);
			}
	sh->pid[p] = getpid();
	for (int t = 0; t < S->nthreads; t++) {
		if (S->threads[t].process != p) continue;
		pthread_t th;
		pthread_create(&th, NULL, worker, (void *)(intptr_t)t);
		pthread_detach(th);
	}
	for (;;) pause();
}

static int process_gone(int p)
{
	char b[64], st[512];
	if (!sh->pid[p]) return 0;
	snprintf(b, sizeof b, "/proc/%d/stat", sh->pid[p]);
	int fd = open(b, O_RDONLY);
	if (fd < 0) return 1;
	ssize_t n = read(fd, st, sizeof st - 1);
	close(fd);
	if (n <= 0) return 1;
	st[n] = 0;
	char *c = strrchr(st, ')');
	return c && (c[2] == 'Z' || c[2] == 'X');
}

/* ---- where the named pages are: FIEMAP, with the last known pfn kept when a page has no block */
static unsigned long pmem_base_pfn;
static unsigned long page_pfn[MAXPG];

struct extents { struct fiemap fm; struct fiemap_extent ext[64]; };

/* FIEMAP of file f into q; returns the file's inode number, 0 if it cannot be read. */
static unsigned long fiemap_of(int f, struct extents *q)
{
	char path[256];
	struct stat sb;
	path_of(f, path, sizeof path);
	int fd = open(path, O_RDONLY);
	if (fd < 0) return 0;
	memset(q, 0, sizeof *q);
	q->fm.fm_length = ~0ULL;
	q->fm.fm_flags = FIEMAP_FLAG_SYNC;
	q->fm.fm_extent_count = 64;
	int ok = fstat(fd, &sb) == 0 && ioctl(fd, FS_IOC_FIEMAP, q) == 0;
	close(fd);
	return ok ? (unsigned long)sb.st_ino : 0;
}

static void locate_pages(void)
{
	struct extents q;
	for (int f = 0; f < S->nfiles; f++) {
		if (!fiemap_of(f, &q)) continue;
		for (int i = 0; i < S->npages; i++) {
			if (S->pages[i].file != f) continue;
			unsigned long off = S->pages[i].offset & ~4095UL;
			for (unsigned e = 0; e < q.fm.fm_mapped_extents; e++) {
				struct fiemap_extent *x = &q.ext[e];
				if (off < x->fe_logical || off >= x->fe_logical + x->fe_length) continue;
				if (x->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC)) continue;
				page_pfn[i] = pmem_base_pfn + (x->fe_physical + off - x->fe_logical) / 4096;
			}
		}
	}
}

/* The placement of each file: its extents, so the model can follow it. */
static void report_layout(void)
{
	struct extents q;
	for (int f = 0; f < S->nfiles; f++) {
		unsigned long ino = fiemap_of(f, &q);
		if (!ino) continue;
		char ext[2048];
		int n = 0;
		ext[0] = 0;
		for (unsigned e = 0; e < q.fm.fm_mapped_extents && n < (int)sizeof ext - 100; e++)
			n += snprintf(ext + n, sizeof ext - n, "%s[%llu,%llu,%llu,%u]", e ? "," : "",
				      (unsigned long long)q.ext[e].fe_logical, (unsigned long long)q.ext[e].fe_physical,
				      (unsigned long long)q.ext[e].fe_length, q.ext[e].fe_flags);
		out("{\"t\":\"layout\",\"file\":%d,\"ino\":%lu,\"extents\":[%s]}", f, ino, ext);
	}
}

static void report_pages(int entry)
{
	char line[4096];
	int n = 0;
	int fd = open("/proc/daxref_page", O_RDWR);
	for (int i = 0; i < S->npages; i++) {
		char q[32], a[256] = "";
		if (fd >= 0 && page_pfn[i]) {
			int k = snprintf(q, sizeof q, "%lx\n", page_pfn[i]);
			if (write(fd, q, k) == k) {
				ssize_t r = pread(fd, a, sizeof a - 1, 0);
				a[r > 0 ? r : 0] = 0;
				char *nl = strchr(a, '\n');
				if (nl) *nl = 0;
			}
		}
		n += snprintf(line + n, sizeof line - n, "%s\"%s\"", i ? "," : "", a);
		if (n >= (int)sizeof line - 300) break;
	}
	if (fd >= 0) close(fd);
	out("{\"t\":\"pages\",\"entry\":%d,\"pages\":[%s]}", entry, line);
}

/* ---- the controller
 * Entry for thread t: if t's last step blocked, the entry is that step's resume slot (as in
 * `daxref run`, where a woken step continues when its thread is next scheduled): wait for it
 * ("wait"), or nothing if it already finished ("resumed"). Otherwise start t's next step
 * ("start"). A step not done after BLOCK_MS is blocked; a blocked step that finishes later
 * names the entry that released it. */
static int pending[MAXT]; /* step+1 dispatched and not yet seen done */
static int owes[MAXT];    /* its last step blocked: the next entry of the thread resumes it */
static int next_step[MAXT];
static double pend_t0[MAXT];

static int step_done(int t)
{
	int s = pending[t] - 1;
	if (S->steps[s].op == DR_EXIT) return process_gone(S->threads[t].process);
	return sh->mb[t].state == MB_DONE;
}

static void finish(int t, int entry, int blocked)
{
	int s = pending[t] - 1;
	int err = S->steps[s].op == DR_EXIT ? 0 : sh->mb[t].err;
	out("{\"t\":\"step\",\"step\":%d,\"entry\":%d,\"blocked\":%d,\"err\":\"%s\",\"ms\":%.1f}", s, entry, blocked, errname(err), now_ms() - pend_t0[t]);
	pending[t] = 0;
}

static int wait_done(int t, int ms)
{
	double t0 = now_ms();
	while (!step_done(t)) {
		if (now_ms() - t0 > ms) return 0;
		sleep_ms(2);
	}
	return 1;
}

static int any_pending(void)
{
	for (int t = 0; t < S->nthreads; t++) if (pending[t]) return 1;
	return 0;
}

static int first_step_of(int t, int from)
{
	for (int s = from; s < S->nsteps; s++) if (S->steps[s].thread == t) return s;
	return -1;
}

/* Run one entry for thread t; returns whether anything was started or waited for. */
static int run_entry(int e, int t)
{
	const char *kind;
	int step = -1, moved = 1;
	if (owes[t]) {
		owes[t] = 0;
		if (pending[t]) {
			kind = "wait";
			step = pending[t] - 1;
			out("{\"t\":\"entry\",\"entry\":%d,\"thread\":%d,\"kind\":\"%s\",\"step\":%d}", e, t, kind, step);
			if (wait_done(t, BLOCK_MS)) finish(t, e, 1);
			else owes[t] = 1;
		} else {
			kind = "resumed";
			out("{\"t\":\"entry\",\"entry\":%d,\"thread\":%d,\"kind\":\"%s\",\"step\":%d}", e, t, kind, step);
		}
	} else if (next_step[t] < 0) {
		out("{\"t\":\"entry\",\"entry\":%d,\"thread\":%d,\"kind\":\"idle\",\"step\":-1}", e, t);
		moved = 0;
	} else {
		step = next_step[t];
		next_step[t] = first_step_of(t, step + 1);
		const struct dr_step *st = &S->steps[step];
		out("{\"t\":\"entry\",\"entry\":%d,\"thread\":%d,\"kind\":\"start\",\"step\":%d}", e, t, step);
		/* the wait for an O_DIRECT pin to complete is the device's time, not a kernel block */
		int limit = BLOCK_MS;
		if (st->op == DR_UNPIN && sh->refs[st->ref].kind == DR_GUP_PIN) limit += DIO_WAIT_MS;
		if (st->op == DR_GUP && st->gup == DR_GUP_PIN) limit += PIN_MS;
		sh->mb[t].state = MB_IDLE;
		pending[t] = step + 1;
		pend_t0[t] = now_ms();
		sh->mb[t].cmd = step + 1;
		if (wait_done(t, limit)) finish(t, e, 0);
		else {
			owes[t] = 1;
			out("{\"t\":\"blocked\",\"step\":%d,\"entry\":%d}", step, e);
		}
	}
	/* steps released by this entry finish now */
	double t0 = now_ms();
	while (any_pending() && now_ms() - t0 < SETTLE_MS) {
		for (int u = 0; u < S->nthreads; u++) if (pending[u] && step_done(u)) finish(u, e, 1);
		if (any_pending()) sleep_ms(5);
	}
	/* a pin the scenario still holds must not have completed yet */
	for (int g = 0; g < S->nrefs; g++)
		if (sh->refs[g].held && sh->refs[g].kind == DR_GUP_PIN && sh->refs[g].dio_done)
			out("{\"t\":\"timing\",\"entry\":%d,\"message\":\"the O_DIRECT pin of ref %d completed before its unpin step\"}", e, g);
	if (!any_pending()) locate_pages(); /* FIEMAP could wait behind a blocked step's locks */
	report_pages(e);
	return moved;
}

int main(int argc, char **argv)
{
	S = &dr_scenario;
	id = argc > 1 ? argv[1] : "0";
	mnt = argc > 2 ? argv[2] : "/mnt";
	slowdev = argc > 3 ? argv[3] : "/dev/nullb0";
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) return 2;
	/* exited scenario processes vanish at once (no zombies), orphans come back to us */
	signal(SIGCHLD, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	unsigned long long res = 0;
	FILE *rf = fopen("/sys/block/pmem0/device/resource", "r");
	if (rf) { if (fscanf(rf, "%llx", &res) != 1) res = 0; fclose(rf); }
	pmem_base_pfn = (res ? res : 0x40000000ULL) / 4096;

	/* the files, with written (not unwritten) blocks */
	char path[256];
	static char zero[1 << 20];
	for (int f = 0; f < S->nfiles; f++) {
		path_of(f, path, sizeof path);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) { out("{\"t\":\"error\",\"message\":\"create %s: %s\"}", path, strerror(errno)); return 3; }
		unsigned long sz = S->files[f].size;
		if (sz && fallocate(fd, 0, 0, sz)) out("{\"t\":\"note\",\"message\":\"fallocate %s: %s\"}", path, strerror(errno));
		for (unsigned long o = 0; o < sz; o += sizeof zero)
			if (pwrite(fd, zero, sz - o < sizeof zero ? sz - o : sizeof zero, o) < 0)
				out("{\"t\":\"note\",\"message\":\"write %s: %s\"}", path, strerror(errno));
		fsync(fd);
		close(fd);
	}
	report_layout();
	locate_pages();
	out("{\"t\":\"start\",\"name\":\"%s\",\"base_pfn\":%lu}", S->name, pmem_base_pfn);
	report_pages(-1);

	for (int p = 0; p < S->nprocesses; p++) {
		if (!S->processes[p].initial) continue;
		pid_t c = fork();
		if (c == 0) proc_main(p);
		while (!sh->pid[p]) sleep_ms(1);
	}

	for (int t = 0; t < S->nthreads; t++) next_step[t] = first_step_of(t, 0);
	int e = 0;
	for (int i = 0; i < S->nschedule; i++) run_entry(e++, S->schedule[i]);
	/* then round-robin, one step per thread, until nothing moves */
	for (int moved = 1; moved && e < 4 * S->nsteps + S->nschedule + 8;) {
		moved = 0;
		for (int t = 0; t < S->nthreads; t++) {
			if (next_step[t] < 0 && !pending[t]) continue;
			if (pending[t] && !owes[t]) continue;
			int was = pending[t];
			run_entry(e++, t);
			if (!was || !pending[t]) moved = 1;
		}
	}
	for (int t = 0; t < S->nthreads; t++)
		if (pending[t]) out("{\"t\":\"unfinished\",\"step\":%d}", pending[t] - 1);
	out("{\"t\":\"end\"}");
	for (int p = 0; p < S->nprocesses; p++)
		if (sh->pid[p] && !process_gone(p)) kill(sh->pid[p], SIGKILL);
	for (int i = 0; i < 200; i++) {
		int alive = 0;
		for (int p = 0; p < S->nprocesses; p++) if (sh->pid[p] && !process_gone(p)) alive = 1;
		if (!alive) break;
		sleep_ms(20);
	}
	return 0;
}
