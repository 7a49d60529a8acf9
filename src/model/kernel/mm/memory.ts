// mm/memory.c: inserting and zapping PTEs, copying them at fork.
import type { Kernel } from '../../kernel.js';
import { EBUSY, EFAULT, EINVAL } from '../../errno.js';
import {
  type VmaInfo, E_ANON, E_DEVMAP, E_DIRTY, E_PRESENT, E_SPECIAL, E_WRITE, E_YOUNG, E_ZERO,
  P_RSS_ANON, P_RSS_FILE, leafRec, mkLeaf, V_ANON_VMA,
} from '../../state.js';
import { pteAt, region } from './pgtable.js';
import { folio_add_file_rmap_pte, folio_remove_rmap_pte } from './rmap.js';
import { folioOf, folio_put, folio_ref_add, folio_ref_count } from './swap.js';

const procOff = (k: Kernel, v: VmaInfo) => k.L.processes[v.process].off;
/** maybe_mkwrite: write only if the VMA is writable; our mappings are PROT_READ|PROT_WRITE, private ones CoW. */
const maybeMkwrite = (k: Kernel, v: VmaInfo) => (region(k, v).shared ? E_WRITE : 0);

/**
 * insert_pfn (mm/memory.c, old scheme: vmf_insert_mixed / _mkwrite for DAX):
 * a devmap PTE (x86 also marks it special) that takes no reference, no
 * mapcount and no RSS. An existing PTE is only upgraded by a write fault.
 */
export function insert_pfn(k: Kernel, v: VmaInfo, p: number, page: number, mkwrite: boolean, zero: boolean): number {
  const at = pteAt(v, p);
  const cur = k.m[at];
  if (cur & E_PRESENT) {
    if (mkwrite) {
      if (zero || (cur & E_ZERO) || leafRec(cur) !== page) {
        if (!(cur & E_ZERO)) k.warn('warn-insert-pfn-not-zero-pfn', 'insert_pfn', 'existing PTE maps a different, non-zero pfn');
        return 0;
      }
      k.set(at, cur | E_YOUNG | E_DIRTY | maybeMkwrite(k, v));
      k.note('insert_pfn', `PTE upgraded to writable at page ${p}`);
    }
    return 0;
  }
  let e = zero ? mkLeaf(0, E_PRESENT | E_SPECIAL | E_ZERO) : mkLeaf(page, E_PRESENT | E_SPECIAL | E_DEVMAP);
  if (mkwrite && !zero) e |= E_YOUNG | E_DIRTY | maybeMkwrite(k, v);
  k.set(at, e);
  k.note(zero ? 'vmf_insert_mixed' : mkwrite ? 'vmf_insert_mixed_mkwrite' : 'vmf_insert_mixed', `devmap PTE for ${zero ? 'the zero page' : `rec${page}`}: no reference taken`);
  return 0;
}

/**
 * insert_page_into_pte_locked (mm/memory.c, new scheme, via
 * vmf_insert_page_mkwrite): a normal PTE that holds a reference, a mapcount
 * and RSS; the zero page gets a special PTE and no reference. Returns 0,
 * -EBUSY (already mapped, not a write) or -EFAULT (maps another pfn).
 */
export function insert_page_into_pte_locked(k: Kernel, v: VmaInfo, p: number, page: number, mkwrite: boolean, zero: boolean): number {
  if (!zero && folio_ref_count(k, folioOf(k, page)) === 0) return -EINVAL; // validate_page_before_insert
  const at = pteAt(v, p);
  const cur = k.m[at];
  if (cur & E_PRESENT) {
    if (!mkwrite) return -EBUSY;
    if (zero || (cur & E_ZERO) || leafRec(cur) !== page) {
      if (!(cur & E_ZERO)) k.warn('warn-insert-page-not-zero-pfn', 'insert_page_into_pte_locked', 'existing PTE maps a different, non-zero pfn');
      return -EFAULT;
    }
    k.set(at, cur | E_YOUNG | maybeMkwrite(k, v));
    k.note('insert_page_into_pte_locked', `PTE at page ${p} upgraded in place`);
    return 0;
  }
  if (zero) {
    k.set(at, mkLeaf(0, E_PRESENT | E_SPECIAL | E_ZERO));
    k.note('insert_page_into_pte_locked', `special PTE for the zero page at page ${p}`);
    return 0;
  }
  const h = folioOf(k, page);
  folio_ref_add(k, h, 1, 'insert_page_into_pte_locked');
  let e = mkLeaf(page, E_PRESENT);
  if (mkwrite) e |= E_YOUNG | E_DIRTY | maybeMkwrite(k, v);
  k.set(at, e);
  k.add(procOff(k, v) + P_RSS_FILE, 1);
  folio_add_file_rmap_pte(k, page);
  return 0;
}

/**
 * vm_insert_page -> insert_page -> insert_page_into_pte_locked (mm/memory.c)
 * as a driver's ->mmap uses it: a normal PTE (neither special nor devmap, in
 * both schemes) that takes a reference, a mapcount and file RSS. The PTE
 * gets the VMA's protection as it was during ->mmap (writable for a shared
 * read/write mapping; x86's PAGE_SHARED includes the accessed bit).
 * Returns 0, -EBUSY (a PTE is already there) or -EINVAL (validate_page_before_insert
 * refuses a page with refcount 0, new scheme).
 */
export function vm_insert_page(k: Kernel, v: VmaInfo, p: number, page: number): number {
  const h = folioOf(k, page);
  if (!k.old && folio_ref_count(k, h) === 0) return -EINVAL;
  const at = pteAt(v, p);
  if (k.m[at] & E_PRESENT) return -EBUSY;
  folio_ref_add(k, h, 1, 'insert_page_into_pte_locked');
  k.add(procOff(k, v) + P_RSS_FILE, 1);
  folio_add_file_rmap_pte(k, page);
  k.set(at, mkLeaf(page, E_PRESENT | E_YOUNG | maybeMkwrite(k, v)));
  return 0;
}

/** One PTE of zap_pte_range (mm/memory.c). */
export function zap_pte(k: Kernel, v: VmaInfo, p: number, caller: string): void {
  const at = pteAt(v, p);
  const e = k.m[at];
  if (!(e & E_PRESENT)) return;
  k.set(at, 0);
  if (e & E_ANON) {
    k.add(procOff(k, v) + P_RSS_ANON, -1);
    return;
  }
  if (e & E_ZERO) return;
  // vm_normal_page() is NULL for special/devmap PTEs: nothing else to do (old scheme).
  if (e & (E_SPECIAL | E_DEVMAP)) return;
  const page = leafRec(e);
  folio_remove_rmap_pte(k, page);
  k.add(procOff(k, v) + P_RSS_FILE, -1);
  folio_put(k, folioOf(k, page), caller); // freed through the mmu_gather batch
}

/**
 * vma_needs_copy (mm/memory.c): page tables are copied at fork only for
 * VM_PFNMAP/VM_MIXEDMAP, uffd-wp, or a VMA with an anon_vma. DAX VMAs are
 * neither PFNMAP nor MIXEDMAP, so only a private VMA that already did a CoW;
 * a p2pmem VMA is MIXEDMAP (vm_insert_page sets it).
 */
export function vma_needs_copy(k: Kernel, src: VmaInfo): boolean {
  const R = region(k, src);
  // vm_insert_page sets VM_MIXEDMAP on the VMA: p2pmem mappings are always copied
  if (R.kind === 'device' && k.L.devices[R.target].type === 'p2pdma') return true;
  return k.m[src.off + V_ANON_VMA] === 1;
}

/**
 * copy_present_pte (mm/memory.c) for one PTE at fork. Old scheme: a DAX PTE
 * has no normal page, it is copied bare. New: folio_get + folio_dup_file_rmap_pte.
 * A writable PTE of a CoW mapping is write-protected in both.
 */
export function copy_present_pte(k: Kernel, src: VmaInfo, dst: VmaInfo, p: number): void {
  const e = k.m[pteAt(src, p)];
  if (!(e & E_PRESENT)) return;
  let ce = e;
  if (!region(k, src).shared && (e & E_WRITE)) {
    ce = e & ~E_WRITE;
    k.set(pteAt(src, p), ce);
  }
  if (e & E_ANON) {
    k.add(procOff(k, dst) + P_RSS_ANON, 1);
  } else if (!(e & (E_ZERO | E_SPECIAL | E_DEVMAP))) {
    const page = leafRec(e);
    folio_ref_add(k, folioOf(k, page), 1, 'copy_present_pte');
    folio_add_file_rmap_pte(k, page); // folio_dup_file_rmap_pte
    k.add(procOff(k, dst) + P_RSS_FILE, 1);
  }
  k.set(pteAt(dst, p), ce & ~E_YOUNG); // pte_mkold; a private mapping keeps dirty
}
