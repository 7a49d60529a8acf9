// The filesystem's block layer for FS-DAX files: extent lookup and the block
// allocator (fs/xfs/xfs_bmap.c, xfs_alloc.c; ext4's mballoc plays the same
// part). A block is a pmem page; a freed block goes back to the allocator and
// the lowest free block is handed out next, so reuse is visible.
import type { Kernel } from '../../kernel.js';
import type { Builder } from '../../program.js';
import { F_META_DIRTY, G_GRABBING, G_HELD, G_N, G_PAGES, G_STATE, PMD_NR, R_GEN, R_USERS } from '../../state.js';

/** The block (record) backing file page i, or -1 for a hole. */
export function fileBlock(k: Kernel, f: number, i: number): number {
  const F = k.L.files[f];
  if (i < 0 || i >= F.maxPages) return -1;
  return k.m[F.extOff + i] - 1;
}

/** Are file pages [i, i + n) all holes? */
export function isHole(k: Kernel, f: number, i: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (fileBlock(k, f, i + j) >= 0) return false;
  return true;
}

/** The function that allocates a hole's block for a DAX fault or write on this step's filesystem (the name allocBlock reports). */
export const iomapAllocator = (b: Builder): string => b.byFs('xfs_iomap_write_direct', 'ext4_iomap_alloc');

/** Allocate one block for file f page i (xfs_bmapi_write). Returns the record, or -1 if the device is full. */
export function allocBlock(k: Kernel, f: number, i: number, caller: string): number {
  const F = k.L.files[f];
  const d = k.L.devices[F.device];
  for (let b = d.firstDataBlock; b < d.nrecs; b++) {
    const r = d.recBase + b;
    const o = k.r(r);
    if (k.m[o + R_USERS] === 0) {
      k.set(o + R_USERS, 1);
      k.add(o + R_GEN, 1);
      k.set(F.extOff + i, r + 1);
      k.set(F.off + F_META_DIRTY, 1); // the extent change is in the log, not yet on disk
      const gen = k.m[o + R_GEN];
      k.note(caller, `block ${b} of ${d.name} allocated to ${F.name}@${i * 4096}${gen > 1 ? ` (reused: allocation #${gen})` : ''}`);
      return r;
    }
  }
  return -1;
}

/** Are at least n blocks of device `dev` free (what xfs_bmapi_write needs before it allocates)? */
export function haveFreeBlocks(k: Kernel, dev: number, n: number): boolean {
  const d = k.L.devices[dev];
  for (let b = d.firstDataBlock; b < d.nrecs && n > 0; b++) if (k.m[k.r(d.recBase + b) + R_USERS] === 0) n--;
  return n <= 0;
}

/**
 * Allocate one 2 MiB extent for file pages [i, i + PMD_NR) (a PMD write fault's
 * iomap_begin, or a write(2) covering an aligned 2 MiB hole): the lowest
 * 2 MiB-aligned run of free blocks. ext4's mballoc and xfs hand a 2 MiB request
 * an aligned extent on the oracle's pmem (observed on 6.12 and 7.3). Returns
 * the first record, or -1 if no aligned run is free (the caller falls back to
 * single blocks, as the kernel falls back to a PTE fault on a misaligned extent).
 */
export function allocPmdExtent(k: Kernel, f: number, i: number, caller: string): number {
  const F = k.L.files[f];
  const d = k.L.devices[F.device];
  const b = freePmdRun(k, F.device);
  if (b < 0) return -1;
  for (let j = 0; j < PMD_NR; j++) {
    const o = k.r(d.recBase + b + j);
    k.set(o + R_USERS, 1);
    k.add(o + R_GEN, 1);
    k.set(F.extOff + i + j, d.recBase + b + j + 1);
  }
  k.set(F.off + F_META_DIRTY, 1);
  k.note(caller, `blocks ${b}..${b + PMD_NR - 1} of ${d.name} (one aligned 2 MiB extent) allocated to ${F.name}@${i * 4096}`);
  return d.recBase + b;
}

/** The lowest 2 MiB-aligned run of free blocks of device `dev` (its first block), or -1. */
export function freePmdRun(k: Kernel, dev: number): number {
  const d = k.L.devices[dev];
  for (let b = Math.ceil(d.firstDataBlock / PMD_NR) * PMD_NR; b + PMD_NR <= d.nrecs; b += PMD_NR) {
    let free = true;
    for (let j = 0; j < PMD_NR && free; j++) if (k.m[k.r(d.recBase + b + j) + R_USERS] !== 0) free = false;
    if (free) return b;
  }
  return -1;
}

/** Drop file page i's use of its block (extent unmap); the block is freed when nobody else shares it. */
export function releaseBlock(k: Kernel, f: number, i: number, caller: string): void {
  const F = k.L.files[f];
  const r = k.m[F.extOff + i] - 1;
  if (r < 0) return;
  k.set(F.extOff + i, 0);
  k.set(F.off + F_META_DIRTY, 1);
  const o = k.r(r);
  if (k.add(o + R_USERS, -1) === 0) {
    k.note(caller, `block ${k.L.recPfn[r]} of ${k.L.devices[k.L.recDevice[r]].name} freed (was ${F.name}@${i * 4096})`);
  }
}

/** GUP references that hold record r: the device may DMA into it (used by N9). */
export function gupHoldersOf(k: Kernel, r: number): { ref: number; gen: number }[] {
  const out: { ref: number; gen: number }[] = [];
  for (const g of k.L.refs) {
    if (k.m[g.off + G_STATE] !== G_HELD && k.m[g.off + G_STATE] !== G_GRABBING) continue;
    const n = k.m[g.off + G_N];
    for (let j = 0; j < n; j++) {
      if (k.m[g.off + G_PAGES + 2 * j] - 1 === r) out.push({ ref: g.id, gen: k.m[g.off + G_PAGES + 2 * j + 1] });
    }
  }
  return out;
}
