// MAP_SYNC write faults on FS-DAX (fs/dax.c: dax_fault_is_synchronous,
// dax_fault_synchronous_pfnp, dax_finish_sync_fault, dax_insert_pfn_mkwrite;
// the filesystem side in xfs_file.c: xfs_dax_fault_locked calls
// dax_finish_sync_fault with XFS_MMAPLOCK still held; xfs_file_fsync).
//
// A write fault in a VM_SYNC mapping whose iomap carries IOMAP_F_DIRTY (the
// inode's metadata is not yet stable: XFS's inode is pinned in the log with
// fsync-relevant fields, e.g. after allocating the block) must not map the
// page before that metadata is durable. dax_iomap_fault inserts the entry
// clean (not tagged dirty, inode not marked I_DIRTY_PAGES), unlocks it and
// returns VM_FAULT_NEEDDSYNC with the pfn; the filesystem then fsyncs the
// faulting range and maps the pfn writable through dax_insert_pfn_mkwrite,
// which tags the entry dirty.
import type { Kernel } from '../../kernel.js';
import { Builder, Label, NEXT, fail, sleepOn } from '../../program.js';
import { F_META_DIRTY, PMD_NR, X_DIRTY, X_LOCKED, X_PMD, E_PRESENT, E_TABLE } from '../../state.js';
import { SIGBUS } from '../../errno.js';
import { keyEntry } from '../kernel/wait_bit.js';
import { folio_put, folio_ref_add, folioOf } from '../mm/swap.js';
import { insert_pfn, insert_page_into_pte_locked } from '../mm/memory.js';
import { vmf_insert_folio_huge, vmf_insert_pfn_huge } from '../mm/huge_memory.js';
import { pmdAt, region } from '../mm/pgtable.js';
import { invalidate_unlock_shared } from './locks.js';
import { fileBlock } from './blocks.js';
import { type FaultSite, dax_unlock_entry, entrySlot } from './dax.js';

/** dax_fault_is_synchronous (fs/dax.c): IOMAP_WRITE, VM_SYNC and IOMAP_F_DIRTY. */
export function dax_fault_is_synchronous(k: Kernel, s: FaultSite, file: number): boolean {
  return s.write && region(k, s.v).sync && k.m[k.L.files[file].off + F_META_DIRTY] === 1;
}

/** VM_FAULT_NEEDDSYNC: dax_iomap_{pte,pmd}_fault unlocks the (clean) entry and returns; the fs lock stays held. */
export function needDsync(k: Kernel, file: number, slot: number, to: Label): number {
  dax_unlock_entry(k, file, slot);
  k.note('dax_fault_synchronous_pfnp', `${k.L.files[file].name}: metadata not yet durable: VM_FAULT_NEEDDSYNC, nothing mapped yet`);
  return to.pc;
}

/** xfs_file_fsync's xfs_log_force_inode (ext4_sync_file's journal commit): the inode's logged changes are durable; later iomaps lose IOMAP_F_DIRTY. */
export function xfs_log_force_inode(k: Kernel, file: number, caller: string): void {
  const o = k.L.files[file].off;
  if (k.m[o + F_META_DIRTY]) k.note(caller, `${k.L.files[file].name}: log forced, metadata durable`);
  k.set(o + F_META_DIRTY, 0);
}

export function emitLogForce(b: Builder, file: number): void {
  const [fn, what] = b.byFs(['xfs_file_fsync', 'xfs_log_force_inode'], ['ext4_sync_file', "commit the inode's journal transaction (jbd2)"]);
  b.step(fn, what, (k) => {
    xfs_log_force_inode(k, file, fn);
    return NEXT;
  });
}

/**
 * The filesystem's NEEDDSYNC handling, with XFS_MMAPLOCK held shared:
 * dax_finish_sync_fault -> vfs_fsync_range(datasync) over the fault's range,
 * then dax_insert_pfn_mkwrite: wait for the entry to be unlocked; if it is
 * gone or is of the other size, VM_FAULT_NOPAGE (the access faults
 * again); otherwise tag it dirty, lock it and insert a writable mapping
 * (new scheme: under a temporary folio reference), then unlock it.
 * Returns the label of the first step. `order` is 0 or PMD_ORDER.
 */
export function emitDaxFinishSyncFault(b: Builder, s: FaultSite, order: number, unlockFs: Label): Label {
  const start = new Label();
  const nr = order ? PMD_NR : 1;
  const index = (k: Kernel, t: number) => {
    const p = k.m[k.L.threads[t].off + s.pLocal];
    return region(k, s.v).pgoff + p - (p % nr);
  };
  const file = (k: Kernel) => region(k, s.v).target;
  b.mark(start);
  const fsync = b.byFs('xfs_file_fsync', 'ext4_sync_file');
  b.step('dax_finish_sync_fault', `vfs_fsync_range of the faulting range (${fsync}, datasync)`, (k, t) => {
    // The range's entry was inserted clean, so its writeback finds nothing to flush; the log force makes the metadata durable.
    xfs_log_force_inode(k, file(k), fsync);
    k.note('dax_finish_sync_fault', `${k.L.files[file(k)].name}@${index(k, t)}: fsync of ${nr} page(s) done`);
    return NEXT;
  });
  const lock = b.here();
  b.step('dax_insert_pfn_mkwrite', 'get_unlocked_entry; tag it dirty; insert a writable mapping; dax_unlock_entry', (k, t) => {
    const f = file(k);
    const i = index(k, t);
    const slot = order ? k.L.files[f].xaOff + i : entrySlot(k, f, i);
    const x = k.m[slot];
    if (x & X_LOCKED) return sleepOn(k, t, keyEntry(f, i), lock);
    const r = fileBlock(k, f, i);
    const p = k.m[k.L.threads[t].off + s.pLocal];
    if (!x || (order > 0) !== ((x & X_PMD) !== 0)) {
      // no entry, or one of the other size ("did we race with someone splitting the entry?"):
      // trace_dax_insert_pfn_mkwrite_no_entry, VM_FAULT_NOPAGE. The pfn itself is not compared: with
      // XFS_MMAPLOCK held nothing can remap the index meanwhile.
      k.note('dax_insert_pfn_mkwrite', `${k.L.files[f].name}@${i}: the entry changed meanwhile: VM_FAULT_NOPAGE`);
      invalidate_unlock_shared(k, f);
      return s.done.pc;
    }
    k.set(slot, x | X_DIRTY); // xas_set_mark(PAGECACHE_TAG_DIRTY); the lock is held only within this step
    let err = 0;
    if (order === 0) {
      if (k.old) insert_pfn(k, s.v, p, r, true, false); // vmf_insert_mixed_mkwrite
      else {
        const h = folioOf(k, r);
        folio_ref_add(k, h, 1, 'dax_insert_pfn_mkwrite'); // folio_ref_inc
        const ret = insert_page_into_pte_locked(k, s.v, p, r, true, false); // vmf_insert_page_mkwrite
        if (ret < 0 && ret !== -16) err = SIGBUS;
        folio_put(k, h, 'dax_insert_pfn_mkwrite');
      }
      if (region(k, s.v).hasPmd) k.set(pmdAt(s.v, p), k.m[pmdAt(s.v, p)] | (E_TABLE | E_PRESENT));
    } else if (k.old) vmf_insert_pfn_huge(k, s.v, p, r, 'pmd', true);
    else {
      folio_ref_add(k, r, 1, 'dax_insert_pfn_mkwrite');
      vmf_insert_folio_huge(k, s.v, p, r, 'pmd', true);
      folio_put(k, r, 'dax_insert_pfn_mkwrite');
    }
    dax_unlock_entry(k, f, slot);
    if (err) return fail(k, t, err, unlockFs);
    k.note('dax_insert_pfn_mkwrite', `${k.L.files[f].name}@${i}: mapped writable, entry tagged dirty`);
    invalidate_unlock_shared(k, f);
    return s.done.pc;
  });
  return start;
}
