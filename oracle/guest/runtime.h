// daxref oracle runtime: the tables a generated scenario program fills in.
// A generated program (src/oracle/translate.ts) defines `dr_scenario` and links with runtime.c.
#ifndef DAXREF_RUNTIME_H
#define DAXREF_RUNTIME_H
#include <stddef.h>

enum dr_op {
	DR_MMAP, DR_MUNMAP, DR_TOUCH, DR_GUP, DR_UNPIN, DR_DMA_WRITE, DR_FORK, DR_EXIT,
	DR_TRUNCATE, DR_PUNCH_HOLE, DR_UNLINK, DR_UNMOUNT, DR_REFLINK, DR_WRITE, DR_FSYNC, DR_MADVISE,
	DR_UNSUPPORTED /* remove_device, page_alloc/get/put: the translator skips such scenarios */,
};
enum dr_gup_kind { DR_GUP_GET /* vmsplice */, DR_GUP_PIN /* O_DIRECT */, DR_GUP_LONGTERM /* io_uring */ };

struct dr_file { const char *name; unsigned long size; };
struct dr_process { const char *name; int initial; };
struct dr_thread { const char *name; int process; };

struct dr_step {
	int thread; /* index in threads */
	enum dr_op op;
	int file, file2;       /* files (reflink: src, dst) */
	int region;            /* mmap: region made; munmap/touch/gup: region used */
	int ref;               /* gup: ref made; unpin/dma_write: ref used */
	int process;           /* fork: child process */
	enum dr_gup_kind gup;
	int shared, sync, write;
	unsigned long offset, len, offset2;
	const char *label;     /* "app.3 truncate" */
};

struct dr_page { int file; unsigned long offset; const char *label; };

struct dr_scenario {
	const char *name;
	const struct dr_file *files; int nfiles;
	const struct dr_process *processes; int nprocesses;
	const struct dr_thread *threads; int nthreads;
	const struct dr_step *steps; int nsteps;
	const int *schedule; int nschedule; /* thread per entry; then round-robin as `daxref run` */
	const struct dr_page *pages; int npages;
	int nregions, nrefs;
};

extern const struct dr_scenario dr_scenario;
#endif
