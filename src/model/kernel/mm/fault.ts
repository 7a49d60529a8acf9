// mm/memory.c: handle_mm_fault -> __handle_mm_fault, choosing the PUD, PMD or
// PTE path, write-protect faults (do_wp_page) and CoW of private mappings.
import { Builder, Label, fail } from '../../program.js';
import { type VmaInfo, E_PRESENT, E_TABLE, E_WRITE, PMD_ORDER, PUD_ORDER, PMD_NR } from '../../state.js';
import { SIGBUS, SIGSEGV } from '../../errno.js';
import { covers, coversAligned, pmdAt, pteAt, pudAt } from './pgtable.js';
import { zap_huge } from './huge_memory.js';
import { emitDaxPmdFault, emitDaxPteFault, wp_page_copy } from '../fs/dax.js';
import { dev_dax_huge_fault } from '../drivers/dax_device.js';

export interface FaultCall {
  v: VmaInfo;
  pLocal: number;
  write: boolean;
  done: Label;
  err: Label;
  fileBacked: boolean; // an FS-DAX file region (else device-DAX): decides which fault steps exist
}

/**
 * Emit the steps of one page fault at region page `pLocal` of VMA v. The
 * first step decides the path from the page tables (lockless walk in
 * __handle_mm_fault); device-DAX faults are one step (no filesystem lock).
 */
export function emitHandleMmFault(b: Builder, c: FaultCall): void {
  const pte = new Label();
  const pmd = new Label();
  b.step('handle_mm_fault', 'walk the page tables and pick the fault path', (k, t) => {
    const v = c.v;
    const reg = k.L.regions[v.region];
    const p = k.m[k.L.threads[t].off + c.pLocal];
    if (!covers(k, v, p)) return fail(k, t, SIGSEGV, c.err);
    if (reg.kind === 'device' && k.L.devices[reg.target].type === 'p2pdma') {
      // p2pmem mappings are populated at mmap; kernfs_vma_fault has no ->fault to call
      const e = k.m[pteAt(v, p)];
      if (e & E_PRESENT && (!c.write || e & E_WRITE)) return c.done.pc;
      return fail(k, t, SIGBUS, c.err);
    }
    if (reg.kind === 'device') {
      for (const order of [PUD_ORDER, PMD_ORDER, 0] as const) {
        if (order === PUD_ORDER && !reg.hasPud) continue;
        if (order === PMD_ORDER && !reg.hasPmd) continue;
        const at = order === PUD_ORDER ? pudAt(v, p) : order === PMD_ORDER ? pmdAt(v, p) : pteAt(v, p);
        const e = k.m[at];
        if (e & E_PRESENT && !(e & E_TABLE)) {
          if (!c.write || e & E_WRITE) return c.done.pc; // already mapped
        }
        const r = dev_dax_huge_fault(k, v, p, order, c.write);
        if (r === 'fallback') continue;
        if (r !== 0) return fail(k, t, r, c.err);
        k.note('dev_dax_huge_fault', `${reg.name}: ${order === 0 ? 'PTE' : order === PMD_ORDER ? 'PMD' : 'PUD'} fault at page ${p}`);
        return c.done.pc;
      }
      return fail(k, t, SIGBUS, c.err);
    }
    // FS-DAX
    if (reg.hasPmd) {
      const e = k.m[pmdAt(v, p)];
      if (e & E_PRESENT && !(e & E_TABLE)) {
        if (!c.write || e & E_WRITE) return c.done.pc; // huge_pmd_set_accessed
        if (reg.shared) return pmd.pc; // wp_huge_pmd -> ->huge_fault(write)
        zap_huge(k, v, p, 'pmd', '__split_huge_pmd'); // private: split, CoW at PTE size
        return pte.pc;
      }
      const suitable = coversAligned(k, v, p, PMD_ORDER) && reg.pgoff % PMD_NR === 0;
      if (!(e & E_TABLE) && suitable) return pmd.pc; // create_huge_pmd
    }
    const e = k.m[pteAt(v, p)];
    if (e & E_PRESENT) {
      if (!c.write || e & E_WRITE) return c.done.pc;
      if (reg.shared) return pte.pc; // do_wp_page -> wp_pfn_shared -> ->pfn_mkwrite
      wp_page_copy(k, v, p);
      return c.done.pc;
    }
    return pte.pc;
  });
  if (!c.fileBacked) return;
  emitDaxPmdFault(b, { v: c.v, pLocal: c.pLocal, write: c.write, done: c.done, err: c.err, pte }, pmd);
  emitDaxPteFault(b, { v: c.v, pLocal: c.pLocal, write: c.write, done: c.done, err: c.err, pte });
}
