// mm/memremap.c and mm/mm_init.c: ZONE_DEVICE page initialisation, the
// pgmap reference, and free_zone_device_folio().
import type { Kernel } from '../../kernel.js';
import { D_PGMAP_LIVE, D_PGMAP_REF, R_HEAD, R_INDEX, R_MAPPING, R_ORDER, R_REF } from '../../state.js';
import { keyPage, keyPgmapDone, wake_up_var } from '../kernel/wait_bit.js';

export function pgmapOf(k: Kernel, r: number) {
  return k.L.devices[k.L.recDevice[r]];
}

/**
 * __init_zone_device_page (mm/mm_init.c): the refcount a ZONE_DEVICE page is
 * born with. Old scheme: FS_DAX and GENERIC keep 1. New scheme: FS_DAX joins
 * the types that start at 0; GENERIC (device-DAX) still starts at 1.
 */
export function init_zone_device_page_refcount(k: Kernel, r: number): number {
  const d = pgmapOf(k, r);
  if (d.pgmap === 'MEMORY_DEVICE_GENERIC') return 1;
  return k.old ? 1 : 0;
}

/** get_dev_pagemap (mm/memremap.c): percpu_ref_tryget_live; fails once the ref is killed. */
export function get_dev_pagemap(k: Kernel, d: number): boolean {
  const o = k.L.devices[d].off;
  if (!k.m[o + D_PGMAP_LIVE]) return false;
  k.m[o + D_PGMAP_REF]++;
  return true;
}

/** put_dev_pagemap (include/linux/memremap.h): the last put after a kill completes pgmap->done. */
export function put_dev_pagemap(k: Kernel, d: number): void {
  const o = k.L.devices[d].off;
  k.m[o + D_PGMAP_REF]--;
  if (!k.m[o + D_PGMAP_LIVE] && k.m[o + D_PGMAP_REF] === 0) wake_up_var(k, keyPgmapDone(d), 'put_dev_pagemap');
}

/**
 * free_zone_device_folio (mm/memremap.c): called when a ZONE_DEVICE folio's
 * refcount reaches 0. FS_DAX keeps `mapping` (dax_folio_put clears it) and
 * wakes layout breakers waiting on the page; GENERIC resets the count to 1.
 */
export function free_zone_device_folio(k: Kernel, h: number): void {
  const d = pgmapOf(k, h);
  const o = k.r(h);
  // FS_DAX clears mapping in dax_folio_put; GENERIC keeps it since the series'
  // device-dax patch (before it, the old scheme cleared it).
  if (d.pgmap !== 'MEMORY_DEVICE_FS_DAX' && k.old) {
    k.m[o + R_MAPPING] = 0;
    k.m[o + R_INDEX] = 0;
  }
  if (d.pgmap === 'MEMORY_DEVICE_GENERIC') {
    k.m[o + R_REF] = 1; // folio_set_count(folio, 1)
    k.note('free_zone_device_folio', `GENERIC folio rec${h}: refcount reset to 1`);
    return;
  }
  k.note('free_zone_device_folio', `FS_DAX folio rec${h} (order ${k.m[o + R_ORDER]}) is free`);
  wake_up_var(k, keyPage(k.m[o + R_HEAD]), 'free_zone_device_folio');
}
