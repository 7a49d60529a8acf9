// The filesystem side (fs/xfs: xfs_iops.c xfs_setattr_size, xfs_file.c
// fallocate/write/fsync, xfs_super.c eviction, xfs_reflink.c; ext4 follows
// the same order with invalidate_lock): lock, break DAX layouts, truncate the
// DAX entries, free the blocks, unlock.
import type { Kernel } from '../../kernel.js';
import { BLOCKED, Builder, Label, NEXT, fail, onOldScheme } from '../../program.js';
import {
  T_OP, D_ALIVE, D_MOUNTED, D_PGMAP_LIVE, D_PGMAP_REF, F_EVICTED, F_ISIZE, F_MAPPED, F_NLINK, PMD_NR, R_REF, R_USERS, X_DIRTY, X_LOCKED, X_TOWRITE, inOperation,
} from '../../state.js';
import { EBUSY, ENOENT, ENOSPC, EOPNOTSUPP, EXDEV } from '../../errno.js';
import { allocBlock, allocPmdExtent, fileBlock, gupHoldersOf, haveFreeBlocks, iomapAllocator, isHole, releaseBlock } from './blocks.js';
import { inode_lock, inode_unlock, invalidate_lock, invalidate_unlock } from './locks.js';
import { generic_remap_checks } from './remap_range.js';
import { emitBreakLayout, emitLayoutBusyScan, emitDeleteMappingRange, emitTruncateExceptionals, emitWriteback, entrySlot, slotIndex, describeEntry, __dax_invalidate_entry } from './dax.js';
import { folioOf, folio_ref_count } from '../mm/swap.js';
import { folio_mapcount } from '../mm/rmap.js';
import { unmap_mapping_pages, unmap_device_mappings } from '../mm/unmap.js';
import { keyEntry, keyPgmapDone } from '../kernel/wait_bit.js';
import { sleepOn } from '../../program.js';

const ALL = 1 << 30;
const pagesUp = (bytes: number) => Math.ceil(bytes / 4096);

/** Lock i_rwsem then the invalidate lock (MMAPLOCK) exclusively: xfs_ilock(IOLOCK_EXCL | MMAPLOCK_EXCL). */
function emitLockInode(b: Builder, f: number): void {
  b.acquireStep(...b.byFs(['inode_lock', 'i_rwsem (XFS_IOLOCK_EXCL)'], ['inode_lock', 'i_rwsem']), (k, t) => (inode_lock(k, f, t) ? NEXT : BLOCKED));
  b.acquireStep(...b.byFs(['xfs_ilock', 'XFS_MMAPLOCK_EXCL (invalidate_lock)'], ['filemap_invalidate_lock', 'invalidate_lock']), (k, t) => (invalidate_lock(k, f, t) ? NEXT : BLOCKED));
}
function unlockInode(k: Kernel, f: number): void {
  invalidate_unlock(k, f);
  inode_unlock(k, f);
}

/** Free the blocks of file pages [from, to) (xfs_itruncate_extents / xfs_free_file_space / xfs_inactive). */
function freeBlocks(k: Kernel, f: number, from: number, to: number, caller: string): void {
  const F = k.L.files[f];
  for (let i = from; i < Math.min(to, F.maxPages); i++) releaseBlock(k, f, i, caller);
}

/**
 * truncate(2): xfs_vn_setattr -> xfs_break_layouts, xfs_setattr_size (fs/xfs/xfs_iops.c): the
 * partial block at the new EOF is zeroed (xfs_truncate_page; on a grow, xfs_zero_range from the
 * old EOF) before truncate_setsize and xfs_itruncate_extents. `zero`: emit that step (xfs, and
 * only where the new or an earlier size can fall inside a block: on block boundaries it does
 * nothing). ext4 zeroes in ext4_truncate / ext4_setattr (ext4_block_truncate_page ->
 * dax_zero_range with ext4_iomap_ops, which looks blocks up without allocating: a memset of a
 * mapped block, holes and unwritten extents skipped), which changes no entry or refcount.
 */
export function emitTruncate(b: Builder, f: number, size: number, zero = false): void {
  emitLockInode(b, f);
  emitBreakLayout(b, { file: () => f, lock: 'mmaplock', final: false });
  if (zero)
    emitXfsZeroRange(b, f, 'xfs_setattr_size: xfs_truncate_page -> dax_truncate_page (xfs_zero_range from the old EOF on a grow)', (k) => {
      const old = k.m[k.L.files[f].off + F_ISIZE];
      if (size > old) return [old, size];
      const off = size % 4096; // dax_truncate_page: a size on a block boundary zeroes nothing
      return off ? [size, size - off + 4096] : null;
    }, false);
  b.step('truncate_setsize', 'i_size_write, then unmap_mapping_range past the new EOF', (k) => {
    k.set(k.L.files[f].off + F_ISIZE, size);
    unmap_mapping_pages(k, f, pagesUp(size), ALL, true, 'truncate_pagecache');
    return NEXT;
  });
  emitTruncateExceptionals(b, () => f, () => pagesUp(size), () => ALL);
  const [freeFn, freeWhat] = b.byFs(['xfs_itruncate_extents', 'free the blocks past EOF (a shrink), unlock'], ['ext4_truncate', 'zero the partial EOF block in place (dax_zero_range), free the blocks past EOF (a shrink), unlock']);
  b.step(freeFn, freeWhat, (k) => {
    freeBlocks(k, f, pagesUp(size), ALL, freeFn);
    unlockInode(k, f);
    return NEXT;
  });
}

/**
 * fallocate(FALLOC_FL_PUNCH_HOLE): xfs_file_fallocate -> xfs_break_layouts, xfs_free_file_space
 * (fs/xfs/xfs_bmap_util.c): xfs_flush_unmap_range, free the whole blocks, then zero the partial
 * blocks at either end (xfs_zero_range up to EOF). ext4_punch_hole zeroes them in place
 * (ext4_zero_partial_blocks -> dax_zero_range), which changes no entry or refcount.
 */
export function emitPunchHole(b: Builder, f: number, offset: number, len: number): void {
  // the blocks freed: whole blocks inside the hole only (xfs_free_file_space, ext4_punch_hole)
  const first = pagesUp(offset);
  const last = Math.floor((offset + len) / 4096);
  // the page cache dropped: xfs_flush_unmap_range rounds the range out to whole blocks, so a page
  // the hole only partly covers goes too; ext4_punch_hole truncates the whole blocks inside
  const [pcFirst, pcLast] = b.fs === 'xfs' ? [Math.floor(offset / 4096), pagesUp(offset + len)] : [first, last];
  // xfs zeroes a block the hole covers only in part (a block boundary inside it is not zeroed)
  const zero = b.fs === 'xfs' && (offset % 4096 !== 0 || (offset + len) % 4096 !== 0);
  emitLockInode(b, f);
  emitBreakLayout(b, { file: () => f, lock: 'mmaplock', final: false });
  // truncate_pagecache_range unmaps without even_cows: a private mapping keeps its anonymous copies
  b.step('truncate_pagecache_range', 'unmap the hole', (k) => {
    unmap_mapping_pages(k, f, pcFirst, Math.max(0, pcLast - pcFirst), false, 'truncate_pagecache_range');
    return NEXT;
  });
  emitTruncateExceptionals(b, () => f, () => pcFirst, () => pcLast);
  const [freeFn, freeWhat] = b.byFs([
    'xfs_free_file_space', zero ? 'free the whole blocks of the hole' : 'free the blocks of the hole, unlock',
  ], ['ext4_punch_hole', 'zero the partial blocks in place (ext4_zero_partial_blocks), free the whole blocks of the hole (ext4_ext_remove_space), unlock']);
  b.step(freeFn, freeWhat, (k) => {
    freeBlocks(k, f, first, last, freeFn);
    if (!zero) unlockInode(k, f);
    return NEXT;
  });
  // xfs_free_file_space zeroes [offset, offset + len) cut at EOF, nothing from EOF on; the whole
  // blocks are holes by now. The EOF page's writeback that follows finds no entry: the flush above
  // deleted it (v6.12) or the layout break did (v6.15+), and the MMAPLOCK keeps faults out
  if (zero)
    emitXfsZeroRange(b, f, 'xfs_free_file_space: xfs_zero_range over the partial blocks at either end, then unlock', (k) => {
      const isize = k.m[k.L.files[f].off + F_ISIZE];
      return offset < isize ? [offset, Math.min(offset + len, isize)] : null;
    }, true);
}

/**
 * xfs_zero_range / xfs_truncate_page on a DAX file (fs/xfs/xfs_iomap.c): dax_zero_range
 * (fs/dax.c) with xfs_dax_write_iomap_ops, over the bytes `range` gives at run time (null:
 * nothing). Per page: a hole is skipped (dax_zero_iter: srcmap IOMAP_HOLE); a block of this file
 * alone is zeroed in place (dax_memzero: no entry or refcount changes); a reflink-shared block is
 * copied on write: xfs_direct_write_iomap_begin (IOMAP_ZERO, imap_needs_cow) allocates a CoW
 * block (xfs_reflink_allocate_cow), dax_zero_iter drops the page's clean DAX entry and unmaps it
 * (invalidate_inode_pages2_range: a dirty entry stays, -EBUSY is ignored; it waits for a locked
 * one), dax_memzero zeroes and copies the rest of the block (dax_iomap_copy_around), and
 * xfs_dax_write_iomap_end -> xfs_reflink_end_cow remaps the page to the new block, dropping this
 * file's share of the old one. ENOSPC fails the call after `unlock` (default: f's inode locks);
 * `unlockAtEnd`: run it at the end too (the punch's last step).
 */
function emitXfsZeroRange(
  b: Builder, f: number, what: string, range: (k: Kernel) => [number, number] | null, unlockAtEnd: boolean, unlock = (k: Kernel) => unlockInode(k, f),
): void {
  const again = b.here();
  b.step('dax_zero_iter', what, (k, t) => {
    const R = range(k);
    const cow: number[] = [];
    if (R) for (let i = Math.floor(R[0] / 4096); i < pagesUp(R[1]); i++) {
      const r = fileBlock(k, f, i);
      if (r >= 0 && k.m[k.r(r) + R_USERS] > 1) cow.push(i);
    }
    // invalidate_inode_pages2_range -> __dax_invalidate_entry sleeps on a locked entry (a writeback in flight)
    for (const i of cow) {
      const slot = entrySlot(k, f, i);
      if (k.m[slot] & X_LOCKED) return sleepOn(k, t, keyEntry(f, slotIndex(k, f, slot)), again);
    }
    if (!haveFreeBlocks(k, k.L.files[f].device, cow.length)) {
      unlock(k);
      return fail(k, t, ENOSPC, b.end);
    }
    for (const i of cow) {
      invalidatePage(k, f, i, entrySlot(k, f, i));
      const old = fileBlock(k, f, i);
      releaseBlock(k, f, i, 'xfs_reflink_end_cow');
      const r = allocBlock(k, f, i, 'xfs_reflink_allocate_cow');
      k.note('dax_memzero', `${k.L.files[f].name}@${i * 4096}: shared block ${k.L.recPfn[old]} copied around the zeroed bytes into block ${k.L.recPfn[r]}`);
    }
    if (unlockAtEnd) unlock(k);
    return NEXT;
  });
}

/**
 * Inode eviction (evict -> xfs_fs_evict_inode / ext4_evict_inode, then
 * xfs_inactive): with patch 07, dax_break_layout_final waits uninterruptibly
 * for DMA; then truncate_inode_pages_final; an unlinked inode's blocks are
 * freed. `select` picks the next inode to evict (-1: none); it runs in the
 * context of the thread that dropped the last reference.
 */
export function emitEvict(b: Builder, select: (k: Kernel, t: number) => number, onDone?: (k: Kernel, t: number) => void): void {
  const FILE = b.local();
  const next = b.here();
  const done = new Label();
  b.step('iput', 'last reference dropped: pick the inode to evict', (k, t) => {
    const f = select(k, t);
    if (f < 0) return done.pc;
    k.set(k.L.files[f].off + F_EVICTED, 1); // I_FREEING
    k.set(k.L.threads[t].off + FILE, f + 1);
    k.note('evict', `evicting ${k.L.files[f].name}`);
    return NEXT;
  });
  const file = (k: Kernel, t: number) => k.m[k.L.threads[t].off + FILE] - 1;
  const skip = new Label();
  b.step('evict', 'DAX inode: dax_break_layout_final?', (k) => (k.fix('fs-dax-ensure-all-pages-idle-prior-to-unmount') ? NEXT : skip.pc));
  emitBreakLayout(b, { file, lock: 'none', final: true });
  b.mark(skip);
  emitTruncateExceptionals(b, file, () => 0, () => ALL);
  const [freeFn, freeWhat] = b.byFs(['xfs_inactive', "free an unlinked inode's blocks"], ['ext4_evict_inode', "free an unlinked inode's blocks (ext4_truncate)"]);
  b.step(freeFn, freeWhat, (k, t) => {
    const f = file(k, t);
    if (k.m[k.L.files[f].off + F_NLINK] === 0) freeBlocks(k, f, 0, ALL, freeFn);
    k.set(k.L.files[f].off + F_EVICTED, 2);
    return next.pc;
  });
  b.mark(done);
  if (onDone) b.step('evict', 'done', (k, t) => void onDone(k, t));
}

/**
 * Does a thread other than `self` hold file f open: is it inside a system call
 * on f (past its first step), which holds an fd or a path, and so an inode
 * reference (fs/inode.c iput) and a mount reference (fs/namespace.c)?
 */
export function heldOpen(k: Kernel, f: number, self: number): boolean {
  for (const T of k.L.threads) {
    if (T.id === self || !inOperation(k.m, T.off)) continue;
    if (T.opFiles[k.m[T.off + T_OP]]?.includes(f)) return true;
  }
  return false;
}

/** The inode of an unlinked file that nothing maps or holds open any more is evicted by whoever (`self`) dropped the last reference. */
export function evictable(k: Kernel, f: number, self: number): boolean {
  const o = k.L.files[f].off;
  return k.m[o + F_NLINK] === 0 && k.m[o + F_MAPPED] === 0 && k.m[o + F_EVICTED] === 0 && !heldOpen(k, f, self);
}
export function firstEvictable(k: Kernel, self: number): number {
  for (const F of k.L.files) if (evictable(k, F.id, self)) return F.id;
  return -1;
}

/**
 * The path lookup (or open) a file system call starts with (fs/namei.c
 * filename_lookup): ENOENT once the file is unlinked or its filesystem
 * unmounted (detached). From here until the call returns, the thread holds
 * the file open (heldOpen).
 */
export function emitLookup(b: Builder, f: number, local: boolean, onFail?: (k: Kernel) => void): void {
  b[local ? 'localStep' : 'step']('filename_lookup', 'look the file up (ENOENT if unlinked or unmounted); held open until the call returns', (k, t) => {
    const F = k.L.files[f];
    if (k.m[F.off + F_NLINK] === 0 || !k.m[k.L.devices[F.device].off + D_MOUNTED]) {
      onFail?.(k);
      return fail(k, t, ENOENT, b.end);
    }
    return NEXT;
  });
}

/** unlink(2): drop the link; with no mapping left the inode is evicted now. */
export function emitUnlink(b: Builder, f: number): void {
  b.step('vfs_unlink', 'drop the last link', (k) => {
    k.set(k.L.files[f].off + F_NLINK, 0);
    return NEXT;
  });
  emitEvict(b, (k, t) => (evictable(k, f, t) ? f : -1));
}

/**
 * umount(2) (fs/namespace.c do_umount): EBUSY while a file of the filesystem
 * is mapped or held open by a system call (propagate_mount_busy); else the
 * mount is detached at once (umount_tree: no new lookup reaches it), then
 * every inode is evicted (fs/inode.c evict_inodes).
 */
export function emitUnmount(b: Builder, d: number): void {
  b.step('umount', 'EBUSY if a file of the filesystem is mapped or open; else detach the mount', (k, t) => {
    for (const F of k.L.files) if (F.device === d && (k.m[F.off + F_MAPPED] > 0 || heldOpen(k, F.id, t))) return fail(k, t, EBUSY, b.end);
    k.set(k.L.devices[d].off + D_MOUNTED, 0);
    return NEXT;
  });
  emitEvict(
    b,
    (k) => {
      for (const F of k.L.files) if (F.device === d && k.m[F.off + F_EVICTED] === 0) return F.id;
      return -1;
    },
    (k) => {
      const D = k.L.devices[d];
      for (let r = D.recBase; r < D.recBase + D.nrecs; r++) {
        const h = gupHoldersOf(k, r);
        if (h.length)
          k.warn('unmount-while-dma-busy', 'generic_shutdown_super', `${D.name} unmounted while GUP ref ${k.L.refs[h[0].ref].name} still holds block ${k.L.recPfn[r]}: after a remount nothing stops its reuse`);
      }
    },
  );
}

/** write(2) on a DAX file (dax_iomap_rw): allocate holes, CoW shared blocks, invalidate stale entries, extend i_size. */
export function emitWrite(b: Builder, f: number, offset: number, len: number, zeroEof = false): void {
  const allocator = iomapAllocator(b);
  b.acquireStep(...b.byFs(['inode_lock', 'i_rwsem (XFS_IOLOCK_EXCL)'], ['inode_lock', 'i_rwsem']), (k, t) => (inode_lock(k, f, t) ? NEXT : BLOCKED));
  // xfs_file_write_checks (6.12) / xfs_file_write_zero_eof (7.x), fs/xfs/xfs_file.c: a write that starts
  // past EOF first zeroes from the old EOF (xfs_zero_range: a CoW of a shared EOF block), with no layout
  // break; `zeroEof`: the EOF can be inside a block
  if (zeroEof)
    emitXfsZeroRange(b, f, 'xfs_file_write_checks: xfs_zero_range from the old EOF up to the write', (k) => {
      const isize = k.m[k.L.files[f].off + F_ISIZE];
      return offset > isize ? [isize, offset] : null;
    }, false, (k) => inode_unlock(k, f));
  const again = b.here();
  // a page the write maps anew: a hole to allocate, or a shared block to CoW (IOMAP_F_NEW / IOMAP_F_SHARED)
  const remapped = (k: Kernel, i: number) => {
    const r = fileBlock(k, f, i);
    return r < 0 || k.m[k.r(r) + R_USERS] > 1;
  };
  const lo = Math.floor(offset / 4096);
  const hi = pagesUp(offset + len);
  b.step('dax_iomap_rw', 'iomap_begin for each page (allocate, CoW), copy the data, extend i_size', (k, t) => {
    const F = k.L.files[f];
    // the pages mapped anew, decided before any is allocated
    const todo: number[] = [];
    for (let i = lo; i < hi; i++) if (remapped(k, i)) todo.push(i);
    // invalidate_inode_pages2_range -> __dax_invalidate_entry sleeps on a locked entry of a page
    // it must drop (a fault in progress maps the old block, then the write drops it)
    for (const i of todo) {
      const slot = entrySlot(k, f, i);
      if (k.m[slot] & X_LOCKED) return sleepOn(k, t, keyEntry(f, slotIndex(k, f, slot)), again);
    }
    for (const i of todo) {
      let r = fileBlock(k, f, i);
      const cow = r >= 0 && k.m[k.r(r) + R_USERS] > 1;
      const slot = entrySlot(k, f, i);
      if (cow) {
        // __dax_clear_dirty_range: a CoW write may drop the old block's entry even if it was dirty
        k.set(slot, k.m[slot] & ~(X_DIRTY | X_TOWRITE));
        releaseBlock(k, f, i, 'xfs_reflink_end_cow');
      }
      // a hole filled earlier in this loop (an aligned 2 MiB extent) is not allocated again
      if (!cow && r >= 0) {
        invalidatePage(k, f, i, slot);
        continue;
      }
      // iomap_begin allocates the written range as extents: a whole aligned 2 MiB hole gets one aligned extent
      if (!cow && i % PMD_NR === 0 && i + PMD_NR <= hi && isHole(k, f, i, PMD_NR)) {
        if (allocPmdExtent(k, f, i, allocator) >= 0) {
          invalidatePage(k, f, i, slot);
          continue;
        }
      }
      r = allocBlock(k, f, i, cow ? 'xfs_reflink_allocate_cow' : allocator);
      if (r < 0) {
        inode_unlock(k, f);
        return fail(k, t, ENOSPC, b.end);
      }
      invalidatePage(k, f, i, slot);
    }
    const o = F.off + F_ISIZE;
    k.set(o, Math.max(k.m[o], offset + len));
    inode_unlock(k, f);
    return NEXT;
  });
}

/**
 * invalidate_inode_pages2_range of one page a write(2) or a zeroing CoW maps anew: drop a clean
 * entry (the zero page, or the old block; a dirty one stays, -EBUSY, which the callers ignore),
 * then unmap the index. On a DAX mapping the kernel invalidates the entries first and unmaps the
 * page tables after (mm/truncate.c), so the entry's folio loses its last association while a PTE
 * or PMD still references it (dax_folio_put's WARN on v6.15+).
 */
function invalidatePage(k: Kernel, f: number, i: number, slot: number): void {
  const x = k.m[slot];
  const where = `${k.L.files[f].name}@${slotIndex(k, f, slot)}: ${describeEntry(x)}`;
  if (__dax_invalidate_entry(k, f, slot, false)) k.note('dax_invalidate_mapping_entry_sync', `${where} dropped`);
  else if (x) k.note('dax_invalidate_mapping_entry_sync', `${where} is dirty: kept (-EBUSY, ignored)`);
  unmap_mapping_pages(k, f, i, 1, false, 'invalidate_inode_pages2_range');
}

/**
 * FICLONERANGE on xfs (xfs_reflink_remap_prep): lock both inodes
 * (xfs_ilock2_io_mmap), check the ranges and write both back
 * (__generic_remap_file_range_prep), zero the destination from its EOF to the
 * clone (xfs_reflink_zero_posteof), flush and truncate the destination range
 * (xfs_flush_unmap_range -> truncate_pagecache_range), share the source blocks.
 */
export function emitReflink(b: Builder, src: number, dst: number, offset: number, len: number, dstOffset: number, zeroPostEof = false): void {
  const [a, c] = src < dst ? [src, dst] : [dst, src];
  // fs/remap_range.c do_clone_file_range: another superblock is -EXDEV; no ->remap_file_range (ext4) -EOPNOTSUPP
  b.step('do_clone_file_range', 'both files on one filesystem, which can remap', (k, t) => {
    if (k.L.files[src].device !== k.L.files[dst].device) return fail(k, t, EXDEV, b.end);
    return k.L.devices[k.L.files[src].device].fs === 'xfs' ? NEXT : fail(k, t, EOPNOTSUPP, b.end);
  });
  b.acquireStep('xfs_ilock2_io_mmap', 'i_rwsem of both inodes, in inode order', (k, t) => (inode_lock(k, a, t) ? NEXT : BLOCKED));
  b.acquireStep('xfs_ilock2_io_mmap', 'i_rwsem of the second inode', (k, t) => (a === c || inode_lock(k, c, t) ? NEXT : BLOCKED));
  b.scope(() => emitMmaplockTwoInodesAndBreakDaxLayout(b, a, c));
  b.step('dax_remap_file_range_prep', 'generic_remap_checks: block-aligned, inside the source, no overlap', (k, t) => {
    const err = generic_remap_checks(k, src, offset, dst, dstOffset, len);
    if (!err) return NEXT;
    xfs_reflink_remap_unlock(k, a, c);
    return fail(k, t, err, b.end);
  });
  // __generic_remap_file_range_prep, after the checks: filemap_write_and_wait_range of the source's
  // and the destination's range (dax_writeback_mapping_range; new kernels: no entry left by now)
  b.scope(() => emitWriteback(b, src, { first: Math.floor(offset / 4096), end: pagesUp(offset + len) }));
  b.scope(() => emitWriteback(b, dst, { first: Math.floor(dstOffset / 4096), end: Math.floor(dstOffset / 4096) + pagesUp(len) }));
  // xfs_reflink_zero_posteof: a clone past the destination's EOF first zeroes from that EOF to the
  // clone's offset (xfs_zero_range: a CoW of a shared EOF block); `zeroPostEof`: the EOF can be inside a block
  if (zeroPostEof)
    emitXfsZeroRange(b, dst, 'xfs_reflink_remap_prep: xfs_reflink_zero_posteof -> xfs_zero_range from the destination EOF to the clone offset', (k) => {
      const isize = k.m[k.L.files[dst].off + F_ISIZE];
      return dstOffset > isize ? [isize, dstOffset] : null;
    }, false, (k) => xfs_reflink_remap_unlock(k, a, c));
  const first = Math.floor(dstOffset / 4096);
  const n = pagesUp(len);
  // xfs_flush_unmap_range of the destination: from its EOF when the clone starts past it
  emitTruncateExceptionals(b, () => dst, (k) => Math.min(first, Math.floor(k.m[k.L.files[dst].off + F_ISIZE] / 4096)), () => first + n);
  b.step('xfs_reflink_remap_blocks', 'point the destination at the source blocks, free what it had', (k) => {
    const Fd = k.L.files[dst];
    for (let j = 0; j < n; j++) {
      const sr = fileBlock(k, src, Math.floor(offset / 4096) + j);
      releaseBlock(k, dst, first + j, 'xfs_reflink_remap_blocks');
      if (sr < 0) continue;
      k.set(Fd.extOff + first + j, sr + 1);
      k.add(k.r(sr) + R_USERS, 1);
    }
    const o = Fd.off + F_ISIZE;
    k.set(o, Math.max(k.m[o], dstOffset + len));
    k.note('xfs_reflink_remap_blocks', `${Fd.name}@${dstOffset} now shares ${n} block(s) of ${k.L.files[src].name}@${offset}`);
    xfs_reflink_remap_unlock(k, a, c);
    return NEXT;
  });
}

/** xfs_reflink_remap_unlock (fs/xfs/xfs_reflink.c): drop both inodes' MMAPLOCK and IOLOCK (once for one inode). */
function xfs_reflink_remap_unlock(k: Kernel, a: number, c: number): void {
  invalidate_unlock(k, a);
  if (c !== a) invalidate_unlock(k, c);
  inode_unlock(k, a);
  if (c !== a) inode_unlock(k, c);
}

/**
 * Device removal: kill_dax / kill_dev_dax (drivers/dax/super.c, bus.c) zap the
 * user mappings and make new faults fail; memunmap_pages (mm/memremap.c) kills
 * the pgmap ref, waits for transient holders, and tears the memmap down. It
 * does not wait for page references: a GUP reference still held then is a
 * reference into a dead pgmap.
 */
export function emitRemoveDevice(b: Builder, d: number): void {
  b.step('kill_dax', 'dax device dead; unmap every user mapping (xfs: and drop the DAX entries)', (k) => {
    const D = k.L.devices[d];
    k.set(D.off + D_ALIVE, 0);
    if (D.type === 'devdax') unmap_device_mappings(k, d, 'kill_dev_dax');
    // dax_holder_notify_failure reaches only a holder: xfs registers itself (xfs_dax_holder_operations),
    // ext4 opens the dax device with no holder, so its mappings are not zapped
    else if (D.fs === 'xfs') for (const F of k.L.files) if (F.device === d) xfs_dax_notify_pre_remove(k, F.id);
    return NEXT;
  });
  const wait = b.here();
  b.step('memunmap_pages', 'percpu_ref_kill; wait_for_completion(&pgmap->done)', (k, t) => {
    const D = k.L.devices[d];
    k.set(D.off + D_PGMAP_LIVE, 0);
    if (k.m[D.off + D_PGMAP_REF] > 0) return sleepOn(k, t, keyPgmapDone(d), wait);
    return NEXT;
  });
  b.step('memunmap_pages', 'pageunmap_range: the memmap is torn down', (k) => {
    const D = k.L.devices[d];
    for (let r = D.recBase; r < D.recBase + D.nrecs; r++) {
      const h = gupHoldersOf(k, r);
      if (h.length)
        k.warn('pgmap-ref-leak', 'memunmap_pages', `${D.name} torn down while GUP ref ${k.L.refs[h[0].ref].name} still holds page rec${r}`);
    }
    return NEXT;
  });
}

/**
 * xfs_dax_notify_failure(MF_MEM_PRE_REMOVE) for one in-core file (fs/xfs/xfs_notify_failure.c):
 * the filesystem is frozen first (freeze_super writes every DAX entry back: clean), then
 * xfs_dax_failure_fn's mf_dax_kill_procs unmaps the file's pages (and SIGBUSes the processes
 * that map them: not modelled, they run on) and, for the pre-remove case,
 * invalidate_inode_pages2_range deletes the now clean entries (dax_invalidate_mapping_entry_sync:
 * the folios lose their association, dax_folio_put's WARN if one is still referenced).
 * The kernel waits for an entry a fault holds locked (dax_lock_mapping_entry); this atomic
 * step leaves such an entry in place.
 */
function xfs_dax_notify_pre_remove(k: Kernel, f: number): void {
  const F = k.L.files[f];
  for (let i = 0; i < F.maxPages; i++) {
    const slot = F.xaOff + i;
    if (k.m[slot] && !(k.m[slot] & X_LOCKED)) k.set(slot, k.m[slot] & ~(X_DIRTY | X_TOWRITE));
  }
  unmap_mapping_pages(k, f, 0, ALL, true, 'mf_dax_kill_procs');
  for (let i = 0; i < F.maxPages; i++) {
    const slot = F.xaOff + i;
    if (!k.m[slot] || k.m[slot] & X_LOCKED) continue;
    const x = k.m[slot];
    if (__dax_invalidate_entry(k, f, slot, false)) k.note('invalidate_inode_pages2_range', `${F.name}@${i}: ${describeEntry(x)} dropped (MF_MEM_PRE_REMOVE)`);
  }
}

/**
 * xfs_mmaplock_two_inodes_and_break_dax_layout (fs/xfs/xfs_inode.c), for two
 * DAX inodes ip1 < ip2 (by inode number: file order here). ip1's layout is
 * broken as a truncate does (waits, dropping its MMAPLOCK). ip2 is locked
 * nested, so it is never slept on:
 * - before patch 06 (v6.12): one dax_layout_busy_page() scan of ip2; if it
 *   returns a page whose refcount is not idle (!= 1; != 0 once patch 21 made
 *   pages free at 0), unlock both and start again. If that page went idle
 *   between the scan and the refcount test, the function returns although a
 *   later page of ip2 may still be busy: the scan stops at the first one.
 * - patch 06: dax_break_layout(ip2, 0, -1, NULL): any busy page is
 *   -ERESTARTSYS (unlock both, start again); none: delete all ip2's entries.
 * The kernel spins on "start again"; the model lets the thread wait until the
 * page it found is no longer busy before it starts again (the spins between
 * change nothing but re-unmapping, which the last round does too).
 */
function emitMmaplockTwoInodesAndBreakDaxLayout(b: Builder, ip1: number, ip2: number): void {
  const fn = 'xfs_mmaplock_two_inodes_and_break_dax_layout';
  const again = b.here();
  b.acquireStep(fn, 'xfs_ilock(ip1, XFS_MMAPLOCK_EXCL)', (k, t) => (invalidate_lock(k, ip1, t) ? NEXT : BLOCKED));
  b.scope(() => emitBreakLayout(b, { file: () => ip1, lock: 'mmaplock', final: false })); // its scan and delete start afresh each round
  if (ip1 === ip2) return;
  b.acquireStep(fn, 'xfs_ilock(ip2, XFS_MMAPLOCK_EXCL) nested', (k, t) => (invalidate_lock(k, ip2, t) ? NEXT : BLOCKED));
  const BUSY = b.local();
  const busy = new Label();
  const none = new Label();
  const done = new Label();
  emitLayoutBusyScan(b, () => ip2, BUSY, busy, none);
  b.mark(busy);
  b.step(fn, 'ip2 has a busy page: test its refcount again (v6.12) or fail with -ERESTARTSYS (patch 06)', (k, t) => {
    const page = k.m[k.L.threads[t].off + BUSY] - 1;
    const rc = k.m[k.r(page) + R_REF];
    if (!k.fix('fs-dax-always-remove-dax-page-cache-entries') && rc === (k.old ? 1 : 0)) {
      k.note(fn, `page rec${page} of ${k.L.files[ip2].name} went idle since the scan: go on without scanning the rest of ${k.L.files[ip2].name}`);
      return done.pc;
    }
    invalidate_unlock(k, ip2);
    invalidate_unlock(k, ip1);
    k.note(fn, `page rec${page} of ${k.L.files[ip2].name} is busy: unlock both and start again`);
    return NEXT;
  });
  b.step(fn, 'goto again (a busy loop: no sleep on ip2)', (k, t) => {
    const page = k.m[k.L.threads[t].off + BUSY] - 1;
    return pageBusy(k, page) ? BLOCKED : again.pc;
  });
  b.mark(none);
  b.localStep('dax_break_layout', 'ip2: nothing busy', (k) => (k.fix('fs-dax-always-remove-dax-page-cache-entries') ? NEXT : done.pc), {
    when: onOldScheme,
    fn,
    what: 'ip2: nothing busy',
  });
  emitDeleteMappingRange(b, () => ip2);
  b.mark(done);
}

/** dax_busy_page's test on one page: old refcount > 1; new refcount - mapcount of its folio != 0. */
function pageBusy(k: Kernel, page: number): boolean {
  if (k.old) return k.m[k.r(page) + R_REF] > 1;
  const h = folioOf(k, page);
  return folio_ref_count(k, h) - folio_mapcount(k, h) !== 0;
}
