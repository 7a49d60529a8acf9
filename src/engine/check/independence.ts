// Static independence for partial-order reduction. Every operation of a
// scenario gets the set of objects its kernel path can touch: a process's mm,
// a DAX entry (with the page behind it), a file's locks and counters, a block
// allocator, a GUP reference. Steps of different threads whose operations touch
// disjoint objects commute and cannot enable or disable each other, so the
// checker may run one of them alone (an ample set of one thread).
//
// Objects are read/write ("exclusive") or commutative counters ("shared": two
// increments of mapping->nrpages, two readers of the invalidate lock, two
// get_dev_pagemap calls commute; a reader of the count does not). The sets are
// conservative: fork, exit, unmount and device removal touch everything.
import type { Scenario, Step } from '../../scenario/types.js';
import type { Layout } from '../../model/state.js';
import { PMD_NR, pageSpan } from '../../model/state.js';


export interface Footprint {
  all: boolean; // conflicts with everything
  excl: Uint32Array; // bitset of objects read or written
  shared: Uint32Array; // bitset of commutative counters updated
}

export class Independence {
  /** ops[t][i]: footprint of thread t's operation i. */
  readonly ops: Footprint[][];
  /** rest[t][i]: union of thread t's operations i..end (what the thread may still touch). */
  readonly rest: Footprint[][];
  readonly objects: string[] = [];

  constructor(scn: Scenario, L: Layout) {
    const ids = new Map<string, number>();
    const id = (name: string) => {
      let i = ids.get(name);
      if (i === undefined) {
        i = this.objects.length;
        ids.set(name, i);
        this.objects.push(name);
      }
      return i;
    };
    const raw = scn.threads.map((ts, t) => ts.steps.map((s) => footprintOf(scn, L, t, s)));
    // intern object names, then size the bitsets
    for (const th of raw) for (const f of th) { f.excl.forEach(id); f.shared.forEach(id); }
    const words = Math.max(1, Math.ceil(this.objects.length / 32));
    const toBits = (names: Set<string>) => {
      const b = new Uint32Array(words);
      for (const n of names) { const i = id(n); b[i >>> 5] |= 1 << (i & 31); }
      return b;
    };
    this.ops = raw.map((th) => th.map((f) => ({ all: f.all, excl: toBits(f.excl), shared: toBits(f.shared) })));
    this.rest = this.ops.map((th) => {
      const out: Footprint[] = new Array(th.length + 1);
      out[th.length] = { all: false, excl: new Uint32Array(words), shared: new Uint32Array(words) };
      for (let i = th.length - 1; i >= 0; i--) {
        const n = out[i + 1];
        const f = th[i];
        const excl = new Uint32Array(words);
        const shared = new Uint32Array(words);
        for (let w = 0; w < words; w++) { excl[w] = n.excl[w] | f.excl[w]; shared[w] = n.shared[w] | f.shared[w]; }
        out[i] = { all: n.all || f.all, excl, shared };
      }
      return out;
    });
  }

  /** Can two footprints touch the same object in a way that does not commute? */
  static conflict(a: Footprint, b: Footprint): boolean {
    if (a.all || b.all) return true;
    for (let w = 0; w < a.excl.length; w++) if ((a.excl[w] & (b.excl[w] | b.shared[w])) | (b.excl[w] & a.shared[w])) return true;
    return false;
  }
}

interface RawFootprint { all: boolean; excl: Set<string>; shared: Set<string> }

function footprintOf(scn: Scenario, L: Layout, t: number, s: Step): RawFootprint {
  const f: RawFootprint = { all: false, excl: new Set(), shared: new Set() };
  const X = (n: string) => f.excl.add(n);
  const S = (n: string) => f.shared.add(n);
  const T = L.threads[t];
  const P = L.processes[T.process].name;
  // every step of a thread reads whether its process exists (fork and exit change that)
  S(`proc:${P}`);
  const fileOf = (name: string) => L.files.find((x) => x.name === name)!;
  const mayAllocate = (file: string) => allocates(scn, file);
  // a PMD-sized DAX entry needs a mapping that covers an aligned 2 MiB range of a file that can hold one
  const grain = (file: string) =>
    L.regions.some((r) => r.kind === 'file' && L.files[r.target].name === file && r.hasPmd && r.npages >= PMD_NR && L.files[r.target].maxPages >= PMD_NR) ? PMD_NR : 1;
  const entries = (file: string, first: number, n: number) => {
    const g = grain(file);
    for (let i = Math.floor(first / g); i <= Math.floor((first + n - 1) / g); i++) X(`xa:${aliasOf(scn, file)}:${i}`);
  };
  const fileWide = (file: string) => {
    const F = fileOf(file);
    const a = aliasOf(scn, file);
    const g = grain(file);
    for (let i = 0; i <= Math.floor((F.maxPages - 1) / g); i++) X(`xa:${a}:${i}`);
    for (const w of ['nrpages', 'inval', 'dirty', 'mapped', 'iolock']) X(`${w}:${a}`);
    X(`alloc:${L.devices[F.device].name}`);
    for (const p of L.processes) if (mapsFile(scn, L, p.name, file)) X(`mm:${p.name}`);
  };
  /** The pages a region range reaches: DAX entries of its file, or device-DAX units. */
  const pages = (region: string, off: number, len: number, write: boolean) => {
    const R = L.regions.find((r) => r.name === region)!;
    S(`region:${region}`);
    const span = pageSpan(off, len);
    const first = R.pgoff + span.first;
    const n = span.n;
    if (R.kind === 'device') {
      const D = L.devices[R.target];
      for (let u = Math.floor(first / D.alignPages); u <= Math.floor((first + n - 1) / D.alignPages); u++) X(`dev:${D.name}:${u}`);
      S(`pgmap:${D.name}`);
      return;
    }
    const F = L.files[R.target];
    entries(F.name, first, n);
    S(`nrpages:${aliasOf(scn, F.name)}`);
    S(`inval:${aliasOf(scn, F.name)}`);
    S(`pgmap:${L.devices[F.device].name}`);
    if (write) {
      S(`dirty:${aliasOf(scn, F.name)}`);
      if (mayAllocate(F.name)) X(`alloc:${L.devices[F.device].name}`);
    }
  };
  switch (s.op) {
    case 'mmap': {
      X(`mm:${P}`);
      X(`region:${s.as}`);
      if (s.file) S(`mapped:${aliasOf(scn, s.file)}`);
      break;
    }
    case 'munmap': {
      X(`mm:${P}`);
      const R = L.regions.find((r) => r.name === s.at.region)!;
      pages(s.at.region, s.at.offset, s.len, false);
      if (R.kind === 'file') {
        const F = L.files[R.target].name;
        S(`mapped:${aliasOf(scn, F)}`);
        if (unlinked(scn, F)) fileWide(F); // the last munmap evicts an unlinked file
      }
      break;
    }
    case 'madvise': // a zap: drops mapping references and mapcounts of the pages in the range
      X(`mm:${P}`);
      pages(s.at.region, s.at.offset, s.len, false);
      break;
    case 'touch':
      X(`mm:${P}`);
      pages(s.at.region, s.at.offset, s.len, s.write);
      break;
    case 'gup':
      X(`mm:${P}`);
      X(`ref:${s.as}`);
      pages(s.at.region, s.at.offset, s.len, s.write);
      break;
    case 'unpin':
    case 'dma_write': {
      X(`ref:${s.ref}`);
      const g = gupOf(scn, s.ref);
      if (g) pages(g.at.region, g.at.offset, g.len, false);
      break;
    }
    case 'truncate':
    case 'unlink':
    case 'fsync':
      fileWide(s.file);
      break;
    case 'punch_hole':
    case 'write':
      fileWide(s.file);
      break;
    case 'reflink':
      fileWide(s.src);
      fileWide(s.dst);
      break;
    default: // fork, exit, unmount, remove_device
      f.all = true;
  }
  return f;
}

/** Files linked by reflink share blocks (and so pages): treat them as one object family. */
function aliasOf(scn: Scenario, file: string): string {
  const group = new Set([file]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of scn.threads)
      for (const s of t.steps)
        if (s.op === 'reflink' && (group.has(s.src) || group.has(s.dst)) && !(group.has(s.src) && group.has(s.dst))) {
          group.add(s.src);
          group.add(s.dst);
          changed = true;
        }
  }
  return [...group].sort()[0];
}

/** Can a write fault on this file allocate a block (a hole inside EOF, or a shared extent to copy)? */
function allocates(scn: Scenario, file: string): boolean {
  const a = aliasOf(scn, file);
  return scn.threads.some((t) =>
    t.steps.some(
      (s) =>
        (s.op === 'truncate' && aliasOf(scn, s.file) === a && s.size > 0) ||
        ((s.op === 'punch_hole' || s.op === 'write') && aliasOf(scn, s.file) === a) ||
        (s.op === 'reflink' && aliasOf(scn, s.src) === a),
    ),
  );
}

function unlinked(scn: Scenario, file: string): boolean {
  return scn.threads.some((t) => t.steps.some((s) => s.op === 'unlink' && s.file === file));
}

function gupOf(scn: Scenario, ref: string) {
  for (const t of scn.threads) for (const s of t.steps) if (s.op === 'gup' && s.as === ref) return s;
  return undefined;
}

/** Can process `proc` map `file` (its own mmaps, or inherited through fork)? */
function mapsFile(scn: Scenario, L: Layout, proc: string, file: string): boolean {
  const own = (p: string) => scn.threads.some((t) => t.process === p && t.steps.some((s) => s.op === 'mmap' && s.file === file));
  if (own(proc)) return true;
  // a forked child inherits its parent's mappings
  for (const t of scn.threads) for (const s of t.steps) if (s.op === 'fork' && s.child === proc && mapsFile(scn, L, t.process, file)) return true;
  return false;
}
