// The SPIN anchor instances (../shared/anchors/spin/model.pml) and how each maps
// onto a daxref scenario plus a kernel configuration. Shared by the scenario
// generator (gen-scenarios.ts) and the benchmark (run.ts).

/** Variants of model.pml, as `run.sh VARIANT` names them. */
export type Variant =
  | 'NONE'
  | 'NONE_EVICT'
  | 'BUG_SKIP_LOCKED'
  | 'BUG_XAS_PAUSE'
  | 'BUG_UNMAPPED_SHORTCUT'
  | 'BUG_NO_FINAL_WAIT';

export interface KernelChoice {
  kernel: string;
  without: string[];
  /** Why this kernel models the variant (goes into the scenario header). */
  why: string;
}

/** The daxref kernel (and fix switches removed) that has exactly the variant's bug. */
export const KERNEL_OF: Record<Variant, KernelChoice> = {
  NONE: { kernel: 'latest', without: [], why: 'every fix of the series and the xas_reset follow-up' },
  NONE_EVICT: { kernel: 'latest', without: [], why: 'every fix; eviction waits in dax_break_layout_final' },
  BUG_SKIP_LOCKED: {
    kernel: 'v6.15',
    without: ['fs-dax-dont-skip-locked-entries'],
    why: "bug 03: the busy scan moves past a locked entry (v6.15 without \"fs/dax: Don't skip locked entries when scanning entries\"; the new refcount scheme, as in model.pml)",
  },
  BUG_XAS_PAUSE: {
    kernel: 'v6.15',
    without: [],
    why: 'the 03-fix bug as merged in v6.15: after waiting for a locked entry the scan resumes past it (xas_pause)',
  },
  BUG_UNMAPPED_SHORTCUT: {
    kernel: 'latest',
    // the eviction fix requires this one; truncate does not use the eviction path
    without: ['fs-dax-return-unmapped-busy-pages', 'fs-dax-ensure-all-pages-idle-prior-to-unmount'],
    why: 'bug 02: dax_layout_busy_page_range returns NULL when !mapping_mapped() (latest without the fix; the eviction fix depends on it, so it goes too: truncate does not evict)',
  },
  BUG_NO_FINAL_WAIT: {
    kernel: 'latest',
    without: ['fs-dax-ensure-all-pages-idle-prior-to-unmount'],
    why: 'bug 07: eviction deletes the entries and frees the blocks without waiting for DMA (latest without dax_break_layout_final)',
  },
};

/** Eviction (unlink, evicted by the last munmap) instead of truncate(F, 0). */
export const isEvict = (v: Variant) => v === 'NONE_EVICT' || v === 'BUG_NO_FINAL_WAIT';
/** The verdict model.pml has on every size tried (RESULTS.md): a bug variant violates N9. */
export const expectViolation = (v: Variant) => v.startsWith('BUG_');

export interface Instance {
  variant: Variant;
  K: number; // pages of the file
  F: number; // faulting threads, one mm each
  P: number; // pinning threads (FOLL_PIN + DMA write + unpin)
  W: number; // writeback (fsync) threads
  /** Part of `npm run bench -- --quick` (SPIN takes well under a second). */
  quick: boolean;
  /** Also run with partial-order reduction off (SPIN -DNOREDUCE, daxref --no-por). */
  noPor: boolean;
}

const inst = (variant: Variant, K: number, F: number, P: number, W: number, quick: boolean, noPor = false): Instance =>
  ({ variant, K, F, P, W, quick, noPor });

/** Growing sizes of the fixed protocol, each bug at a small and a medium size; the
 * runs go in this order, so the two sizes where SPIN itself takes over 10 s come last. */
export const INSTANCES: Instance[] = [
  inst('NONE', 2, 1, 1, 1, true, true),
  inst('NONE', 2, 2, 1, 1, true, true),
  inst('NONE', 2, 1, 2, 1, true, true),
  inst('NONE', 2, 2, 2, 1, true),
  inst('NONE_EVICT', 2, 1, 1, 1, true, true),
  inst('BUG_SKIP_LOCKED', 2, 1, 1, 1, true, true),
  inst('BUG_XAS_PAUSE', 2, 1, 1, 1, true, true),
  inst('BUG_UNMAPPED_SHORTCUT', 2, 1, 1, 1, true, true),
  inst('BUG_NO_FINAL_WAIT', 2, 1, 1, 1, true, true),
  inst('BUG_SKIP_LOCKED', 3, 2, 2, 1, false),
  inst('BUG_XAS_PAUSE', 3, 2, 2, 1, false),
  inst('BUG_UNMAPPED_SHORTCUT', 3, 2, 2, 1, false),
  inst('BUG_NO_FINAL_WAIT', 3, 2, 2, 1, false),
  inst('NONE_EVICT', 3, 2, 2, 1, false),
  inst('NONE', 3, 2, 2, 1, false), // SPIN: 6.3M states, 8 s
  inst('NONE', 2, 2, 3, 1, false), // SPIN: 11.4M states, 19 s
  inst('NONE', 4, 2, 2, 1, false), // SPIN: 25.3M states, 41 s, 2.5 GB
];

export const sizeTag = (i: Instance) => `k${i.K}f${i.F}p${i.P}w${i.W}`;
export const instanceName = (i: Instance) => `${i.variant} ${i.K}/${i.F}/${i.P}/${i.W}`;
/** Path of the instance's scenario, relative to the repository root. */
export const scenarioPath = (i: Instance) => `scenarios/bench/${i.variant.toLowerCase().replace(/_/g, '-')}-${sizeTag(i)}.yaml`;
