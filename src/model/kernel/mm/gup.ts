// mm/gup.c: get_user_pages / pin_user_pages (GUP-fast, then the slow path
// that faults pages in) and their release (unpin_user_page / put_page).
import type { Kernel } from '../../kernel.js';
import { BLOCKED, Builder, Label, NEXT, fail } from '../../program.js';
import {
  type VmaInfo, type RefInfo, E_ANON, E_DEVMAP, E_SPECIAL, E_WRITE, E_ZERO, G_FLAGS, G_HELD, G_LONGTERM, G_N, G_PAGES, G_PIN,
  G_STATE, G_FAILED, G_GRABBING, GUP_PIN_COUNTING_BIAS, MAPPING_DAX_SHARED, R_GEN, R_MAPPING, R_ORDER, R_PIN, T_ERR,
} from '../../state.js';
import { EFAULT, EINVAL, EOPNOTSUPP, EREMOTEIO, SIGBUS, SIGSEGV } from '../../errno.js';
import { covers, findLeaf, leafPage } from './pgtable.js';
import { folioOf, folio_put_refs, folio_ref_add } from './swap.js';
import { get_dev_pagemap, pgmapOf, put_dev_pagemap } from './memremap.js';
import { mmap_read_lock, mmap_read_unlock } from '../fs/locks.js';
import { emitHandleMmFault } from './fault.js';

export interface GupCall {
  v: VmaInfo;
  p0: number; // first region page
  n: number; // pages
  ref: RefInfo;
  pin: boolean;
  longterm: boolean;
  fast: boolean;
  write: boolean;
  fileBacked: boolean;
}

const isFsdax = (k: Kernel, r: number) => pgmapOf(k, r).pgmap === 'MEMORY_DEVICE_FS_DAX';
/** is_pci_p2pdma_page (include/linux/memremap.h): GUP refuses these unless the caller passes FOLL_PCI_P2PDMA. */
const isP2pdma = (k: Kernel, r: number) => pgmapOf(k, r).pgmap === 'MEMORY_DEVICE_PCI_P2PDMA';

/** folio_is_longterm_pinnable (include/linux/mm.h): FS-DAX folios are not, from patch 17 on. */
function folio_is_longterm_pinnable(k: Kernel, h: number): boolean {
  return !(isFsdax(k, h) && k.fix('gup-dont-allow-foll-longterm-pinning-of-fs-dax-pages'));
}

/**
 * gup_fast_folio_allowed (mm/gup.c): may GUP-fast keep this folio, or must the
 * slow path decide? A writable long-term pin of a file folio (no DAX mapping is
 * shmem) must not be taken locklessly; and, for the secretmem check, neither
 * may an order-0 folio whose mapping is NULL: a new-scheme folio shared by
 * reflink (its share count overlays index) or already disassociated. An
 * old-scheme shared page's PAGE_MAPPING_DAX_SHARED has the anon bit: allowed.
 */
function gup_fast_folio_allowed(k: Kernel, c: GupCall, h: number): boolean {
  const rejectFileBacked = c.pin && c.longterm && c.write;
  const checkSecretmem = k.m[k.r(h) + R_ORDER] === 0;
  if (!rejectFileBacked && !checkSecretmem) return true;
  if (!k.m[k.r(h) + R_MAPPING]) return false;
  return !rejectFileBacked;
}

/**
 * gup_must_unshare (mm/internal.h) for a page a read-only PTE maps: a FOLL_PIN
 * without FOLL_WRITE of an anonymous page that is not PageAnonExclusive must
 * first unshare it. No DAX page is anonymous, but the old scheme's
 * PAGE_MAPPING_DAX_SHARED is (void *)0x1, PAGE_MAPPING_ANON's bit, so PageAnon()
 * is true for a reflink-shared page and the pin asks for an unshare fault,
 * which sanitize_fault_flags drops on a shared mapping: __get_user_pages retries
 * forever (observed on 6.12.115 with `daxref oracle`; 6.15 has no such tag).
 */
function gup_must_unshare(k: Kernel, c: GupCall, page: number, pteWritable: boolean): boolean {
  return k.old && c.pin && !c.write && !pteWritable && k.m[k.r(page) + R_MAPPING] === MAPPING_DAX_SHARED;
}

/**
 * try_grab_folio (mm/gup.c): FOLL_GET +1; FOLL_PIN +1024 on a small folio, +1
 * and _pincount +1 on a large one. The reference lists the device pages it
 * holds (an anonymous CoW copy it grabs is no ZONE_DEVICE page: not listed).
 */
function try_grab_folio(k: Kernel, c: GupCall, page: number, caller: string): void {
  const h = folioOf(k, page);
  if (c.pin && k.m[k.r(h) + R_ORDER] > 0) {
    folio_ref_add(k, h, 1, caller);
    k.add(k.r(h) + R_PIN, 1);
  } else folio_ref_add(k, h, c.pin ? GUP_PIN_COUNTING_BIAS : 1, caller);
  const o = c.ref.off;
  const j = k.m[o + G_N];
  k.set(o + G_PAGES + 2 * j, page + 1);
  k.set(o + G_PAGES + 2 * j + 1, k.m[k.r(page) + R_GEN]);
  k.set(o + G_N, j + 1);
}

/** gup_put_folio (mm/gup.c) / put_page for one page of a reference. */
function gup_put_folio(k: Kernel, ref: RefInfo, page: number, caller: string): void {
  const h = folioOf(k, page);
  const pin = (k.m[ref.off + G_FLAGS] & G_PIN) !== 0;
  if (pin && k.m[k.r(h) + R_ORDER] > 0) {
    k.add(k.r(h) + R_PIN, -1);
    folio_put_refs(k, h, 1, caller);
  } else folio_put_refs(k, h, pin ? GUP_PIN_COUNTING_BIAS : 1, caller);
}

/** Release every page of a reference (unpin_user_pages / put_page loop). */
export function releaseRef(k: Kernel, ref: RefInfo, caller: string): void {
  const n = k.m[ref.off + G_N];
  for (let j = 0; j < n; j++) gup_put_folio(k, ref, k.m[ref.off + G_PAGES + 2 * j] - 1, caller);
}

export function emitGup(b: Builder, c: GupCall): void {
  const J = b.local(); // pages grabbed so far
  const P = b.local(); // region page being looked up (the fault site)
  const PGMAP = b.local(); // old scheme: device + 1 of the cached get_dev_pagemap reference
  const LOCKED = b.local(); // the slow path holds mmap_lock for read
  const slow = new Label();
  const follow = new Label();
  const failed = new Label();
  const done = new Label();
  const unshareForever = new Label();
  const fn = c.pin ? 'pin_user_pages' : 'get_user_pages';
  // local: the reference's words are this thread's own until it grabs a page (a reader sees no pages either way)
  b.localStep(fn, 'start', (k, t) => {
    const o = c.ref.off;
    if (c.longterm && !c.pin) {
      // is_valid_gup_args (mm/gup.c): FOLL_LONGTERM is only for FOLL_PIN; a caller passing it to get_user_pages is a bug
      k.warn('warn-gup-longterm-without-pin', 'is_valid_gup_args', 'FOLL_LONGTERM without FOLL_PIN');
      k.set(o + G_STATE, G_FAILED);
      return fail(k, t, EINVAL, b.end);
    }
    k.set(o + G_FLAGS, (c.pin ? G_PIN : 0) | (c.longterm ? G_LONGTERM : 0));
    k.set(o + G_N, 0);
    k.set(o + G_STATE, G_GRABBING);
    k.set(k.L.threads[t].off + J, 0);
    return c.fast ? NEXT : slow.pc;
  });
  if (c.fast) {
    b.step('gup_fast', 'lockless walk: grab pages whose entries allow it', (k, t) => {
      const to = k.L.threads[t].off;
      let j = k.m[to + J];
      for (; j < c.n; j++) {
        const p = c.p0 + j;
        if (!covers(k, c.v, p)) break;
        const l = findLeaf(k, c.v, p);
        if (!l || (c.write && !(l.e & E_WRITE)) || l.e & E_ZERO) break;
        if (l.e & E_ANON) continue; // an anonymous CoW copy (mm/memory.c wp_page_copy): an ordinary folio, outside the model
        const page = leafPage(k, l, p);
        if (isP2pdma(k, page)) break; // no FOLL_PCI_P2PDMA: fall back to the slow path
        if (k.old) {
          // devmap leaf: no FOLL_LONGTERM, and the pgmap must be alive
          if (!(l.e & E_DEVMAP)) break;
          if (c.longterm) break;
          if (!get_dev_pagemap(k, k.L.recDevice[page])) break;
          // only the PTE path asks gup_fast_folio_allowed and gup_must_unshare (the devmap PMD/PUD leaves do not)
          const allowed = l.level !== 'pte' || (gup_fast_folio_allowed(k, c, folioOf(k, page)) && !gup_must_unshare(k, c, page, !!(l.e & E_WRITE)));
          if (allowed) try_grab_folio(k, c, page, 'try_grab_folio_fast');
          put_dev_pagemap(k, k.L.recDevice[page]);
          if (!allowed) break;
        } else {
          if (l.e & E_SPECIAL) break; // v6.15's special huge PMD: GUP-fast falls back
          if (c.longterm && !folio_is_longterm_pinnable(k, folioOf(k, page))) break;
          if (!gup_fast_folio_allowed(k, c, folioOf(k, page))) break;
          try_grab_folio(k, c, page, 'try_grab_folio_fast');
        }
      }
      k.set(to + J, j);
      return j === c.n ? done.pc : NEXT;
    });
  }
  b.mark(slow);
  b.acquireStep('__get_user_pages', 'mmap_read_lock', (k, t) => {
    if (!mmap_read_lock(k, c.v.process)) return BLOCKED;
    k.set(k.L.threads[t].off + LOCKED, 1);
    return NEXT;
  });
  b.mark(follow);
  b.step('follow_page_mask', 'check_vma_flags, then look up and grab the next page', (k, t) => {
    const to = k.L.threads[t].off;
    for (;;) {
      const j = k.m[to + J];
      if (j === c.n) return done.pc;
      const p = c.p0 + j;
      if (!covers(k, c.v, p)) return fail(k, t, EFAULT, failed);
      if (c.longterm && c.fileBacked) return fail(k, t, EOPNOTSUPP, failed); // check_vma_flags: vma_is_fsdax
      const l = findLeaf(k, c.v, p);
      if (!l || (c.write && !(l.e & E_WRITE))) {
        k.set(to + P, p);
        return NEXT; // faultin_page
      }
      if (l.e & (E_ANON | E_ZERO)) {
        // an anonymous CoW copy, or (a read) the shared zero page of a hole (follow_page_pte's is_zero_pfn,
        // follow_huge_pmd's huge zero folio; try_grab_folio takes no pin on it): ordinary pages outside the model
        k.set(to + J, j + 1);
        continue;
      }
      const page = leafPage(k, l, p);
      if (isP2pdma(k, page)) return fail(k, t, EREMOTEIO, failed); // try_grab_folio without FOLL_PCI_P2PDMA
      if (k.old && l.e & E_DEVMAP && !k.m[to + PGMAP]) {
        if (!get_dev_pagemap(k, k.L.recDevice[page])) return fail(k, t, EFAULT, failed);
        k.set(to + PGMAP, k.L.recDevice[page] + 1);
      }
      if (l.level === 'pte' && gup_must_unshare(k, c, page, !!(l.e & E_WRITE))) {
        k.note('follow_page_pte', `page rec${page} is PAGE_MAPPING_DAX_SHARED, which reads as anonymous: -EMLINK, unshare fault`);
        return unshareForever.pc;
      }
      try_grab_folio(k, c, page, 'try_grab_folio');
      k.set(to + J, j + 1);
    }
  });
  emitHandleMmFault(b, { v: c.v, pLocal: P, write: c.write, done: follow, err: failed, fileBacked: c.fileBacked });
  // the 6.12 livelock of gup_must_unshare: each retry faults with FAULT_FLAG_UNSHARE dropped, finds the
  // page as it was and asks again, holding mmap_lock (only a fatal signal, not modelled, ends it)
  b.mark(unshareForever);
  b.step('__get_user_pages', 'faultin_page(FOLL_UNSHARE) is a no-op on a shared mapping: retry (forever)', () => BLOCKED);
  /** __get_user_pages's `out:` put_dev_pagemap and the caller's mmap_read_unlock; the pages grabbed so far are the reference. */
  const hold = (k: Kernel, t: number): number => {
    const to = k.L.threads[t].off;
    if (k.m[to + PGMAP]) put_dev_pagemap(k, k.m[to + PGMAP] - 1);
    k.set(to + PGMAP, 0);
    if (k.m[to + LOCKED]) mmap_read_unlock(k, c.v.process);
    k.set(c.ref.off + G_STATE, G_HELD);
    const n = k.m[k.L.threads[t].off + J];
    k.note(fn, `${c.ref.name}: ${n} page(s) ${c.pin ? 'pinned (FOLL_PIN)' : 'referenced (FOLL_GET)'}${c.longterm ? ' FOLL_LONGTERM' : ''}${n < c.n ? ` of ${c.n}: a short count` : ''}`);
    return b.end.pc;
  };
  b.mark(failed);
  // __get_user_pages returns the number of pages it got if that is not 0 (`return i ? i : ret`), and
  // the fast path's callers add the pages gup_fast got: a failure after the first page is a short count
  // the caller keeps (vmsplice splices those pages, bio_iov_iter_get_pages sends a shorter bio)
  b.step(fn, 'failed: a short count keeps the pages grabbed; none: the error, mmap_read_unlock', (k, t) => {
    const to = k.L.threads[t].off;
    if (k.m[to + J] > 0) {
      k.set(to + T_ERR, 0);
      return hold(k, t);
    }
    // faultin_page returns vm_fault_to_errno() (include/linux/mm.h): a SIGBUS or SIGSEGV fault is -EFAULT to GUP's caller
    if (k.m[to + T_ERR] === SIGBUS || k.m[to + T_ERR] === SIGSEGV) k.set(to + T_ERR, EFAULT);
    k.set(c.ref.off + G_STATE, G_FAILED);
    if (k.m[to + PGMAP]) put_dev_pagemap(k, k.m[to + PGMAP] - 1);
    if (k.m[to + LOCKED]) mmap_read_unlock(k, c.v.process);
    return b.end.pc;
  });
  b.mark(done);
  b.step(fn, 'done: mmap_read_unlock, put_dev_pagemap; the reference is held', hold);
}
