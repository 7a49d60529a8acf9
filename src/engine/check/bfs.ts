// The single-worker search: breadth-first over every interleaving of the
// scenario's threads at the model's atomic steps, level by level (the core,
// explore.ts, expands a level), so the first violation found has a shortest
// trace. This file adds the bounds, progress and the counterexample's path.
import type { Machine } from '../machine.js';
import type { Violation } from '../../model/invariants.js';
import { FingerprintTable } from './fptable.js';
import { Explorer, type Found } from './explore.js';

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
  /**
   * Checked before each state: the bounds (time, memory and links every 4096 states, about
   * 10 ms: reading the RSS took 2% of the search when done every 1024), and progress.
   */
  const stop = (i: number): boolean => {
    if ((i & 4095) === 0) {
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

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}
