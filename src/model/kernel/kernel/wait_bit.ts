// kernel/sched/wait_bit.c (wait_var_event / wake_up_var) and the DAX entry
// waitqueues of fs/dax.c, reduced to keyed sleeps.
//
// A sleeper registers on a key and re-checks its condition only when a wake-up
// on that same key arrives. Keys are addresses in the kernel; a waiter and a
// waker that use different addresses for the same object never meet (spec S9).

import type { Kernel } from '../../kernel.js';
import { S_RUNNABLE, S_SLEEPING, T_KEY, T_QPOS, T_STATUS } from '../../state.js';

const KIND_SHIFT = 28;
/** wait_var_event(page, ...): the struct page (head page of the folio). */
export const keyPage = (r: number) => (1 << KIND_SHIFT) | r;
/** wait_var_event(&page->_refcount, ...): the refcount field, a different address. */
export const keyRefcount = (r: number) => (2 << KIND_SHIFT) | r;
/** dax_entry_waitqueue(): (xarray, index of the entry's first page). */
export const keyEntry = (file: number, index: number) => (3 << KIND_SHIFT) | (file << 20) | index;
/** pgmap->done, the completion memunmap_pages() waits for. */
export const keyPgmapDone = (d: number) => (4 << KIND_SHIFT) | d;

export function describeKey(k: Kernel, key: number): string {
  const kind = key >>> KIND_SHIFT;
  const v = key & ((1 << KIND_SHIFT) - 1);
  switch (kind) {
    case 1:
      return `page@rec${v}`;
    case 2:
      return `&page->_refcount@rec${v}`;
    case 3:
      return `dax entry ${k.L.files[v >>> 20]?.name}@${v & 0xfffff}`;
    case 4:
      return `pgmap->done of ${k.L.devices[v]?.name}`;
    default:
      return `key ${key}`;
  }
}

/** wake_up_var(key): every sleeper on key becomes runnable and re-checks. Returns how many. */
export function wake_up_var(k: Kernel, key: number, caller: string): number {
  let n = 0;
  for (const t of k.L.threads) {
    if (k.m[t.off + T_STATUS] === S_SLEEPING && k.m[t.off + T_KEY] === key) {
      k.set(t.off + T_STATUS, S_RUNNABLE);
      k.set(t.off + T_KEY, 0);
      n++;
    }
  }
  k.note(caller, `wake_up_var(${describeKey(k, key)}) woke ${n}`);
  return n;
}

/**
 * A thread about to sleep on `key`: a DAX entry waiter is exclusive and joins
 * the tail of the entry's queue (prepare_to_wait_exclusive adds at the tail),
 * so it records how many waiters of that entry are ahead of it.
 */
export function queueExclusive(k: Kernel, t: number, key: number): void {
  if (key >>> KIND_SHIFT !== 3) return;
  let ahead = 0;
  for (const u of k.L.threads) if (u.id !== t && k.m[u.off + T_STATUS] === S_SLEEPING && k.m[u.off + T_KEY] === key) ahead++;
  k.set(k.L.threads[t].off + T_QPOS, ahead);
}

/**
 * dax_wake_entry(): WAKE_ALL wakes every waiter; WAKE_NEXT wakes one exclusive
 * waiter, the head of the queue (the one that slept first), and the others
 * move up. A woken waiter has left the queue (autoremove_wake_function); if it
 * must sleep again it queues at the tail.
 */
export function dax_wake_entry(k: Kernel, file: number, index: number, all: boolean): void {
  const key = keyEntry(file, index);
  for (const t of k.L.threads) {
    if (k.m[t.off + T_STATUS] !== S_SLEEPING || k.m[t.off + T_KEY] !== key) continue;
    if (all || k.m[t.off + T_QPOS] === 0) {
      k.set(t.off + T_STATUS, S_RUNNABLE);
      k.set(t.off + T_KEY, 0);
      k.set(t.off + T_QPOS, 0);
    } else k.set(t.off + T_QPOS, k.m[t.off + T_QPOS] - 1);
  }
}
