// `daxref check`: every interleaving, a verdict, the shortest counterexample.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseDocument } from 'yaml';
import cliProgress from 'cli-progress';
import { loadScenarioFile, parseSize, type Scenario } from '../scenario/index.js';
import { INVARIANTS } from '../model/invariants.js';
import { check, type CheckResult, type Progress } from '../engine/check/index.js';
import { fmtBytes } from '../engine/check/bfs.js';
import { collect, fatal, UsageError } from './fatal.js';

interface CheckFlags {
  kernel?: string;
  with: string[];
  without: string[];
  invariant?: string;
  maxStates?: string;
  maxSeconds?: string;
  maxMemory?: string;
  workers: string;
  por: boolean;
  symmetry: boolean;
  format: 'text' | 'json';
}

const EXIT = { ok: 0, violation: 1, incomplete: 3 } as const;

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('explore every interleaving of the scenario\'s threads (ignores `schedule`): ok, or the shortest trace to a violation')
    .argument('<scenario>', 'scenario file (YAML or JSON)')
    .option('--kernel <k>', 'kernel version (v6.12, v6.15, latest)')
    .option('--with <fix>', 'add a fix switch (repeatable)', collect, [])
    .option('--without <fix>', 'remove a fix switch (repeatable)', collect, [])
    .option('--invariant <id>', 'only this invariant or kernel WARN id counts as a violation')
    .option('--max-states <n>', 'stop after this many distinct states')
    .option('--max-seconds <s>', 'stop after this many seconds')
    .option('--max-memory <size>', 'stop when resident memory passes this (e.g. 4G)')
    .addOption(new Option('--workers <n>', 'worker threads').choices(['1', '2']).default('1'))
    .option('--no-por', 'turn partial-order reduction off')
    .option('--no-symmetry', 'turn symmetry reduction off')
    .addOption(new Option('--format <f>', 'output').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExit status: 0 ok, 1 violation, 2 bad input, 3 incomplete (a bound was hit).')
    .action(async (file: string, o: CheckFlags) => {
      let r: CheckResult;
      const bar = progressBar();
      try {
        const scn = loadScenarioFile(file);
        if (o.invariant !== undefined && !INVARIANTS.some((i) => i.id === o.invariant) && !o.invariant.startsWith('warn-'))
          throw new UsageError(`--invariant ${o.invariant}: unknown id (known: ${INVARIANTS.map((i) => i.id).join(', ')}, and the warn-* ids of kernel WARNs)`);
        r = await check(scn, {
          kernel: o.kernel,
          with: o.with,
          without: o.without,
          invariant: o.invariant,
          maxStates: count('--max-states', o.maxStates),
          maxSeconds: count('--max-seconds', o.maxSeconds),
          maxMemory: o.maxMemory === undefined ? undefined : bytes(o.maxMemory),
          workers: o.workers === '2' ? 2 : 1,
          por: o.por,
          symmetry: o.symmetry,
          onProgress: bar?.update,
        });
      } catch (e) {
        bar?.stop();
        fatal(e);
      }
      bar?.stop();
      process.stdout.write(o.format === 'json' ? JSON.stringify(r, null, 1) + '\n' : formatCheck(r, file));
      process.exitCode = EXIT[r.verdict];
    });
}

function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${v}: expected a positive number`);
  return n;
}

function bytes(v: string): number {
  try {
    return parseSize(v);
  } catch (e) {
    throw new UsageError(`--max-memory ${v}: ${(e as Error).message}`);
  }
}

/** A progress line on stderr, only when stderr is a terminal. */
function progressBar(): { update: (p: Progress) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'checking: {value} states, {rate} states/s, depth {depth}, queue {queue}, {mem}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.legacy,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = { rate: Math.round(p.states / Math.max(p.seconds, 1e-3)), depth: p.depth, queue: p.queue, mem: fmtBytes(p.rss) };
      if (!started) {
        bar.start(Infinity, p.states, payload);
        started = true;
      } else bar.update(p.states, payload);
    },
    stop: () => started && bar.stop(),
  };
}

export function formatCheck(r: CheckResult, file: string): string {
  const out: string[] = [];
  out.push(`${file}: ${r.kernel}${r.por ? '' : ', no partial-order reduction'}${r.symmetry ? '' : ', no symmetry reduction'}`);
  if (r.verdict === 'ok') out.push('verdict: ok (every interleaving explored, no invariant broken)');
  else if (r.verdict === 'incomplete') out.push(`verdict: incomplete (${r.incomplete}; no violation in the states explored)`);
  else {
    const v = r.violation!;
    const then = v.consequences.filter((id) => id !== v.invariant);
    out.push(`verdict: violation of ${v.invariant}`, `  ${v.message}`);
    if (then.length) out.push(`  (run on from there, it also breaks: ${then.join(', ')})`);
    out.push('', `shortest trace (${v.steps.length} atomic steps; replay with: daxref run ${file} --kernel ... --replay TRACE.json):`);
    v.steps.forEach((s, i) => out.push(`${String(i + 1).padStart(4)} ${s}`));
  }
  out.push('', `${r.states.toLocaleString('en')} states, ${r.transitions.toLocaleString('en')} transitions, depth ${r.depth}, ${r.seconds.toFixed(2)} s (${r.statesPerSecond.toLocaleString('en')} states/s), ${r.bytesPerState} bytes/state, ${r.workers} worker${r.workers > 1 ? 's' : ''}`);
  return out.join('\n') + '\n';
}

/**
 * The thread of every atomic step of a trace file (`daxref run --format json`,
 * or `daxref check --format json`), and whether each action was a step of its own.
 */
export function readReplay(path: string, scn: Scenario): { threads: number[]; everyAction: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // read with the YAML parser (a superset of JSON) for its located errors, as scenario files are
  const parsed = parseDocument(text, { prettyErrors: false });
  if (parsed.errors.length) {
    const e = parsed.errors[0];
    const at = e.linePos?.[0] ?? { line: 1, col: 1 };
    throw new UsageError(`${path}:${at.line}:${at.col}: not a JSON trace: ${e.message.split('\n')[0]}`);
  }
  const doc: unknown = parsed.toJS();
  type Trace = { states?: unknown; '#meta'?: { granularity?: string } };
  const root = doc as Trace & { violation?: { trace?: Trace } };
  const trace = Array.isArray(root.states) ? root : root.violation?.trace;
  const states = trace?.states;
  if (!Array.isArray(states)) throw new UsageError(`${path}: not a daxref trace (no "states" array, nor "violation.trace.states")`);
  const names = scn.threads.map((t) => t.name);
  const threads = states.slice(1).map((s, i) => {
    const th = (s as { '#meta'?: { thread?: unknown } })?.['#meta']?.thread;
    const t = names.indexOf(th as string);
    if (t < 0) throw new UsageError(`${path}: state ${i + 1}: thread ${JSON.stringify(th)} is not a thread of scenario "${scn.name}" (${names.join(', ')})`);
    return t;
  });
  return { threads, everyAction: trace?.['#meta']?.granularity === 'every action' };
}
