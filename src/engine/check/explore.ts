// The search core both the single-worker search (bfs.ts) and each worker of
// the 2-worker search (worker.ts) run: expand a BFS level state by state (an
// ample set of one thread when partial-order reduction finds one, else every
// thread), store each new successor's fingerprint, parent link and entry, and
// check invariants in every new state and kernel WARNs on every transition.
import type { Machine } from '../machine.js';
import { checkFinal, checkInvariants, invariantWords, type Violation } from '../../model/invariants.js';
import { S_DONE, S_SLEEPING, T_KEY, T_OP, T_STATUS } from '../../model/state.js';
import type { Kernel, Words } from '../../model/kernel.js';
import { describeKey } from '../../model/kernel/kernel/wait_bit.js';
import { ChunkPool, Codec, ENTRY_HDR, Links, StateQueue, type Handed } from './store.js';
import { Expander } from './expander.js';
import { Independence } from './independence.js';
import { findSymmetry, NO_SYMMETRY } from './symmetry.js';

/** The visited set: a FingerprintTable, or a SharedFingerprintTable view. */
export interface Visited {
  add(hi: number, lo: number): boolean;
}

/** A violation found; gids are global state ids (local ordinal * workers + worker). */
export type Found =
  | { kind: 'state'; gid: number; id: string; message: string }
  | { kind: 'transition'; parent: number; thread: number; id: string; message: string };

export interface ExploreOptions {
  por: boolean;
  symmetry: boolean;
  invariant?: string;
  /** This worker's id and the number of workers (gid = ordinal * workers + worker). */
  worker: number;
  workers: number;
}

const BLOCKED_STEP = -2;
const RECENT_BITS = 16; // 64k fingerprints: 512 KiB, near the L2 cache (measured best of 12-20 bits)
const RECENT_MASK = (1 << RECENT_BITS) - 1;
const SEEN = -1;

export class Explorer {
  readonly x: Expander;
  readonly links: Links;
  private readonly pool = new ChunkPool(); // the queues' chunks, reused level after level
  queue = new StateQueue(this.pool); // the level being expanded
  next = new StateQueue(this.pool); // the level being found
  transitions = 0;
  found: Found | undefined;
  private gid = 0; // the state being expanded
  private readonly nt: number;
  private readonly n: number;
  private readonly tOff: number[];
  private readonly ind: Independence | null;
  private readonly counts: (id: string) => boolean;
  private readonly recent = new Int32Array(2 << RECENT_BITS);
  private readonly checked: Uint8Array; // the words the invariants read (invariantWords)

  constructor(
    private readonly M: Machine,
    private readonly visited: Visited,
    private readonly o: ExploreOptions,
  ) {
    const init = M.initial();
    this.x = new Expander(M, new Codec(init.m, o.symmetry ? findSymmetry(M.scenario, M.L, init.m) : NO_SYMMETRY));
    this.nt = M.L.threads.length;
    this.n = init.m.length;
    this.links = new Links(this.nt);
    this.tOff = M.L.threads.map((T) => T.off);
    this.ind = o.por ? new Independence(M.scenario, M.L) : null;
    this.counts = (id: string) => o.invariant === undefined || o.invariant === id;
    this.checked = invariantWords(M.L);
  }

  private gidOf(ord: number): number {
    return ord * this.o.workers + this.o.worker;
  }

  /** Put the initial state in the next level (one worker does). */
  start(): void {
    const q = this.next;
    const gid = this.gidOf(this.links.push(0, 0));
    q.reserve(1 + ENTRY_HDR);
    q.buf[q.at] = gid;
    q.commit(1 + this.x.writeInitial(q.buf, q.at + 1));
    this.visited.add(this.x.codec.hi, this.x.codec.lo);
    this.stateFound(gid);
  }

  /** The next level becomes the one to expand (with `inbox`: states another worker dealt here). */
  nextLevel(inbox?: Handed): void {
    if (inbox) this.next.adopt(inbox.chunks, inbox.entries);
    const done = this.queue;
    this.queue = this.next;
    this.next = done;
    this.next.clear();
  }

  /**
   * Half of the next level, handed over to another worker (the chunks are
   * the receiver's now): the second half, so each worker's level is its own
   * first half and the other's second half, both workers' levels are the same
   * size, and each is cut in one place only (states near each other in a
   * level are expanded near each other in time, which the recent-fingerprint
   * cache relies on: dealing alternate blocks of 256 expanded states instead
   * cut its hit rate from 66% to 56%).
   */
  takeOut(): Handed {
    return this.next.splitHalf(1) ?? { chunks: [], entries: 0 };
  }

  private stateFound(gid: number): void {
    const v = checkInvariants(this.x.k).find((x) => this.counts(x.id));
    if (v) this.found = { kind: 'state', gid, id: v.id, message: v.message };
  }

  /**
   * Add a fingerprint to the visited set; false if it was there. Most
   * successors were seen, and most of those a moment ago (the diamonds of
   * independent steps): a small direct-mapped cache of recent fingerprints
   * answers them without touching the large table (a cache miss each).
   */
  private isNew(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1; // as the tables do: the cache's empty slot never matches
    const r = this.recent;
    const s = ((hi ^ lo) & RECENT_MASK) << 1;
    if (r[s] === (hi | 0) && r[s + 1] === (lo | 0)) return false;
    r[s] = hi;
    r[s + 1] = lo;
    return this.visited.add(hi, lo);
  }

  /** Did the step just taken write a word the invariants read? */
  private writesChecked(): boolean {
    const { log, logN } = this.x.k;
    const w = this.checked;
    for (let j = 0; j < logN; j += 3) if (w[log[j]]) return true;
    return false;
  }

  /** Step thread t from the state being expanded, and back: BLOCKED_STEP, SEEN or the new state's gid. */
  private tryStep(t: number): number {
    const x = this.x;
    const k = x.k;
    if (k.warned.length !== 0) k.warned.length = 0; // (setting length is a runtime call)
    if (x.step(t) === 'blocked') return BLOCKED_STEP;
    this.transitions++;
    const w = warnViolation(k.warned, this.counts);
    if (w) {
      this.found = { kind: 'transition', parent: this.gid, thread: t, id: w, message: `kernel WARN ${w}` };
      return SEEN;
    }
    let child = SEEN;
    if (this.isNew(x.codec.hi, x.codec.lo)) {
      child = this.gidOf(this.links.push(this.gid, t));
      const q = this.next;
      q.reserve(1 + ENTRY_HDR + 2 * this.n);
      q.buf[q.at] = child;
      q.commit(1 + x.write(q.buf, q.at + 1));
      // a step that writes no word the invariants read leaves them as its parent had them (checked: no violation)
      if (this.writesChecked()) this.stateFound(child);
    }
    x.undo();
    return child;
  }

  /**
   * Expand states of the current level until it is empty ('done'), a
   * violation is found ('found'), or `stop` (asked before each state, with the
   * count expanded in this call) says to stop: 'stopped', the state not taken.
   */
  expandLevel(stop: (expanded: number) => boolean): 'done' | 'found' | 'stopped' {
    const { M, x, nt, tOff, ind } = this;
    const cur = x.cur;
    const q = this.queue;
    for (let i = 0; q.length > 0; i++) {
      if (stop(i)) return 'stopped';
      q.shift();
      this.gid = q.rBuf[q.rAt];
      x.load(q.rBuf, q.rAt + 1);
      // an ample set of one independent thread first; every thread if there is none or its successor was seen (the cycle proviso)
      let ample = false;
      if (ind)
        for (let t = 0; t < nt; t++) {
          if (!M.ready(cur, t) || !independentNow(ind, cur, tOff, t)) continue;
          const r = this.tryStep(t);
          if (this.found) return 'found';
          if (r === BLOCKED_STEP) continue;
          ample = r !== SEEN;
          break;
        }
      if (ample) continue;
      let moved = false;
      for (let t = 0; t < nt; t++) {
        if (!M.ready(cur, t)) continue;
        const r = this.tryStep(t);
        if (this.found) return 'found';
        if (r !== BLOCKED_STEP) moved = true;
      }
      if (!moved) {
        const v = terminalViolation(M, x.k, this.counts);
        if (v) {
          this.found = { kind: 'state', gid: this.gid, id: v.id, message: v.message };
          return 'found';
        }
      }
    }
    return 'done';
  }
}

/** Thread t's current operation touches nothing any other thread may still touch. */
function independentNow(ind: Independence, m: Words, tOff: number[], t: number): boolean {
  const mine = ind.ops[t][m[tOff[t] + T_OP]];
  if (mine.all) return false;
  for (let u = 0; u < tOff.length; u++) {
    if (u === t || m[tOff[u] + T_STATUS] === S_DONE) continue;
    if (Independence.conflict(mine, ind.rest[u][m[tOff[u] + T_OP]])) return false;
  }
  return true;
}

function warnViolation(warned: string[], counts: (id: string) => boolean): string | undefined {
  for (const w of warned) if (counts(w)) return w;
  return undefined;
}

/** In a state (k.m) where no thread can move: unfinished threads stuck for good, or a final check that fails. */
function terminalViolation(M: Machine, k: Kernel, counts: (id: string) => boolean): Violation | undefined {
  const stuck = stuckThreads(M, k);
  if (stuck.length && counts('blocked-forever')) return { id: 'blocked-forever', message: stuck.join('; ') };
  return checkFinal(k).find((x) => counts(x.id));
}

/** Why each unfinished thread in k.m cannot move, in words; empty if all finished. */
function stuckThreads(M: Machine, k: Kernel): string[] {
  const m = k.m;
  const out: string[] = [];
  for (const T of M.L.threads) {
    const st = m[T.off + T_STATUS];
    if (st === S_DONE) continue;
    const op = m[T.off + T_OP];
    const opName = M.scenario.threads[T.id].steps[op].op;
    const why = st === S_SLEEPING ? `sleeps on ${describeKey(k, m[T.off + T_KEY])}` : `waits in ${M.action(m, T.id).fn} (${M.action(m, T.id).what})`;
    out.push(`thread ${T.name} (step ${op + 1}, ${opName}) ${why}, and nothing left can wake it`);
  }
  if (out.length > 1 && out.length === M.L.threads.filter((T) => m[T.off + T_STATUS] !== S_DONE).length) out.unshift(`deadlock: all ${out.length} unfinished threads are blocked`);
  return out;
}
