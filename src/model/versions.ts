// Kernel generations and the named fixes that distinguish them.
//
// A kernel is a refcount scheme plus a set of fix switches. Each switch is one
// upstream patch (short kebab-case form of its title); the model consults the
// switches where the patch changed behaviour, so `--kernel v6.12 --with X`
// models a backport of X.

export type Scheme = 'old' | 'new';

export interface Fix {
  id: string;
  title: string; // upstream patch title
  what: string; // one line: the behaviour it changes
  scheme?: Scheme; // only meaningful on this scheme
  requires?: string[];
}

export const FIXES: Fix[] = [
  {
    id: 'fs-dax-return-unmapped-busy-pages',
    title: 'fs/dax: Return unmapped busy pages from dax_layout_busy_page_range()',
    what: 'drop the !mapping_mapped() shortcut so a GUP ref without a user mapping is still found busy (bug 02)',
  },
  {
    id: 'fs-dax-dont-skip-locked-entries',
    title: "fs/dax: Don't skip locked entries when scanning entries",
    what: 'the busy scan waits for a locked entry and re-examines it instead of moving past it (bug 03)',
  },
  {
    id: 'fs-dax-fix-dont-skip-locked-entries',
    title: "fs/dax: Fix \"don't skip locked entries when scanning entries\"",
    what: 'wait_entry_unlocked_exclusive uses xas_reset, not xas_pause, so the waited-on entry is reloaded (May 2025)',
    requires: ['fs-dax-dont-skip-locked-entries'],
  },
  {
    id: 'fs-dax-refactor-wait-for-dax-idle-page',
    title: 'fs/dax: Refactor wait for dax idle page',
    what: 'the idle wait moves into dax_wait_page_idle(), which waits on the key `page` (patch 04)',
  },
  {
    id: 'fs-dax-always-remove-dax-page-cache-entries',
    title: 'fs/dax: Always remove DAX page-cache entries when breaking layouts',
    // its dax_delete_mapping_range waits for a locked entry with patch 03's wait_entry_unlocked_exclusive, as the
    // series had it at that point (xas_pause); the model's delete walk does so whether or not 03 fixes the busy
    // scan, so `--without fs-dax-dont-skip-locked-entries` keeps bug 03 in the scan only (the SPIN anchor's BUG_SKIP_LOCKED)
    what: 'dax_break_layout deletes the entries itself; generic truncate WARNs on any DAX entry left (bug 06)',
  },
  {
    id: 'fs-dax-ensure-all-pages-idle-prior-to-unmount',
    title: 'fs/dax: Ensure all pages are idle prior to filesystem unmount',
    what: 'inode eviction calls dax_break_layout_final() and waits uninterruptibly for DMA (bug 07)',
    // eviction runs unmapped: the shortcut would skip the scan; dax_break_layout_final ends with patch 06's dax_delete_mapping_range;
    // its wait_page_idle_uninterruptible is patch 04's wait_page_idle made uninterruptible (same key, `page`: the patch
    // applies on top of 04's helper), so on the old scheme's waker (&page->_refcount) it is never woken: S9, unkillable
    requires: ['fs-dax-return-unmapped-busy-pages', 'fs-dax-always-remove-dax-page-cache-entries', 'fs-dax-refactor-wait-for-dax-idle-page'],
  },
  {
    id: 'gup-dont-allow-foll-longterm-pinning-of-fs-dax-pages',
    title: "gup: Don't allow FOLL_LONGTERM pinning of FS DAX pages",
    what: 'folio_is_longterm_pinnable() is false for FS-DAX folios, so GUP-fast refuses them too',
    scheme: 'new',
  },
  {
    id: 'fs-dax-dont-disassociate-zero-page-entries',
    title: "fs/dax: don't disassociate zero page entries",
    what: 'zero and empty entries are skipped by dax_associate_entry/dax_disassociate_entry',
    scheme: 'new',
  },
  {
    id: 'mm-huge-memory-dont-mark-refcounted-folios-special',
    title: "mm/huge_memory: don't mark refcounted folios special in vmf_insert_folio_pmd()",
    what: 'DAX PMD/PUD entries of refcounted folios are no longer marked special (Jun 2025)',
    scheme: 'new',
  },
  {
    id: 'dax-factor-out-dax-folio-reset-order',
    title: 'dax: Factor out dax_folio_reset_order() helper',
    what: "dax_folio_put's last put clears share as well as mapping on order-0 folios too: no stale share from an old index (famfs series, 2026; in 7.3)",
    scheme: 'new',
  },
  {
    id: 'pci-p2pdma-fix-p2pmem-alloc-mmap-warning-condition',
    title: 'PCI/P2PDMA: Fix p2pmem_alloc_mmap() warning condition',
    what: 'the CONFIG_DEBUG_VM check in p2pmem_alloc_mmap expects the new birth refcount 0 instead of WARNing on it (Jan 2026)',
    scheme: 'new',
  },
];

export interface KernelVersion {
  id: string;
  scheme: Scheme;
  fixes: string[];
  what: string;
}

const SERIES = [
  'fs-dax-return-unmapped-busy-pages',
  'fs-dax-dont-skip-locked-entries',
  'fs-dax-refactor-wait-for-dax-idle-page',
  'fs-dax-always-remove-dax-page-cache-entries',
  'fs-dax-ensure-all-pages-idle-prior-to-unmount',
  'gup-dont-allow-foll-longterm-pinning-of-fs-dax-pages',
  'fs-dax-dont-disassociate-zero-page-entries',
];

export const KERNELS: KernelVersion[] = [
  {
    id: 'v6.12',
    scheme: 'old',
    fixes: [],
    what: 'old scheme: FS-DAX idle at refcount 1, devmap entries, no mapcount; bugs 02, 03, 06, 07 present',
  },
  {
    id: 'v6.15',
    scheme: 'new',
    fixes: SERIES,
    what: 'new scheme as merged: free at 0, mappings hold refs; xas_pause bug and special huge PMDs present',
  },
  {
    id: 'latest',
    scheme: 'new',
    fixes: [...SERIES, 'fs-dax-fix-dont-skip-locked-entries', 'mm-huge-memory-dont-mark-refcounted-folios-special', 'pci-p2pdma-fix-p2pmem-alloc-mmap-warning-condition', 'dax-factor-out-dax-folio-reset-order'],
    what: 'new scheme with every later fix in this model (xas_reset, non-special huge entries)',
  },
];

export const DEFAULT_KERNEL = 'v6.15';

/** The configuration a run uses: a scheme and the set of fixes in force. */
export interface KernelConfig {
  kernel: string;
  scheme: Scheme;
  fixes: ReadonlySet<string>;
  /** A variant: kernel functions replaced to model a proposed protocol change (library use only). */
  override?: KernelOverrides;
}

/**
 * The kernel functions a variant may replace. Each receives the kernel's own
 * version as `original`, to delegate to. Functions see the model's Kernel
 * context (state words, layout, configuration).
 */
export interface KernelOverrides {
  /** fs/dax.c dax_busy_page: the page of a DAX entry still referenced beyond its mappings, or -1. */
  dax_busy_page?: (k: import('./kernel.js').Kernel, entry: number, original: (k: import('./kernel.js').Kernel, entry: number) => number) => number;
  /** fs/dax.c dax_page_is_idle (v6.12: the page's refcount is back to 1): may the layout breaker stop waiting on this page? */
  dax_page_is_idle?: (k: import('./kernel.js').Kernel, page: number, original: (k: import('./kernel.js').Kernel, page: number) => boolean) => boolean;
}

export class KernelConfigError extends Error {}

export function findKernel(id: string): KernelVersion | undefined {
  return KERNELS.find((k) => k.id === id);
}

export function findFix(id: string): Fix | undefined {
  return FIXES.find((f) => f.id === id);
}

export function kernelConfig(id: string, withFixes: string[] = [], withoutFixes: string[] = []): KernelConfig {
  const k = findKernel(id);
  if (!k) throw new KernelConfigError(`unknown kernel '${id}'; expected one of ${KERNELS.map((x) => x.id).join(', ')}`);
  const fixes = new Set(k.fixes);
  for (const f of withFixes) {
    const fix = findFix(f);
    if (!fix) throw new KernelConfigError(`unknown fix '${f}'; run 'daxref kernels' for the list`);
    if (fix.scheme && fix.scheme !== k.scheme)
      throw new KernelConfigError(`fix '${f}' applies to the ${fix.scheme} refcount scheme only; ${id} uses the ${k.scheme} one`);
    fixes.add(f);
  }
  for (const f of withoutFixes) {
    if (!findFix(f)) throw new KernelConfigError(`unknown fix '${f}'; run 'daxref kernels' for the list`);
    fixes.delete(f);
  }
  for (const f of fixes) {
    for (const r of findFix(f)!.requires ?? [])
      if (!fixes.has(r)) throw new KernelConfigError(`fix '${f}' requires '${r}'`);
  }
  return { kernel: id, scheme: k.scheme, fixes };
}

export function describeConfig(c: KernelConfig): string {
  const base = findKernel(c.kernel)!;
  const added = [...c.fixes].filter((f) => !base.fixes.includes(f));
  const removed = base.fixes.filter((f) => !c.fixes.has(f));
  return [c.kernel, ...added.map((f) => `+${f}`), ...removed.map((f) => `-${f}`)].join(' ');
}
