// The checker's hot loop: breadth-first search over every interleaving of the
// scenario's threads at the model's atomic steps, so the first violation found
// has a shortest trace. Invariants are checked in every new state, kernel WARNs
// on every transition, and states where no thread can move but some have not
// finished are reported as blocked-forever (a deadlock when all of them wait).
import type { Machine } from '../machine.js';
import { checkFinal, type Violation } from '../../model/invariants.js';
import { S_DONE, S_SLEEPING, State, T_KEY, T_OP, T_STATUS } from '../../model/state.js';
import type { Kernel, Words } from '../../model/kernel.js';
import { describeKey } from '../../model/kernel/kernel/wait_bit.js';
import { FingerprintTable } from './fptable.js';
import { Explorer, type Found } from './explore.js';
import { Independence } from './independence.js';

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

export function search(M: Machine, o: SearchOptions): SearchResult {
  const table = new FingerprintTable();
  const E = new Explorer(M, table, { por: o.por, symmetry: o.symmetry, invariant: o.invariant, worker: 0, workers: 1 });
  const links = E.links;
  const start = performance.now();
  let depth = 0;
  let lastProgress = start;
  const elapsed = () => (performance.now() - start) / 1000;
  const result = (verdict: SearchResult['verdict'], extra: Partial<SearchResult> = {}): SearchResult => ({
    verdict, states: table.size, transitions: E.transitions, depth, seconds: elapsed(),
    bytesPerState: (table.bytes + links.bytes) / Math.max(1, table.size), ...extra,
  });
  const violation = (f: Found): SearchResult => {
    const path = f.kind === 'state' ? links.path(f.gid) : [...links.path(f.parent), f.thread];
    return result('violation', { violation: { id: f.id, message: f.message, path } });
  };

  let bound = '';
  /** Checked before each state: the bounds (time, memory and links every 1024 states), and progress. */
  const stop = (i: number): boolean => {
    if ((i & 1023) === 0) {
      const now = performance.now();
      const rss = process.memoryUsage.rss();
      if (o.onProgress && now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        o.onProgress({ states: table.size, transitions: E.transitions, depth, queue: E.queue.length, seconds: (now - start) / 1000, rss });
      }
      if (rss > o.maxMemory) bound = `memory bound (${fmtBytes(o.maxMemory)}) reached`;
      else if ((now - start) / 1000 > o.maxSeconds) bound = `time bound (${o.maxSeconds} s) reached`;
      else if (links.length >= links.maxStates) bound = `parent links full (${links.maxStates} states)`;
    }
    if (!bound && table.size >= o.maxStates) bound = `state bound (${o.maxStates}) reached`;
    return bound !== '';
  };

  E.start();
  if (E.found) return violation(E.found);
  E.nextLevel();
  for (;;) {
    const r = E.expandLevel(stop);
    if (r === 'found') return violation(E.found!);
    if (r === 'stopped') return result('incomplete', { incomplete: bound });
    E.nextLevel();
    if (E.queue.length === 0) return result('ok');
    depth++;
  }
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
