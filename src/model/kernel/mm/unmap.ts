// Zapping ranges of user page tables: unmap_page_range / zap_pmd_range
// (mm/memory.c) and unmap_mapping_pages (mm/memory.c), which walks every VMA
// of a file through mapping->i_mmap.
import type { Kernel } from '../../kernel.js';
import { type VmaInfo, E_ANON, E_PRESENT, E_TABLE, PMD_NR, PUD_NR } from '../../state.js';
import { pmdAt, pteAt, vmasOfDevice, vmasOfFile } from './pgtable.js';
import { zap_huge } from './huge_memory.js';
import { zap_pte } from './memory.js';

/**
 * Zap region pages [p0, p1) of VMA v. A huge leaf that the range only partly
 * covers is split (__split_huge_pmd), which for DAX clears the whole leaf.
 * `evenCows` false keeps private anonymous copies (unmap_mapping_pages(..., false)).
 */
export function zap_range(k: Kernel, v: VmaInfo, p0: number, p1: number, evenCows: boolean, caller: string): void {
  const R = k.L.regions[v.region];
  p0 = Math.max(0, p0);
  p1 = Math.min(R.npages, p1);
  if (p0 >= p1) return;
  if (R.hasPud) {
    for (let c = p0 - (p0 % PUD_NR); c < p1; c += PUD_NR) zap_huge(k, v, c, 'pud', caller);
  }
  if (R.hasPmd) {
    for (let c = p0 - (p0 % PMD_NR); c < p1; c += PMD_NR) {
      const e = k.m[pmdAt(v, c)];
      if (e & E_PRESENT && !(e & E_TABLE)) zap_huge(k, v, c, 'pmd', p0 <= c && c + PMD_NR <= p1 ? caller : '__split_huge_pmd');
    }
  }
  if (R.hasPte) {
    for (let p = p0; p < p1; p++) {
      const e = k.m[pteAt(v, p)];
      if (!(e & E_PRESENT)) continue;
      if (e & E_ANON && !evenCows) continue;
      zap_pte(k, v, p, caller);
    }
  }
}

/** unmap_mapping_pages (mm/memory.c): zap file pages [start, start + nr) in every VMA mapping file f. */
export function unmap_mapping_pages(k: Kernel, f: number, start: number, nr: number, evenCows: boolean, caller: string): void {
  for (const v of vmasOfFile(k, f)) {
    const R = k.L.regions[v.region];
    zap_range(k, v, start - R.pgoff, start + nr - R.pgoff, evenCows, caller);
  }
  k.note('unmap_mapping_pages', `${k.L.files[f].name}: pages ${start}..${nr >= 1 << 30 ? 'EOF' : start + nr - 1} unmapped in ${vmasOfFile(k, f).length} VMA(s)`);
}

/** unmap_mapping_range on a device-DAX inode (kill_dev_dax): every user mapping of the device. */
export function unmap_device_mappings(k: Kernel, d: number, caller: string): void {
  for (const v of vmasOfDevice(k, d)) zap_range(k, v, 0, k.L.regions[v.region].npages, true, caller);
}
