// mm/madvise.c: madvise(2). Only MADV_DONTNEED is modelled: it drops the
// page-table entries of a range and keeps the VMA, so the pages stay in the
// file's page cache (their DAX entries untouched) and the file stays mapped
// (mapping_mapped() is still true for a later layout break).
import { BLOCKED, Builder, NEXT, fail } from '../../program.js';
import type { VmaInfo } from '../../state.js';
import { ENOMEM } from '../../errno.js';
import { mmap_read_lock, mmap_read_unlock } from '../fs/locks.js';
import { zap_range } from './unmap.js';
import { covers } from './pgtable.js';

/**
 * madvise(MADV_DONTNEED) of region pages [p0, p0 + n): do_madvise takes mmap_lock for reading
 * (v6.12; later kernels take the VMA's read lock, which excludes the same munmap, fork and exit),
 * madvise_dontneed_single_vma zaps the range with zap_page_range_single, anonymous CoW copies
 * included, and a part of the range no VMA covers makes the call fail with -ENOMEM after the rest
 * is done.
 */
export function emitMadviseDontneed(b: Builder, v: VmaInfo, p0: number, n: number): void {
  b.step('madvise_dontneed_single_vma', 'mmap_read_lock, zap_page_range_single over the range, mmap_read_unlock', (k, t) => {
    if (!mmap_read_lock(k, v.process)) return BLOCKED;
    let hole = false;
    for (let p = p0; p < p0 + n; p++) if (!covers(k, v, p)) hole = true;
    zap_range(k, v, p0, p0 + n, true, 'zap_page_range_single');
    mmap_read_unlock(k, v.process);
    k.note('madvise_dontneed_single_vma', `${k.L.regions[v.region].name}: pages ${p0}..${p0 + n - 1} zapped, the mapping stays${hole ? '; part of the range is not mapped: -ENOMEM' : ''}`);
    return hole ? fail(k, t, ENOMEM, b.end) : NEXT;
  });
}
