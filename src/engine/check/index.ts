// `check`: every interleaving of a scenario's threads, on one kernel
// configuration, with the shortest counterexample as a replayable trace.
import type { Scenario } from '../../scenario/types.js';
import { loadScenarioFile } from '../../scenario/index.js';
import { describeConfig, type KernelConfig } from '../../model/versions.js';
import { Machine } from '../machine.js';
import { configFor, simulate } from '../simulate.js';
import { toTrace } from '../../trace/itf.js';
import { search, type Progress, type SearchResult } from './bfs.js';
import { searchParallel } from './parallel.js';

export type { Progress } from './bfs.js';

export interface CheckOptions {
  kernel?: string;
  with?: string[];
  without?: string[];
  /** Only this invariant (or kernel WARN) id counts as a violation. */
  invariant?: string;
  maxStates?: number;
  maxSeconds?: number;
  /** Bytes of resident memory. */
  maxMemory?: number;
  workers?: 1 | 2;
  /** Partial-order reduction (default on). */
  por?: boolean;
  /** Symmetry reduction for interchangeable threads (default on). */
  symmetry?: boolean;
  onProgress?: (p: Progress) => void;
  /**
   * Replace kernel configuration before the search: the hook for modelling a
   * proposed protocol change (see the README's worked example).
   */
  variant?: (cfg: KernelConfig) => KernelConfig;
}

export interface CheckResult {
  verdict: 'ok' | 'violation' | 'incomplete';
  kernel: string;
  fixes: string[];
  states: number;
  transitions: number;
  seconds: number;
  statesPerSecond: number;
  bytesPerState: number;
  depth: number;
  workers: number;
  por: boolean;
  symmetry: boolean;
  /** Why the search stopped early (verdict incomplete). */
  incomplete?: string;
  violation?: {
    invariant: string;
    message: string;
    /** Atomic steps of the counterexample, as `thread: kernel function: what`. */
    steps: string[];
    /** What the run leads to if it goes on from there (round-robin): every violation id from the violation's step on, in order. */
    consequences: string[];
    /** The same JSON trace as `daxref run --format json`, replayable with `--replay`. */
    trace: ReturnType<typeof toTrace>;
  };
}

export async function check(scenario: Scenario | string, opts: CheckOptions = {}): Promise<CheckResult> {
  const scn = typeof scenario === 'string' ? loadScenarioFile(scenario) : scenario;
  let cfg = configFor(scn, opts);
  if (opts.variant) cfg = opts.variant(cfg);
  const por = opts.por ?? true;
  const M = new Machine(scn, cfg, por, por);
  const symmetry = opts.symmetry ?? true;
  const so = {
    por,
    symmetry,
    invariant: opts.invariant,
    maxStates: opts.maxStates ?? Number.MAX_SAFE_INTEGER,
    maxSeconds: opts.maxSeconds ?? Infinity,
    maxMemory: opts.maxMemory ?? Infinity,
    onProgress: opts.onProgress,
  };
  const workers = opts.workers ?? 1;
  // a variant's configuration holds functions, which cannot cross to a worker: it runs on one
  const parallel = workers === 2 && !opts.variant;
  const r: SearchResult = parallel
    ? await searchParallel(scn, { kernel: opts.kernel, with: opts.with, without: opts.without }, so)
    : search(M, so);
  const out: CheckResult = {
    verdict: r.verdict,
    kernel: describeConfig(cfg),
    fixes: [...cfg.fixes],
    states: r.states,
    transitions: r.transitions,
    seconds: r.seconds,
    statesPerSecond: r.seconds > 0 ? Math.round(r.states / r.seconds) : r.states,
    bytesPerState: Math.round(r.bytesPerState * 10) / 10,
    depth: r.depth,
    workers: parallel ? 2 : 1,
    por,
    symmetry,
    ...(r.incomplete ? { incomplete: r.incomplete } : {}),
  };
  if (r.violation) {
    const path = por ? simulatorSteps(M, r.violation.path) : r.violation.path;
    const sim = simulate(scn, { config: cfg, everyAction: !por }, true, path);
    const last = sim.violations.filter((v) => v.id === r.violation!.id).pop();
    out.violation = {
      invariant: r.violation.id,
      message: last?.message ?? r.violation.message,
      steps: sim.steps.map((s) => `${s.thread}: ${s.fn}: ${s.what}`),
      // from the violation's step on: what the trace already showed before it is not a consequence
      consequences: [...new Set(simulate(scn, { config: cfg, everyAction: !por, continueReplay: true }, false, path).violations.filter((v) => v.step >= path.length).map((v) => v.id))],
      trace: toTrace(sim),
    };
  }
  return out;
}

/**
 * A counterexample's steps at the simulator's granularity: a checker step that
 * ran on past lock acquisitions (Machine.fuseMovers) is that many more steps
 * of its thread there, so the trace shows each acquisition and replays with
 * `daxref run --replay`.
 */
function simulatorSteps(M: Machine, path: number[]): number[] {
  const k = M.kernel(M.initial());
  const out: number[] = [];
  for (const t of path) {
    M.step(k, t);
    for (let i = 0; i <= M.moved; i++) out.push(t);
  }
  return out;
}
