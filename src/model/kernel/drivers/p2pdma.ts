// drivers/pci/p2pdma.c: PCI peer-to-peer memory (MEMORY_DEVICE_PCI_P2PDMA)
// as user space reaches it, through mmap of the device's p2pmem/allocate
// sysfs file (p2pmem_alloc_mmap), and its unbind (pci_p2pdma_unmap_mappings).
// In-kernel users (pci_alloc_p2pmem) never touch page refcounts and are not
// modelled.
import type { Kernel } from '../../kernel.js';
import type { Builder } from '../../program.js';
import { NEXT } from '../../program.js';
import { type VmaInfo, D_ALIVE, R_DRV, R_REF, R_USERS } from '../../state.js';
import { EINVAL, ENODEV, ENOENT, ENOMEM } from '../../errno.js';
import { vm_insert_page } from '../mm/memory.js';
import { folio_put } from '../mm/swap.js';
import { pgmapPageGet, pgmapPagePut } from '../mm/memremap.js';
import { unmap_device_mappings } from '../mm/unmap.js';

/** gen_pool_alloc_owner: the first run of `n` free pages (first fit), or -1. */
function gen_pool_alloc(k: Kernel, d: number, n: number): number {
  const D = k.L.devices[d];
  for (let s = 0, run = 0; s < D.nrecs; s++) {
    run = k.m[k.r(D.recBase + s) + R_USERS] ? 0 : run + 1;
    if (run === n) return D.recBase + s - n + 1;
  }
  return -1;
}

/**
 * p2pmem_alloc_mmap (drivers/pci/p2pdma.c), run inside do_mmap: a shared
 * mapping at offset 0 only; allocate the whole length from the device's
 * gen_pool; then per page: (v6.15) VM_WARN on the page's refcount and
 * set_page_count(1), vm_insert_page, percpu_ref_get on the pgmap, put_page.
 * v6.12 pages are born at 1, so the put_page drops that birth reference; in
 * both schemes a mapped page ends at refcount 1, mapcount 1: the PTE's.
 * Returns 0 or an errno.
 */
export function p2pmem_alloc_mmap(k: Kernel, v: VmaInfo): number {
  const R = k.L.regions[v.region];
  const d = R.target;
  const D = k.L.devices[d];
  if (!k.m[D.off + D_ALIVE]) return ENOENT; // the sysfs file was removed at unbind
  if (!R.shared) return EINVAL; // VM_MAYSHARE required
  if (R.pgoff) return EINVAL; // non-zero offset refused
  const first = gen_pool_alloc(k, d, R.npages);
  if (first < 0) return ENOMEM;
  if (!pgmapPageGet(k, d, true)) return ENODEV; // percpu_ref_tryget_live_rcu, held across the loop
  for (let j = 0; j < R.npages; j++) {
    const r = first + j;
    const o = k.r(r);
    k.set(o + R_USERS, 1);
    if (!k.old) {
      // The assertion was written for the old birth refcount of 1: it fires on every page until the Jan 2026 fix.
      const rc = k.m[o + R_REF];
      const fires = k.fix('pci-p2pdma-fix-p2pmem-alloc-mmap-warning-condition') ? rc !== 0 : rc === 0;
      if (fires) k.warn('warn-p2pmem-alloc-mmap-refcount', 'p2pmem_alloc_mmap', `VM_WARN_ON_ONCE_PAGE (CONFIG_DEBUG_VM): ${D.name}:${k.L.recPfn[r]} has refcount ${rc}`);
      k.set(o + R_REF, 1); // set_page_count(page, 1)
      k.set(o + R_DRV, 1);
    }
    const ret = vm_insert_page(k, v, j, r);
    if (ret) return -ret;
    pgmapPageGet(k, d, false); // percpu_ref_get(ref): this page's pgmap reference, dropped by p2pdma_page_free
    k.add(o + R_DRV, -1);
    folio_put(k, r, 'p2pmem_alloc_mmap'); // put_page: the PTE now holds the only reference
  }
  pgmapPagePut(k, d, 'p2pmem_alloc_mmap'); // percpu_ref_put of the reference held across the loop
  k.note('p2pmem_alloc_mmap', `${R.name}: ${R.npages} page(s) of ${D.name} from pfn ${k.L.recPfn[first]} mapped`);
  return 0;
}

/**
 * pci_p2pdma_unmap_mappings (drivers/pci/p2pdma.c), the devm action that runs
 * before memunmap_pages at unbind: removing the p2pmem/allocate file zaps
 * every user mapping of it (unmap_mapping_range) and stops new ones.
 */
export function emitP2pdmaUnmapMappings(b: Builder, d: number): void {
  b.step('pci_p2pdma_unmap_mappings', 'remove p2pmem/allocate: unmap every user mapping', (k) => {
    k.set(k.L.devices[d].off + D_ALIVE, 0);
    unmap_device_mappings(k, d, 'pci_p2pdma_unmap_mappings');
    return NEXT;
  });
}
