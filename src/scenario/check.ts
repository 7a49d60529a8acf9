// Semantic checks of a built scenario: names refer to things that exist,
// names are unique, and values the kernel would reject outright (rather than
// return an error the scenario may want to observe) are caught here.

import type { Built } from './build.js';
import type { Path, YamlSource } from './source.js';
import { PAGE_CHECKS, type Device, type Expect, type FileSpec, type Step, type StepOf } from './types.js';
import { formatSize, PAGE_SIZE, roundUpToPage } from './values.js';

import { DRIVER_PAGES } from '../model/state.js';
import { findFix, findKernel, KERNELS, kernelConfig, KernelConfigError } from '../model/versions.js';

const PMD_SIZE = 2 ** 21;
const DEVDAX_ALIGNS = [4096, PMD_SIZE, 2 ** 30];

interface Region { len: number }

export function checkScenario({ scenario: s, pathOf }: Built, src: YamlSource): void {
  /** Fail at `field` (a path below `obj`), or at `obj` itself. */
  const fail = (obj: object, field: Path, msg: string, target: 'key' | 'value' = 'value'): never =>
    src.fail([...pathOf.get(obj)!, ...field], msg, target);
  const failStep = (step: Step, field: string, msg: string): never => fail(step, [step.op, field], msg);

  const devices = uniqueNames(s.devices, 'device', fail);
  const files = uniqueNames(s.files, 'file', fail);
  const threads = uniqueNames(s.threads, 'thread', fail);

  const device = (obj: object, field: Path, name: string): Device =>
    devices.get(name) ?? fail(obj, field, unknown('device', name, devices));
  const file = (obj: object, field: Path, name: string): FileSpec =>
    files.get(name) ?? fail(obj, field, unknown('file', name, files));

  for (const d of s.devices) {
    if (d.size === 0 || d.size % PAGE_SIZE) fail(d, ['size'], `device size must be a positive multiple of 4K, got ${formatSize(d.size)}`);
    if (d.type === 'fsdax') {
      if (d.align !== undefined) {
        fail(d, ['align'], "'align' applies to devdax devices only; to place a file's extent, give the file an 'align'", 'key');
      }
    } else if (d.type !== 'devdax') {
      if (d.fs !== undefined) fail(d, ['fs'], "'fs' applies to fsdax devices only", 'key');
      if (d.align !== undefined) fail(d, ['align'], "'align' applies to devdax devices only", 'key');
    } else {
      if (d.fs !== undefined) fail(d, ['fs'], "'fs' applies to fsdax devices only", 'key');
      if (!DEVDAX_ALIGNS.includes(d.align!)) fail(d, ['align'], `devdax align must be 4K, 2M or 1G, got ${formatSize(d.align!)}`);
      if (d.size % d.align!) fail(d, ['size'], `devdax size ${formatSize(d.size)} is not a multiple of its align ${formatSize(d.align!)}`);
    }
  }

  for (const f of s.files) {
    const d = device(f, ['device'], f.device);
    if (d.type !== 'fsdax') fail(f, ['device'], `file '${f.name}' is on ${d.type} device '${d.name}'; files need an fsdax device`);
    if (f.size > d.size) fail(f, ['size'], `file '${f.name}' (${formatSize(f.size)}) is larger than device '${d.name}' (${formatSize(d.size)})`);
    if (f.align !== undefined && (f.align < PAGE_SIZE || (f.align & (f.align - 1)) !== 0 || f.align > d.size)) {
      fail(f, ['align'], `file align must be a power of two from 4K up to the device size, got ${formatSize(f.align)}`);
    }
  }

  // Names made by steps (regions, refs, child processes) may be used by any thread.
  const steps = s.threads.flatMap((t) => t.steps);
  const regions = new Map<string, Region>();
  const refs = new Map<string, Step>();
  const children = new Map<string, Step>();
  for (const step of steps) {
    if (step.op === 'mmap') defineOnce(regions, step.as, { len: step.len }, () => failStep(step, 'as', `region '${step.as}' is already defined by another mmap`));
    if (step.op === 'gup') defineOnce(refs, step.as, step, () => failStep(step, 'as', `ref '${step.as}' is already defined by another gup`));
    if (step.op === 'fork') defineOnce(children, step.child, step, () => failStep(step, 'child', `process '${step.child}' is already created by another fork`));
  }
  // exit(2) ends the thread with its process: a step after it would never run
  for (const t of s.threads) {
    const i = t.steps.findIndex((x) => x.op === 'exit');
    if (i >= 0 && i + 1 < t.steps.length) fail(t.steps[i + 1], [t.steps[i + 1].op], `this step comes after thread '${t.name}' exits (step ${i + 1}): exit ends the process and its threads, so it would never run`, 'key');
  }
  // a fork makes a new process: not the forking one, nor one of its ancestors (each process has one parent, so none would start)
  const parentOf = new Map<string, string>();
  for (const t of s.threads) for (const step of t.steps) if (step.op === 'fork') parentOf.set(step.child, t.process);
  for (const t of s.threads)
    for (const step of t.steps) {
      if (step.op !== 'fork') continue;
      const seen = new Set<string>();
      for (let p: string | undefined = t.process; p !== undefined && !seen.has(p); p = parentOf.get(p)) {
        seen.add(p);
        if (p === step.child)
          failStep(step, 'child', p === t.process ? `process '${p}' cannot fork itself: name the new child process` : `process '${step.child}' is an ancestor of '${t.process}', which forks it: a fork makes a new process`);
      }
    }

  // A file's pages each take state words (its extent map and DAX entries), so no step may take a
  // file past its device's size (the kernel allows a sparse file up to s_maxbytes; daxref does not model that).
  const withinDevice = (step: Step, key: string, name: string, end: number): void => {
    const f = s.files.find((x) => x.name === name);
    const d = f && s.devices.find((x) => x.name === f.device);
    if (f && d && end > d.size)
      failStep(step, key, `${step.op} takes file '${name}' to ${formatSize(end)}, past the size of its device '${d.name}' (${formatSize(d.size)}): daxref keeps state for every page of a file, so a file can reach at most its device's size`);
  };
  // The largest each file can become, so `page: F@N` may name pages a step adds.
  const maxSize = new Map(s.files.map((f) => [f.name, f.size]));
  const grow = (step: Step, key: string, name: string, end: number) => {
    withinDevice(step, key, name, end);
    maxSize.set(name, Math.max(maxSize.get(name) ?? 0, end));
  };
  for (const step of steps) {
    if (step.op === 'truncate') grow(step, 'size', step.file, step.size);
    if (step.op === 'write') grow(step, 'len', step.file, step.offset + step.len);
    if (step.op === 'reflink') grow(step, 'len', step.dst, step.dst_offset + step.len);
    if (step.op === 'mmap' && step.file !== undefined) withinDevice(step, 'len', step.file, step.offset + step.len);
  }

  const rangeInRegion = (step: StepOf<'munmap' | 'madvise' | 'touch' | 'gup'>): void => {
    const r = regions.get(step.at.region) ?? failStep(step, 'at', unknown('region', step.at.region, regions, ' (mmap ... as: NAME defines one)'));
    const where = `${step.at.region}+${formatSize(step.at.offset)}`;
    if (step.at.offset >= r.len) failStep(step, 'at', `address ${where} is beyond region '${step.at.region}' (${formatSize(r.len)} long)`);
    if (step.len === 0) failStep(step, 'len', "'len' must be positive");
    if (step.at.offset + step.len > r.len) {
      failStep(step, 'len', `range ${where} + ${formatSize(step.len)} runs past the end of region '${step.at.region}' (${formatSize(r.len)} long)`);
    }
  };

  for (const step of steps) {
    switch (step.op) {
      case 'mmap':
        if (step.file === undefined && step.device === undefined) fail(step, ['mmap'], "mmap needs 'file' or 'device'");
        if (step.file !== undefined && step.device !== undefined) {
          fail(step, ['mmap', 'device'], "mmap takes 'file' or 'device', not both", 'key');
        }
        if (step.file !== undefined) file(step, ['mmap', 'file'], step.file);
        // Where the model's mapping address could differ from the kernel's, say so rather than answer
        // wrongly: daxref places each mapping 1 GiB-aligned, while thp_get_unmapped_area gives a DAX
        // file the address colour of its file offset (and honours a free hint as it is).
        if (step.addr !== undefined) failStep(step, 'addr', 'a fixed address is not modelled: daxref places each mapping itself (1 GiB-aligned); remove addr');
        const aligned = Math.ceil(step.offset / PMD_SIZE) * PMD_SIZE;
        if (step.file !== undefined && step.offset % PMD_SIZE && aligned + PMD_SIZE <= step.offset + step.len) {
          failStep(step, 'offset', `a file mapping at offset ${formatSize(step.offset)} (not a multiple of 2M) that covers a whole 2 MiB-aligned part of the file is not modelled: the kernel colours its address to map that part with a PMD; use an offset that is a multiple of 2M, or a shorter mapping`);
        }
        if (step.device !== undefined) {
          const t = device(step, ['mmap', 'device'], step.device).type;
          if (t === 'fsdax') failStep(step, 'device', `only devdax and p2pdma devices can be mapped directly; '${step.device}' is fsdax, so map a file on it`);
          if (t === 'private' || t === 'coherent') {
            failStep(step, 'device', `'${step.device}' is a ${t} device: its pages reach user space only by migration (migrate_vma), which daxref does not model; use page_alloc/page_get/page_put`);
          }
        }
        if (step.len === 0) failStep(step, 'len', "'len' must be positive");
        if (step.sync && !step.shared) failStep(step, 'sync', 'MAP_SYNC needs MAP_SHARED_VALIDATE: set shared: true (daxref does not model MAP_PRIVATE with MAP_SYNC)');
        if (step.offset % PAGE_SIZE) failStep(step, 'offset', `mmap offset must be a multiple of 4K, got ${formatSize(step.offset)}`);
        if (step.addr !== undefined && step.addr % PAGE_SIZE) failStep(step, 'addr', `mmap addr must be a multiple of 4K, got ${formatSize(step.addr)}`);
        break;
      case 'munmap':
        rangeInRegion(step);
        if (step.at.offset % PAGE_SIZE) failStep(step, 'at', 'munmap address must be page aligned (a multiple of 4K into the region)');
        break;
      case 'madvise':
        rangeInRegion(step);
        if (step.at.offset % PAGE_SIZE) failStep(step, 'at', 'madvise address must be page aligned (a multiple of 4K into the region)');
        break;
      case 'touch':
      case 'gup':
        rangeInRegion(step);
        break;
      case 'unpin':
      case 'dma_write':
        if (!refs.has(step.ref)) failStep(step, 'ref', unknown('ref', step.ref, refs, ' (gup ... as: NAME defines one)'));
        break;
      case 'truncate':
      case 'punch_hole':
      case 'unlink':
      case 'write':
        file(step, [step.op, 'file'], step.file);
        break;
      case 'fsync':
        file(step, [step.op, 'file'], step.file);
        if (step.offset !== undefined && step.len === undefined) failStep(step, 'offset', "a ranged fsync (sync_file_range) needs 'len' too; leave both out to fsync the whole file");
        if (step.len === 0) failStep(step, 'len', "'len' must be positive (leave offset and len out to fsync the whole file)");
        break;
      case 'reflink':
        file(step, ['reflink', 'src'], step.src);
        file(step, ['reflink', 'dst'], step.dst);
        if (step.len === 0) failStep(step, 'len', "len 0 (FICLONERANGE's clone to the source's EOF) is not modelled: give the length to share");
        break;
      case 'unmount':
        if (device(step, ['unmount', 'device'], step.device).type !== 'fsdax') {
          failStep(step, 'device', `'${step.device}' is a ${device(step, ['unmount', 'device'], step.device).type} device; only fsdax devices have a filesystem to unmount`);
        }
        break;
      case 'remove_device':
        device(step, ['remove_device', 'device'], step.device);
        break;
      case 'page_alloc':
      case 'page_get':
      case 'page_put': {
        if (step.page.kind !== 'device') break; // the schema only lets DEVICE:PFN through
        const d = device(step, [step.op, 'page'], step.page.device);
        const allowed = step.op === 'page_alloc' ? ['private', 'coherent'] : ['private', 'coherent', 'p2pdma'];
        if (!allowed.includes(d.type)) {
          failStep(step, 'page', step.op === 'page_alloc'
            ? `page_alloc applies to private and coherent devices; '${d.name}' is ${d.type}${d.type === 'p2pdma' ? ' (p2pdma pages are allocated by mmap of the device: p2pmem_alloc_mmap)' : ''}`
            : `${step.op} applies to private, coherent and p2pdma device pages; '${d.name}' is ${d.type} (use touch, gup and munmap for DAX pages)`);
        }
        if (step.page.pfn >= d.size / PAGE_SIZE) failStep(step, 'page', `pfn ${step.page.pfn} is beyond device '${d.name}' (${d.size / PAGE_SIZE} pages)`);
        if (step.page.pfn >= DRIVER_PAGES) failStep(step, 'page', `pfn ${step.page.pfn} is too large: daxref models the first ${DRIVER_PAGES} pages of a ${d.type} device`);
        break;
      }
      case 'fork':
      case 'exit':
        break;
    }
  }

  for (const entry of s.schedule ?? []) {
    if (!threads.has(entry.thread)) fail(entry, [], unknown('thread', entry.thread, threads));
  }

  for (const e of s.expect) checkExpect(e);

  function checkExpect(e: Expect): void {
    if (e.point.kind === 'after') {
      const t = threads.get(e.point.thread) ?? fail(e, ['after'], unknown('thread', e.point.thread, threads));
      if (e.point.step > t.steps.length) {
        fail(e, ['after'], `thread '${t.name}' has only ${t.steps.length} step${t.steps.length === 1 ? '' : 's'}, so there is no step ${e.point.step}`);
      }
    } else {
      if (e.error !== undefined) fail(e, ['error'], "'error' needs 'after: THREAD.N' (the step whose result it checks)", 'key');
      if (e.blocked !== undefined) fail(e, ['blocked'], "'blocked' needs 'after: THREAD.N' (the thread it checks)", 'key');
    }
    const pageChecks = PAGE_CHECKS.filter((c) => e[c] !== undefined);
    if (e.page === undefined && pageChecks.length > 0) fail(e, [pageChecks[0]], `'${pageChecks[0]}' needs a 'page' to check`, 'key');
    if (e.page !== undefined && pageChecks.length === 0) fail(e, ['page'], `'page' given but nothing to check on it; add ${PAGE_CHECKS.join(', ')}`, 'key');
    if (pageChecks.length === 0 && e.error === undefined && e.violation === undefined && e.blocked === undefined) {
      fail(e, [], 'expect entry checks nothing; add a page check, error, violation or blocked');
    }
    if (e.page?.kind === 'file') {
      const f = file(e, ['page'], e.page.file);
      if (e.page.offset % PAGE_SIZE) fail(e, ['page'], `page offset must be a multiple of 4K, got ${formatSize(e.page.offset)}`);
      const size = roundUpToPage(maxSize.get(f.name)!);
      if (e.page.offset >= size) {
        fail(e, ['page'], `page ${f.name}@${formatSize(e.page.offset)} is beyond the end of file '${f.name}' (at most ${formatSize(size)} in this scenario)`);
      }
    } else if (e.page?.kind === 'device') {
      const d = device(e, ['page'], e.page.device);
      const pages = d.size / PAGE_SIZE;
      if (e.page.pfn >= pages) fail(e, ['page'], `pfn ${e.page.pfn} is beyond device '${d.name}' (${pages} pages)`);
    }
    if (typeof e.mapping === 'string') file(e, ['mapping'], e.mapping);
    checkKernelVariant(e);
  }

  /** An expectation tied to a kernel or fix that does not exist would silently never be checked. */
  function checkKernelVariant(e: Expect): void {
    if (e.kernel !== undefined && !findKernel(e.kernel)) {
      fail(e, ['kernel'], `unknown kernel '${e.kernel}'; kernels are ${KERNELS.map((k) => `'${k.id}'`).join(', ')}`);
    }
    for (const key of ['with', 'without'] as const) {
      (e[key] ?? []).forEach((f, i) => {
        if (!findFix(f)) fail(e, [key, i], `unknown fix '${f}'; run 'daxref kernels' for the list`);
        if (key === 'without' && e.with?.includes(f)) fail(e, [key, i], `fix '${f}' is both in 'with' and in 'without'`);
      });
    }
    if (e.kernel === undefined) return;
    try {
      kernelConfig(e.kernel, e.with ?? [], e.without ?? []);
    } catch (err) {
      if (err instanceof KernelConfigError) fail(e, [e.with?.length ? 'with' : 'without'], err.message);
      throw err;
    }
  }
}

function uniqueNames<T extends { name: string }>(
  items: T[], kind: string, fail: (obj: object, field: Path, msg: string) => never,
): Map<string, T> {
  const byName = new Map<string, T>();
  for (const item of items) {
    defineOnce(byName, item.name, item, () => fail(item, ['name'], `duplicate ${kind} name '${item.name}'`));
  }
  return byName;
}

function defineOnce<V>(map: Map<string, V>, name: string, value: V, onDuplicate: () => never): void {
  if (map.has(name)) onDuplicate();
  map.set(name, value);
}

/** "unknown file 'G'; files are F, H" */
function unknown(kind: string, name: string, known: Map<string, unknown>, howToDefine = ''): string {
  const names = [...known.keys()].map((n) => `'${n}'`);
  if (names.length === 0) return `unknown ${kind} '${name}'; no ${kind}s are defined${howToDefine}`;
  if (names.length === 1) return `unknown ${kind} '${name}'; the only ${kind} is ${names[0]}`;
  return `unknown ${kind} '${name}'; ${kind}s are ${names.join(', ')}`;
}
