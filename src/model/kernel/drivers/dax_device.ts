// drivers/dax/device.c: device-DAX faults. No filesystem, no DAX xarray; the
// pgmap is MEMORY_DEVICE_GENERIC with compound folios of the device alignment.
import type { Kernel } from '../../kernel.js';
import { type VmaInfo, D_ALIVE, R_INDEX, R_MAPPING, E_TABLE, E_PRESENT } from '../../state.js';
import { SIGBUS } from '../../errno.js';
import { insert_pfn, insert_page_into_pte_locked } from '../mm/memory.js';
import { vmf_insert_folio_huge, vmf_insert_pfn_huge } from '../mm/huge_memory.js';
import { coversAligned, pmdAt } from '../mm/pgtable.js';

export const MAPPING_DEV_BASE = 1 << 20; // page->mapping of a device-DAX page: the char device inode's mapping

/** The record holding device page `pgoff` (records are per folio of the device alignment). */
export function devRec(k: Kernel, d: number, pgoff: number): number {
  const D = k.L.devices[d];
  return D.recBase + Math.floor(pgoff / D.alignPages);
}

/** dax_set_mapping (drivers/dax/device.c): mapping/index on the folio head, once. */
function dax_set_mapping(k: Kernel, d: number, h: number, pgoff: number): void {
  const o = k.r(h);
  if (k.m[o + R_MAPPING]) return;
  k.set(o + R_MAPPING, MAPPING_DEV_BASE + d);
  k.set(o + R_INDEX, pgoff);
}

/**
 * dev_dax_huge_fault (drivers/dax/device.c) for the fault size `order` the
 * core tries (PUD, then PMD, then PTE). Returns 0 (mapped), 'fallback' or an errno.
 */
export function dev_dax_huge_fault(k: Kernel, v: VmaInfo, p: number, order: 0 | 9 | 18, write: boolean): number | 'fallback' {
  const R = k.L.regions[v.region];
  const d = R.target;
  const D = k.L.devices[d];
  if (!k.m[D.off + D_ALIVE]) return SIGBUS; // check_vma: !dax_alive
  const align = D.alignPages;
  const size = 1 << order;
  if (align > size) return SIGBUS; // fault smaller than the alignment
  if (align < size) return 'fallback';
  if (order > 0 && !coversAligned(k, v, p, order)) return SIGBUS;
  const pgoff = R.pgoff + p - (p % size);
  const h = devRec(k, d, pgoff);
  dax_set_mapping(k, d, h, pgoff);
  if (order === 0) {
    if (k.old) insert_pfn(k, v, p, h, write, false);
    else {
      const ret = insert_page_into_pte_locked(k, v, p, h, write, false);
      if (ret < 0 && ret !== -16) return SIGBUS;
    }
    if (R.hasPmd) k.set(pmdAt(v, p), k.m[pmdAt(v, p)] | (E_TABLE | E_PRESENT));
  } else if (k.old) vmf_insert_pfn_huge(k, v, p, h, order === 9 ? 'pmd' : 'pud', write);
  else vmf_insert_folio_huge(k, v, p, h, order === 9 ? 'pmd' : 'pud', write);
  return 0;
}
