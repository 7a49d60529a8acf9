// npm run bench [-- --quick] [--max-seconds S] [--only REGEX] [--spin-only] [--out FILE]
// (--only and --spin-only write no results file unless --out names one)
//
// daxref check against SPIN on the SPIN anchor (model.pml), instance by instance,
// in one run: SPIN (spin -a, gcc -O2 -DSAFETY, ./pan -m1000000) and then
// `daxref check` on the matching scenario (scenarios/bench/, written by
// gen-scenarios.ts) with one worker and with two; on the small instances both
// sides again without partial-order reduction (pan -DNOREDUCE, --no-por).
// Prints one markdown table and writes it to bench/results.md
// (bench/results-quick.md for --quick). Every check run is bounded by
// --max-seconds, so the bench always ends.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { INSTANCES, type Instance, expectViolation, instanceName } from './instances.js';
import { ensureSpin, findModel, runSpin, sameModel, spinVersion, type SpinResult } from './spin.js';
import { checkArgs, runCheck, type CheckRun } from './daxref.js';

interface Args {
  quick: boolean;
  maxSeconds: number;
  only?: RegExp;
  spinOnly: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, maxSeconds: 150, spinOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const val = () => {
      const x = argv[++i];
      if (x === undefined) usage(`${v} needs a value`);
      return x;
    };
    if (v === '--quick') a.quick = true;
    else if (v === '--spin-only') a.spinOnly = true;
    else if (v === '--max-seconds') {
      a.maxSeconds = Number(val());
      if (!(a.maxSeconds > 0)) usage('--max-seconds must be a positive number');
    } else if (v === '--only') a.only = new RegExp(val(), 'i');
    else if (v === '--out') a.out = val();
    else usage(`unknown option '${v}'`);
  }
  return a;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: npm run bench -- [--quick] [--max-seconds S] [--only REGEX] [--spin-only] [--out FILE]\n`);
  process.exit(2);
}

/** One row of the table: an instance, with or without partial-order reduction. */
interface Row {
  inst: Instance;
  por: boolean;
  /** daxref counts only this invariant (SPIN's N9 assert), for the bug variants. */
  invariant?: string;
  spin: SpinResult;
  /** Bug variants: SPIN looking for its shortest trail (-DREACH, pan -i), as daxref's BFS always does. */
  spinShortest?: SpinResult;
  w1?: CheckRun;
  w2?: CheckRun;
}

/** daxref's id for model.pml's assert(blk[i] == B_FILE) in the pinner. */
const N9 = 'block-reuse-under-dma';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

// ---- formatting -------------------------------------------------------------

const ok = (x: number) => Number.isFinite(x);
function si(x: number): string {
  if (!ok(x)) return '—';
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)}k`;
  return String(Math.round(x));
}
const secs = (x: number) => (!ok(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const rate = (states: number, s: number) => (ok(states) && ok(s) && s >= 0.01 ? si(states / s) : '—');
const bps = (x: number) => (ok(x) ? x.toFixed(x < 100 ? 1 : 0) : '—');
function ratio(a: number, b: number): string {
  if (!ok(a) || !ok(b)) return '—';
  if (b < 0.01) return a < 0.01 ? '≈1 (both < 0.01 s)' : `> ${(a / 0.01).toFixed(0)} (SPIN < 0.01 s)`;
  return (a / b).toFixed(2);
}

function spinVerdict(s: SpinResult): string {
  if (s.verdict === 'violation') return `violation (${(s.what ?? '').replace(/\|/g, '\\|')})`;
  if (s.verdict === 'incomplete') return `**incomplete** (${s.what ?? ''})`;
  return s.verdict;
}
function checkVerdict(c: CheckRun | undefined): string {
  if (!c) return 'not run';
  if (c.verdict === 'violation') return `violation (${c.what ?? '?'})`;
  if (c.verdict === 'incomplete') return `**incomplete** at ${si(c.states)} states, depth ${si(c.depth)}${c.what ? ` (${c.what})` : ''}`;
  if (c.verdict === 'failed') return `**failed** (${(c.what ?? '').replace(/\|/g, '\\|')})`;
  return 'ok';
}

/** Do the two verdicts agree (bug found by both / clean on both)? */
function agree(r: Row): string {
  const c = r.w1;
  if (!c || c.verdict === 'failed') return '—';
  if (c.verdict === 'incomplete' || r.spin.verdict === 'incomplete' || r.spin.verdict === 'failed') return '?';
  const expected = expectViolation(r.inst.variant) ? 'violation' : 'ok';
  if (c.verdict === r.spin.verdict) return c.verdict === expected ? 'yes' : 'yes (unexpected!)';
  return '**NO**';
}

/** 1-worker time / 2-worker time; when both hit the time bound, the ratio of their rates. */
function speedup(c: CheckRun | undefined, w2: CheckRun | undefined): string {
  if (!c || !w2 || !ok(c.seconds) || !ok(w2.seconds) || w2.seconds <= 0) return '—';
  if (c.verdict === 'incomplete' && w2.verdict === 'incomplete') {
    const r1 = c.states / c.seconds;
    const r2 = w2.states / w2.seconds;
    return ok(r1) && ok(r2) && r1 > 0 ? `${(r2 / r1).toFixed(2)}x (states/s, both incomplete)` : '—';
  }
  if (c.verdict === 'incomplete' || w2.verdict === 'incomplete') return '—';
  return `${(c.seconds / w2.seconds).toFixed(2)}x`;
}

function table(rows: Row[]): string {
  const head = [
    'instance K/F/P/W', 'POR', 'SPIN verdict', 'daxref verdict', 'agree',
    'SPIN states', 'daxref states', 'SPIN s', 'daxref s', 'SPIN states/s', 'daxref states/s',
    'SPIN B/state', 'daxref B/state', 'time ratio daxref/SPIN', 'daxref s (2 workers)', '2-worker speedup',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const c = r.w1;
    const w2 = r.w2;
    lines.push(`| ${[
      instanceName(r.inst) + (r.invariant ? ` (daxref: ${r.invariant} only)` : ''), r.por ? 'on' : 'off', spinVerdict(r.spin), checkVerdict(c), agree(r),
      si(r.spin.states), si(c?.states ?? NaN), secs(r.spin.seconds), secs(c?.seconds ?? NaN),
      rate(r.spin.states, r.spin.seconds), c ? (ok(c.statesPerSecond) ? si(c.statesPerSecond) : rate(c.states, c.seconds)) : '—',
      bps(r.spin.bytesPerState), bps(c?.bytesPerState ?? NaN), ratio(c?.seconds ?? NaN, r.spin.seconds),
      w2 ? `${secs(w2.seconds)}${w2.verdict !== c?.verdict ? ` (${checkVerdict(w2)})` : ''}` : '—',
      speedup(c, w2),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

function details(rows: Row[]): string {
  const head = [
    'instance K/F/P/W', 'POR', 'SPIN transitions', 'daxref transitions', 'SPIN depth', 'daxref depth',
    'SPIN err depth', 'daxref trace steps', 'SPIN SV B', 'SPIN mem MB', 'daxref max RSS MB (1w)',
    'SPIN wall s (spin+gcc+pan)', 'daxref wall s (process, 1w)', 'wall ratio',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const c = r.w1;
    lines.push(`| ${[
      instanceName(r.inst) + (r.invariant ? ` (${r.invariant} only)` : ''), r.por ? 'on' : 'off', si(r.spin.transitions), si(c?.transitions ?? NaN),
      si(r.spin.depth), si(c?.depth ?? NaN), r.spin.errorDepth ?? '—', c?.traceSteps ?? '—',
      si(r.spin.stateVectorBytes), ok(r.spin.memoryMB) ? r.spin.memoryMB.toFixed(0) : '—',
      ok(c?.maxRssMB ?? NaN) ? c!.maxRssMB.toFixed(0) : '—',
      secs(r.spin.wallSeconds), secs(c?.wallSeconds ?? NaN), ratio(c?.wallSeconds ?? NaN, r.spin.wallSeconds),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Bug instances: time to a shortest counterexample, the verdict daxref gives, against SPIN asked for the same. */
function shortest(rows: Row[]): string {
  const head = [
    'instance K/F/P/W', 'SPIN first error s', 'SPIN first trail steps', 'SPIN shortest s (-DREACH -i)', 'SPIN shortest trail steps', 'SPIN -i states',
    'daxref s', 'daxref trace steps', 'daxref states', 'time ratio daxref/SPIN shortest',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const s = r.spinShortest;
    const c = r.w1;
    if (!s) continue;
    lines.push(`| ${[
      instanceName(r.inst) + (r.invariant ? ` (daxref: ${r.invariant} only)` : ''),
      secs(r.spin.seconds), r.spin.errorDepth !== undefined ? r.spin.errorDepth + 1 : '—',
      s.verdict === 'violation' ? secs(s.seconds) : spinVerdict(s), s.shortestTrail ?? '—', si(s.states),
      c ? (c.verdict === 'violation' ? secs(c.seconds) : checkVerdict(c)) : '—', c?.traceSteps ?? '—', si(c?.states ?? NaN),
      c?.verdict === 'violation' && s.verdict === 'violation' ? ratio(c.seconds, s.seconds) : '—',
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

function cpuModel(): string {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
    if (m) return m[1];
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? '?';
}

// ---- main -------------------------------------------------------------------

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const root = join(import.meta.dirname, '..', '..');
  const insts = INSTANCES.filter((i) => (!a.quick || i.quick) && (!a.only || a.only.test(instanceName(i))));
  if (insts.length === 0) usage('no instance matches');
  ensureSpin(log);
  const model = findModel(root);
  const vendored = join(root, 'bench', 'spin', 'model.pml');
  const modelNote = model === vendored
    ? 'bench/spin/model.pml (vendored copy of shared/anchors/spin/model.pml)'
    : `${relative(root, model)}${sameModel(model, vendored) ? ' (identical to the vendored bench/spin/model.pml)' : ' (**differs** from the vendored bench/spin/model.pml)'}`;
  log(`SPIN model: ${modelNote}`);
  const started = new Date();
  const rows: Row[] = [];
  const spinTimeout = a.maxSeconds;
  const runChecks = (row: Row) => {
    for (const workers of [1, 2] as const) {
      const o = { workers, por: row.por, maxSeconds: a.maxSeconds, invariant: row.invariant };
      log(`  daxref ${checkArgs(row.inst, o).join(' ')}`);
      const c = runCheck(root, row.inst, o);
      log(`  daxref ${workers}w ${c.verdict}${c.what ? ` (${c.what})` : ''}: ${si(c.states)} states, ${secs(c.seconds)} s`);
      if (workers === 1) row.w1 = c;
      else row.w2 = c;
      if (c.verdict === 'failed') break; // the second would fail the same way
    }
  };
  for (const inst of insts) {
    for (const por of inst.noPor ? [true, false] : [true]) {
      const tag = `${instanceName(inst)}${por ? '' : ' (no POR)'}`;
      log(`${tag}: SPIN${por ? '' : ' -DNOREDUCE'}`);
      const spin = runSpin(model, inst, { noReduce: !por, timeoutSeconds: spinTimeout });
      log(`  SPIN ${spin.verdict}: ${si(spin.states)} states, ${secs(spin.seconds)} s`);
      // daxref's BFS reports a shortest counterexample: ask SPIN for its shortest trail too
      let spinShortest: SpinResult | undefined;
      if (por && expectViolation(inst.variant)) {
        log(`${tag}: SPIN -DREACH -i (shortest trail)`);
        spinShortest = runSpin(model, inst, { noReduce: false, timeoutSeconds: spinTimeout, shortest: true });
        log(`  SPIN ${spinShortest.verdict}: ${si(spinShortest.states)} states, ${secs(spinShortest.seconds)} s, shortest trail ${spinShortest.shortestTrail ?? '—'} steps`);
      }
      const row: Row = { inst, por, spin, spinShortest };
      rows.push(row);
      if (a.spinOnly) continue;
      runChecks(row);
      // model.pml asserts N9 (and rc >= mc), not N6: count only N9 too, against the same SPIN run
      if (por && expectViolation(inst.variant)) {
        const n9: Row = { inst, por, spin, spinShortest, invariant: N9 };
        rows.push(n9);
        runChecks(n9);
      }
    }
  }
  const cmd = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const md = [
    `# daxref check vs SPIN on the SPIN anchor${a.quick ? ' (quick)' : ''}`,
    '',
    `Generated by \`${cmd}\` (bench/run.ts); do not edit. See bench/README.md for how the instances map onto scenarios and how to read the columns.`,
    '',
    `- Run: ${started.toISOString()} to ${new Date().toISOString()}, daxref commit ${git(root, ['rev-parse', '--short', 'HEAD'])}${git(root, ['status', '--porcelain']) ? ' (with uncommitted changes)' : ''}`,
    `- Machine: ${cpus().length} CPUs (${cpuModel()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${spinVersion()}`,
    `- SPIN: ${modelNote}; \`spin -D... -a\`, \`gcc -O2 -DSAFETY -DMEMLIM=16000 [-DNOREDUCE]\`, \`./pan -m1000000\` (hash -w24); times are pan's elapsed time`,
    `- daxref: \`daxref check SCENARIO --kernel K [--without FIX] --workers 1|2 [--no-por] --max-seconds ${a.maxSeconds} --format json\`; times are the checker's own \`seconds\``,
    '',
    table(rows),
    '',
    '## Details',
    '',
    details(rows),
    '',
    '## Shortest counterexamples (bug instances)',
    '',
    "daxref's breadth-first search always returns a shortest trace, so its time to a verdict on a bug instance includes proving that no shorter trace exists. The main table compares it with SPIN's default depth-first search, which stops at the first error it meets; here SPIN is asked for the same thing: pan compiled with `-DREACH` and run with `-i` (after each error, search again below its depth). SPIN's trail steps include about 18 steps of `init` spawning processes; the two models' steps differ in granularity, so steps are not comparable across tools, only times.",
    '',
    shortest(rows),
    '',
  ].join('\n');
  process.stdout.write(md);
  const out = a.out ?? join(root, 'bench', a.quick ? 'results-quick.md' : 'results.md');
  if ((!a.spinOnly && !a.only) || a.out) {
    writeFileSync(out, md);
    log(`wrote ${relative(process.cwd(), out)}`);
  }
}

main();
