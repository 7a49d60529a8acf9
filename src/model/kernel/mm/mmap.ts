// mm/mmap.c, mm/vma.c, kernel/fork.c, kernel/exit.c: creating and tearing
// down VMAs. A VMA here is one region as one process sees it; munmap may punch
// holes in it (a split VMA in the kernel).
import type { Kernel } from '../../kernel.js';
import { BLOCKED, Builder, NEXT, fail } from '../../program.js';
import {
  type VmaInfo, D_ALIVE, E_PRESENT, E_TABLE, F_MAPPED, G_FAILED, G_NONE, G_STATE, P_ALIVE, PMD_NR, RG_FAILED, RG_MADE, RG_NONE, S_DONE, T_OP, T_PC, T_STATUS, V_ANON_VMA, V_PRESENT, inOperation,
} from '../../state.js';
import { EINVAL, ENXIO, EOPNOTSUPP } from '../../errno.js';
import { mmap_write_lock, mmap_write_unlock } from '../fs/locks.js';
import { zap_range } from './unmap.js';
import { copy_present_pte, vma_needs_copy } from './memory.js';
import { copy_huge_pmd } from './huge_memory.js';
import { pmdAt } from './pgtable.js';
import { p2pmem_alloc_mmap } from '../drivers/p2pdma.js';

function units(k: Kernel, v: VmaInfo): number {
  const R = k.L.regions[v.region];
  return Math.ceil(R.npages / R.unitPages);
}

function dropVma(k: Kernel, v: VmaInfo): void {
  const R = k.L.regions[v.region];
  zap_range(k, v, 0, R.npages, true, 'unmap_vmas');
  k.set(v.off + V_PRESENT, 0);
  k.set(v.off + V_ANON_VMA, 0);
  for (let u = 0; u < units(k, v); u++) k.set(v.coverOff + u, 0);
  if (R.hasPmd) for (let c = 0; c < Math.ceil(R.npages / PMD_NR); c++) k.set(v.pmdOff + c, 0); // free_pgtables
  if (R.kind === 'file') k.add(k.L.files[R.target].off + F_MAPPED, -1); // fput(vm_file)
}

/** mmap(2): do_mmap -> the file's ->mmap (xfs_file_mmap, or dax_mmap + check_vma for device-DAX). */
export function emitMmap(b: Builder, v: VmaInfo): void {
  b.step('do_mmap', 'mmap_write_lock, create the VMA', (k, t) => {
    const R = k.L.regions[v.region];
    if (!mmap_write_lock(k, v.process, t)) return BLOCKED;
    const failWith = (e: number) => {
      mmap_write_unlock(k, v.process);
      k.set(k.L.regionStateOff + R.id, RG_FAILED);
      return fail(k, t, e, b.end);
    };
    if (R.kind === 'device' && k.L.devices[R.target].type === 'p2pdma') {
      if (R.sync) return failWith(EOPNOTSUPP); // MAP_SHARED_VALIDATE: the sysfs file has no mmap_supported_flags
      const e = p2pmem_alloc_mmap(k, v);
      if (e) return failWith(e);
    } else if (R.kind === 'device') {
      const D = k.L.devices[R.target];
      if (!k.m[D.off + D_ALIVE]) return failWith(ENXIO);
      if (!R.shared) return failWith(EINVAL); // check_vma: device-DAX must be shared
      if (R.npages % D.alignPages || R.pgoff % D.alignPages) return failWith(EINVAL); // check_vma: alignment
    } else {
      const F = k.L.files[R.target];
      // (an unlinked file or an unmounted filesystem failed the lookup before: emitLookup)
      k.add(F.off + F_MAPPED, 1);
    }
    k.set(v.off + V_PRESENT, 1);
    for (let u = 0; u < units(k, v); u++) k.set(v.coverOff + u, 1);
    k.set(k.L.regionStateOff + R.id, RG_MADE);
    mmap_write_unlock(k, v.process);
    k.note('do_mmap', `${R.name}: ${R.npages} page(s) at 0x${R.base.toString(16)}, ${R.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}`);
    return NEXT;
  });
}

/**
 * A user page fault holds its VMA's read lock (lock_vma_under_rcu, or mmap_read_lock
 * in lock_mm_and_find_vma; arch/x86/mm/fault.c) from the page-table walk to its end,
 * waits included. munmap, fork and exit_mmap write-lock the VMAs they change
 * (vma_start_write waits for readers), so none of them runs in the middle of a fault
 * of the process on such a VMA (region -1: any). exit_mmap, in the kernel, even waits
 * for the other threads to go (mmput); a fault in progress finishes first either way.
 */
function faultInFlight(k: Kernel, proc: number, region: number): boolean {
  for (const T of k.L.threads) {
    if (T.process !== proc || k.m[T.off + T_STATUS] === S_DONE) continue;
    const f = T.opFault[k.m[T.off + T_OP]];
    const pc = k.m[T.off + T_PC];
    if (f && (region < 0 || f.region === region) && pc > f.lo && pc < f.hi) return true;
  }
  return false;
}

/** munmap(2): do_vmi_munmap: zap the range, shrink or remove the VMA. */
export function emitMunmap(b: Builder, v: VmaInfo, p0: number, n: number): void {
  b.step('do_vmi_munmap', 'mmap_write_lock, zap the range, shrink the VMA', (k, t) => {
    const R = k.L.regions[v.region];
    if (faultInFlight(k, v.process, v.region) || !mmap_write_lock(k, v.process, t)) return BLOCKED;
    if (!k.m[v.off + V_PRESENT]) {
      mmap_write_unlock(k, v.process);
      return NEXT;
    }
    if (R.unitPages > 1 && (p0 % R.unitPages || n % R.unitPages)) {
      mmap_write_unlock(k, v.process);
      return fail(k, t, EINVAL, b.end); // dev_dax_may_split
    }
    zap_range(k, v, p0, p0 + n, true, 'unmap_vmas');
    for (let p = p0; p < p0 + n; p += R.unitPages) k.set(v.coverOff + Math.floor(p / R.unitPages), 0);
    let left = 0;
    for (let u = 0; u < units(k, v); u++) left += k.m[v.coverOff + u];
    if (!left) dropVma(k, v);
    else if (R.hasPmd) {
      // free_pgtables for 2 MiB blocks no longer covered at all
      for (let c = 0; c < R.npages; c += PMD_NR) {
        let any = false;
        for (let p = c; p < Math.min(c + PMD_NR, R.npages); p += R.unitPages) if (k.m[v.coverOff + Math.floor(p / R.unitPages)]) any = true;
        // the zap left the table empty; freeing it leaves the PMD none (a bare E_PRESENT would read as a huge leaf)
        if (!any && k.m[pmdAt(v, c)] & E_TABLE) k.set(pmdAt(v, c), 0);
      }
    }
    mmap_write_unlock(k, v.process);
    k.note('do_vmi_munmap', `${R.name}: pages ${p0}..${p0 + n - 1} unmapped${left ? '' : ', VMA removed'}`);
    return NEXT;
  });
}

/** fork(2): dup_mmap copies every VMA; copy_page_range copies PTEs only where vma_needs_copy. */
export function emitFork(b: Builder, parent: number, child: number): void {
  b.step('dup_mmap', 'copy the VMAs (and, where needed, the page tables) to the child', (k, t) => {
    if (faultInFlight(k, parent, -1) || !mmap_write_lock(k, parent, t)) return BLOCKED;
    const P = k.L.processes[parent];
    const C = k.L.processes[child];
    for (const v of k.L.vmas) {
      if (v.process !== parent || !k.m[v.off + V_PRESENT]) continue;
      const cid = C.vmas[v.region];
      if (cid < 0) continue;
      const c = k.L.vmas[cid];
      const R = k.L.regions[v.region];
      k.set(c.off + V_PRESENT, 1);
      k.set(c.off + V_ANON_VMA, k.m[v.off + V_ANON_VMA]);
      for (let u = 0; u < units(k, v); u++) k.set(c.coverOff + u, k.m[v.coverOff + u]);
      if (R.kind === 'file') k.add(k.L.files[R.target].off + F_MAPPED, 1);
      if (vma_needs_copy(k, v) && R.hasPte) {
        for (let p = 0; p < R.npages; p++) copy_present_pte(k, v, c, p);
        for (let ch = 0; R.hasPmd && ch < R.npages; ch += PMD_NR) {
          if (k.m[pmdAt(v, ch)] & E_TABLE) k.set(pmdAt(c, ch), k.m[pmdAt(c, ch)] | E_TABLE | E_PRESENT);
          else copy_huge_pmd(k, v, c, ch);
        }
      }
    }
    k.set(C.off + P_ALIVE, 1);
    mmap_write_unlock(k, parent);
    k.note('dup_mmap', `${C.name} forked from ${P.name}`);
    return NEXT;
  });
}

/** What one step would create: regions, references (their offsets) and the threads of a process it forks. */
export interface Orphan { regions: number[]; refs: number[]; threads: number[] }
/** What an exit leaves undone (ops.ts orphansOfExit): per other thread of the process, per step. */
export type Orphans = { thread: number; made: Orphan[] }[];

/** exit(2) of process `proc`: exit_mmap, after the other threads are killed (see the step). */
export function emitExit(b: Builder, proc: number, orphans: Orphans): void {
  b.step('exit_mmap', 'unmap and free every VMA', (k, t) => {
    // exit_group kills the other threads (zap_other_threads); each dies when it leaves the kernel, and
    // exit_mmap runs once the last user of the mm is gone (mmput): a system call or fault a sibling is
    // in (pc past its first action) finishes first; the siblings' later steps never run
    for (const T of k.L.threads) if (T.id !== t && T.process === proc && inOperation(k.m, T.off)) return BLOCKED;
    if (!mmap_write_lock(k, proc, t)) return BLOCKED;
    // the killed threads' remaining steps never run: what they would have mapped or pinned fails for its waiters
    const undone = (o: Orphan) => {
      for (const r of o.regions) if (k.m[k.L.regionStateOff + r] === RG_NONE) k.set(k.L.regionStateOff + r, RG_FAILED);
      for (const g of o.refs) if (k.m[g + G_STATE] === G_NONE) k.set(g + G_STATE, G_FAILED);
      for (const u of o.threads) if (k.m[k.L.threads[u].off + T_STATUS] !== S_DONE) k.set(k.L.threads[u].off + T_STATUS, S_DONE);
    };
    for (const s of orphans) {
      const T = k.L.threads[s.thread];
      if (k.m[T.off + T_STATUS] === S_DONE) continue;
      for (let j = k.m[T.off + T_OP]; j < s.made.length; j++) undone(s.made[j]);
      k.set(T.off + T_STATUS, S_DONE);
      k.note('zap_other_threads', `thread ${T.name} killed before its step ${k.m[T.off + T_OP] + 1}`);
    }
    for (const v of k.L.vmas) if (v.process === proc && k.m[v.off + V_PRESENT]) dropVma(k, v);
    k.set(k.L.processes[proc].off + P_ALIVE, 2);
    mmap_write_unlock(k, proc);
    k.note('exit_mmap', `${k.L.processes[proc].name} exited`);
    return NEXT;
  });
}
