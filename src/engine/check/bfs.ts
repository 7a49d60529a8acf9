// The checker's hot loop: breadth-first search over every interleaving of the
// scenario's threads at the model's atomic steps, so the first violation found
// has a shortest trace. Invariants are checked in every new state, kernel WARNs
// on every transition, and states where no thread can move but some have not
// finished are reported as blocked-forever (a deadlock when all of them wait).
import type { Machine } from '../machine.js';
import { checkFinal, checkInvariants, type Violation } from '../../model/invariants.js';
import { S_DONE, S_SLEEPING, State, T_KEY, T_OP, T_STATUS } from '../../model/state.js';
import type { Kernel, Words } from '../../model/kernel.js';
import { describeKey } from '../../model/kernel/kernel/wait_bit.js';
import { FingerprintTable } from './fptable.js';
import { Codec, ENTRY_HDR, Links, StateQueue } from './store.js';
import { Expander } from './expander.js';
import { Independence } from './independence.js';
import { findSymmetry, NO_SYMMETRY } from './symmetry.js';

export interface SearchOptions {
  por: boolean;
  /** Symmetry reduction (interchangeable threads; lock holders hashed as held/free). */
  symmetry: boolean;
  /** Only this invariant (or WARN) id counts as a violation. */
  invariant?: string;
  maxStates: number;
  maxSeconds: number;
  maxMemory: number; // bytes of resident memory
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  states: number;
  transitions: number;
  depth: number;
  queue: number;
  seconds: number;
  rss: number;
}

export interface SearchResult {
  verdict: 'ok' | 'violation' | 'incomplete';
  states: number;
  transitions: number;
  depth: number; // BFS levels completed (the longest shortest path seen)
  seconds: number;
  bytesPerState: number; // fingerprint table + parent links, per stored state
  violation?: Violation & { path: number[] };
  incomplete?: string; // which bound stopped the search
}

const PROGRESS_MS = 250;
const BLOCKED_STEP = -2;
const SEEN = -1;

export function search(M: Machine, scnIndependence: Independence | null, o: SearchOptions): SearchResult {
  const L = M.L;
  const nt = L.threads.length;
  const init = M.initial();
  const codec = new Codec(init.m, o.symmetry ? findSymmetry(M.scenario, L, init.m) : NO_SYMMETRY);
  const x = new Expander(M, codec);
  const k = x.k;
  const cur = x.cur;
  const table = new FingerprintTable();
  const links = new Links(nt);
  const queue = new StateQueue();
  const n = init.m.length;
  const tOff = L.threads.map((T) => T.off);
  const start = performance.now();
  let transitions = 0;
  let depth = 0;
  let levelEnd = 1; // ordinals below this belong to depths <= depth
  let lastProgress = start;
  const counts = (id: string) => o.invariant === undefined || o.invariant === id;
  const elapsed = () => (performance.now() - start) / 1000;
  const result = (verdict: SearchResult['verdict'], extra: Partial<SearchResult> = {}): SearchResult => ({
    verdict, states: table.size, transitions, depth, seconds: elapsed(),
    bytesPerState: (table.bytes + links.bytes) / Math.max(1, table.size), ...extra,
  });

  /** Store the successor of `parent` by thread t (in x.cur, fingerprint in codec): its ordinal, or -1 if seen before. */
  const enqueue = (parent: number, t: number): number => {
    if (!table.add(codec.hi, codec.lo)) return -1;
    queue.reserve(1 + ENTRY_HDR + 2 * n);
    const ord = links.push(parent, t);
    queue.buf[queue.at] = ord;
    queue.commit(1 + x.write(queue.buf, queue.at + 1));
    return ord;
  };
  /** Violations of the state in k.m that count. */
  const stateViolation = (): Violation | undefined => checkInvariants(k).find((v) => counts(v.id));

  // the initial state
  {
    queue.reserve(1 + ENTRY_HDR);
    queue.buf[queue.at] = links.push(0, 0);
    queue.commit(1 + x.writeInitial(queue.buf, queue.at + 1));
    table.add(codec.hi, codec.lo);
    const v = stateViolation();
    if (v) return result('violation', { violation: { ...v, path: [] } });
  }

  let ord = 0; // the state being expanded
  let found: SearchResult | undefined; // set by tryStep when a violation ends the search
  /** Step thread t from the state being expanded, and back: BLOCKED_STEP, SEEN or the new state's ordinal. */
  const tryStep = (t: number): number => {
    k.warned.length = 0;
    if (x.step(t) === 'blocked') return BLOCKED_STEP;
    transitions++;
    const w = warnViolation(k.warned, counts);
    if (w) {
      found = result('violation', { violation: { id: w, message: `kernel WARN ${w}`, path: [...links.path(ord), t] } });
      return SEEN;
    }
    const child = enqueue(ord, t);
    if (child >= 0) {
      const v = stateViolation();
      if (v) found = result('violation', { violation: { ...v, path: links.path(child) } });
    }
    x.undo();
    return child < 0 ? SEEN : child;
  };

  for (let expanded = 0; queue.length > 0; expanded++) {
    queue.shift();
    ord = queue.rBuf[queue.rAt];
    if (ord >= levelEnd) {
      depth++;
      levelEnd = links.length;
    }
    x.load(queue.rBuf, queue.rAt + 1);

    // bounds and progress, every so often
    if ((expanded & 1023) === 0) {
      const now = performance.now();
      const rss = process.memoryUsage.rss();
      if (o.onProgress && now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        o.onProgress({ states: table.size, transitions, depth, queue: queue.length, seconds: (now - start) / 1000, rss });
      }
      if (rss > o.maxMemory) return result('incomplete', { incomplete: `memory bound (${fmtBytes(o.maxMemory)}) reached` });
      if ((now - start) / 1000 > o.maxSeconds) return result('incomplete', { incomplete: `time bound (${o.maxSeconds} s) reached` });
      if (links.length >= links.maxStates) return result('incomplete', { incomplete: `parent links full (${links.maxStates} states)` });
    }
    if (table.size >= o.maxStates) return result('incomplete', { incomplete: `state bound (${o.maxStates}) reached` });

    // an ample set of one independent thread first; if its successor was seen already (the
    // cycle proviso) or no thread is independent, every thread
    let ample = false;
    if (scnIndependence)
      for (let t = 0; t < nt; t++) {
        if (!M.ready(cur, t) || !independentNow(scnIndependence, cur, tOff, t)) continue;
        const r = tryStep(t);
        if (found) return found;
        if (r === BLOCKED_STEP) continue;
        ample = r !== SEEN;
        break;
      }
    if (ample) continue;
    let moved = false;
    for (let t = 0; t < nt; t++) {
      if (!M.ready(cur, t)) continue;
      const r = tryStep(t);
      if (found) return found;
      if (r !== BLOCKED_STEP) moved = true;
    }
    if (!moved) {
      const v = terminalViolation(M, k, counts);
      if (v) return result('violation', { violation: { ...v, path: links.path(ord) } });
    }
  }
  return result('ok');
}

/** Thread t's current operation touches nothing any other thread may still touch. */
export function independentNow(ind: Independence, m: Words, tOff: number[], t: number): boolean {
  const mine = ind.ops[t][m[tOff[t] + T_OP]];
  if (mine.all) return false;
  for (let u = 0; u < tOff.length; u++) {
    if (u === t || m[tOff[u] + T_STATUS] === S_DONE) continue;
    if (Independence.conflict(mine, ind.rest[u][m[tOff[u] + T_OP]])) return false;
  }
  return true;
}

export function warnViolation(warned: string[], counts: (id: string) => boolean): string | undefined {
  for (const w of warned) if (counts(w)) return w;
  return undefined;
}

/** In a state (k.m) where no thread can move: unfinished threads stuck for good, or a final check that fails. */
export function terminalViolation(M: Machine, k: Kernel, counts: (id: string) => boolean): Violation | undefined {
  const stuck = stuckThreads(M, k.m);
  if (stuck.length && counts('blocked-forever')) return { id: 'blocked-forever', message: stuck.join('; ') };
  return checkFinal(k).find((x) => counts(x.id));
}

/** Why each unfinished thread cannot move, in words; empty if all finished. */
export function stuckThreads(M: Machine, m: Words): string[] {
  const k = M.kernel(new State(M.L, Int32Array.from(m as ArrayLike<number>)));
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

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}
