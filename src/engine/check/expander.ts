// The state being expanded, and its successors: each step runs in place on
// one array and is undone from the kernel's write log, so a transition costs
// what the step writes, not the size of the state. A successor's fingerprint
// comes from its parent's and the log (store.ts); only a new successor is
// written out, as its differences from the initial state.
import type { Machine, Outcome } from '../machine.js';
import type { Kernel } from '../../model/kernel.js';
import { State } from '../../model/state.js';
import { Codec, ENTRY_HDR, Marks } from './store.js';

export class Expander {
  /** The state (after step(): the successor, until undo()). */
  readonly cur: Int32Array;
  readonly k: Kernel;
  private readonly init: Int32Array;
  private readonly diff: Int32Array; // words where cur (the parent) differs from the initial state
  private diffN = 0;
  private readonly written: Marks; // words already in the entry being written
  private p1 = 0; // the parent's lanes (set by load())
  private p2 = 0;

  constructor(
    private readonly M: Machine,
    readonly codec: Codec,
  ) {
    this.init = codec.init;
    this.cur = this.init.slice();
    this.k = M.kernel(new State(M.L, this.cur));
    this.diff = new Int32Array(this.init.length);
    this.written = new Marks(this.init.length);
  }

  /** Make the entry at buf[at...] the state to expand. */
  load(buf: Int32Array, at: number): void {
    const cur = this.cur;
    const init = this.init;
    const diff = this.diff;
    for (let j = 0; j < this.diffN; j++) cur[diff[j]] = init[diff[j]];
    const { ibits, vbits, esc } = this.codec.packing;
    let c = 0;
    for (let p = at + ENTRY_HDR, end = p + buf[at + 2]; p < end; ) {
      const w = buf[p++];
      let v = (w << ibits) >> ibits;
      if (v === esc) v = buf[p++];
      const i = w >>> vbits;
      cur[i] = v;
      diff[c++] = i;
    }
    this.diffN = c;
    this.p1 = buf[at];
    this.p2 = buf[at + 1];
    this.k.m = cur;
  }

  /** Step thread t; unless blocked, codec.hi/lo is the successor's fingerprint. A blocked step is undone here. */
  step(t: number): Outcome {
    const k = this.k;
    const r = this.M.step(k, t);
    if (r === 'blocked') {
      k.undo();
      return r;
    }
    this.codec.step(this.p1, this.p2, k.log, k.logN, this.cur);
    return r;
  }

  /** Back to the parent. */
  undo(): void {
    this.k.undo();
  }

  /** Write the current state (the successor after step()) as an entry at out[at...]; the words written. out needs room for ENTRY_HDR + 2 * n words. */
  write(out: Int32Array, at: number): number {
    const cur = this.cur;
    const init = this.init;
    const stamp = this.written.at;
    const gen = this.written.next();
    const pk = this.codec.packing;
    const { vbits, mask, esc } = pk;
    let w = at + ENTRY_HDR;
    // Packing.put, its common case inline
    for (let j = 0; j < this.diffN; j++) {
      const i = this.diff[j];
      stamp[i] = gen;
      const v = cur[i];
      if (v === init[i]) continue;
      if (v > esc && v < -esc) out[w++] = (i << vbits) | (v & mask);
      else w += pk.put(out, w, i, v);
    }
    const log = this.k.log;
    for (let j = 0, n = this.k.logN; j < n; j += 3) {
      const i = log[j];
      if (stamp[i] === gen) continue;
      stamp[i] = gen;
      const v = cur[i];
      if (v === init[i]) continue;
      if (v > esc && v < -esc) out[w++] = (i << vbits) | (v & mask);
      else w += pk.put(out, w, i, v);
    }
    out[at] = this.codec.h1;
    out[at + 1] = this.codec.h2;
    out[at + 2] = w - at - ENTRY_HDR;
    return w - at;
  }

  /** Write the initial state's entry (fingerprint in codec.hi/lo). */
  writeInitial(out: Int32Array, at: number): number {
    this.codec.hash(this.init);
    out[at] = this.codec.h1;
    out[at + 1] = this.codec.h2;
    out[at + 2] = 0;
    return ENTRY_HDR;
  }
}
