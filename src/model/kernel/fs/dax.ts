// fs/dax.c: the DAX "page cache" (xarray value entries), associating folios
// with files, the fault paths, writeback, the busy-page scan and layout
// breaking. Each exported emit* function appends the atomic steps of one
// kernel path to a program; plain functions run inside one step.
import type { Kernel } from '../../kernel.js';
import { BLOCKED, Builder, Label, NEXT, fail, onOldScheme, sleepOn } from '../../program.js';
import {
  type VmaInfo, D_ALIVE, F_DIRTY_INODE, F_ISIZE, F_NRPAGES, F_MAPPED, MAPPING_DAX_SHARED, PMD_NR, PMD_ORDER,
  R_HEAD, R_INDEX, R_MAPPING, R_ORDER, R_REF, R_GEN, R_USERS, T_TEMPREF, X_DIRTY, X_EMPTY, X_LOCKED, X_PMD, X_TOWRITE, X_ZERO,
  mkXa, xaRec, E_PRESENT, E_TABLE, E_WRITE, E_DIRTY, E_ZERO, E_ANON, mkLeaf, V_ANON_VMA, P_RSS_ANON, P_RSS_FILE, leafRec,
  E_DEVMAP, E_SPECIAL, GL_HUGE_ZERO_MAPPING, GL_ZERO_MAPPING,
} from '../../state.js';
import { EFAULT, SIGBUS, ENOSPC } from '../../errno.js';
import { dax_wake_entry, keyEntry, keyPage, keyRefcount } from '../kernel/wait_bit.js';
import { folio_put, folio_ref_add, folio_ref_count, folioOf } from '../mm/swap.js';
import { folio_mapcount, folio_remove_rmap_pte } from '../mm/rmap.js';
import { insert_pfn, insert_page_into_pte_locked } from '../mm/memory.js';
import { set_huge_zero_pmd, vmf_insert_folio_huge, vmf_insert_pfn_huge, zap_huge } from '../mm/huge_memory.js';
import { pmdAt, pteAt, region, vmasOfFile, covers, coversAligned } from '../mm/pgtable.js';
import { unmap_mapping_pages } from '../mm/unmap.js';
import { allocBlock, allocPmdExtent, fileBlock, freePmdRun, iomapAllocator, isHole, releaseBlock } from './blocks.js';
import { invalidate_lock, invalidate_lock_shared, invalidate_unlock, invalidate_unlock_shared } from './locks.js';
import { dax_fault_is_synchronous, emitDaxFinishSyncFault, needDsync } from './dax_sync.js';

const ALL = 1 << 30; // "to LLONG_MAX"

// ---------------------------------------------------------------- entries

/** State word of the xarray slot holding the entry that covers index i (a PMD entry sits at its aligned index). */
export function entrySlot(k: Kernel, f: number, i: number): number {
  const F = k.L.files[f];
  const a = i - (i % PMD_NR);
  if (a !== i && a < F.maxPages) {
    const x = k.m[F.xaOff + a];
    if (x & X_PMD) return F.xaOff + a;
  }
  return F.xaOff + i;
}
export const slotIndex = (k: Kernel, f: number, slot: number) => slot - k.L.files[f].xaOff;
export const entryOrder = (x: number) => (x & X_PMD ? PMD_ORDER : 0);
const isReal = (x: number) => x !== 0 && !(x & (X_ZERO | X_EMPTY));

/** The first entry at or after index i (and below `end`), as its slot, or -1. */
export function nextEntry(k: Kernel, f: number, i: number, end: number): number {
  const F = k.L.files[f];
  if (i > 0 && i % PMD_NR !== 0) {
    const s = entrySlot(k, f, i);
    if (slotIndex(k, f, s) < i && k.m[s]) i = slotIndex(k, f, s) + PMD_NR; // inside a PMD entry already passed
  }
  for (let j = i; j < Math.min(end, F.maxPages); j++) if (k.m[F.xaOff + j]) return F.xaOff + j;
  return -1;
}

/** The pages (records) an entry's folio spans: dax_entry_size() / PAGE_SIZE of them, none for zero/empty. */
function entryPages(x: number): number {
  return isReal(x) ? 1 << entryOrder(x) : 0;
}

// ---------------------------------------------------------------- association

/** dax_folio_init (fs/dax.c, new): make a compound folio of the entry's order (prep_compound_page). */
function dax_folio_init(k: Kernel, x: number): void {
  const h = folioOf(k, xaRec(x)); // dax_to_folio: the folio the entry's pfn is in
  const order = entryOrder(x);
  if (k.m[k.r(h) + R_ORDER] !== 0) k.warn('warn-dax-folio-init-large', 'dax_folio_init', `folio rec${h} is already large`);
  if (order > 0) {
    for (let j = 0; j < 1 << order; j++) {
      k.set(k.r(h + j) + R_HEAD, h);
      if (j > 0 && k.m[k.r(h + j) + R_REF] !== 0)
        k.warn('warn-dax-folio-init-refcount', 'dax_folio_init', `tail page rec${h + j} has refcount ${k.m[k.r(h + j) + R_REF]}`);
    }
    k.set(k.r(h) + R_ORDER, order);
    if (k.m[k.r(h) + R_REF] !== 0)
      k.warn('warn-dax-folio-init-refcount', 'dax_folio_init', `folio rec${h} has refcount ${k.m[k.r(h) + R_REF]} at init`);
    k.note('dax_folio_init', `rec${h}: compound folio of order ${order}`);
  }
}

/** dax_folio_put (fs/dax.c, new): drop one association; the last one clears mapping and splits the folio. */
export function dax_folio_put(k: Kernel, h: number): number {
  const o = k.r(h);
  const shared = k.m[o + R_MAPPING] === 0 && k.m[o + R_INDEX] > 0;
  const ref = shared ? k.add(o + R_INDEX, -1) : 0;
  if (ref) return ref;
  k.set(o + R_MAPPING, 0);
  // dax_folio_reset_order (2026) clears share, the union with index, on an order-0 folio too;
  // before it, an order-0 folio kept the index of its last single-owner association. And its
  // caller's refcount check now loops over 1 << 0 pages instead of returning early: an order-0
  // folio that loses its last association while still referenced WARNs there too.
  const reset = k.fix('dax-factor-out-dax-folio-reset-order');
  if (reset) k.set(o + R_INDEX, 0);
  const order = k.m[o + R_ORDER];
  if (!order && !reset) return 0;
  for (let j = 0; j < 1 << order; j++) {
    const po = k.r(h + j);
    k.set(po + R_HEAD, h + j);
    k.set(po + R_ORDER, 0);
    k.set(po + R_MAPPING, 0);
    k.set(po + R_INDEX, 0);
    if (k.m[po + R_REF] !== 0)
      k.warn('warn-dax-folio-put-split-refcount', 'dax_folio_put', `page rec${h + j} has refcount ${k.m[po + R_REF]} as ${order ? 'its folio is split' : 'its last association goes'}`);
  }
  if (order) k.note('dax_folio_put', `rec${h}: last association gone, folio split into ${1 << order} order-0 pages`);
  return 0;
}

/** dax_associate_entry (fs/dax.c): record which file owns the entry's pages. */
export function dax_associate_entry(k: Kernel, f: number, x: number, index: number, shared: boolean): void {
  if (!isReal(x)) {
    if (x & X_ZERO && zeroFolioUntracked(k)) zero_folio_associate(k, f, x);
    return;
  }
  const h = xaRec(x);
  if (k.old) {
    for (let j = 0; j < entryPages(x); j++) {
      const o = k.r(h + j);
      if (shared) {
        // dax_page_share_get: a page mapped regularly before restarts the count at 1
        if (k.m[o + R_MAPPING] !== MAPPING_DAX_SHARED) {
          if (k.m[o + R_MAPPING]) k.set(o + R_INDEX, 1);
          k.set(o + R_MAPPING, MAPPING_DAX_SHARED);
        }
        k.add(o + R_INDEX, 1);
      } else {
        if (k.m[o + R_MAPPING]) k.warn('warn-dax-associate-entry-mapping-set', 'dax_associate_entry', `page rec${h + j} already has a mapping`);
        k.set(o + R_MAPPING, f + 1);
        k.set(o + R_INDEX, index + j);
      }
    }
    return;
  }
  // dax_to_folio(entry): the folio the entry's pfn belongs to, which is larger than the entry
  // when a PTE entry of one file maps a page of a folio another file maps with a PMD
  const hf = folioOf(k, h);
  const o = k.r(hf);
  const isShared = k.m[o + R_MAPPING] === 0 && k.m[o + R_INDEX] > 0;
  if (shared && (k.m[o + R_MAPPING] !== 0 || isShared)) {
    if (k.m[o + R_MAPPING] !== 0) {
      // dax_folio_make_shared: mapping NULL, share (overlaying index) 1
      k.set(o + R_MAPPING, 0);
      k.set(o + R_INDEX, 1);
    }
    if (!k.m[o + R_INDEX]) k.warn('warn-dax-associate-entry-share', 'dax_associate_entry', `folio rec${hf} has share 0`);
    if (entryOrder(x) !== k.m[o + R_ORDER])
      k.warn('warn-dax-associate-entry-order', 'dax_associate_entry', `entry order ${entryOrder(x)} != folio order ${k.m[o + R_ORDER]}`);
    k.add(o + R_INDEX, 1);
  } else {
    if (k.m[o + R_MAPPING]) k.warn('warn-dax-associate-entry-mapping-set', 'dax_associate_entry', `folio rec${hf} already has a mapping`);
    dax_folio_init(k, x);
    const fo = k.r(folioOf(k, h)); // dax_to_folio again: the folio dax_folio_init made
    k.set(fo + R_MAPPING, f + 1);
    k.set(fo + R_INDEX, index);
  }
}

/**
 * The series' folio code turned a zero-page entry into the zero page's folio
 * (dax_to_folio), which the old pfn loop never did (dax_entry_size() was 0 for
 * zero and empty entries). Until "don't disassociate zero page entries" put the
 * early returns back, associate and disassociate ran on that shared folio.
 */
function zeroFolioUntracked(k: Kernel): boolean {
  return !k.old && !k.fix('fs-dax-dont-disassociate-zero-page-entries');
}
const zeroFolioWord = (k: Kernel, x: number) => k.L.globalOff + (x & X_PMD ? GL_HUGE_ZERO_MAPPING : GL_ZERO_MAPPING);

/** dax_associate_entry's unshared path on the (huge) zero folio: WARN_ON_ONCE(folio->mapping), then the mapping is set. */
function zero_folio_associate(k: Kernel, f: number, x: number): void {
  const w = zeroFolioWord(k, x);
  if (k.m[w]) k.warn('warn-dax-associate-entry-mapping-set', 'dax_associate_entry', `the ${x & X_PMD ? 'huge ' : ''}zero folio already has a mapping (file ${k.L.files[k.m[w] - 1].name})`);
  k.set(w, f + 1);
}

/** dax_disassociate_entry (fs/dax.c). `trunc`: called by truncate/eviction (old scheme WARNs on a busy page). */
export function dax_disassociate_entry(k: Kernel, f: number, x: number, trunc: boolean): void {
  if (!isReal(x)) {
    if (x & X_ZERO && zeroFolioUntracked(k)) {
      k.warn('warn-dax-zero-page-disassociated', 'dax_disassociate_entry', 'dax_folio_put() ran on the shared zero page');
      k.set(zeroFolioWord(k, x), 0); // dax_folio_put: an unshared folio's mapping is cleared
    }
    return;
  }
  const h = xaRec(x);
  if (!k.old) {
    dax_folio_put(k, folioOf(k, h));
    return;
  }
  for (let j = 0; j < entryPages(x); j++) {
    const o = k.r(h + j);
    if (trunc && k.m[o + R_REF] > 1)
      k.warn('warn-dax-disassociate-entry-busy', 'dax_disassociate_entry', `truncating page rec${h + j} with refcount ${k.m[o + R_REF]} (> 1: still DMA-busy)`);
    if (k.m[o + R_MAPPING] === MAPPING_DAX_SHARED) {
      if (k.add(o + R_INDEX, -1) > 0) continue; // dax_page_share_put: still shared
    } else if (k.m[o + R_MAPPING] && k.m[o + R_MAPPING] !== f + 1) {
      k.warn('warn-dax-disassociate-entry-mapping', 'dax_disassociate_entry', `page rec${h + j} belongs to another mapping`);
    }
    k.set(o + R_MAPPING, 0);
    k.set(o + R_INDEX, 0);
  }
}

/**
 * __dax_invalidate_entry (fs/dax.c), for an entry the caller found unlocked:
 * drop it unless it is dirty (and not truncating); either way wake every
 * waiter (put_unlocked_entry with WAKE_ALL), since a waiter woken before may
 * have been the one that would have passed the wake-up on. True if dropped.
 */
export function __dax_invalidate_entry(k: Kernel, f: number, slot: number, trunc: boolean): boolean {
  const x = k.m[slot];
  if (!x) return false;
  if (!trunc && x & (X_DIRTY | X_TOWRITE)) {
    dax_wake_entry(k, f, slotIndex(k, f, slot), true);
    return false;
  }
  dax_disassociate_entry(k, f, x, trunc);
  eraseEntry(k, f, slot);
  return true;
}

/** Erase an entry (xas_store NULL), fix nrpages and wake every waiter (WAKE_ALL). */
function eraseEntry(k: Kernel, f: number, slot: number): void {
  const x = k.m[slot];
  k.set(slot, 0);
  k.add(k.L.files[f].off + F_NRPAGES, -(1 << entryOrder(x)));
  dax_wake_entry(k, f, slotIndex(k, f, slot), true);
}

/** dax_unlock_entry (fs/dax.c): clear DAX_LOCKED and wake the next waiter (WAKE_NEXT). */
export function dax_unlock_entry(k: Kernel, f: number, slot: number): void {
  k.set(slot, k.m[slot] & (~X_LOCKED));
  dax_wake_entry(k, f, slotIndex(k, f, slot), false);
}

/**
 * dax_insert_entry (fs/dax.c): replace a zero/empty entry (or any entry of a
 * shared extent) by one for `r`, unmapping stale mappings of the index first,
 * and tag it dirty. The entry stays locked. Returns the entry word.
 */
export function dax_insert_entry(
  k: Kernel, f: number, slot: number, index: number, r: number, flags: number, shared: boolean, dirty: boolean,
): number {
  const x = k.m[slot];
  const start = slotIndex(k, f, slot);
  if (dirty) k.set(k.L.files[f].off + F_DIRTY_INODE, 1); // __mark_inode_dirty(I_DIRTY_PAGES)
  if (shared || (x & X_ZERO && !(flags & X_ZERO))) {
    if (x & X_PMD) unmap_mapping_pages(k, f, start, PMD_NR, false, 'dax_insert_entry');
    else unmap_mapping_pages(k, f, index, 1, false, 'dax_insert_entry');
  }
  let nx = x;
  if (shared || x & (X_ZERO | X_EMPTY)) {
    dax_disassociate_entry(k, f, x, false);
    nx = mkXa(r, flags | X_LOCKED);
    dax_associate_entry(k, f, nx, start, shared);
    nx |= x & (X_DIRTY | X_TOWRITE);
    k.note('dax_insert_entry', `${k.L.files[f].name}@${start}: ${describeEntry(nx)}`);
  }
  if (dirty) nx |= X_DIRTY;
  if (shared && dirty) nx |= X_TOWRITE;
  k.set(slot, nx);
  return nx;
}

export function describeEntry(x: number): string {
  if (!x) return 'none';
  const kind = x & X_EMPTY ? 'empty' : x & X_ZERO ? 'zero' : `rec${xaRec(x)}`;
  const bits = [x & X_PMD ? 'PMD' : 'PTE', x & X_LOCKED ? 'locked' : '', x & X_DIRTY ? 'dirty' : '', x & X_TOWRITE ? 'towrite' : '']
    .filter(Boolean)
    .join(',');
  return `${kind} (${bits})`;
}

// ---------------------------------------------------------------- grab_mapping_entry

export const GRAB_FALLBACK = -10;

/**
 * grab_mapping_entry (fs/dax.c), one attempt under xa_lock. Returns the slot
 * of the entry now locked by this thread, GRAB_FALLBACK, or a pc after putting
 * the thread to sleep on a locked entry (get_unlocked_entry).
 */
function grab_mapping_entry(k: Kernel, t: number, f: number, index: number, order: number, retry: Label): number {
  const F = k.L.files[f];
  let slot: number;
  if (order > 0) {
    // xas_find_conflict over the PMD range: any smaller entry means fallback
    slot = F.xaOff + index;
    for (let j = index + 1; j < index + PMD_NR && j < F.maxPages; j++) if (k.m[F.xaOff + j]) return GRAB_FALLBACK;
    const x0 = k.m[slot];
    if (x0 && !(x0 & X_PMD)) return GRAB_FALLBACK;
  } else {
    slot = entrySlot(k, f, index);
  }
  let x = k.m[slot];
  if (x & X_LOCKED) return sleepOn(k, t, keyEntry(f, slotIndex(k, f, slot)), retry);
  if (order === 0 && x & X_PMD && x & (X_ZERO | X_EMPTY)) {
    // PMD downgrade: unmap the huge zero page, drop the PMD entry, start afresh at PTE size
    if (x & X_ZERO) unmap_mapping_pages(k, f, slotIndex(k, f, slot), PMD_NR, false, 'grab_mapping_entry');
    dax_disassociate_entry(k, f, x, false);
    eraseEntry(k, f, slot);
    k.note('grab_mapping_entry', `${F.name}: PMD ${x & X_ZERO ? 'zero' : 'empty'} entry downgraded`);
    slot = F.xaOff + index;
    x = 0;
  }
  if (x) {
    k.set(slot, x | X_LOCKED);
  } else {
    k.set(slot, X_EMPTY | X_LOCKED | (order > 0 ? X_PMD : 0));
    k.add(F.off + F_NRPAGES, 1 << order);
  }
  return slot;
}

// ---------------------------------------------------------------- faults

export interface FaultSite {
  v: VmaInfo;
  pLocal: number; // thread word holding the faulting region page
  write: boolean;
  done: Label; // fault handled: go on here
  err: Label; // fault failed (T_ERR set): go on here
  pte: Label; // the PTE-level fault entry point (PMD fallback jumps here)
}

const fileOf = (k: Kernel, v: VmaInfo) => k.L.regions[v.region].target;

/**
 * The FS-DAX PTE fault: xfs_filemap_fault / ext4_dax_huge_fault around
 * dax_iomap_pte_fault (fs/dax.c). Steps: take the invalidate lock shared;
 * grab the entry; iomap + dax_insert_entry (+ the new scheme's temporary
 * reference); insert the PTE, drop the temporary reference, unlock.
 */
export function emitDaxPteFault(b: Builder, s: FaultSite): void {
  const SLOT = b.local();
  const PFN = b.local(); // the block iomap_begin returned (+1): the PTE maps it, whatever the file maps by then
  const f = fileOf;
  const unlockFs = new Label();
  const allocator = iomapAllocator(b);
  b.mark(s.pte);
  b.acquireStep(...b.byFs(['xfs_filemap_fault', 'xfs_ilock(XFS_MMAPLOCK_SHARED)'], ['ext4_dax_huge_fault', 'filemap_invalidate_lock_shared']), (k) => (invalidate_lock_shared(k, f(k, s.v)) ? NEXT : BLOCKED));
  const grab = b.here();
  b.step('grab_mapping_entry', 'lock (or create) the DAX entry of this index', (k, t) => {
    const file = f(k, s.v);
    const p = k.m[k.L.threads[t].off + s.pLocal];
    const R = region(k, s.v);
    const index = R.pgoff + p;
    if (index * 4096 >= k.m[k.L.files[file].off + F_ISIZE]) return failUnlock(k, t, SIGBUS, unlockFs);
    const r = grab_mapping_entry(k, t, file, index, 0, grab);
    if (r === grab.pc) return r;
    k.set(k.L.threads[t].off + SLOT, r);
    return NEXT;
  });
  b.step('dax_iomap_pte_fault', 'iomap_begin, dax_insert_entry, temporary folio reference', (k, t) => {
    const to = k.L.threads[t].off;
    const file = f(k, s.v);
    const p = k.m[to + s.pLocal];
    const R = region(k, s.v);
    const index = R.pgoff + p;
    const slot = k.m[to + SLOT];
    const pm = k.m[pmdAt(s.v, p)];
    if (R.hasPmd && pm & E_PRESENT && !(pm & E_TABLE)) return unlockEntryAnd(k, file, slot, s.done, unlockFs, t); // raced with a PMD fault: NOPAGE
    const cow = s.write && !R.shared;
    let r = fileBlock(k, file, index);
    if (deviceGone(k, file, r, s.write)) return failUnlockEntry(k, t, file, slot, SIGBUS, unlockFs);
    if (cow) return dax_fault_cow_page(k, t, s, file, slot, r, unlockFs);
    if (r < 0 && !s.write) {
      // dax_load_hole: zero entry and a special PTE of the zero page
      dax_insert_entry(k, file, slot, index, -1, X_ZERO, false, false);
      if (k.old) insert_pfn(k, s.v, p, -1, false, true);
      else insert_page_into_pte_locked(k, s.v, p, -1, false, true);
      markTable(k, s.v, p);
      return unlockEntryAnd(k, file, slot, s.done, unlockFs, t);
    }
    let shared = r >= 0 && k.m[k.r(r) + R_USERS] > 1; // IOMAP_F_SHARED: a reflinked extent
    if (r < 0) {
      r = allocBlock(k, file, index, allocator);
      if (r < 0) return failUnlockEntry(k, t, file, slot, SIGBUS, unlockFs);
    } else if (shared && s.write) {
      // CoW of a shared extent (xfs_reflink_allocate_cow + dax_iomap_copy_around); remapped at iomap_end
      const nr = cowBlock(k, file, index, r);
      if (nr < 0) return failUnlockEntry(k, t, file, slot, SIGBUS, unlockFs);
      r = nr;
    }
    if (!s.write) shared = shared && true;
    if (dax_fault_is_synchronous(k, s, file)) {
      dax_insert_entry(k, file, slot, index, r, 0, shared, false);
      return needDsync(k, file, slot, sync);
    }
    const x = dax_insert_entry(k, file, slot, index, r, 0, shared, s.write);
    if (!k.old) {
      const h = xaRec(x) >= 0 ? folioOf(k, xaRec(x)) : folioOf(k, r);
      folio_ref_add(k, h, 1, 'dax_fault_iter'); // folio_ref_inc: insertion needs refcount >= 1
      k.set(to + T_TEMPREF, h + 1);
    }
    k.set(to + PFN, r + 1);
    return NEXT;
  }, { when: onOldScheme, fn: 'dax_iomap_pte_fault', what: 'iomap_begin, dax_insert_entry' });
  b.step('vmf_insert_page_mkwrite', 'insert the PTE, drop the temporary reference, unlock the entry', (k, t) => {
    const to = k.L.threads[t].off;
    const file = f(k, s.v);
    const p = k.m[to + s.pLocal];
    const slot = k.m[to + SLOT];
    const page = k.m[to + PFN] - 1;
    let err = 0;
    if (k.old) insert_pfn(k, s.v, p, page, s.write, false);
    else {
      const ret = insert_page_into_pte_locked(k, s.v, p, page, s.write, false);
      if (ret < 0 && ret !== -16) err = SIGBUS; // -EBUSY is success; other errors SIGBUS (vmf_insert_page_mkwrite)
      const h = k.m[to + T_TEMPREF] - 1;
      k.set(to + T_TEMPREF, 0);
      folio_put(k, h, 'dax_fault_iter');
    }
    markTable(k, s.v, p);
    if (err) return failUnlockEntry(k, t, file, slot, err, unlockFs);
    return unlockEntryAnd(k, file, slot, s.done, unlockFs, t);
  }, { when: onOldScheme, fn: 'vmf_insert_mixed', what: 'insert the devmap PTE (vmf_insert_mixed_mkwrite for a write), unlock the entry' });
  const sync = emitDaxFinishSyncFault(b, s, 0, unlockFs);
  b.mark(unlockFs);
  b.step(...b.byFs(['xfs_filemap_fault', 'xfs_iunlock(XFS_MMAPLOCK_SHARED) after an error'], ['ext4_dax_huge_fault', 'filemap_invalidate_unlock_shared after an error']), (k) => {
    invalidate_unlock_shared(k, f(k, s.v));
    return s.err.pc;
  });
}

/** Error path: set errno, release the fs lock (the unlockFs step jumps on to s.err). */
function failUnlock(k: Kernel, t: number, errno: number, unlockFs: Label): number {
  return fail(k, t, errno, unlockFs);
}
function failUnlockEntry(k: Kernel, t: number, f: number, slot: number, errno: number, unlockFs: Label): number {
  dax_unlock_entry(k, f, slot);
  return fail(k, t, errno, unlockFs);
}
/** dax_unlock_entry + xfs_iunlock(MMAPLOCK_SHARED), then continue at `to`. */
function unlockEntryAnd(k: Kernel, f: number, slot: number, to: Label, _u: Label, _t: number): number {
  dax_unlock_entry(k, f, slot);
  invalidate_unlock_shared(k, f);
  return to.pc;
}

/** A PTE under this PMD means a page table hangs there (pte_alloc). */
function markTable(k: Kernel, v: VmaInfo, p: number): void {
  if (region(k, v).hasPmd) k.set(pmdAt(v, p), k.m[pmdAt(v, p)] | (E_TABLE | E_PRESENT));
}

/** Allocate the CoW destination of a shared block and remap the file page to it (xfs_reflink_end_cow). */
function cowBlock(k: Kernel, f: number, index: number, old: number): number {
  releaseBlock(k, f, index, 'xfs_reflink_end_cow');
  const r = allocBlock(k, f, index, 'xfs_reflink_allocate_cow');
  if (r >= 0) k.note('dax_iomap_copy_around', `copied block ${k.L.recPfn[old]} to ${k.L.recPfn[r]}`);
  return r;
}

/**
 * A fault on a file whose dax device was removed (kill_dax: !dax_alive). xfs,
 * the device's holder, was shut down by its notify_failure, so iomap_begin
 * fails (-EIO) for any fault; ext4 registers no holder and is not told, but
 * dax_direct_access refuses a dead device (-ENXIO; drivers/dax/super.c) for a
 * block to map or a hole to fill. Either is VM_FAULT_SIGBUS (dax_fault_return);
 * a read of a hole on ext4 still maps the zero page, which needs no pmem.
 */
function deviceGone(k: Kernel, file: number, block: number, write: boolean): boolean {
  const D = k.L.devices[k.L.files[file].device];
  return !k.m[D.off + D_ALIVE] && (D.fs === 'xfs' || block >= 0 || write);
}

/**
 * dax_fault_cow_page (fs/dax.c) + finish_fault: a write fault on a private
 * mapping copies into a new anonymous page. The DAX entry (empty if it was
 * new) is left in place, unlocked; no DAX folio reference is involved.
 */
function dax_fault_cow_page(k: Kernel, t: number, s: FaultSite, f: number, slot: number, _r: number, unlockFs: Label): number {
  const p = k.m[k.L.threads[t].off + s.pLocal];
  const po = k.L.processes[s.v.process].off;
  k.set(s.v.off + V_ANON_VMA, 1); // anon_vma_prepare
  k.set(pteAt(s.v, p), mkLeaf(-1, E_PRESENT | E_ANON | E_WRITE | E_DIRTY));
  k.add(po + P_RSS_ANON, 1);
  markTable(k, s.v, p);
  k.note('dax_fault_cow_page', `private copy of ${k.L.files[f].name} page installed as an anonymous page`);
  return unlockEntryAnd(k, f, slot, s.done, unlockFs, t);
}

/**
 * The FS-DAX PMD fault: dax_iomap_pmd_fault (fs/dax.c). Falls back to the PTE
 * fault when the VMA, EOF, the entry, the extent or its alignment do not allow
 * a 2 MiB mapping.
 */
export function emitDaxPmdFault(b: Builder, s: FaultSite, pmd: Label): void {
  const SLOT = b.local();
  const allocator = iomapAllocator(b);
  const f = fileOf;
  const fallback = new Label();
  const fallbackLocked = new Label();
  const unlockFs = new Label();
  b.mark(pmd);
  b.acquireStep(...b.byFs(['xfs_filemap_huge_fault', 'xfs_ilock(XFS_MMAPLOCK_SHARED)'], ['ext4_dax_huge_fault', 'filemap_invalidate_lock_shared']), (k) => (invalidate_lock_shared(k, f(k, s.v)) ? NEXT : BLOCKED));
  const grab = b.here();
  b.step('grab_mapping_entry', 'dax_fault_check_fallback, then lock (or create) the PMD entry', (k, t) => {
    const to = k.L.threads[t].off;
    const file = f(k, s.v);
    const R = region(k, s.v);
    const p = k.m[to + s.pLocal];
    const index = R.pgoff + p - (p % PMD_NR);
    const maxPg = Math.ceil(k.m[k.L.files[file].off + F_ISIZE] / 4096);
    if (R.pgoff + p >= maxPg) return failUnlock(k, t, SIGBUS, unlockFs);
    if ((index | (PMD_NR - 1)) >= maxPg) return fallback.pc; // the PMD would extend past EOF
    if (s.write && !R.shared) return fallback.pc;
    const r = grab_mapping_entry(k, t, file, index, PMD_ORDER, grab);
    if (r === GRAB_FALLBACK) return fallback.pc;
    if (r === grab.pc) return r;
    k.set(to + SLOT, r);
    return NEXT;
  });
  b.step('dax_iomap_pmd_fault', 'iomap_begin, dax_insert_entry, temporary folio reference', (k, t) => {
    const to = k.L.threads[t].off;
    const file = f(k, s.v);
    const R = region(k, s.v);
    const p = k.m[to + s.pLocal];
    const index = R.pgoff + p - (p % PMD_NR);
    const slot = k.m[to + SLOT];
    const pm = k.m[pmdAt(s.v, p)];
    if (pm & E_TABLE) {
      // a PTE table exists here: return 0 and let the PTE fault handle it
      dax_unlock_entry(k, file, slot);
      invalidate_unlock_shared(k, file);
      return s.pte.pc;
    }
    let first = fileBlock(k, file, index);
    if (deviceGone(k, file, first, s.write)) return fallbackLocked.pc; // the PTE fault then fails too
    if (first < 0 && !isHole(k, file, index, PMD_NR)) return fallbackLocked.pc; // partly allocated: no 2 MiB mapping
    if (first < 0 && s.write) {
      // a write into a hole: iomap_begin(IOMAP_WRITE, PMD_SIZE) allocates the whole 2 MiB as one extent
      first = allocPmdExtent(k, file, index, allocator);
      if (first < 0) return fallbackLocked.pc;
    }
    if (first < 0) {
      // dax_pmd_load_hole: the huge zero folio, no reference
      dax_insert_entry(k, file, slot, index, -1, X_ZERO | X_PMD, false, false);
      if (pm & E_PRESENT) return fallbackLocked.pc;
      set_huge_zero_pmd(k, s.v, p);
      k.note('dax_pmd_load_hole', `huge zero PMD for ${k.L.files[file].name}@${index}`);
      return unlockEntryAnd(k, file, slot, s.done, unlockFs, t);
    }
    // iomap_length >= PMD_SIZE and a PMD-aligned pfn (dax_iomap_direct_access)
    for (let j = 1; j < PMD_NR; j++) if (fileBlock(k, file, index + j) !== first + j) return fallbackLocked.pc;
    if (k.L.recPfn[first] % PMD_NR !== 0) return fallbackLocked.pc;
    // IOMAP_F_SHARED: xfs_reflink_trim_around_shared ends the mapping where sharing changes,
    // so a 2 MiB mapping is shared or not as a whole
    const shared = k.m[k.r(first) + R_USERS] > 1;
    for (let j = 1; j < PMD_NR; j++) if (k.m[k.r(first + j) + R_USERS] > 1 !== shared) return fallbackLocked.pc;
    if (shared && s.write) {
      // xfs_reflink_allocate_cow for the whole 2 MiB (an aligned extent, or the PTE fault CoWs 4K),
      // dax_iomap_copy_around, remapped by xfs_reflink_end_cow
      if (freePmdRun(k, k.L.files[file].device) < 0) return fallbackLocked.pc;
      const old = first;
      for (let j = 0; j < PMD_NR; j++) releaseBlock(k, file, index + j, 'xfs_reflink_end_cow');
      first = allocPmdExtent(k, file, index, 'xfs_reflink_allocate_cow');
      k.note('dax_iomap_copy_around', `copied blocks ${k.L.recPfn[old]}.. to ${k.L.recPfn[first]}.. (2 MiB)`);
    }
    if (dax_fault_is_synchronous(k, s, file)) {
      dax_insert_entry(k, file, slot, index, first, X_PMD, shared, false);
      return needDsync(k, file, slot, sync);
    }
    const x = dax_insert_entry(k, file, slot, index, first, X_PMD, shared, s.write);
    if (!k.old) {
      folio_ref_add(k, xaRec(x), 1, 'dax_fault_iter');
      k.set(to + T_TEMPREF, xaRec(x) + 1);
    }
    return NEXT;
  }, { when: onOldScheme, fn: 'dax_iomap_pmd_fault', what: 'iomap_begin, dax_insert_entry' });
  b.step('vmf_insert_folio_pmd', 'insert the PMD, drop the temporary reference, unlock the entry', (k, t) => {
    const to = k.L.threads[t].off;
    const file = f(k, s.v);
    const p = k.m[to + s.pLocal];
    const slot = k.m[to + SLOT];
    const h = xaRec(k.m[slot]);
    if (k.old) vmf_insert_pfn_huge(k, s.v, p, h, 'pmd', s.write);
    else {
      vmf_insert_folio_huge(k, s.v, p, h, 'pmd', s.write);
      k.set(to + T_TEMPREF, 0);
      folio_put(k, h, 'dax_fault_iter');
    }
    return unlockEntryAnd(k, file, slot, s.done, unlockFs, t);
  }, { when: onOldScheme, fn: 'vmf_insert_pfn_pmd', what: 'insert the devmap PMD, unlock the entry' });
  b.mark(fallbackLocked);
  b.step('dax_iomap_pmd_fault', 'VM_FAULT_FALLBACK: unlock the entry, split_huge_pmd', (k, t) => {
    const file = f(k, s.v);
    dax_unlock_entry(k, file, k.m[k.L.threads[t].off + SLOT]);
    return NEXT;
  });
  b.mark(fallback);
  b.step('dax_iomap_pmd_fault', 'fall back to a PTE fault', (k, t) => {
    const p = k.m[k.L.threads[t].off + s.pLocal];
    const pm = k.m[pmdAt(s.v, p)];
    if (pm & E_PRESENT && !(pm & E_TABLE)) zap_huge(k, s.v, p, 'pmd', 'split_huge_pmd');
    invalidate_unlock_shared(k, f(k, s.v));
    return s.pte.pc;
  });
  const sync = emitDaxFinishSyncFault(b, s, PMD_ORDER, unlockFs);
  b.mark(unlockFs);
  b.step(...b.byFs(['xfs_filemap_huge_fault', 'xfs_iunlock(XFS_MMAPLOCK_SHARED) after an error'], ['ext4_dax_huge_fault', 'filemap_invalidate_unlock_shared after an error']), (k) => {
    invalidate_unlock_shared(k, f(k, s.v));
    return s.err.pc;
  });
}

/** do_wp_page -> wp_page_copy (mm/memory.c): a private mapping's write to a present DAX PTE copies to anon. */
export function wp_page_copy(k: Kernel, v: VmaInfo, p: number): void {
  const at = pteAt(v, p);
  const e = k.m[at];
  const po = k.L.processes[v.process].off;
  k.set(v.off + V_ANON_VMA, 1);
  k.set(at, mkLeaf(-1, E_PRESENT | E_ANON | E_WRITE | E_DIRTY));
  k.add(po + P_RSS_ANON, 1);
  if (!(e & (E_ZERO | E_SPECIAL | E_DEVMAP))) {
    const page = leafRec(e);
    folio_remove_rmap_pte(k, page);
    k.add(po + P_RSS_FILE, -1);
    folio_put(k, folioOf(k, page), 'wp_page_copy');
  }
  k.note('wp_page_copy', `private CoW at page ${p}: the DAX page is replaced by an anonymous copy`);
}

// ---------------------------------------------------------------- busy scan and layout breaking

/** dax_busy_page (fs/dax.c): a page of the entry still referenced beyond its mappings, or -1. */
export function dax_busy_page(k: Kernel, x: number): number {
  const o = k.cfg.override?.dax_busy_page;
  return o ? o(k, x, daxBusyPageAsMerged) : daxBusyPageAsMerged(k, x);
}

function daxBusyPageAsMerged(k: Kernel, x: number): number {
  if (!isReal(x)) return -1;
  const h = xaRec(x);
  if (k.old) {
    for (let j = 0; j < entryPages(x); j++) if (k.m[k.r(h + j) + R_REF] > 1) return h + j;
    return -1;
  }
  const hh = folioOf(k, h);
  return folio_ref_count(k, hh) - folio_mapcount(k, hh) !== 0 ? hh : -1;
}

export interface BreakOpts {
  file: (k: Kernel, t: number) => number;
  /** 'mmaplock': truncate/punch hold the invalidate lock and drop it while sleeping; 'none': eviction. */
  lock: 'mmaplock' | 'none';
  final: boolean; // dax_break_layout_final (eviction)
  /** Where to continue once no busy page remains (entries deleted first when the kernel does so). */
}

/** The wait key and idle condition of the layout breaker's wait, per kernel. */
function idleWait(k: Kernel, page: number): { key: number; idle: boolean } {
  const key = k.fix('fs-dax-refactor-wait-for-dax-idle-page') ? keyPage(page) : keyRefcount(page);
  const o = k.cfg.override?.dax_page_is_idle;
  return { key, idle: o ? o(k, page, daxPageIsIdleAsMerged) : daxPageIsIdleAsMerged(k, page) };
}

/** dax_page_is_idle (fs/dax.c): refcount 0 in the new scheme; the old scheme's idle refcount is 1. */
function daxPageIsIdleAsMerged(k: Kernel, page: number): boolean {
  const rc = k.m[k.r(page) + R_REF];
  return k.old ? rc === 1 : rc === 0;
}

/**
 * dax_layout_busy_page_range (fs/dax.c) over the whole file: unmap every user
 * mapping of it, then walk its entries for a busy page (bug 02 shortcut, bug 03
 * skip and the v6.15 xas_pause skip per the kernel's fixes). Leaves the busy
 * page + 1 in thread local BUSY and goes to `wait`, or to `noneBusy`. Returns
 * the label of its first step (a rescan jumps there).
 */
export function emitLayoutBusyScan(b: Builder, file: (k: Kernel, t: number) => number, BUSY: number, wait: Label, noneBusy: Label): Label {
  const IDX = b.local(); // next index to scan
  const MODE = b.local(); // 2 = woken after xas_pause (v6.15)
  const rescan = b.here();
  b.step('dax_layout_busy_page_range', 'unmap_mapping_pages over the whole file', (k, t) => {
    const f = file(k, t);
    const to = k.L.threads[t].off;
    k.set(to + IDX, 0);
    k.set(to + MODE, 0);
    k.set(to + BUSY, 0);
    if (!k.fix('fs-dax-return-unmapped-busy-pages') && k.m[k.L.files[f].off + F_MAPPED] === 0) {
      k.note('dax_layout_busy_page_range', `${k.L.files[f].name} has no user mapping (!mapping_mapped): scan skipped`);
      return noneBusy.pc;
    }
    unmap_mapping_pages(k, f, 0, ALL, false, 'dax_layout_busy_page_range');
    return NEXT;
  }, { when: (cfg) => !cfg.fixes.has('fs-dax-return-unmapped-busy-pages'), fn: 'dax_layout_busy_page_range', what: 'nothing if no VMA maps the file (!mapping_mapped), else unmap_mapping_pages over the whole file' });
  const scan = b.here();
  b.step('dax_layout_busy_page_range', 'scan the entries under xa_lock for a busy page', (k, t) => {
    const f = file(k, t);
    const to = k.L.threads[t].off;
    if (k.m[to + MODE] === 2) {
      // wait_entry_unlocked_exclusive (v6.15): xas_pause moved the index on before the sleep, so the reload
      // (xas_load) and the walk go on after the entry waited for, which is never examined
      k.note('wait_entry_unlocked_exclusive', `woken after xas_pause: the walk resumes at ${k.L.files[f].name} index ${k.m[to + IDX]}; the entry waited for is skipped`);
      k.set(to + MODE, 0);
    }
    for (;;) {
      const slot = nextEntry(k, f, k.m[to + IDX], ALL);
      if (slot < 0) return noneBusy.pc;
      const x = k.m[slot];
      const at = slotIndex(k, f, slot);
      const after = at + (1 << entryOrder(x));
      if (x & X_LOCKED) {
        if (!k.fix('fs-dax-dont-skip-locked-entries')) {
          // bug 03: get_unlocked_entry() on the walk's positioned xa_state finds nothing (xas_find_conflict), so the
          // locked entry is never examined and the walk goes on; no wait
          k.note('dax_layout_busy_page_range', `locked entry ${k.L.files[f].name}@${at} skipped`);
          k.set(to + IDX, after);
          continue;
        }
        // wait_entry_unlocked_exclusive: sleep, then reload
        if (k.fix('fs-dax-dont-skip-locked-entries') && !k.fix('fs-dax-fix-dont-skip-locked-entries')) {
          k.set(to + IDX, after); // xas_pause: the reload happens at the next index (03-fix bug)
          k.set(to + MODE, 2);
        } else k.set(to + IDX, at);
        return sleepOn(k, t, keyEntry(f, at), scan);
      }
      const busy = dax_busy_page(k, x);
      k.set(to + IDX, after);
      if (busy >= 0) {
        k.set(to + BUSY, busy + 1);
        k.note('dax_layout_busy_page_range', `${k.L.files[f].name}@${at}: page rec${busy} is busy (refcount ${k.m[k.r(busy) + R_REF]})`);
        return wait.pc;
      }
    }
  });
  return rescan;
}

/**
 * dax_break_layout / dax_break_layout_final (fs/dax.c), and their v6.12 form
 * (xfs_break_dax_layouts / ext4_break_layouts looping on
 * dax_layout_busy_page_range). Loop: unmap the file, scan its entries for a
 * busy page, wait for that page to go idle, rescan. Once nothing is busy the
 * new kernels delete every entry of the file (patch 06; always for _final).
 */
export function emitBreakLayout(b: Builder, o: BreakOpts): void {
  const BUSY = b.local(); // busy page + 1
  const noneBusy = new Label();
  const wait = new Label();
  const rescan = emitLayoutBusyScan(b, o.file, BUSY, wait, noneBusy);
  b.mark(wait);
  const recheck = b.here();
  b.step(o.final ? 'dax_break_layout_final' : 'dax_break_layout', 'wait_var_event until the busy page is idle', (k, t) => {
    const f = o.file(k, t);
    const to = k.L.threads[t].off;
    const page = k.m[to + BUSY] - 1;
    const w = idleWait(k, page);
    if (w.idle) return rescan.pc;
    if (o.lock === 'mmaplock') invalidate_unlock(k, f); // the callback (xfs_wait_dax_page) drops the lock, then schedule()
    return sleepOn(k, t, w.key, relock);
  }, { when: (cfg) => onOldScheme(cfg) && !o.final, fn: b.byFs('xfs_break_dax_layouts', 'ext4_break_layouts'), what: '___wait_var_event until the busy page is idle (refcount 1)' });
  const relock = b.here();
  if (o.lock === 'mmaplock') {
    b.acquireStep(...b.byFs(['xfs_wait_dax_page', 'woken: xfs_ilock(XFS_MMAPLOCK_EXCL) again'], ['ext4_wait_dax_page', 'woken: filemap_invalidate_lock again']), (k, t) => (invalidate_lock(k, o.file(k, t), t) ? recheck.pc : BLOCKED));
  } else {
    b.localStep('dax_break_layout_final', 'woken: check again', () => recheck.pc);
  }
  b.mark(noneBusy);
  if (o.final) emitDeleteMappingRange(b, o.file);
  else {
    const skip = new Label();
    b.localStep('dax_break_layout', 'nothing busy', (k) => (k.fix('fs-dax-always-remove-dax-page-cache-entries') ? NEXT : skip.pc), { when: onOldScheme, fn: b.byFs('xfs_break_dax_layouts', 'ext4_break_layouts'), what: 'nothing busy' });
    emitDeleteMappingRange(b, o.file);
    b.mark(skip);
  }
}

/**
 * dax_delete_mapping_range (fs/dax.c, from patch 06): delete every entry of the
 * file, waiting for locked ones (wait_entry_unlocked_exclusive: with xas_pause
 * the entry after the waited-on one is deleted instead).
 */
export function emitDeleteMappingRange(b: Builder, file: (k: Kernel, t: number) => number): void {
  const IDX = b.local();
  b.localStep('dax_delete_mapping_range', 'start', (k, t) => {
    k.set(k.L.threads[t].off + IDX, 0);
    return NEXT;
  });
  const loop = b.here();
  b.step('dax_delete_mapping_range', 'disassociate and erase the entries under xa_lock', (k, t) => {
    const f = file(k, t);
    const to = k.L.threads[t].off;
    for (;;) {
      const slot = nextEntry(k, f, k.m[to + IDX], ALL);
      if (slot < 0) return NEXT;
      const x = k.m[slot];
      const at = slotIndex(k, f, slot);
      const after = at + (1 << entryOrder(x));
      if (x & X_LOCKED) {
        // wait_entry_unlocked_exclusive: xas_reset reloads this entry; v6.15's xas_pause the next index
        const reset = k.fix('fs-dax-fix-dont-skip-locked-entries');
        k.set(to + IDX, reset ? at : after);
        if (!reset) k.note('wait_entry_unlocked_exclusive', `${k.L.files[f].name}@${at} is locked: sleep; xas_pause makes the walk resume at index ${after}, past it`);
        return sleepOn(k, t, keyEntry(f, at), loop);
      }
      dax_disassociate_entry(k, f, x, true);
      eraseEntry(k, f, slot);
      k.note('dax_delete_mapping_range', `${k.L.files[f].name}@${at}: entry deleted`);
      k.set(to + IDX, after);
    }
  });
}

/**
 * Generic truncation of DAX entries from index `from` on: truncate_inode_pages_range
 * -> truncate_folio_batch_exceptionals (mm/truncate.c) -> dax_delete_mapping_entry
 * (fs/dax.c). After patch 06 the filesystem must have deleted them already:
 * each one found is a WARN (N6), then deleted anyway.
 */
export function emitTruncateExceptionals(b: Builder, file: (k: Kernel, t: number) => number, from: (k: Kernel, t: number) => number, to: (k: Kernel, t: number) => number): void {
  const IDX = b.local();
  // local: it reads the entry at `from` for the batch walk that follows, which the kernel does in the
  // same find_lock_entries call, so nothing can run between the two
  b.localStep('truncate_inode_pages_range', 'start', (k, t) => {
    // the walk (find_lock_entries -> xas_find) starts at the entry covering `from`: a PMD entry that
    // begins below it is found, and dax_delete_mapping_entry then deletes all of it
    const f = file(k, t);
    const i = from(k, t);
    const s = i < k.L.files[f].maxPages ? entrySlot(k, f, i) : -1;
    k.set(k.L.threads[t].off + IDX, s >= 0 && k.m[s] ? slotIndex(k, f, s) : i);
    return NEXT;
  });
  const loop = b.here();
  b.step('truncate_folio_batch_exceptionals', 'delete the DAX entries left in the range', (k, t) => {
    const f = file(k, t);
    const tw = k.L.threads[t].off;
    const end = to(k, t);
    for (;;) {
      const slot = nextEntry(k, f, k.m[tw + IDX], end);
      if (slot < 0) return NEXT;
      const x = k.m[slot];
      const at = slotIndex(k, f, slot);
      if (x & X_LOCKED) {
        k.set(tw + IDX, at); // __dax_invalidate_entry waits for the entry (get_next_unlocked_entry)
        return sleepOn(k, t, keyEntry(f, at), loop);
      }
      if (k.fix('fs-dax-always-remove-dax-page-cache-entries'))
        k.warn('stale-dax-entry-at-truncate', 'truncate_folio_batch_exceptionals', `${k.L.files[f].name}@${at}: DAX entry still present at generic truncate (${describeEntry(x)})`);
      dax_disassociate_entry(k, f, x, true);
      eraseEntry(k, f, slot);
      k.note('dax_delete_mapping_entry', `${k.L.files[f].name}@${at}: entry deleted`);
      k.set(tw + IDX, at + (1 << entryOrder(x)));
    }
  });
}

// ---------------------------------------------------------------- writeback

/**
 * dax_writeback_mapping_range (fs/dax.c): tag dirty entries TOWRITE, then for
 * each: lock it (dax_writeback_one), write-protect and clean its mappings
 * (pfn_mkclean_range), flush, clear the tags and unlock. The entry is locked
 * across the flush: a layout break can meet it locked. An entry someone else
 * holds locked is skipped, not waited for: get_(next_)unlocked_entry looks it
 * up with xas_find_conflict, which finds nothing for the walk's xa_state
 * already positioned on the slot, and dax_writeback_one returns 0 as for an
 * entry punched out (its TOWRITE tag stays). `range`: the page indices of a
 * ranged writeback (sync_file_range); the whole file without it.
 */
export function emitWriteback(b: Builder, file: number, range?: { first: number; end: number }): void {
  const IDX = b.local();
  const SLOT = b.local();
  const done = new Label();
  // the indices [first, end) of the wbc range (range_start >> PAGE_SHIFT .. range_end >> PAGE_SHIFT)
  const first = range?.first ?? 0;
  const endOf = (k: Kernel) => Math.min(range?.end ?? Infinity, k.L.files[file].maxPages);
  b.step('tag_pages_for_writeback', 'tag dirty entries TOWRITE', (k, t) => {
    const F = k.L.files[file];
    const end = endOf(k);
    // a PMD entry that starts before the range but covers its first index is in it (a multi-index entry)
    let i = first;
    const s0 = i < end ? entrySlot(k, file, i) : -1;
    if (s0 >= 0 && k.m[s0]) i = slotIndex(k, file, s0);
    k.set(k.L.threads[t].off + IDX, i);
    for (; i < end; i++) if (k.m[F.xaOff + i] & X_DIRTY && !(k.m[F.xaOff + i] & X_TOWRITE)) k.set(F.xaOff + i, k.m[F.xaOff + i] | X_TOWRITE);
    return NEXT;
  });
  const loop = b.here();
  b.step('dax_writeback_one', 'lock the next TOWRITE entry', (k, t) => {
    const F = k.L.files[file];
    const to = k.L.threads[t].off;
    for (;;) {
      const slot = nextEntry(k, file, k.m[to + IDX], endOf(k));
      if (slot < 0) return done.pc;
      const x = k.m[slot];
      const at = slotIndex(k, file, slot);
      if (!(x & X_TOWRITE)) {
        k.set(to + IDX, at + (1 << entryOrder(x)));
        continue;
      }
      if (x & X_LOCKED) {
        k.note('dax_writeback_one', `${F.name}@${at} is locked by another thread: skipped, not written back`);
        k.set(to + IDX, at + (1 << entryOrder(x)));
        continue;
      }
      k.set(slot, (x | X_LOCKED) & ~X_TOWRITE);
      k.set(to + SLOT, slot);
      k.set(to + IDX, at + (1 << entryOrder(x)));
      return NEXT;
    }
  });
  b.step('dax_writeback_one', 'pfn_mkclean_range, dax_flush, clear DIRTY, dax_unlock_entry', (k, t) => {
    const slot = k.m[k.L.threads[t].off + SLOT];
    const x = k.m[slot];
    const at = slotIndex(k, file, slot);
    for (const v of vmasOfFile(k, file)) {
      const R = k.L.regions[v.region];
      for (let j = 0; j < 1 << entryOrder(x); j++) {
        const p = at + j - R.pgoff;
        if (p < 0 || p >= R.npages) continue;
        if (R.hasPmd) {
          const e = k.m[pmdAt(v, p)];
          if (e & E_PRESENT && !(e & E_TABLE)) k.set(pmdAt(v, p), e & ~(E_WRITE | E_DIRTY));
        }
        if (R.hasPte && covers(k, v, p)) {
          const e = k.m[pteAt(v, p)];
          if (e & E_PRESENT && !(e & E_ANON)) k.set(pteAt(v, p), e & ~(E_WRITE | E_DIRTY));
        }
      }
    }
    k.set(slot, k.m[slot] & (~X_DIRTY));
    dax_unlock_entry(k, file, slot);
    k.note('dax_writeback_one', `${k.L.files[file].name}@${at} written back and write-protected`);
    return loop.pc;
  });
  b.mark(done);
}

export { coversAligned, EFAULT, ENOSPC, R_GEN };
