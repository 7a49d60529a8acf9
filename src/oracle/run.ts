// `daxref oracle`: build the scenario programs, boot each real kernel once per filesystem for
// the whole batch (oracle/boot.sh), and compare every entry with the model's prediction.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, LineCounter } from 'yaml';
import type { Scenario } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import { loadScenarioFile } from '../scenario/index.js';
import { translate, unsupportedReason, oraclePages, type OracleFs } from './translate.js';
import { hangsUninterruptibly, predict } from './predict.js';
import { splitConsole, parseKernelRun, type FileLayout } from './kernel-output.js';
import { compareRuns, isKnown, type Comparison, type KnownDifference } from './compare.js';
import { stepLabels } from './observe.js';

/** The real kernels and the model generation each is compared with. */
export const ORACLE_KERNELS: Record<string, { model: string; release: string }> = {
  '6.12': { model: 'v6.12', release: '6.12.115+deb12-amd64 (Debian bookworm-security)' },
  '7.3': { model: 'latest', release: '7.3.4+deb13-amd64 (Debian trixie-backports)' },
};

export const ORACLE_DIR = fileURLToPath(new URL('../../../oracle/', import.meta.url));

export class OracleError extends Error {}

export interface OracleOptions {
  kernels: string[];
  fs?: OracleFs;
  known?: string; // known-differences file
  log?: (msg: string) => void;
  /** Keep the console logs here. */
  logDir?: string;
}

export interface ScenarioResult {
  file: string;
  scenario: Scenario;
  kernel: string;
  fs: OracleFs;
  skipped?: string;
  comparison?: Comparison;
  /** Disagreements with the known-difference entry that covers each, if any. */
  judged?: { d: Comparison['disagreements'][number]; known?: KnownDifference }[];
  problems: string[];
  notes: string[];
  pageLabels: string[];
}

export function loadKnown(path: string): KnownDifference[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const at = (node: unknown, msg: string): never => {
    const range = (node as { range?: number[] } | undefined)?.range;
    const p = range ? lc.linePos(range[0]) : { line: 1, col: 1 };
    throw new ScenarioError(path, p.line, p.col, msg);
  };
  if (doc.errors.length) at({ range: doc.errors[0].pos }, doc.errors[0].message);
  const list = doc.toJS() ?? [];
  if (!Array.isArray(list)) at(doc.contents, 'expected a list of known differences');
  const items = (doc.contents as unknown as { items: unknown[] }).items ?? [];
  (list as KnownDifference[]).forEach((k, i) => {
    if (!k || typeof k !== 'object') at(items[i], 'expected a mapping');
    if (typeof k.scenario !== 'string') at(items[i], 'missing `scenario` (a scenario file name)');
    if (typeof k.reason !== 'string' || !k.reason.trim()) at(items[i], 'missing `reason`: every known difference says why');
    if (k.kernel !== undefined) k.kernel = String(k.kernel);
    if (k.kernel !== undefined && !ORACLE_KERNELS[k.kernel]) at(items[i], `unknown kernel ${k.kernel} (6.12 or 7.3)`);
  });
  return list as KnownDifference[];
}

/** The scenario the model runs: the filesystem of the real run, and each file placed as the kernel placed it. */
export function modelScenario(scn: Scenario, fs: OracleFs, layout: FileLayout[], notes: string[]): Scenario {
  const out: Scenario = { ...scn, devices: scn.devices.map((d) => (d.type === 'fsdax' ? { ...d, fs } : d)), files: scn.files.map((f) => ({ ...f })) };
  for (const l of layout) {
    const f = out.files[l.file];
    if (!f || l.extents.length === 0) continue;
    const first = l.extents[0];
    const block = (first[1] - first[0]) / 4096;
    const aligned = block % 512 === 0;
    f.align = aligned ? 2 << 20 : 4096;
    if (l.extents.some((x) => ((x[1] - x[0]) / 4096) % 512 !== block % 512))
      notes.push(`${f.name}: ${l.extents.length} extents not placed alike; the model places the file as its first extent`);
    notes.push(`${f.name}: extent at device block ${block} (${aligned ? '2 MiB-aligned' : 'not 2 MiB-aligned'}), ${l.extents.length} extent(s)`);
  }
  return out;
}

/** Extra mkfs options: xfs aligns large allocations to a stripe unit, so a file that asks for
 * 2 MiB alignment gets a 2 MiB stripe unit (the usual setup for PMD-mapped FS-DAX). */
export function mkfsOptions(scn: Scenario, fs: OracleFs): string {
  return fs === 'xfs' && scn.files.some((f) => (f.align ?? 0) >= 2 << 20) ? '-d su=2m,sw=1,agcount=4 -l size=64m' : '';
}

function scenarioFs(scn: Scenario, fs?: OracleFs): OracleFs {
  return fs ?? scn.devices.find((d) => d.type === 'fsdax')?.fs ?? 'xfs';
}

function sh(cmd: string, args: string[], cwd?: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new OracleError(`${cmd} ${args.join(' ')} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** Compile one static test program per scenario into dir/bin; returns the program id per scenario. */
export function buildPrograms(scns: Scenario[], dir: string): string[] {
  const guest = join(ORACLE_DIR, 'guest');
  mkdirSync(join(dir, 'src'), { recursive: true });
  sh('gcc', ['-O2', '-Wall', '-Werror', '-pthread', '-I', guest, '-c', join(guest, 'runtime.c'), '-o', join(dir, 'runtime.o')]);
  return scns.map((scn, i) => {
    const id = String(i).padStart(3, '0');
    const c = join(dir, 'src', `${id}.c`);
    writeFileSync(c, translate(scn));
    sh('gcc', ['-static', '-O2', '-Wall', '-Werror', '-pthread', '-I', guest, c, join(dir, 'runtime.o'), '-o', join(dir, 'src', id)]);
    return id;
  });
}

/** Boot `kernel` with `fs` and run the given programs; resolves with the console output. */
function boot(kernel: string, fs: OracleFs, bindir: string, log: (m: string) => void): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(join(ORACLE_DIR, 'boot.sh'), [kernel, fs, bindir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      for (const l of b.toString().split('\n')) if (l.startsWith('oracle-boot:')) log(l);
    });
    p.on('error', (e) => rej(new OracleError(`cannot start oracle/boot.sh: ${e.message}`)));
    p.on('close', (code) => {
      if (code !== 0 && !out.includes('DAXREF-GUEST done'))
        rej(new OracleError(`boot of ${kernel} (${fs}) failed (exit ${code}): ${err.trim().split('\n').slice(-5).join(' | ')}${out ? `\nlast console lines:\n${out.trim().split('\n').slice(-10).join('\n')}` : ''}`));
      else res(out);
    });
  });
}

export async function runOracle(files: string[], o: OracleOptions): Promise<ScenarioResult[]> {
  const log = o.log ?? (() => {});
  for (const k of o.kernels) if (!ORACLE_KERNELS[k]) throw new OracleError(`unknown kernel ${k}: the oracle boots 6.12 or 7.3`);
  const known = o.known ? loadKnown(o.known) : [];
  const scns = files.map((f) => loadScenarioFile(f));
  const results: ScenarioResult[] = [];
  const work = mkdtempSync(join(tmpdir(), 'daxref-oracle-'));
  try {
    const runnable = scns.map((s) => unsupportedReason(s, scenarioFs(s, o.fs)));
    const toBuild = scns.filter((_, i) => !runnable[i]);
    const ids = toBuild.length ? buildPrograms(toBuild, work) : [];
    const idOf = new Map(toBuild.map((s, i) => [s, ids[i]]));
    for (const kernel of o.kernels) {
      const byFs = new Map<OracleFs, Scenario[]>();
      scns.forEach((s, i) => {
        const fs = scenarioFs(s, o.fs);
        // a real thread stuck for good in an uninterruptible wait keeps the filesystem mounted: every later scenario of the boot would fail
        const stuck = runnable[i] ? null : hangsUninterruptibly(s, ORACLE_KERNELS[kernel].model);
        const skipped = runnable[i] ?? (stuck && `the model leaves ${stuck}, an uninterruptible wait, for good: the real process could not be killed nor /mnt unmounted, and the rest of the boot would fail`);
        if (skipped) {
          results.push({ file: files[i], scenario: s, kernel, fs, skipped, problems: [], notes: [], pageLabels: [] });
          return;
        }
        if (!byFs.has(fs)) byFs.set(fs, []);
        byFs.get(fs)!.push(s);
      });
      for (const [fs, group] of byFs) {
        const bindir = join(work, `bin-${kernel}-${fs}`);
        mkdirSync(bindir, { recursive: true });
        for (const s of group) {
          sh('cp', [join(work, 'src', idOf.get(s)!), join(bindir, idOf.get(s)!)]);
          const opts = mkfsOptions(s, fs);
          if (opts) writeFileSync(join(bindir, `${idOf.get(s)!}.mkfs`), opts);
        }
        log(`booting ${kernel} (${ORACLE_KERNELS[kernel].release}) with ${fs} for ${group.length} scenario(s)`);
        const t0 = Date.now();
        const consoleLog = await boot(kernel, fs, bindir, log);
        log(`  ${kernel}/${fs}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        if (o.logDir) {
          mkdirSync(o.logDir, { recursive: true });
          writeFileSync(join(o.logDir, `console-${kernel}-${fs}.log`), consoleLog);
        }
        const { runs, guest } = splitConsole(consoleLog);
        const guestProblems = guest.filter((g) => /failed|dmesg/.test(g));
        for (const s of group) results.push(judge(s, files[scns.indexOf(s)], kernel, fs, runs.get(idOf.get(s)!) ?? [], guestProblems, known));
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // keep the order of the command line: per scenario, per kernel
  return files.flatMap((f) => o.kernels.flatMap((k) => results.filter((r) => r.file === f && r.kernel === k)));
}

function judge(scn: Scenario, file: string, kernel: string, fs: OracleFs, lines: unknown[], guestProblems: string[], known: KnownDifference[]): ScenarioResult {
  const pages = oraclePages(scn);
  const labels = stepLabels(scn);
  const real = parseKernelRun(lines, scn.threads.map((t) => t.name), scn.files.map((f) => f.name));
  const notes: string[] = [];
  const problems = [...real.obs.problems.filter((p) => !p.startsWith('note:')), ...guestProblems.map((g) => `guest: ${g}`)];
  notes.push(...real.obs.problems.filter((p) => p.startsWith('note:')));
  const mscn = modelScenario(scn, fs, real.layout, notes);
  let model;
  try {
    model = predict(mscn, ORACLE_KERNELS[kernel].model, pages);
  } catch (e) {
    // a model crash fails this scenario only: the rest of the batch still gets its verdicts
    problems.push(`model: internal error (a bug in daxref): ${e instanceof Error ? e.message : String(e)}`);
    return { file, scenario: scn, kernel, fs, comparison: { rows: [], disagreements: [] }, judged: [], problems, notes, pageLabels: pages.map((p) => p.label) };
  }
  const comparison = compareRuns(model, real.obs, labels, pages.map((p) => p.label));
  const judged = comparison.disagreements.map((d) => ({ d, known: isKnown(d, file, kernel, fs, known) }));
  return { file, scenario: scn, kernel, fs, comparison, judged, problems, notes, pageLabels: pages.map((p) => p.label) };
}

/** Failing results: unlisted disagreements or a doubtful kernel run. */
export function failures(r: ScenarioResult): number {
  if (r.skipped) return 0;
  return (r.judged ?? []).filter((j) => !j.known).length + r.problems.length;
}

export function formatResult(r: ScenarioResult): string {
  const head = `== ${basename(r.file)} on ${r.kernel} (${r.fs}) vs model ${ORACLE_KERNELS[r.kernel].model}: ${r.scenario.name}`;
  if (r.skipped) return `${head}\n   skipped: ${r.skipped}\n`;
  const out = [head];
  for (const n of r.notes) out.push(`   note: ${n}`);
  for (const p of r.problems) out.push(`   PROBLEM: ${p}`);
  const w = 34;
  out.push(`   ${'entry / what'.padEnd(26)} ${'model'.padEnd(w)} kernel`);
  for (const row of r.comparison!.rows) {
    const e = row.entry === -1 ? 'init' : row.entry === Infinity ? 'end' : `#${row.entry}`;
    out.push(`   ${e.padEnd(5)} ${row.title}`);
    for (const l of row.lines) {
      const mark = l.differs ? '!!' : '  ';
      out.push(` ${mark}      ${l.what.padEnd(19)} ${l.model.padEnd(w)} ${l.kernel}${l.differs ? '   <-- DIFFERS' : ''}`);
    }
  }
  const j = r.judged!;
  const fresh = j.filter((x) => !x.known);
  const old = j.filter((x) => x.known);
  if (!j.length && !r.problems.length) out.push('   AGREE: the model matches the kernel at every entry');
  for (const x of fresh) out.push(`   DISAGREE at ${fmtEntry(x.d.entry)}: ${x.d.what}: model ${x.d.model}, kernel ${x.d.kernel}`);
  for (const x of old) out.push(`   known difference at ${fmtEntry(x.d.entry)}: ${x.d.what}: model ${x.d.model}, kernel ${x.d.kernel}`);
  for (const k of new Set(old.map((x) => x.known!))) out.push(`     listed because: ${k.reason.split(/(?<=\.)\s/)[0]}`);
  return out.join('\n') + '\n';
}

const fmtEntry = (e: number) => (e === -1 ? 'init' : e === Infinity ? 'end' : `#${e}`);
