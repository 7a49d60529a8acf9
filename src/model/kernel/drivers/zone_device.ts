// A device driver's own use of its ZONE_DEVICE pages, as the drivers under
// drivers/gpu and lib/test_hmm.c do it for MEMORY_DEVICE_PRIVATE/COHERENT:
// allocate a page (zone_device_page_init), take and drop references
// (folio_get / put_page). Migration of such pages to and from user space
// (migrate_vma_*, migrate_to_ram) is not modelled.
import type { Kernel } from '../../kernel.js';
import { Builder, NEXT, fail } from '../../program.js';
import type { PageRef } from '../../../scenario/types.js';
import { type Layout, R_DRV, R_REF, R_USERS } from '../../state.js';
import { EBUSY } from '../../errno.js';
import { zone_device_page_init } from '../mm/memremap.js';
import { folio_put, folio_ref_add } from '../mm/swap.js';

/** The record of a `DEVICE:PFN` page of an order-0 device. */
export function devPage(L: Layout, page: PageRef): number {
  if (page.kind !== 'device') throw new Error('a driver page op needs DEVICE:PFN');
  const d = L.devices.find((x) => x.name === page.device)!;
  return d.recBase + page.pfn;
}

export function emitDriverPageOp(b: Builder, op: 'page_alloc' | 'page_get' | 'page_put', r: number): void {
  switch (op) {
    case 'page_alloc':
      b.step('zone_device_page_init', 'the driver allocates the page', (k, t) => {
        // The driver's allocator hands out only free pages (its free list / gen_pool).
        if (k.m[k.r(r) + R_USERS]) return fail(k, t, EBUSY, b.end);
        zone_device_page_init(k, r);
        return NEXT;
      });
      return;
    case 'page_get':
      b.step('folio_get', 'the driver takes a reference', (k) => {
        if (k.m[k.r(r) + R_REF] <= 0) k.warn('folio-get-on-free-page', 'folio_get', `VM_BUG_ON (CONFIG_DEBUG_VM): reference taken on free page ${name(k, r)}`);
        folio_ref_add(k, r, 1, 'folio_get');
        k.add(k.r(r) + R_DRV, 1);
        return NEXT;
      });
      return;
    case 'page_put':
      b.step('put_page', 'the driver drops a reference', (k) => {
        if (k.m[k.r(r) + R_DRV] > 0) k.add(k.r(r) + R_DRV, -1);
        folio_put(k, r, 'put_page');
        return NEXT;
      });
  }
}

const name = (k: Kernel, r: number) => `${k.L.devices[k.L.recDevice[r]].name}:${k.L.recPfn[r]}`;
