// From a scenario to a Layout (what exists and where its words live) and the
// initial state. Sizes are fixed up front from the scenario's steps, so the
// state never grows during a run.
import type { Scenario, Step } from '../scenario/types.js';
import type { KernelConfig } from './versions.js';
import {
  type DeviceInfo, type FileInfo, type Layout, type ProcessInfo, type RefInfo, type RegionInfo, type ThreadInfo, type VmaInfo,
  DEV_WORDS, GLOBAL_WORDS, D_ALIVE, D_MOUNTED, D_PGMAP_LIVE, FILE_WORDS, F_ISIZE, F_NLINK, G_PAGES, PGMAP_TYPE, PMD_NR, PROC_WORDS, PUD_NR, P_ALIVE,
  DRIVER_PAGES, REC_WORDS, R_DRV, R_GEN, R_HEAD, R_ORDER, R_REF, R_USERS, State, THREAD_WORDS, VMA_HDR_WORDS,
} from './state.js';
import { idleRefs, initRefcount } from './kernel/mm/memremap.js';

const PG = 4096;
const pagesUp = (b: number) => Math.ceil(b / PG);
const VA_BASE = 0x7f0000000000;
const GIB = 1 << 30;
/** First data block of a fresh filesystem: xfs put a 4 MiB file at block 0x18 on the real kernel (REPORT.md). */
const FIRST_DATA_BLOCK = { xfs: 24, ext4: 24 };

export class LayoutError extends Error {}

export function buildLayout(scn: Scenario): Layout {
  let off = 0;
  const take = (n: number) => {
    const o = off;
    off += n;
    return o;
  };
  const steps: { step: Step; thread: string; process: string }[] = [];
  for (const t of scn.threads) for (const s of t.steps) steps.push({ step: s, thread: t.name, process: t.process });

  // ---- files: how far each can reach
  const files: FileInfo[] = scn.files.map((f, id) => {
    let max = pagesUp(f.size);
    for (const { step: s } of steps) {
      if (s.op === 'truncate' && s.file === f.name) max = Math.max(max, pagesUp(s.size));
      if (s.op === 'write' && s.file === f.name) max = Math.max(max, pagesUp(s.offset + s.len));
      if (s.op === 'reflink' && s.dst === f.name) max = Math.max(max, pagesUp(s.dst_offset + s.len));
      if (s.op === 'mmap' && s.file === f.name) max = Math.max(max, pagesUp(s.offset + s.len));
    }
    const device = scn.devices.findIndex((d) => d.name === f.device);
    return { id, name: f.name, device, initialSize: f.size, alignPages: f.align ? Math.max(1, f.align / PG) : 0, maxPages: max, off: 0, extOff: 0, xaOff: 0 };
  });

  // ---- devices and their page records
  let recs = 0;
  const devices: DeviceInfo[] = scn.devices.map((d, id) => {
    const pages = Math.floor(d.size / PG);
    const fs = d.fs ?? 'xfs';
    const dev: DeviceInfo = {
      id, name: d.name, type: d.type, pgmap: PGMAP_TYPE[d.type], fs, pages,
      alignPages: d.type === 'devdax' ? Math.max(1, (d.align ?? 2 << 20) / PG) : 1, recBase: recs, nrecs: 0, off: 0, firstDataBlock: FIRST_DATA_BLOCK[fs],
    };
    if (d.type === 'fsdax') {
      // blocks up to the last file placement, plus room to allocate every file page once more
      let end = dev.firstDataBlock;
      let spare = 8;
      for (const f of files.filter((x) => x.device === id)) {
        end = placeFile(f, dev, end).end;
        // a file that can hold a 2 MiB extent may get one aligned (allocPmdExtent): room to align it
        spare += f.maxPages + (f.maxPages >= PMD_NR ? PMD_NR : 0);
      }
      dev.nrecs = Math.min(pages, end + spare);
      if (end > pages) throw new LayoutError(`device ${d.name} (${pages} pages) is too small for its files (${end} blocks needed)`);
    } else if (d.type !== 'devdax') {
      // order-0 pages; records for the first DRIVER_PAGES (the scenario checker keeps named pfns below it)
      dev.nrecs = Math.min(pages, DRIVER_PAGES);
      for (const { step: s } of steps) if (s.op === 'mmap' && s.device === d.name && pagesUp(s.len) > dev.nrecs) throw new LayoutError(`a mapping of ${d.name} needs more than its ${dev.nrecs} modelled pages`);
    } else {
      let maxEnd = 0;
      for (const { step: s } of steps) if (s.op === 'mmap' && s.device === d.name) maxEnd = Math.max(maxEnd, pagesUp(s.offset + s.len));
      if (maxEnd > pages) throw new LayoutError(`a mapping of ${d.name} reaches past its end`);
      // records for the mapped range, and for the rest of a small device so its pages can be named
      dev.nrecs = Math.max(Math.ceil(maxEnd / dev.alignPages), Math.min(Math.floor(pages / dev.alignPages), 512));
    }
    recs += dev.nrecs;
    return dev;
  });

  // ---- regions (one per mmap)
  const regions: RegionInfo[] = [];
  let va = VA_BASE;
  for (const { step: s } of steps) {
    if (s.op !== 'mmap') continue;
    const npages = pagesUp(s.len);
    const kind = s.file ? 'file' : 'device';
    const target = kind === 'file' ? files.findIndex((f) => f.name === s.file) : devices.findIndex((d) => d.name === s.device);
    const dev = kind === 'device' ? devices[target] : undefined;
    const r: RegionInfo = {
      id: regions.length, name: s.as, kind, target, pgoff: s.offset / PG, npages, shared: s.shared, sync: s.sync, base: va,
      unitPages: dev ? dev.alignPages : 1,
      hasPte: !dev || dev.alignPages === 1,
      hasPmd: !dev || dev.alignPages <= PMD_NR,
      hasPud: !!dev && dev.alignPages === PUD_NR,
    };
    regions.push(r);
    va += Math.ceil((npages * PG) / GIB) * GIB || GIB;
  }

  // ---- processes: initial ones, then fork children inheriting their parent's regions
  const procNames: string[] = [];
  const children = new Map<string, string>(); // child -> parent
  for (const { step: s, process } of steps) if (s.op === 'fork') children.set(s.child, process);
  for (const t of scn.threads) if (!procNames.includes(t.process)) procNames.push(t.process);
  for (const c of children.keys()) if (!procNames.includes(c)) procNames.push(c);
  const possible = new Map<string, Set<number>>(procNames.map((p) => [p, new Set<number>()]));
  for (const { step: s, process } of steps) if (s.op === 'mmap') possible.get(process)!.add(regions.find((r) => r.name === s.as)!.id);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [c, p] of children) for (const r of possible.get(p)!) if (!possible.get(c)!.has(r)) (possible.get(c)!.add(r), (changed = true));
  }
  const processes: ProcessInfo[] = procNames.map((name, id) => ({ id, name, initiallyAlive: !children.has(name), off: 0, vmas: regions.map(() => -1) }));
  const vmas: VmaInfo[] = [];
  for (const p of processes)
    for (const r of [...possible.get(p.name)!].sort((a, b) => a - b)) {
      p.vmas[r] = vmas.length;
      vmas.push({ id: vmas.length, process: p.id, region: r, off: 0, coverOff: 0, pteOff: 0, pmdOff: 0, pudOff: 0 });
    }

  const fileIdOf = (name: string) => files.findIndex((f) => f.name === name);
  const threads: ThreadInfo[] = scn.threads.map((t, id) => ({ id, name: t.name, process: procNames.indexOf(t.process), off: 0, opFiles: t.steps.map((s) => openedFiles(s).map(fileIdOf)), opFault: t.steps.map(() => null) }));
  const refs: RefInfo[] = [];
  for (const { step: s } of steps) if (s.op === 'gup') refs.push({ id: refs.length, name: s.as, maxPages: pagesUp(s.len), off: 0 });

  // ---- word offsets
  const regionStateOff = take(regions.length);
  for (const d of devices) d.off = take(DEV_WORDS);
  for (const f of files) {
    f.off = take(FILE_WORDS);
    f.extOff = take(f.maxPages);
    f.xaOff = take(f.maxPages);
  }
  for (const p of processes) p.off = take(PROC_WORDS);
  for (const v of vmas) {
    const R = regions[v.region];
    v.off = take(VMA_HDR_WORDS);
    v.coverOff = take(Math.ceil(R.npages / R.unitPages));
    v.pteOff = take(R.hasPte ? R.npages : 0);
    v.pmdOff = take(R.hasPmd ? Math.ceil(R.npages / PMD_NR) : 0);
    v.pudOff = take(R.hasPud ? Math.ceil(R.npages / PUD_NR) : 0);
  }
  for (const t of threads) t.off = take(THREAD_WORDS);
  for (const g of refs) g.off = take(G_PAGES + 2 * g.maxPages);
  const recOff = take(recs * REC_WORDS);
  const globalOff = take(GLOBAL_WORDS);

  const recDevice = new Int32Array(recs);
  const recPfn = new Float64Array(recs);
  for (const d of devices)
    for (let j = 0; j < d.nrecs; j++) {
      recDevice[d.recBase + j] = d.id;
      recPfn[d.recBase + j] = j * d.alignPages;
    }
  return { devices, files, regions, vmas, processes, refs, threads, regionStateOff, recOff, nrecs: recs, recDevice, recPfn, globalOff, words: off };
}

/** Where a file's first extent starts: after `from`, aligned as asked (ext4 aligns files of 2 MiB or more). */
function placeFile(f: FileInfo, d: DeviceInfo, from: number): { start: number; end: number } {
  const pages = pagesUp(f.initialSize);
  const align = f.alignPages || (d.fs === 'ext4' && pages >= PMD_NR ? PMD_NR : 1);
  const start = Math.ceil(from / align) * align;
  return { start, end: start + pages };
}

/** The state before the first step, on a given kernel (the initial refcounts differ by scheme). */
export function initialState(L: Layout, cfg: KernelConfig): State {
  const s = State.empty(L);
  const m = s.m;
  for (const d of L.devices) {
    m[d.off + D_PGMAP_LIVE] = 1;
    m[d.off + D_ALIVE] = 1;
    m[d.off + D_MOUNTED] = d.type === 'fsdax' ? 1 : 0;
    const order = Math.log2(d.alignPages);
    for (let j = 0; j < d.nrecs; j++) {
      const o = L.recOff + (d.recBase + j) * REC_WORDS;
      m[o + R_HEAD] = d.recBase + j;
      m[o + R_ORDER] = d.type === 'devdax' ? order : 0;
      m[o + R_REF] = initRefcount(d.pgmap, cfg.scheme);
      m[o + R_DRV] = m[o + R_REF] - idleRefs(d.pgmap, cfg.scheme);
    }
  }
  const next = new Map<number, number>();
  for (const f of L.files) {
    const d = L.devices[f.device];
    const { start } = placeFile(f, d, next.get(d.id) ?? d.firstDataBlock);
    const pages = pagesUp(f.initialSize);
    next.set(d.id, start + pages);
    m[f.off + F_NLINK] = 1;
    m[f.off + F_ISIZE] = f.initialSize;
    for (let i = 0; i < pages; i++) {
      const r = d.recBase + start + i;
      m[f.extOff + i] = r + 1;
      m[L.recOff + r * REC_WORDS + R_USERS] = 1;
      m[L.recOff + r * REC_WORDS + R_GEN] = 1;
    }
  }
  for (const p of L.processes) m[p.off + P_ALIVE] = p.initiallyAlive ? 1 : 0;
  return s;
}

/** The files a step's system call holds open (fd or path) while it runs: mmap's file until the VMA holds it, and the file operations. */
export function openedFiles(s: Step): string[] {
  switch (s.op) {
    case 'mmap':
      return s.file ? [s.file] : [];
    case 'truncate':
    case 'punch_hole':
    case 'fsync':
    case 'write':
    case 'unlink':
      return [s.file];
    case 'reflink':
      return s.src === s.dst ? [s.src] : [s.src, s.dst];
    default:
      return [];
  }
}
