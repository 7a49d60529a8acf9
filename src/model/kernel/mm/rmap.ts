// mm/rmap.c: file rmap accounting of the new scheme (per-page, entire and
// large mapcounts). The old scheme never calls these for DAX.
import type { Kernel } from '../../kernel.js';
import { R_ENTIRE, R_HEAD, R_LARGE, R_MAP, R_ORDER } from '../../state.js';

const head = (k: Kernel, r: number) => k.m[k.r(r) + R_HEAD];
const isLarge = (k: Kernel, h: number) => k.m[k.r(h) + R_ORDER] > 0;

/** folio_add_file_rmap_pte (mm/rmap.c): the page's mapcount +1, and the large mapcount +1. */
export function folio_add_file_rmap_pte(k: Kernel, page: number): void {
  const h = head(k, page);
  k.add(k.r(page) + R_MAP, 1);
  if (isLarge(k, h)) k.add(k.r(h) + R_LARGE, 1);
}
/** folio_remove_rmap_pte (mm/rmap.c). */
export function folio_remove_rmap_pte(k: Kernel, page: number): void {
  const h = head(k, page);
  k.add(k.r(page) + R_MAP, -1);
  if (isLarge(k, h)) k.add(k.r(h) + R_LARGE, -1);
}
/** folio_add_file_rmap_pmd / _pud (mm/rmap.c): entire mapcount +1 and large mapcount +1. */
export function folio_add_file_rmap_huge(k: Kernel, h: number): void {
  k.add(k.r(h) + R_ENTIRE, 1);
  k.add(k.r(h) + R_LARGE, 1);
}
/** folio_remove_rmap_pmd / _pud (mm/rmap.c). */
export function folio_remove_rmap_huge(k: Kernel, h: number): void {
  k.add(k.r(h) + R_ENTIRE, -1);
  k.add(k.r(h) + R_LARGE, -1);
}
/** folio_mapcount (include/linux/rmap.h): large mapcount of a large folio, else the page's. */
export function folio_mapcount(k: Kernel, h: number): number {
  return isLarge(k, h) ? k.m[k.r(h) + R_LARGE] : k.m[k.r(h) + R_MAP];
}
