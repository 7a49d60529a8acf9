// Page-table addressing for the model: where the PTE, PMD and PUD words of a
// VMA live, and which VMAs map a file (the mapping's i_mmap tree).
import type { Kernel } from '../../kernel.js';
import { type VmaInfo, V_PRESENT, PMD_ORDER, PUD_ORDER, leafRec, E_PRESENT, E_TABLE } from '../../state.js';

export const pteAt = (v: VmaInfo, p: number) => v.pteOff + p;
export const pmdAt = (v: VmaInfo, p: number) => v.pmdOff + (p >> PMD_ORDER);
export const pudAt = (v: VmaInfo, p: number) => v.pudOff + (p >> PUD_ORDER);

export function region(k: Kernel, v: VmaInfo) {
  return k.L.regions[v.region];
}

/** Is region page p inside the VMA (not munmapped)? */
export function covers(k: Kernel, v: VmaInfo, p: number): boolean {
  const R = k.L.regions[v.region];
  return k.m[v.off + V_PRESENT] === 1 && p >= 0 && p < R.npages && k.m[v.coverOff + Math.floor(p / R.unitPages)] === 1;
}

/** Does the VMA cover the whole naturally aligned block of 2^order pages holding p? */
export function coversAligned(k: Kernel, v: VmaInfo, p: number, order: number): boolean {
  const n = 1 << order;
  const start = p - (p % n);
  const R = k.L.regions[v.region];
  if (start + n > R.npages) return false;
  for (let q = start; q < start + n; q += R.unitPages) if (!covers(k, v, q)) return false;
  return true;
}

/** The VMAs (in any process) that map file f: vma_interval_tree of mapping->i_mmap. */
export function vmasOfFile(k: Kernel, f: number): VmaInfo[] {
  const out: VmaInfo[] = [];
  for (const v of k.L.vmas) {
    const R = k.L.regions[v.region];
    if (R.kind === 'file' && R.target === f && k.m[v.off + V_PRESENT]) out.push(v);
  }
  return out;
}

export function vmasOfDevice(k: Kernel, d: number): VmaInfo[] {
  const out: VmaInfo[] = [];
  for (const v of k.L.vmas) {
    const R = k.L.regions[v.region];
    if (R.kind === 'device' && R.target === d && k.m[v.off + V_PRESENT]) out.push(v);
  }
  return out;
}

/** The leaf entry mapping region page p, if any: which level and which word. */
export interface Leaf {
  level: 'pte' | 'pmd' | 'pud';
  at: number; // state word of the entry
  e: number; // entry value
}
export function findLeaf(k: Kernel, v: VmaInfo, p: number): Leaf | null {
  const R = k.L.regions[v.region];
  if (R.hasPud) {
    const at = pudAt(v, p);
    const e = k.m[at];
    if (e & E_PRESENT) return { level: 'pud', at, e };
  }
  if (R.hasPmd) {
    const at = pmdAt(v, p);
    const e = k.m[at];
    if ((e & E_PRESENT) && !(e & E_TABLE)) return { level: 'pmd', at, e };
  }
  if (R.hasPte) {
    const at = pteAt(v, p);
    const e = k.m[at];
    if (e & E_PRESENT) return { level: 'pte', at, e };
  }
  return null;
}

/** The page (record) a leaf maps at region page p: a sub-page of a huge leaf where records are per page. */
export function leafPage(k: Kernel, l: Leaf, p: number): number {
  const h = leafRec(l.e);
  if (l.level === 'pte') return h;
  const d = k.L.devices[k.L.recDevice[h]];
  if (d.alignPages > 1) return h; // device-DAX records are per folio
  const n = l.level === 'pmd' ? 1 << PMD_ORDER : 1 << PUD_ORDER;
  return h + (p % n);
}
