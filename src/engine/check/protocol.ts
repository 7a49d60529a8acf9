// The messages between the 2-worker search's main thread (parallel.ts) and
// its workers (worker.ts), and the control words they share.
import type { Scenario } from '../../scenario/types.js';
import type { SimOptions } from '../simulate.js';
import type { Found } from './explore.js';
import type { Handed } from './store.js';

export type { Found };

export interface WorkerInit {
  scenario: Scenario;
  sim: SimOptions;
  por: boolean;
  symmetry: boolean;
  invariant?: string;
  id: number;
  workers: number;
  table: SharedArrayBuffer;
  counts: SharedArrayBuffer;
  /** Control words (CTL_*), shared with the main thread. */
  control: SharedArrayBuffer;
}

/** Control words: set when a worker found the table full (every worker then pauses; the main thread clears it once the table grew). */
export const CTL_PAUSE = 0;
/** Control words: CTL_SPLIT + w is set when worker w should hand half of its unexpanded states to the other, which has none left. */
export const CTL_SPLIT = 1;
/** Fewer states left than this are not worth a split (a round trip through the main thread costs about as much as expanding this many). */
export const MIN_SPLIT = 256;

export type ToWorker =
  | { type: 'expand'; deadline: number; inbox?: Handed }
  | { type: 'grow' }
  | { type: 'rehash'; table: SharedArrayBuffer }
  | { type: 'insertDeferred'; deferred: Int32Array[] }
  | { type: 'next' }
  | { type: 'absorb'; inbox: Handed }
  | { type: 'link'; gid: number };

/** How an expand request ended: the level is done here, the table must grow first, half of the states left were split off (asked for), time ran out, or the parent links cannot take more global ids. */
export type ExpandStatus = 'done' | 'paused' | 'split' | 'timedOut' | 'linksFull';

export type FromWorker =
  | { type: 'ready'; found?: Found }
  | { type: 'expanded'; transitions: number; found?: Found; status: ExpandStatus; split?: Handed }
  | { type: 'grown'; table: SharedArrayBuffer }
  | { type: 'rehashed'; deferred: Int32Array }
  | { type: 'inserted' }
  | { type: 'dealt'; outbox: Handed }
  | { type: 'level'; states: number; queue: number; bytes: number }
  | { type: 'link'; parent: number; thread: number };

/** The transfer list that moves handed chunks to another thread without copying (each chunk is a whole buffer of its own). */
export const transferOf = (h: Handed | undefined): ArrayBuffer[] => (h ? h.chunks.map((c) => c.buffer as ArrayBuffer) : []);
