// One worker of the parallel search (parallel.ts). The state space is split by
// fingerprint: this worker owns the states whose fingerprint's low bit is its
// id, keeps their fingerprints, links and frontier, and hands the successors it
// finds for the other worker to the coordinator, in one buffer per level.
import { parentPort, workerData } from 'node:worker_threads';
import type { Scenario } from '../../scenario/types.js';
import { Machine } from '../machine.js';
import { configFor, type SimOptions } from '../simulate.js';
import { checkInvariants } from '../../model/invariants.js';
import { findSymmetry, NO_SYMMETRY } from './symmetry.js';
import { FingerprintTable } from './fptable.js';
import { Codec, ENTRY_HDR, entryWords, Links, StateQueue } from './store.js';
import { Expander } from './expander.js';
import { Independence } from './independence.js';
import { independentNow, terminalViolation, warnViolation } from './bfs.js';

export interface WorkerInit {
  scenario: Scenario;
  sim: SimOptions;
  por: boolean;
  symmetry: boolean;
  invariant?: string;
  id: number;
  workers: number;
}

/** A violation a worker found; gids are global state ids (local ordinal * workers + worker). */
export type Found =
  | { kind: 'state'; gid: number; id: string; message: string }
  | { kind: 'transition'; parent: number; thread: number; id: string; message: string };

export type ToWorker =
  | { type: 'expand'; deadline: number }
  | { type: 'absorb'; inbox: ArrayBuffer; words: number }
  | { type: 'link'; gid: number };

export type FromWorker =
  | { type: 'ready'; states: number; found?: Found }
  | { type: 'expanded'; outbox: ArrayBuffer; words: number; transitions: number; found?: Found; timedOut: boolean }
  | { type: 'absorbed'; states: number; queue: number; bytes: number; found?: Found }
  | { type: 'link'; parent: number; thread: number };

const init = workerData as WorkerInit;
const W = init.workers;
const me = init.id;
const M = new Machine(init.scenario, configFor(init.scenario, init.sim), init.por);
const L = M.L;
const nt = L.threads.length;
const s0 = M.initial();
const codec = new Codec(s0.m, init.symmetry ? findSymmetry(init.scenario, L, s0.m) : NO_SYMMETRY);
const x = new Expander(M, codec);
const k = x.k;
const cur = x.cur;
const table = new FingerprintTable();
const links = new Links(nt);
let queue = new StateQueue(); // this level
let next = new StateQueue(); // the next level
const ind = init.por ? new Independence(init.scenario, L) : null;
const n = s0.m.length;
const work = new Int32Array(n); // a state decoded to check its invariants
const tOff = L.threads.map((T) => T.off);
const counts = (id: string) => init.invariant === undefined || init.invariant === id;
const gidOf = (ord: number) => ord * W + me;
const owner = (lo: number) => (lo >>> 0) % W;

// the outbox: [parent gid, thread, hi, lo, entry...] per successor owned by another worker
let out = new Int32Array(1 << 16);
let outW = 0;
// fingerprints recently handed over (direct-mapped): most successors are reached many times
const SENT_BITS = 20;
const sent = new Uint32Array(2 << SENT_BITS);
const scratch = new Int32Array(ENTRY_HDR + 2 * n);

/** Copy `words` words (no subarray views: this runs for every successor). */
function copy(src: Int32Array, from: number, dst: Int32Array, to: number, words: number): void {
  for (let j = 0; j < words; j++) dst[to + j] = src[from + j];
}

/** A state reached from gid `parent` by `thread`, owned here: store it if new. Its gid, or -1 if seen. */
function adopt(parent: number, thread: number, hi: number, lo: number, enc: Int32Array, at: number): number {
  if (!table.add(hi, lo)) return -1;
  const ord = links.push(parent, thread);
  const words = entryWords(enc, at);
  next.reserve(1 + words);
  next.buf[next.at] = ord;
  copy(enc, at, next.buf, next.at + 1, words);
  next.commit(1 + words);
  return gidOf(ord);
}

function stateFound(gid: number): Found | undefined {
  const v = checkInvariants(k).find((x) => counts(x.id));
  return v ? { kind: 'state', gid, id: v.id, message: v.message } : undefined;
}

// expandOne's results, in module variables so that the hot loop allocates nothing
let stepped = 0; // transitions taken
let found: Found | undefined;

/** Expand the state in `cur`: one ample thread (full = false) or every thread. True if a full expansion is needed. */
function expandOne(gid: number, full: boolean): boolean {
  let nEnabled = 0;
  for (let t = 0; t < nt; t++) {
    if (!M.ready(cur, t)) continue;
    if (!full && !independentNow(ind!, cur, tOff, t)) continue;
    k.warned.length = 0;
    if (x.step(t) === 'blocked') continue;
    nEnabled++;
    stepped++;
    const w = warnViolation(k.warned, counts);
    if (w) {
      found = { kind: 'transition', parent: gid, thread: t, id: w, message: `kernel WARN ${w}` };
      return false;
    }
    const hi = codec.hi;
    const lo = codec.lo;
    if (owner(lo) === me) {
      let a = -1;
      if (!table.has(hi, lo)) {
        x.write(scratch, 0);
        a = adopt(gid, t, hi, lo, scratch, 0);
      }
      if (a >= 0) {
        found = stateFound(a);
        x.undo();
        if (found) return false;
      } else {
        x.undo();
        if (!full) return true;
      }
    } else {
      const slot = (hi >>> (32 - SENT_BITS)) << 1;
      if (sent[slot] === hi && sent[slot + 1] === lo) {
        x.undo();
        if (!full) return true;
        continue;
      }
      sent[slot] = hi;
      sent[slot + 1] = lo;
      const words = x.write(scratch, 0);
      x.undo();
      if (outW + 4 + words > out.length) {
        const bigger = new Int32Array(Math.max(out.length * 2, outW + 4 + words));
        bigger.set(out.subarray(0, outW));
        out = bigger;
      }
      out[outW++] = gid;
      out[outW++] = t;
      out[outW++] = hi | 0;
      out[outW++] = lo | 0;
      copy(scratch, 0, out, outW, words);
      outW += words;
      // its owner decides whether it is new; for the cycle proviso it may have been seen
      if (!full) return true;
    }
    if (!full) return false; // ample set of one thread, its successor new
  }
  if (full && nEnabled === 0) {
    const v = terminalViolation(M, k, counts);
    if (v) found = { kind: 'state', gid, id: v.id, message: v.message };
    return false;
  }
  return nEnabled === 0 && !full; // no ample thread could move: expand fully
}

function expandLevel(deadline: number): FromWorker {
  let timedOut = false;
  outW = 0;
  stepped = 0;
  found = undefined;
  for (let i = 0; queue.shift(); i++) {
    if ((i & 1023) === 0 && Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const gid = gidOf(queue.rBuf[queue.rAt]);
    x.load(queue.rBuf, queue.rAt + 1);
    // an ample set of one thread first; every thread if there is none (or it may close a cycle)
    const full = ind ? expandOne(gid, false) : true;
    if (found) return finishExpand(stepped, found, false);
    if (full) expandOne(gid, true);
    if (found) return finishExpand(stepped, found, false);
  }
  return finishExpand(stepped, undefined, timedOut);
}

function finishExpand(transitions: number, found: Found | undefined, timedOut: boolean): FromWorker {
  const buf = out.slice(0, outW).buffer;
  return { type: 'expanded', outbox: buf, words: outW, transitions, found, timedOut };
}

/** The next level becomes the frontier; the consumed frontier's memory is reused for the next one. */
function swapLevels(): void {
  const done = queue;
  queue = next;
  next = done;
  next.clear();
}

function absorb(inbox: Int32Array, words: number): FromWorker {
  let found: Found | undefined;
  for (let p = 0; p < words; ) {
    const parent = inbox[p];
    const thread = inbox[p + 1];
    const hi = inbox[p + 2] >>> 0;
    const lo = inbox[p + 3] >>> 0;
    const size = entryWords(inbox, p + 4);
    const a = found ? -1 : adopt(parent, thread, hi, lo, inbox, p + 4);
    if (a >= 0) {
      codec.decode(inbox, p + 4, work);
      k.m = work;
      found = stateFound(a);
      k.m = cur;
    }
    p += 4 + size;
  }
  // the level is complete: what was found becomes the frontier
  swapLevels();
  return { type: 'absorbed', states: table.size, queue: queue.length, bytes: table.bytes + links.bytes, found };
}

// the initial state belongs to the worker that owns its fingerprint
{
  x.writeInitial(scratch, 0);
  let found: Found | undefined;
  if (owner(codec.lo) === me) {
    const a = adopt(0, 0, codec.hi, codec.lo, scratch, 0);
    found = stateFound(a);
    swapLevels();
  }
  parentPort!.postMessage({ type: 'ready', states: table.size, found } satisfies FromWorker);
}

parentPort!.on('message', (msg: ToWorker) => {
  if (msg.type === 'expand') {
    const r = expandLevel(msg.deadline);
    parentPort!.postMessage(r, r.type === 'expanded' ? [r.outbox] : []);
  } else if (msg.type === 'absorb') parentPort!.postMessage(absorb(new Int32Array(msg.inbox), msg.words));
  else if (msg.type === 'link') {
    const l = links.get(Math.floor(msg.gid / W));
    parentPort!.postMessage({ type: 'link', parent: l.parent, thread: l.thread } satisfies FromWorker);
  }
});
