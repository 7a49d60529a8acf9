// Scenario operations -> kernel programs. Each step of each thread becomes one
// Program; its first action waits for what the step names (a region or a GUP
// reference made by another thread) and skips the step if its maker failed.
import type { Scenario, Step } from '../scenario/types.js';
import type { Kernel } from './kernel.js';
import { BLOCKED, Builder, Label, NEXT, Program, fail } from './program.js';
import { type Layout, G_FAILED, G_GRABBING, G_HELD, G_NONE, G_N, G_PAGES, G_STATE, G_RELEASED, RG_FAILED, RG_NONE, R_GEN, R_USERS, pageSpan } from './state.js';
import { SIGSEGV, EINVAL, EFAULT, ENOMEM } from './errno.js';
import { emitMmap, emitMunmap, emitFork, emitExit, type Orphan, type Orphans } from './kernel/mm/mmap.js';
import { emitHandleMmFault } from './kernel/mm/fault.js';
import { emitMadviseDontneed } from './kernel/mm/madvise.js';
import { emitGup, releaseRef } from './kernel/mm/gup.js';
import { emitTruncate, emitPunchHole, emitUnlink, emitUnmount, emitWrite, emitReflink, emitRemoveDevice, emitEvict, emitLookup, firstEvictable, evictable } from './kernel/fs/xfs.js';
import { emitWriteback } from './kernel/fs/dax.js';
import { emitLogForce } from './kernel/fs/dax_sync.js';
import { emitMemunmapPages } from './kernel/mm/memremap.js';
import { emitP2pdmaUnmapMappings } from './kernel/drivers/p2pdma.js';
import { devPage, emitDriverPageOp } from './kernel/drivers/zone_device.js';

const PG = 4096;

export function buildPrograms(scn: Scenario, L: Layout): Program[][] {
  return scn.threads.map((ts, t) => ts.steps.map((s, i) => buildStep(scn, L, t, i, s, `${ts.name}.${i + 1} ${s.op}`)));
}

/**
 * The filesystem a step's kernel path runs in: that of the file it names (or
 * maps, or evicts through its region); else the one filesystem of the
 * scenario's FS-DAX devices; else xfs.
 */
function fsOfStep(L: Layout, s: Step): 'xfs' | 'ext4' {
  const ofFile = (name: string) => L.devices[L.files.find((f) => f.name === name)!.device].fs;
  const ofRegion = (name: string) => {
    const R = L.regions.find((r) => r.name === name);
    return R && R.kind === 'file' ? L.devices[L.files[R.target].device].fs : undefined;
  };
  let fs: 'xfs' | 'ext4' | undefined;
  if ('file' in s && typeof s.file === 'string') fs = ofFile(s.file);
  else if (s.op === 'reflink') fs = ofFile(s.dst);
  else if (s.op === 'touch' || s.op === 'gup' || s.op === 'munmap' || s.op === 'madvise') fs = ofRegion(s.at.region);
  if (fs) return fs;
  const all = new Set(L.devices.filter((d) => d.type === 'fsdax').map((d) => d.fs));
  return all.size === 1 ? [...all][0] : 'xfs';
}

/**
 * What an exit leaves undone, for the steps that wait on it: per other thread of the
 * process and per step of it, the regions and references the step would create and the
 * threads of a process it would fork (with all that those would create). exit_group
 * kills the threads, so those regions and references never come (their waiters skip, as
 * for a failed mmap or GUP) and those processes never start.
 */
function orphansOfExit(scn: Scenario, L: Layout, t: number): Orphans {
  const proc = L.threads[t].process;
  const addStep = (step: Step, into: Orphan) => {
    if (step.op === 'mmap') into.regions.push(regionId(L, step.as));
    if (step.op === 'gup') into.refs.push(refOf(L, step.as).off);
    if (step.op === 'fork') {
      const child = L.processes.findIndex((p) => p.name === step.child);
      for (const T of L.threads) {
        if (T.process !== child) continue;
        into.threads.push(T.id);
        for (const x of scn.threads[T.id].steps) addStep(x, into);
      }
    }
  };
  return L.threads
    .filter((T) => T.id !== t && T.process === proc)
    .map((T) => ({
      thread: T.id,
      made: scn.threads[T.id].steps.map((step) => {
        const o: Orphan = { regions: [], refs: [], threads: [] };
        addStep(step, o);
        return o;
      }),
    }));
}

function regionId(L: Layout, name: string): number {
  return L.regions.find((r) => r.name === name)!.id;
}
function refOf(L: Layout, name: string) {
  return L.refs.find((g) => g.name === name)!;
}
const fileId = (L: Layout, name: string) => L.files.find((f) => f.name === name)!.id;
const devId = (L: Layout, name: string) => L.devices.find((d) => d.name === name)!.id;

function buildStep(scn: Scenario, L: Layout, t: number, index: number, s: Step, name: string): Program {
  const b = new Builder(name);
  b.fs = fsOfStep(L, s);
  // a region or reference this thread made in an earlier step: only this thread set its state word
  const earlier = scn.threads[t].steps.slice(0, index);
  const mine = (op: 'mmap' | 'gup', as: string) => earlier.some((e) => e.op === op && 'as' in e && e.as === as);
  const proc = L.threads[t].process;
  const vmaFor = (region: string) => {
    const r = regionId(L, region);
    const vid = L.processes[proc].vmas[r];
    return { r, v: vid >= 0 ? L.vmas[vid] : null };
  };
  /** Wait until region r was mmapped; skip the step if that failed (`skipped` says so to the step's dependents). */
  const needRegion = (r: number, skipped?: (k: Kernel) => void) =>
    b[mine('mmap', L.regions[r].name) ? 'localStep' : 'step']('(scenario)', `wait for region ${L.regions[r].name}`, (k) => {
      const st = k.m[k.L.regionStateOff + r];
      if (st === RG_NONE) return BLOCKED;
      if (st === RG_FAILED) {
        skipped?.(k);
        return b.end.pc;
      }
      return NEXT;
    });
  const needRef = (g: ReturnType<typeof refOf>) =>
    b[mine('gup', g.name) ? 'localStep' : 'step']('(scenario)', `wait for reference ${g.name}`, (k) => {
      const st = k.m[g.off + G_STATE];
      if (st === G_NONE || st === G_GRABBING) return BLOCKED;
      if (st === G_FAILED) return b.end.pc;
      return NEXT;
    });

  // a system call on a file looks it up first and holds it open until it returns; where nothing in
  // the scenario unlinks the file or unmounts its filesystem, the lookup cannot fail and no one asks
  // whether the file is held open, so it is a local step
  const opened = L.threads[t].opFiles[index];
  const mayGo = (f: number) =>
    scn.threads.some((th) => th.steps.some((x) => (x.op === 'unlink' && fileId(L, x.file) === f) || (x.op === 'unmount' && devId(L, x.device) === L.files[f].device)));
  // a failed mmap tells the steps that wait for its region
  const mmapFailed = s.op === 'mmap' ? (k: Kernel) => k.set(k.L.regionStateOff + regionId(L, s.as), RG_FAILED) : undefined;
  for (const f of opened) emitLookup(b, f, !mayGo(f), mmapFailed);
  b.scope(buildOp);
  // the call's own reference is the last one on an unlinked, unmapped file: its iput evicts it (unlink evicts in
  // emitUnlink), on success or failure alike
  if (s.op !== 'unlink' && s.op !== 'mmap' && opened.some(mayGo)) {
    b.markEnd();
    emitEvict(b, (k, t2) => opened.find((f) => evictable(k, f, t2)) ?? -1);
  }
  return b.build();

  function buildOp(): void {
    switch (s.op) {
      case 'mmap': {
        const { v } = vmaFor(s.as);
        emitMmap(b, v!);
        break;
      }
      case 'munmap': {
        const { r, v } = vmaFor(s.at.region);
        needRegion(r);
        if (!v) b.step('do_vmi_munmap', 'no such mapping in this process', () => NEXT);
        else emitMunmap(b, v, s.at.offset / PG, Math.ceil(s.len / PG));
        const R = L.regions[r];
        if (R.kind === 'file') emitEvict(b, (k, t2) => (evictable(k, R.target, t2) ? R.target : -1));
        break;
      }
      case 'madvise': {
        const { r, v } = vmaFor(s.at.region);
        needRegion(r);
        if (!v) b.step('do_madvise', 'no such mapping in this process', (k, t2) => fail(k, t2, ENOMEM, b.end));
        else emitMadviseDontneed(b, v, s.at.offset / PG, Math.ceil(s.len / PG));
        break;
      }
      case 'touch': {
        const { r, v } = vmaFor(s.at.region);
        needRegion(r);
        if (!v) {
          b.step('handle_mm_fault', 'address not mapped in this process', (k, t2) => fail(k, t2, SIGSEGV, b.end));
          break;
        }
        const P = b.local();
        const { first: p0, n } = pageSpan(s.at.offset, s.len);
        const loop = new Label();
        const next = new Label();
        b.localStep('(scenario)', 'touch: first page', (k, t2) => {
          k.set(k.L.threads[t2].off + P, p0);
          return NEXT;
        });
        b.mark(loop);
        emitHandleMmFault(b, { v, pLocal: P, write: s.write, done: next, err: b.end, fileBacked: L.regions[r].kind === 'file' });
        b.mark(next);
        // between the first step of a fault and `next` the thread is inside the fault, under the VMA's read lock
        L.threads[t].opFault[index] = { region: r, lo: loop.pc, hi: next.pc };
        b.localStep('(scenario)', 'touch: next page', (k, t2) => {
          const o = k.L.threads[t2].off + P;
          k.add(o, 1);
          return k.m[o] < p0 + n ? loop.pc : NEXT;
        });
        break;
      }
      case 'gup': {
        const { r, v } = vmaFor(s.at.region);
        const ref = refOf(L, s.as);
        // no region, no reference: whoever waits for it (a DMA, an unpin) is skipped too
        needRegion(r, (k) => void (k.set(ref.off + G_STATE, G_FAILED)));
        if (!v) {
          b.step('get_user_pages', 'address not mapped in this process', (k, t2) => {
            k.set(ref.off + G_STATE, G_FAILED);
            return fail(k, t2, EFAULT, b.end);
          });
          break;
        }
        const { first: p0, n } = pageSpan(s.at.offset, s.len);
        emitGup(b, { v, p0, n, ref, pin: s.pin, longterm: s.longterm, fast: s.fast, write: s.write, fileBacked: L.regions[r].kind === 'file' });
        break;
      }
      case 'unpin': {
        const g = refOf(L, s.ref);
        needRef(g);
        b.step(g.name && 'unpin_user_pages', `release ${g.name}`, (k, t2) => {
          if (k.m[g.off + G_STATE] !== G_HELD) return fail(k, t2, EINVAL, b.end);
          releaseRef(k, g, k.m[g.off + 2] & 1 ? 'unpin_user_page' : 'put_page');
          k.set(g.off + G_STATE, G_RELEASED);
          return NEXT;
        });
        break;
      }
      case 'dma_write': {
        const g = refOf(L, s.ref);
        needRef(g);
        b.step('(device)', `DMA write through ${g.name}`, (k, t2) => dmaWrite(k, t2, g, b.end));
        break;
      }
      case 'fork': {
        const child = L.processes.findIndex((p) => p.name === s.child);
        emitFork(b, proc, child);
        break;
      }
      case 'exit':
        emitExit(b, proc, orphansOfExit(scn, L, t));
        emitEvict(b, (k, t2) => firstEvictable(k, t2));
        break;
      case 'truncate':
        // xfs zeroes the rest of the block at the new EOF (or from an old EOF inside a block, on a grow)
        emitTruncate(b, fileId(L, s.file), s.size, b.fs === 'xfs' && (s.size % PG !== 0 || unalignedSizes(scn, s.file)));
        break;
      case 'punch_hole':
        // fs/open.c vfs_fallocate: offset < 0 || len <= 0 is -EINVAL before the filesystem sees it
        if (s.len === 0) b.step('vfs_fallocate', 'len <= 0: -EINVAL', (k, t) => fail(k, t, EINVAL, b.end));
        else emitPunchHole(b, fileId(L, s.file), s.offset, s.len);
        break;
      case 'unlink':
        emitUnlink(b, fileId(L, s.file));
        break;
      case 'unmount':
        emitUnmount(b, devId(L, s.device));
        break;
      case 'reflink':
        emitReflink(b, fileId(L, s.src), fileId(L, s.dst), s.offset, s.len, s.dst_offset, unalignedSizes(scn, s.dst));
        break;
      case 'write':
        emitWrite(b, fileId(L, s.file), s.offset, s.len, b.fs === 'xfs' && unalignedSizes(scn, s.file));
        break;
      case 'fsync':
        if (s.len === undefined) {
          // fsync(2): xfs_file_fsync / ext4_sync_file write back the whole file, then force the log
          emitWriteback(b, fileId(L, s.file));
          emitLogForce(b, fileId(L, s.file));
        } else {
          // sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER): filemap_fdatawrite_range over the
          // range only (WB_SYNC_ALL), no ->fsync and so no log force
          const { first, n } = pageSpan(s.offset ?? 0, s.len);
          emitWriteback(b, fileId(L, s.file), { first, end: first + n });
        }
        break;
      case 'remove_device': {
        const d = devId(L, s.device);
        const type = L.devices[d].type;
        if (type === 'fsdax' || type === 'devdax') emitRemoveDevice(b, d);
        else emitMemunmapPages(b, d, type === 'p2pdma' ? (bb) => emitP2pdmaUnmapMappings(bb, d) : undefined);
        break;
      }
      case 'page_alloc':
      case 'page_get':
      case 'page_put':
        emitDriverPageOp(b, s.op, devPage(L, s.page));
        break;
    }
  }
}

/** Can file `name` ever have a size that ends inside a block (its initial size, a write, a reflink or a truncate)? */
function unalignedSizes(scn: Scenario, name: string): boolean {
  if (scn.files.some((f) => f.name === name && f.size % PG !== 0)) return true;
  return scn.threads.some((th) =>
    th.steps.some(
      (x) =>
        (x.op === 'write' && x.file === name && (x.offset + x.len) % PG !== 0) ||
        (x.op === 'reflink' && x.dst === name && (x.dst_offset + x.len) % PG !== 0) ||
        (x.op === 'truncate' && x.file === name && x.size % PG !== 0),
    ),
  );
}

/** A device writes through every page of a held reference: the block must still be the one that was pinned (N9). */
function dmaWrite(k: Kernel, t: number, g: ReturnType<typeof refOf>, end: Label): number {
  if (k.m[g.off + G_STATE] !== G_HELD) return fail(k, t, EINVAL, end);
  const n = k.m[g.off + G_N];
  for (let j = 0; j < n; j++) {
    const r = k.m[g.off + G_PAGES + 2 * j] - 1;
    const gen = k.m[g.off + G_PAGES + 2 * j + 1];
    const d = k.L.devices[k.L.recDevice[r]];
    if (d.type !== 'fsdax') continue;
    if (k.m[k.r(r) + R_USERS] === 0 || k.m[k.r(r) + R_GEN] !== gen)
      k.warn('block-reuse-under-dma', '(device)', `DMA through ${g.name} wrote block ${k.L.recPfn[r]} of ${d.name}, which the filesystem has ${k.m[k.r(r) + R_USERS] ? 'reallocated' : 'freed'}`);
  }
  k.note('(device)', `DMA write through ${g.name}: ${n} page(s)`);
  return NEXT;
}
