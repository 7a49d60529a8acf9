// mm/huge_memory.c: PMD and PUD leaves for DAX (insert, zap, split).
import type { Kernel } from '../../kernel.js';
import {
  type VmaInfo, E_DEVMAP, E_DIRTY, E_PRESENT, E_SPECIAL, E_TABLE, E_WRITE, E_YOUNG, E_ZERO,
  P_RSS_FILE, PMD_NR, PUD_NR, leafRec, mkLeaf,
} from '../../state.js';
import { pmdAt, pudAt, region } from './pgtable.js';
import { folio_add_file_rmap_huge, folio_remove_rmap_huge } from './rmap.js';
import { folio_put, folio_ref_add } from './swap.js';

const procOff = (k: Kernel, v: VmaInfo) => k.L.processes[v.process].off;
const mkwriteBits = (k: Kernel, v: VmaInfo) => E_YOUNG | E_DIRTY | (region(k, v).shared ? E_WRITE : 0);

/**
 * insert_pfn_pmd / insert_pfn_pud (mm/huge_memory.c) for the old scheme's
 * vmf_insert_pfn_pmd/pud: a devmap huge leaf, no reference, no rmap, no RSS.
 * An existing leaf is upgraded only by a write of the same pfn.
 */
export function vmf_insert_pfn_huge(k: Kernel, v: VmaInfo, p: number, h: number, level: 'pmd' | 'pud', write: boolean): void {
  const at = level === 'pmd' ? pmdAt(v, p) : pudAt(v, p);
  const cur = k.m[at];
  const fn = level === 'pmd' ? 'vmf_insert_pfn_pmd' : 'vmf_insert_pfn_pud';
  if (cur & E_PRESENT && !(cur & E_TABLE)) {
    if (write) {
      if (leafRec(cur) !== h) {
        if (!(cur & E_ZERO)) k.warn('warn-insert-pfn-pmd-not-huge-zero', fn, 'existing huge entry maps a different pfn');
        return;
      }
      k.set(at, cur | mkwriteBits(k, v));
    }
    return;
  }
  let e = mkLeaf(h, E_PRESENT | E_DEVMAP);
  if (write) e |= mkwriteBits(k, v);
  k.set(at, e);
  k.note(fn, `devmap ${level.toUpperCase()} for rec${h}: no reference taken`);
}

/**
 * vmf_insert_folio_pmd / vmf_insert_folio_pud (mm/huge_memory.c, new scheme):
 * if the entry is none, folio_get + folio_add_file_rmap_pmd/pud + RSS; then the
 * leaf is written. v6.15 built it through the pfn path and marked it special
 * (fixed by "don't mark refcounted folios special"). Returns -EEXIST (as 0 here)
 * for a different pfn, which must be the huge zero folio.
 */
export function vmf_insert_folio_huge(k: Kernel, v: VmaInfo, p: number, h: number, level: 'pmd' | 'pud', write: boolean): void {
  const at = level === 'pmd' ? pmdAt(v, p) : pudAt(v, p);
  const fn = level === 'pmd' ? 'vmf_insert_folio_pmd' : 'vmf_insert_folio_pud';
  const cur = k.m[at];
  if (cur & E_PRESENT && !(cur & E_TABLE)) {
    if (!write) return;
    if (leafRec(cur) !== h) {
      if (!(cur & E_ZERO)) k.warn('warn-insert-folio-pmd-not-huge-zero', fn, 'existing huge entry maps a different pfn');
      return;
    }
    k.set(at, cur | mkwriteBits(k, v));
    k.note(fn, `${level.toUpperCase()} upgraded in place`);
    return;
  }
  folio_ref_add(k, h, 1, fn);
  folio_add_file_rmap_huge(k, h);
  k.add(procOff(k, v) + P_RSS_FILE, level === 'pmd' ? PMD_NR : PUD_NR);
  let e = mkLeaf(h, E_PRESENT);
  if (!k.fix('mm-huge-memory-dont-mark-refcounted-folios-special')) e |= E_SPECIAL;
  if (write) e |= mkwriteBits(k, v);
  k.set(at, e);
}

/**
 * copy_huge_pmd (mm/huge_memory.c) at fork, for a file VMA whose page tables
 * are copied. A present pmd_special() leaf that is not the huge zero folio
 * takes the PFNMAP branch: copied as it is (made old), with no reference,
 * rmap or RSS, because special leaves are assumed to hold none. Any other
 * leaf of a file VMA is left for the child to refault. Only v6.15's DAX PMD
 * is special while holding a reference: the child's copy then holds nothing.
 */
export function copy_huge_pmd(k: Kernel, src: VmaInfo, dst: VmaInfo, p: number): void {
  const e = k.m[pmdAt(src, p)];
  if (!(e & E_PRESENT) || e & E_TABLE || !(e & E_SPECIAL) || e & E_ZERO) return;
  k.set(pmdAt(dst, p), e & ~E_YOUNG);
  k.note('copy_huge_pmd', `special PMD for rec${leafRec(e)} copied to the child with no reference or mapcount`);
}

/** Install the huge zero folio (dax_pmd_load_hole, fs/dax.c): set_pmd_at, no reference. */
export function set_huge_zero_pmd(k: Kernel, v: VmaInfo, p: number): void {
  k.set(pmdAt(v, p), mkLeaf(0, E_PRESENT | E_ZERO | E_SPECIAL));
}

/**
 * zap_huge_pmd / zap_huge_pud (mm/huge_memory.c), and the file branch of
 * __split_huge_pmd_locked, which for DAX clears the whole leaf the same way.
 * Old scheme: vma_is_special_huge() is true for DAX, the leaf is just cleared.
 * New: DAX takes the file-THP path: rmap removal, RSS, folio_put.
 */
export function zap_huge(k: Kernel, v: VmaInfo, p: number, level: 'pmd' | 'pud', caller: string): void {
  const at = level === 'pmd' ? pmdAt(v, p) : pudAt(v, p);
  const e = k.m[at];
  if (!(e & E_PRESENT) || e & E_TABLE) return;
  k.set(at, 0);
  if (e & E_ZERO) return; // huge zero PMD: nothing held
  if (k.old) return;
  const h = leafRec(e);
  folio_remove_rmap_huge(k, h);
  k.add(procOff(k, v) + P_RSS_FILE, -(level === 'pmd' ? PMD_NR : PUD_NR));
  folio_put(k, h, caller);
}
