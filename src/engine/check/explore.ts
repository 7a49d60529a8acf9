// The search core both the single-worker search (bfs.ts) and each worker of
// the 2-worker search (worker.ts) run: expand a BFS level state by state (an
// ample set of one thread when partial-order reduction finds one, else every
// thread), store each new successor's fingerprint, parent link and entry, and
// check invariants in every new state and kernel WARNs on every transition.
import type { Machine } from '../machine.js';
import { checkInvariants } from '../../model/invariants.js';
import { Codec, ENTRY_HDR, Links, StateQueue } from './store.js';
import { Expander } from './expander.js';
import { Independence } from './independence.js';
import { findSymmetry, NO_SYMMETRY } from './symmetry.js';
import { independentNow, terminalViolation, warnViolation } from './bfs.js';

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
const SEEN = -1;

export class Explorer {
  readonly x: Expander;
  readonly links: Links;
  queue = new StateQueue(); // the level being expanded
  next = new StateQueue(); // the level being found
  transitions = 0;
  found: Found | undefined;
  /** New states dealt to another worker ([gid, entry] each), when dealing is on: every other new state. */
  out = new Int32Array(0);
  outW = 0;
  outN = 0;
  private dealing = false;
  private deal = 0;
  private gid = 0; // the state being expanded
  private readonly nt: number;
  private readonly n: number;
  private readonly tOff: number[];
  private readonly ind: Independence | null;
  private readonly counts: (id: string) => boolean;

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
  }

  /** Deal every other new state out (to this.out) instead of keeping it. */
  dealOut(): void {
    this.dealing = true;
    this.out = new Int32Array(1 << 16);
  }

  private gidOf(ord: number): number {
    return ord * this.o.workers + this.o.worker;
  }

  /** Put the initial state in the next level (one worker does). */
  start(): void {
    const q = this.next;
    q.reserve(1 + ENTRY_HDR);
    q.buf[q.at] = this.gidOf(this.links.push(0, 0));
    q.commit(1 + this.x.writeInitial(q.buf, q.at + 1));
    this.visited.add(this.x.codec.hi, this.x.codec.lo);
    this.stateFound(q.buf[q.at]);
  }

  /** The next level becomes the one to expand (with `inbox`: states another worker dealt here). */
  nextLevel(inbox?: Int32Array, words = 0, entries = 0): void {
    if (inbox) this.next.adopt(inbox, words, entries);
    const done = this.queue;
    this.queue = this.next;
    this.next = done;
    this.next.clear();
  }

  /** The dealt states, handed over: a fresh buffer takes their place. */
  takeOut(): { buf: Int32Array; words: number; entries: number } {
    const r = { buf: this.out, words: this.outW, entries: this.outN };
    this.out = new Int32Array(this.out.length);
    this.outW = 0;
    this.outN = 0;
    return r;
  }

  private stateFound(gid: number): void {
    const v = checkInvariants(this.x.k).find((x) => this.counts(x.id));
    if (v) this.found = { kind: 'state', gid, id: v.id, message: v.message };
  }

  /** Step thread t from the state being expanded, and back: BLOCKED_STEP, SEEN or the new state's gid. */
  private tryStep(t: number): number {
    const x = this.x;
    const k = x.k;
    k.warned.length = 0;
    if (x.step(t) === 'blocked') return BLOCKED_STEP;
    this.transitions++;
    const w = warnViolation(k.warned, this.counts);
    if (w) {
      this.found = { kind: 'transition', parent: this.gid, thread: t, id: w, message: `kernel WARN ${w}` };
      return SEEN;
    }
    let child = SEEN;
    if (this.visited.add(x.codec.hi, x.codec.lo)) {
      child = this.gidOf(this.links.push(this.gid, t));
      if (this.dealing && (this.deal++ & 1) === 1) {
        const room = 2 + ENTRY_HDR + 2 * this.n;
        if (this.outW + room > this.out.length) {
          const bigger = new Int32Array(this.out.length * 2 + room);
          bigger.set(this.out.subarray(0, this.outW));
          this.out = bigger;
        }
        this.out[this.outW] = child;
        this.outW += 1 + x.write(this.out, this.outW + 1);
        this.outN++;
      } else {
        const q = this.next;
        q.reserve(1 + ENTRY_HDR + 2 * this.n);
        q.buf[q.at] = child;
        q.commit(1 + x.write(q.buf, q.at + 1));
      }
      this.stateFound(child);
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
