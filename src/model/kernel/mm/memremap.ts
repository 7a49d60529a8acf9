// mm/memremap.c and mm/mm_init.c: ZONE_DEVICE page initialisation per pgmap
// type, the pgmap reference (get_dev_pagemap / put_dev_pagemap and the refs
// allocated pages hold), free_zone_device_folio() and memunmap_pages().
//
// Read in the kernel source (docs/kernel/mm.md §4): v6.12 is the tree before
// Alistair Popple's series (its removed lines in the v9 patches 10/20 and
// "fs/dax: Properly refcount fs dax pages"); v6.15 is the merged series.
import type { Kernel } from '../../kernel.js';
import { Builder, NEXT, sleepOn } from '../../program.js';
import type { Scheme } from '../../versions.js';
import {
  type PgmapType, D_ALIVE, D_PGMAP_LIVE, D_PGMAP_PAGES, D_PGMAP_REF, R_DRV, R_HEAD, R_INDEX, R_MAPPING, R_ORDER, R_REF, R_USERS,
} from '../../state.js';
import { keyPage, keyPgmapDone, wake_up_var } from '../kernel/wait_bit.js';

export function pgmapOf(k: Kernel, r: number) {
  return k.L.devices[k.L.recDevice[r]];
}

/**
 * __init_zone_device_page (mm/mm_init.c): the refcount a ZONE_DEVICE page is
 * born with. v6.12: PRIVATE and COHERENT are set to 0, every other type keeps
 * the 1 of __init_single_page. v6.15 ("mm/mm_init: Move p2pdma page refcount
 * initialisation to p2pdma" and "fs/dax: Properly refcount fs dax pages"):
 * only GENERIC keeps 1.
 */
export function initRefcount(t: PgmapType, scheme: Scheme): number {
  if (t === 'MEMORY_DEVICE_GENERIC') return 1;
  if (scheme === 'new') return 0;
  return t === 'MEMORY_DEVICE_PRIVATE' || t === 'MEMORY_DEVICE_COHERENT' ? 0 : 1;
}

/**
 * The references a free page of this type holds that belong to no one (the
 * "idle" count): device-DAX's 1 in both schemes, FS-DAX's 1 in the old one.
 * Old-scheme P2PDMA is born at 1 too, but p2pmem_alloc_mmap drops that
 * reference when it maps the page, so the model books it as a driver-side
 * reference (R_DRV) instead.
 */
export function idleRefs(t: PgmapType, scheme: Scheme): number {
  if (t === 'MEMORY_DEVICE_GENERIC') return 1;
  return t === 'MEMORY_DEVICE_FS_DAX' && scheme === 'old' ? 1 : 0;
}

/** Who holds a page's driver-side references (R_DRV), for the holders view. */
export function driverHolder(k: Kernel, h: number): string {
  const d = pgmapOf(k, h);
  const n = k.m[k.r(h) + R_DRV];
  if (d.pgmap === 'MEMORY_DEVICE_PCI_P2PDMA' && k.old && !k.m[k.r(h) + R_USERS])
    return 'P2PDMA birth reference (__init_zone_device_page; p2pmem_alloc_mmap drops it, free_zone_device_folio resets it)';
  return `${n} reference(s) of the driver (zone_device_page_init, folio_get, or p2pmem_alloc_mmap before its put_page)`;
}

/** get_dev_pagemap (mm/memremap.c): percpu_ref_tryget_live; fails once the ref is killed. */
export function get_dev_pagemap(k: Kernel, d: number): boolean {
  const o = k.L.devices[d].off;
  if (!k.m[o + D_PGMAP_LIVE]) return false;
  k.add(o + D_PGMAP_REF, 1);
  return true;
}

/** Once killed, the last reference put completes pgmap->done (dev_pagemap_percpu_release). */
function maybeComplete(k: Kernel, d: number, caller: string): void {
  const o = k.L.devices[d].off;
  if (!k.m[o + D_PGMAP_LIVE] && k.m[o + D_PGMAP_REF] <= 0 && k.m[o + D_PGMAP_PAGES] <= 0) wake_up_var(k, keyPgmapDone(d), caller);
}

/** put_dev_pagemap (include/linux/memremap.h): drop a transient get_dev_pagemap reference. */
export function put_dev_pagemap(k: Kernel, d: number): void {
  k.add(k.L.devices[d].off + D_PGMAP_REF, -1);
  maybeComplete(k, d, 'put_dev_pagemap');
}

/** A pgmap reference held on behalf of an allocated page: percpu_ref_tryget_live (live) or percpu_ref_get. */
export function pgmapPageGet(k: Kernel, d: number, live: boolean): boolean {
  const o = k.L.devices[d].off;
  if (live && !k.m[o + D_PGMAP_LIVE]) return false;
  k.add(o + D_PGMAP_PAGES, 1);
  return true;
}

/** Drop a page's pgmap reference (put_dev_pagemap / percpu_ref_put); below zero is a percpu_ref underflow. */
export function pgmapPagePut(k: Kernel, d: number, caller: string): void {
  const o = k.L.devices[d].off;
  if (k.add(o + D_PGMAP_PAGES, -1) < 0) k.warn('percpu-ref-underflow', caller, `${k.L.devices[d].name}: pgmap percpu_ref put below zero`);
  maybeComplete(k, d, caller);
}

/**
 * The driver's dev_pagemap_ops->page_free: the page goes back to the
 * driver's allocator. P2PDMA's p2pdma_page_free (drivers/pci/p2pdma.c) also
 * drops the pgmap reference p2pmem_alloc_mmap took for the page
 * (gen_pool_free_owner + percpu_ref_put). The DAX types' page_free is not
 * modelled (v6.12 pmem/device-DAX page_free have no effect on these counts).
 */
function page_free(k: Kernel, h: number): void {
  const d = pgmapOf(k, h);
  if (d.type === 'fsdax' || d.type === 'devdax') return;
  k.set(k.r(h) + R_USERS, 0);
  if (d.pgmap === 'MEMORY_DEVICE_PCI_P2PDMA') pgmapPagePut(k, d.id, 'p2pdma_page_free');
  k.note('page_free', `${d.name}:${k.L.recPfn[h]} returned to the driver's allocator`);
}

/**
 * free_zone_device_folio (mm/memremap.c): called when a ZONE_DEVICE folio's
 * refcount reaches 0.
 * v6.12: clear mapping, page_free for every type; then PRIVATE/COHERENT drop
 * their pgmap reference (put_dev_pagemap), every other type is reset to
 * refcount 1 (FS-DAX never gets here: its 2 -> 1 put is caught earlier).
 * v6.15: mapping is kept for FS_DAX (dax_folio_put clears it) and GENERIC;
 * PRIVATE/COHERENT: page_free + put_dev_pagemap; GENERIC: reset to 1 (no
 * page_free any more); FS_DAX: wake the layout breakers waiting on the page;
 * P2PDMA: page_free only (the page stays at 0 until p2pmem_alloc_mmap sets 1).
 */
export function free_zone_device_folio(k: Kernel, h: number): void {
  const d = pgmapOf(k, h);
  const o = k.r(h);
  const t = d.pgmap;
  if (k.old || (t !== 'MEMORY_DEVICE_FS_DAX' && t !== 'MEMORY_DEVICE_GENERIC')) {
    k.set(o + R_MAPPING, 0);
    k.set(o + R_INDEX, 0);
  }
  const reset = (why: string) => {
    k.set(o + R_REF, 1); // folio_set_count(folio, 1)
    if (t === 'MEMORY_DEVICE_PCI_P2PDMA') k.set(o + R_DRV, 1); // old P2PDMA: the init reference is back
    k.note('free_zone_device_folio', `${t} folio ${d.name}:${k.L.recPfn[h]}: refcount reset to 1 (${why})`);
  };
  if (k.old) {
    page_free(k, h);
    if (t === 'MEMORY_DEVICE_PRIVATE' || t === 'MEMORY_DEVICE_COHERENT') pgmapPagePut(k, d.id, 'put_dev_pagemap');
    else reset('v6.12: every type but PRIVATE/COHERENT');
    return;
  }
  switch (t) {
    case 'MEMORY_DEVICE_PRIVATE':
    case 'MEMORY_DEVICE_COHERENT':
      page_free(k, h);
      pgmapPagePut(k, d.id, 'put_dev_pagemap');
      return;
    case 'MEMORY_DEVICE_GENERIC':
      reset('device-DAX');
      return;
    case 'MEMORY_DEVICE_FS_DAX':
      k.note('free_zone_device_folio', `FS_DAX folio rec${h} (order ${k.m[o + R_ORDER]}) is free`);
      wake_up_var(k, keyPage(k.m[o + R_HEAD]), 'free_zone_device_folio');
      return;
    case 'MEMORY_DEVICE_PCI_P2PDMA':
      page_free(k, h);
      return;
  }
}

/**
 * zone_device_page_init (mm/memremap.c, v6.12 and v6.15): a driver
 * allocating a PRIVATE/COHERENT page takes a pgmap reference
 * (WARN_ON_ONCE(!percpu_ref_tryget_live)), sets the refcount to 1 and locks
 * the page (the page lock is not modelled). Later kernels add an order; only
 * order 0 is modelled.
 */
export function zone_device_page_init(k: Kernel, r: number): void {
  const d = pgmapOf(k, r);
  if (!pgmapPageGet(k, d.id, true))
    k.warn('warn-zone-device-page-init-dead-pgmap', 'zone_device_page_init', `${d.name}:${k.L.recPfn[r]} allocated after memunmap_pages killed the pgmap`);
  const o = k.r(r);
  k.set(o + R_REF, 1); // set_page_count(page, 1)
  k.set(o + R_DRV, 1);
  k.set(o + R_USERS, 1);
  k.note('zone_device_page_init', `${d.name}:${k.L.recPfn[r]} allocated: refcount 1, pgmap reference taken`);
}

/**
 * memunmap_pages (mm/memremap.c) for a device with no DAX layer (PRIVATE,
 * COHERENT, P2PDMA): kill the pgmap percpu_ref, wait for pgmap->done (every
 * transient get_dev_pagemap and every reference an allocated page holds),
 * then tear the memmap down. It never looks at page refcounts: a page still
 * referenced at teardown is reported (pgmap-ref-leak). `before` emits the
 * driver's own unbind steps that run first (P2PDMA unmaps user mappings).
 */
export function emitMemunmapPages(b: Builder, d: number, before?: (b: Builder) => void): void {
  before?.(b);
  const wait = b.here();
  b.step('memunmap_pages', 'percpu_ref_kill; wait_for_completion(&pgmap->done)', (k, t) => {
    const o = k.L.devices[d].off;
    k.set(o + D_PGMAP_LIVE, 0);
    k.set(o + D_ALIVE, 0);
    if (k.m[o + D_PGMAP_REF] > 0 || k.m[o + D_PGMAP_PAGES] > 0) return sleepOn(k, t, keyPgmapDone(d), wait);
    return NEXT;
  });
  b.step('memunmap_pages', 'pageunmap_range: the memmap is torn down', (k) => {
    const D = k.L.devices[d];
    for (let r = D.recBase; r < D.recBase + D.nrecs; r++) {
      const rc = k.m[k.r(r) + R_REF];
      if (rc !== initRefcount(D.pgmap, k.cfg.scheme))
        k.warn('pgmap-ref-leak', 'memunmap_pages', `${D.name} torn down while page ${D.name}:${k.L.recPfn[r]} still has refcount ${rc}`);
    }
    k.note('memunmap_pages', `${D.name}: pgmap gone`);
    return NEXT;
  });
}
