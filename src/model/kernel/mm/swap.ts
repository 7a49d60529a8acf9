// Getting and putting folio references: include/linux/mm.h (folio_get,
// folio_put, put_page) and mm/swap.c, with the old scheme's devmap hook
// put_devmap_managed_folio_refs (mm/memremap.c, removed by the series).
import type { Kernel } from '../../kernel.js';
import { R_HEAD, R_REF } from '../../state.js';
import { keyRefcount, wake_up_var } from '../kernel/wait_bit.js';
import { free_zone_device_folio, pgmapOf } from './memremap.js';

export const folioOf = (k: Kernel, page: number) => k.m[k.r(page) + R_HEAD];

/** folio_get / folio_ref_inc / folio_ref_add (include/linux/mm.h, page_ref.h). */
export function folio_ref_add(k: Kernel, h: number, n: number, caller: string): void {
  k.refMod(h, n, caller);
}

/**
 * folio_put_refs (include/linux/mm.h) as the scheme sees it. Old scheme:
 * FS_DAX puts go through put_devmap_managed_folio_refs, which catches the
 * 2 -> 1 transition (idle) and wakes &folio->_refcount. New scheme: a plain
 * put; reaching 0 frees the folio (free_zone_device_folio).
 */
export function folio_put_refs(k: Kernel, h: number, n: number, caller: string): void {
  const d = pgmapOf(k, h);
  if (k.old && d.pgmap === 'MEMORY_DEVICE_FS_DAX') {
    // put_devmap_managed_folio_refs (mm/memremap.c, v6.12)
    const v = k.refMod(h, -n, caller);
    if (v === 1) wake_up_var(k, keyRefcount(h), 'put_devmap_managed_folio_refs');
    return;
  }
  const v = k.refMod(h, -n, caller);
  if (v === 0) free_zone_device_folio(k, h);
}

export function folio_put(k: Kernel, h: number, caller: string): void {
  folio_put_refs(k, h, 1, caller);
}

export const folio_ref_count = (k: Kernel, h: number) => k.m[k.r(h) + R_REF];
