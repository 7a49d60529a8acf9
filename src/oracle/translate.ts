// Scenario -> C: the table a generated test program hands to oracle/guest/runtime.c, which
// turns each step into real system calls (see the runtime for the calls). Also decides which
// scenarios the real kernel can express, and which pages are read after every step.
import type { Scenario, Step } from '../scenario/types.js';

export type OracleFs = 'ext4' | 'xfs';

/** Limits of the runtime (oracle/guest/runtime.c MAXT, MAXP, MAXR, MAXPG). */
const MAX_THREADS = 16;
const MAX_PROCESSES = 16;
const MAX_REFS = 32;
const MAX_PAGES = 64;
/** vmsplice can hold at most the pipe's size: /proc/sys/fs/pipe-max-size defaults to 1 MiB. */
const MAX_VMSPLICE = 1 << 20;

/** A page the oracle reads after every step. */
export interface OraclePage { file: string; offset: number; label: string }

/** Why the real kernel cannot run this scenario here, or null if it can. */
export function unsupportedReason(scn: Scenario, fs: OracleFs): string | null {
  const fsdax = scn.devices.filter((d) => d.type === 'fsdax');
  if (scn.devices.some((d) => d.type === 'devdax')) return 'device-DAX: the guest has one legacy pmem namespace (raw mode), no /dev/daxX.Y';
  const other = scn.devices.find((d) => d.type !== 'fsdax');
  if (other) return `${other.type} device ${other.name}: the guest has FS-DAX pmem only (/dev/pmem0)`;
  if (fsdax.length !== 1) return `needs ${fsdax.length} FS-DAX devices; the guest has one (/dev/pmem0)`;
  const preempt = scn.schedule?.find((e) => e.steps || e.until);
  if (preempt?.steps) return `schedule entry ${preempt.thread}:${preempt.steps} stops an operation after ${preempt.steps} atomic step(s); a real kernel cannot be stopped there`;
  if (preempt?.until) return `schedule entry ${preempt.thread}@${preempt.until} stops an operation inside ${preempt.until}; a real kernel cannot be stopped there`;
  const steps = scn.threads.flatMap((t) => t.steps);
  for (const s of steps) {
    if (s.op === 'page_alloc' || s.op === 'page_get' || s.op === 'page_put') return `${s.op}: an in-kernel page operation, no system call reaches it`;
    if (s.op === 'remove_device') return 'remove_device: unbinding the pmem namespace under a mounted filesystem is not run';
    if (s.op === 'reflink' && fs !== 'xfs') return 'reflink needs xfs (ext4 has no FICLONE)';
    if (s.op === 'gup' && s.longterm && !s.pin) return 'gup FOLL_LONGTERM without FOLL_PIN: only in-kernel callers can ask for it (the guest pins long-term through io_uring)';
    if (s.op === 'gup' && !s.pin && s.len > MAX_VMSPLICE) return `gup FOLL_GET of ${s.len} bytes: vmsplice holds at most ${MAX_VMSPLICE}`;
  }
  const held = refOutlivesExit(scn);
  if (held) return held;
  const procs = new Set(scn.threads.map((t) => t.process));
  for (const s of steps) if (s.op === 'fork') procs.add(s.child);
  if (scn.threads.length > MAX_THREADS || procs.size > MAX_PROCESSES) return 'too many threads or processes for the runtime';
  if (steps.filter((s) => s.op === 'gup').length > MAX_REFS) return 'too many GUP references for the runtime';
  return null;
}

/** A GUP reference whose process exits before (or without) its unpin: the real reference is a
 * pipe or an O_DIRECT read of that process and ends with it, the model's outlives it. */
function refOutlivesExit(scn: Scenario): string | null {
  const procOf = new Map(scn.threads.map((t) => [t.name, t.process]));
  for (const t of scn.threads)
    for (const s of t.steps) {
      if (s.op !== 'gup') continue;
      const p = t.process;
      const exits = scn.threads.filter((u) => u.process === p && u.steps.some((x) => x.op === 'exit'));
      if (!exits.length) continue;
      const unpinned = scn.threads.some((u) => procOf.get(u.name) === p && u.steps.some((x, i) => x.op === 'unpin' && x.ref === s.as && u.steps.slice(i).some((y) => y.op === 'exit')));
      if (!unpinned) return `GUP reference ${s.as} of process ${p} outlives the process's exit (a real pipe or O_DIRECT read ends with its process)`;
    }
  return null;
}

/** The file pages read after every step: those the expectations name, then the pages the
 * steps touch, pin, map or punch (first and last of each range), then each file's first page. */
export function oraclePages(scn: Scenario): OraclePage[] {
  const seen = new Map<string, OraclePage>();
  const add = (file: string, off: number) => {
    const offset = Math.floor(off / 4096) * 4096;
    const label = `${file}@${fmtOffset(offset)}`;
    if (!seen.has(label) && seen.size < MAX_PAGES) seen.set(label, { file, offset, label });
  };
  for (const e of scn.expect) if (e.page?.kind === 'file') add(e.page.file, e.page.offset);
  const regions = new Map<string, { file: string; offset: number; len: number }>();
  for (const t of scn.threads) for (const s of t.steps) if (s.op === 'mmap' && s.file) regions.set(s.as, { file: s.file, offset: s.offset, len: s.len });
  const range = (file: string, off: number, len: number) => {
    add(file, off);
    if (len > 4096) add(file, off + len - 1);
  };
  for (const t of scn.threads)
    for (const s of t.steps) {
      if (s.op === 'touch' || s.op === 'gup') {
        const r = regions.get(s.at.region);
        if (r) range(r.file, r.offset + s.at.offset, s.len);
      } else if (s.op === 'punch_hole') range(s.file, s.offset, s.len);
      else if (s.op === 'reflink') range(s.dst, s.dst_offset, s.len);
    }
  for (const f of scn.files) if (f.size > 0) add(f.name, 0);
  return [...seen.values()];
}

export function fmtOffset(b: number): string {
  if (b === 0) return '0';
  if (b % (1 << 20) === 0) return `${b >> 20}M`;
  if (b % 1024 === 0) return `${b >> 10}K`;
  return String(b);
}

const cstr = (s: string) => JSON.stringify(s); // JSON string escapes are valid C for our names

/** The processes in the order the runtime numbers them: threads' processes, then fork children. */
export function processNames(scn: Scenario): string[] {
  const names: string[] = [];
  for (const t of scn.threads) if (!names.includes(t.process)) names.push(t.process);
  for (const t of scn.threads) for (const s of t.steps) if (s.op === 'fork' && !names.includes(s.child)) names.push(s.child);
  return names;
}

/** The C source of the test program for one scenario (links with oracle/guest/runtime.c). */
export function translate(scn: Scenario): string {
  const files = scn.files.map((f) => f.name);
  const procs = processNames(scn);
  const children = new Set(scn.threads.flatMap((t) => t.steps.flatMap((s) => (s.op === 'fork' ? [s.child] : []))));
  const regions: string[] = [];
  const refs: string[] = [];
  for (const t of scn.threads) for (const s of t.steps) {
    if (s.op === 'mmap') regions.push(s.as);
    if (s.op === 'gup') refs.push(s.as);
  }
  const fileIx = (n: string) => files.indexOf(n);
  const rows: string[] = [];
  scn.threads.forEach((t, ti) => t.steps.forEach((s, si) => rows.push(`\t{ ${stepFields(s, ti, `${t.name}.${si + 1} ${s.op}`, fileIx, regions, refs, procs).join(', ')} },`)));
  const schedule = (scn.schedule ?? []).map((e) => scn.threads.findIndex((t) => t.name === e.thread));
  const pages = oraclePages(scn);
  const nsteps = rows.length;
  const out = [
    `// Generated by daxref oracle from ${scn.source}: ${scn.name}`,
    '#include "runtime.h"',
    '',
    `static const struct dr_file files[] = {`,
    ...scn.files.map((f) => `\t{ ${cstr(f.name)}, ${f.size}UL },`),
    '};',
    `static const struct dr_process processes[] = {`,
    ...procs.map((p) => `\t{ ${cstr(p)}, ${children.has(p) ? 0 : 1} },`),
    '};',
    `static const struct dr_thread threads[] = {`,
    ...scn.threads.map((t) => `\t{ ${cstr(t.name)}, ${procs.indexOf(t.process)} },`),
    '};',
    `static const struct dr_step steps[] = {`,
    ...rows,
    '};',
    `static const int schedule[] = { ${schedule.length ? schedule.join(', ') : '-1'} };`,
    `static const struct dr_page pages[] = {`,
    ...pages.map((p) => `\t{ ${fileIx(p.file)}, ${p.offset}UL, ${cstr(p.label)} },`),
    '};',
    `const struct dr_scenario dr_scenario = {`,
    `\t.name = ${cstr(scn.name)},`,
    `\t.files = files, .nfiles = ${files.length},`,
    `\t.processes = processes, .nprocesses = ${procs.length},`,
    `\t.threads = threads, .nthreads = ${scn.threads.length},`,
    `\t.steps = steps, .nsteps = ${nsteps},`,
    `\t.schedule = schedule, .nschedule = ${schedule.length},`,
    `\t.pages = pages, .npages = ${pages.length},`,
    `\t.nregions = ${regions.length}, .nrefs = ${refs.length},`,
    '};',
    '',
  ];
  return out.join('\n');
}

const OP_ENUM: Record<Step['op'], string> = {
  mmap: 'DR_MMAP', munmap: 'DR_MUNMAP', madvise: 'DR_MADVISE', touch: 'DR_TOUCH', gup: 'DR_GUP', unpin: 'DR_UNPIN', dma_write: 'DR_DMA_WRITE',
  fork: 'DR_FORK', exit: 'DR_EXIT', truncate: 'DR_TRUNCATE', punch_hole: 'DR_PUNCH_HOLE', unlink: 'DR_UNLINK',
  unmount: 'DR_UNMOUNT', reflink: 'DR_REFLINK', write: 'DR_WRITE', fsync: 'DR_FSYNC', remove_device: 'DR_UNSUPPORTED',
  // unsupportedReason() skips scenarios with these
  page_alloc: 'DR_UNSUPPORTED', page_get: 'DR_UNSUPPORTED', page_put: 'DR_UNSUPPORTED',
};

function stepFields(s: Step, thread: number, label: string, fileIx: (n: string) => number, regions: string[], refs: string[], procs: string[]): string[] {
  const f: string[] = [`.thread = ${thread}`, `.op = ${OP_ENUM[s.op]}`];
  const add = (k: string, v: number | string) => f.push(`.${k} = ${v}`);
  switch (s.op) {
    case 'mmap':
      add('file', fileIx(s.file!)); add('region', regions.indexOf(s.as)); add('offset', `${s.offset}UL`); add('len', `${s.len}UL`);
      add('shared', +s.shared); add('sync', +s.sync);
      break;
    case 'munmap':
    case 'madvise':
      add('region', regions.indexOf(s.at.region)); add('offset', `${s.at.offset}UL`); add('len', `${s.len}UL`);
      break;
    case 'touch':
      add('region', regions.indexOf(s.at.region)); add('offset', `${s.at.offset}UL`); add('len', `${s.len}UL`); add('write', +s.write);
      break;
    case 'gup':
      add('region', regions.indexOf(s.at.region)); add('offset', `${s.at.offset}UL`); add('len', `${Math.max(4096, s.len)}UL`);
      add('ref', refs.indexOf(s.as)); add('write', +s.write);
      add('gup', s.longterm ? 'DR_GUP_LONGTERM' : s.pin ? 'DR_GUP_PIN' : 'DR_GUP_GET');
      break;
    case 'unpin':
    case 'dma_write':
      add('ref', refs.indexOf(s.ref));
      break;
    case 'fork':
      add('process', procs.indexOf(s.child));
      break;
    case 'truncate':
      add('file', fileIx(s.file)); add('len', `${s.size}UL`);
      break;
    case 'punch_hole':
      add('file', fileIx(s.file)); add('offset', `${s.offset}UL`); add('len', `${s.len}UL`);
      break;
    case 'unlink':
      add('file', fileIx(s.file));
      break;
    case 'reflink':
      add('file', fileIx(s.src)); add('file2', fileIx(s.dst)); add('offset', `${s.offset}UL`); add('len', `${s.len}UL`); add('offset2', `${s.dst_offset}UL`);
      break;
    case 'write':
      add('file', fileIx(s.file)); add('offset', `${s.offset}UL`); add('len', `${s.len}UL`);
      break;
    case 'fsync':
      add('file', fileIx(s.file)); add('offset', `${s.offset ?? 0}UL`); add('len', `${s.len ?? 0}UL`);
      break;
    default:
      break;
  }
  f.push(`.label = ${JSON.stringify(label)}`);
  return f;
}
