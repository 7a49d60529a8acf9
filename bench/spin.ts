// The SPIN side of the benchmark: install Debian's spin if missing, then run
// model.pml on one instance (spin -a, gcc, ./pan) in a temporary directory and
// parse pan's report. Mirrors ../shared/anchors/spin/run.sh.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance } from './instances.js';

export interface SpinResult {
  verdict: 'ok' | 'violation' | 'incomplete' | 'failed';
  /** pan's first error line, e.g. "assertion violated (blk[i]==0)". */
  what?: string;
  states: number; // states stored
  transitions: number;
  seconds: number; // pan's own elapsed time
  wallSeconds: number; // spin -a + gcc + pan
  stateVectorBytes: number;
  memoryMB: number; // pan's "total actual memory usage" (includes the 2^24-slot hash table)
  /** Bytes per stored state: pan's "actual memory usage for states" / states stored. */
  bytesPerState: number;
  depth: number;
  errorDepth?: number;
  /** With -DREACH -i: the steps of the shortest trail pan found (its last "reducing search depth to N"). */
  shortestTrail?: number;
  log?: string;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Install Debian's spin (and gcc) with apt-get if they are missing. */
export function ensureSpin(log: (s: string) => void): void {
  const missing = ['spin', 'gcc'].filter((c) => !has(c));
  if (missing.length === 0) return;
  const pkgs = missing.map((c) => (c === 'gcc' ? 'gcc' : 'spin'));
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : has('sudo') ? ['sudo', '-n'] : null;
  if (!sudo) throw new Error(`${missing.join(', ')} not installed and not root: run 'apt-get install ${pkgs.join(' ')}'`);
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  };
  log(`installing ${pkgs.join(' ')} with apt-get`);
  if (!apt(['install', '-y', '-q', ...pkgs])) {
    apt(['update', '-q']);
    if (!apt(['install', '-y', '-q', ...pkgs])) throw new Error(`apt-get install ${pkgs.join(' ')} failed`);
  }
}

export function spinVersion(): string {
  const r = spawnSync('spin', ['-V'], { encoding: 'utf8' });
  return (r.stdout || '').trim();
}

/** The -D flags run.sh passes for a variant and size. */
export function spinDefines(i: Instance): string[] {
  // BUG_NO_FINAL_WAIT implies EVICT inside model.pml
  const d = i.variant === 'NONE' ? [] : i.variant === 'NONE_EVICT' ? ['-DEVICT'] : [`-D${i.variant}`];
  return [...d, `-DK=${i.K}`, `-DF=${i.F}`, `-DP=${i.P}`, `-DW=${i.W}`];
}

const num = (log: string, re: RegExp): number => {
  const m = log.match(re);
  return m ? Number(m[1]) : NaN;
};

/** Parse a pan report. */
export function parsePan(log: string, wallSeconds: number): SpinResult {
  const errors = [...log.matchAll(/errors: (\d+)/g)].map((m) => Number(m[1]));
  const nerr = errors.length ? errors[errors.length - 1] : NaN;
  const states = num(log, /([\d.e+]+) states, stored/);
  const what = log.match(/^pan:\d+: (.*?)(?: \(at depth (\d+)\))?$/m);
  const truncated = /max search depth too small|out of memory|pan: reached -DMEMLIM bound/i.test(log);
  const stateMem = num(log, /([\d.]+)\s+actual memory usage for states/);
  return {
    verdict: Number.isNaN(nerr) ? 'failed' : nerr > 0 ? 'violation' : truncated ? 'incomplete' : 'ok',
    what: what?.[1],
    errorDepth: what?.[2] ? Number(what[2]) : undefined,
    states,
    transitions: num(log, /([\d.e+]+) transitions \(/),
    seconds: num(log, /elapsed time ([\d.e+-]+) seconds/),
    wallSeconds,
    stateVectorBytes: num(log, /State-vector (\d+) byte/),
    memoryMB: num(log, /([\d.]+)\s+total actual memory usage/),
    bytesPerState: (stateMem * 1048576) / states,
    depth: num(log, /depth reached (\d+)/),
    shortestTrail: [...log.matchAll(/reducing search depth to (\d+)/g)].map((m) => Number(m[1])).pop(),
  };
}

/**
 * Run model.pml on one instance. `noReduce` compiles pan with -DNOREDUCE (no
 * partial-order reduction); `shortest` looks for the shortest error trail
 * (-DREACH, pan -i: after each error, search again below its depth).
 */
export function runSpin(model: string, i: Instance, opts: { noReduce: boolean; timeoutSeconds: number; shortest?: boolean }): SpinResult {
  const wd = mkdtempSync(join(tmpdir(), 'daxref-spin-'));
  const t0 = performance.now();
  try {
    copyFileSync(model, join(wd, 'model.pml'));
    execFileSync('spin', [...spinDefines(i), '-a', 'model.pml'], { cwd: wd, stdio: ['ignore', 'ignore', 'pipe'] });
    const cc = ['-O2', '-DSAFETY', '-DMEMLIM=16000', ...(opts.noReduce ? ['-DNOREDUCE'] : []), ...(opts.shortest ? ['-DREACH'] : []), '-o', 'pan', 'pan.c'];
    execFileSync('gcc', cc, { cwd: wd, stdio: ['ignore', 'ignore', 'pipe'] });
    const r = spawnSync('./pan', ['-m1000000', ...(opts.shortest ? ['-i'] : [])], { cwd: wd, encoding: 'utf8', timeout: opts.timeoutSeconds * 1000, maxBuffer: 64 << 20 });
    const wall = (performance.now() - t0) / 1000;
    writeFileSync(join(wd, 'pan.log'), r.stdout ?? '');
    if (r.error || r.signal) {
      const res = parsePan(r.stdout ?? '', wall);
      return { ...res, verdict: 'incomplete', what: `killed after ${opts.timeoutSeconds} s`, log: r.stdout };
    }
    return { ...parsePan(r.stdout, wall), log: r.stdout };
  } finally {
    rmSync(wd, { recursive: true, force: true });
  }
}

/** model.pml: the shared anchor if this checkout sits next to it, else the vendored copy. */
export function findModel(repoRoot: string): string {
  const shared = join(repoRoot, '..', 'shared', 'anchors', 'spin', 'model.pml');
  if (existsSync(shared)) return shared;
  return join(repoRoot, 'bench', 'spin', 'model.pml');
}

export const sameModel = (a: string, b: string) => readFileSync(a, 'utf8') === readFileSync(b, 'utf8');
