// The daxref side of the benchmark: `daxref check SCENARIO --format json` in a
// child process (so a run can be bounded and killed, and its memory measured
// apart from the bench's), parsed into the CheckResult fields the bench shows.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_OF, type Instance, scenarioPath } from './instances.js';

export interface CheckRun {
  verdict: 'ok' | 'violation' | 'incomplete' | 'failed';
  /** Violated invariant id, or why the run failed. */
  what?: string;
  states: number;
  transitions: number;
  seconds: number; // the checker's own time (CheckResult.seconds)
  wallSeconds: number; // the whole `daxref check` process, node start-up included
  statesPerSecond: number;
  bytesPerState: number; // as the checker reports it
  maxRssMB: number; // peak resident set of the process (/usr/bin/time), NaN if unknown
  depth: number;
  traceSteps?: number;
  exitCode: number | null;
}

export interface CheckOpts {
  workers: 1 | 2;
  por: boolean;
  maxSeconds: number;
  /** Only this invariant counts (--invariant). */
  invariant?: string;
}

/** The command line of one check run, relative to the repository root. */
export function checkArgs(i: Instance, o: CheckOpts): string[] {
  const k = KERNEL_OF[i.variant];
  return [
    'bin/daxref.js', 'check', scenarioPath(i), '--kernel', k.kernel,
    ...k.without.flatMap((w) => ['--without', w]),
    '--workers', String(o.workers), ...(o.por ? [] : ['--no-por']), ...(o.invariant ? ['--invariant', o.invariant] : []),
    '--max-seconds', String(o.maxSeconds), '--format', 'json',
  ];
}

const TIME = '/usr/bin/time';

export function runCheck(root: string, i: Instance, o: CheckOpts): CheckRun {
  const args = checkArgs(i, o);
  const wd = mkdtempSync(join(tmpdir(), 'daxref-check-'));
  const rssFile = join(wd, 'rss');
  const timed = existsSync(TIME);
  const [cmd, argv] = timed ? [TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]] : [process.execPath, args];
  const t0 = performance.now();
  // the checker stops itself at --max-seconds; the hard timeout only guards against a hang
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: (o.maxSeconds + 120) * 1000, maxBuffer: 256 << 20, killSignal: 'SIGKILL' });
  const wallSeconds = (performance.now() - t0) / 1000;
  let maxRssMB = NaN;
  try {
    if (timed) maxRssMB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
  } catch {
    /* no rss report (killed) */
  } finally {
    rmSync(wd, { recursive: true, force: true });
  }
  const empty: CheckRun = {
    verdict: 'failed', states: NaN, transitions: NaN, seconds: NaN, wallSeconds, statesPerSecond: NaN,
    bytesPerState: NaN, maxRssMB, depth: NaN, exitCode: r.status,
  };
  if (r.error || r.signal) return { ...empty, verdict: 'incomplete', what: `killed (${r.signal ?? r.error?.message}) after ${wallSeconds.toFixed(0)} s` };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    const err = (r.stderr || r.stdout || '').trim().split('\n').filter((l) => !/nodedir/.test(l))[0] ?? '';
    return { ...empty, what: `exit ${r.status}: ${err.slice(0, 120)}` };
  }
  const n = (x: unknown) => (typeof x === 'number' ? x : NaN);
  const v = j.violation as { invariant?: string; trace?: { states?: unknown[] } } | undefined;
  const verdict = j.verdict === 'ok' || j.verdict === 'violation' || j.verdict === 'incomplete' ? j.verdict : 'failed';
  return {
    verdict,
    what: v?.invariant ?? (typeof j.incomplete === 'string' ? j.incomplete : undefined),
    states: n(j.states),
    transitions: n(j.transitions),
    seconds: n(j.seconds),
    wallSeconds,
    statesPerSecond: n(j.statesPerSecond),
    bytesPerState: n(j.bytesPerState),
    maxRssMB,
    depth: n(j.depth),
    traceSteps: Array.isArray(v?.trace?.states) ? v.trace.states.length - 1 : undefined,
    exitCode: r.status,
  };
}
