// The `report` and `view` commands: the trace viewer (issue 4). Registered on
// the program by src/cli/main.ts.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadScenarioFile, ScenarioError } from '../scenario/index.js';
import { KernelConfigError } from '../model/versions.js';
import { LayoutError } from '../model/layout.js';
import { simulate } from '../engine/simulate.js';
import { stepMeta, traceMeta, traceTail } from '../trace/itf.js';
import type { Scenario } from '../scenario/types.js';
import { packTrace, readTrace, TracePacker, TraceInputError, unpackTrace, type PackedTrace, type Trace } from '../view/model.js';
import { renderReport, serveReport, ViewerBuildError } from '../view/report.js';

export interface ReportInputOptions {
  kernel?: string[];
  with?: string[];
  without?: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Offset of the first JSON syntax error in text (V8's messages do not always give it). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const str = () => {
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const scalar = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;
  const list = (close: string, item: () => void) => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (text[i] === close) return void i++;
      if (text[i] !== ',') fail();
      i++;
    }
  };
  const value = (): void => {
    ws();
    if (text[i] === '{')
      return list('}', () => {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    if (text[i] === '[') return list(']', value);
    if (text[i] === '"') return str();
    scalar.lastIndex = i;
    if (!scalar.test(text)) fail();
    i = scalar.lastIndex;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (e) {
    if (typeof e !== 'number') throw e;
  }
  return i;
}

function located(file: string, text: string, e: Error): ScenarioError {
  const at = jsonErrorOffset(text);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n');
  const why = e.message.split('\n')[0].replace(/ in JSON at position \d+.*$/, '').replace(/, "[^]*$/, '');
  return new ScenarioError(file, line, col, `invalid JSON: ${why}`);
}

/** A trace file (run --format json, or a check result with `trace`), parsed; null if the file is a scenario. */
function traceFile(file: string): Trace | null {
  if (!/\.json$/i.test(file)) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ScenarioError(file, 1, 1, `cannot read (${why})`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw located(file, text, e as Error);
  }
  if (!obj || typeof obj !== 'object' || !('states' in obj || 'trace' in obj || 'violation' in obj || 'verdict' in obj)) return null;
  try {
    return readTrace(obj);
  } catch (e) {
    if (e instanceof TraceInputError) throw new ScenarioError(file, 1, 1, e.message);
    throw e;
  }
}

/** Run a scenario and pack its trace as it goes (a long run's views are never all held). */
export function packRun(scn: Scenario, opts: { kernel?: string; with?: string[]; without?: string[] }): PackedTrace {
  const packer = new TracePacker();
  const r = simulate(scn, opts, (v) => packer.add(v, { index: 0, action: '' }));
  for (let i = 1; i <= r.steps.length; i++) {
    const { diff: _unused, ...m } = stepMeta(r, i, {});
    packer.annotate(i, m);
  }
  packer.annotate(0, { index: 0, action: 'init' });
  const tail = traceTail(r);
  return packer.finish({ '#meta': traceMeta(r), violations: tail.violations as PackedTrace['violations'], expectations: tail.expectations });
}

/** The traces to show: one per trace file, or the runs of a scenario (two with --kernel given twice). */
export function loadTraces(inputs: string[], o: ReportInputOptions): { packed: PackedTrace[]; traces: Trace[]; labels: string[] } {
  const packed: PackedTrace[] = [];
  for (const file of inputs) {
    const t = traceFile(file);
    if (t) {
      if (o.kernel?.length) throw new KernelConfigError(`${file} is a trace: --kernel applies to a scenario`);
      packed.push(packTrace(t));
      continue;
    }
    const scn = loadScenarioFile(file);
    const ks = o.kernel?.length ? o.kernel : [undefined];
    if (ks.length > 2) throw new KernelConfigError('give --kernel at most twice (compare mode)');
    // as in `daxref compare`: with two kernels, --with/--without change the second run
    ks.forEach((kernel, i) => {
      const fixes = ks.length === 1 || i === 1 ? { with: o.with, without: o.without } : {};
      packed.push(packRun(scn, { kernel, ...fixes }));
    });
  }
  if (packed.length > 2) throw new KernelConfigError('the viewer shows one trace, or two side by side');
  const labels = packed.map((t) => String(t['#meta'].kernel ?? 'trace'));
  if (labels.length === 2 && labels[0] === labels[1]) labels.splice(0, 2, `A: ${labels[0]}`, `B: ${labels[1]}`);
  return { packed, traces: packed.map(unpackTrace), labels };
}

function fail(e: unknown): never {
  if (e instanceof ScenarioError || e instanceof KernelConfigError || e instanceof LayoutError || e instanceof ViewerBuildError) {
    process.stderr.write(`daxref: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}

export function buildPage(inputs: string[], o: ReportInputOptions): string {
  const { packed, labels } = loadTraces(inputs, o);
  return renderReport(packed, labels);
}

export function registerReportCommands(program: Command): void {
  const inputs = (c: Command) =>
    c
      .argument('<input...>', 'a trace (daxref run --format json, or a daxref check result), or a scenario; two of them: side by side')
      .option('--kernel <k>', 'kernel for a scenario; give twice for compare mode', collect, [])
      .option('--with <fix>', 'add a fix switch (with two kernels: to the second run)', collect, [])
      .option('--without <fix>', 'remove a fix switch (with two kernels: from the second run)', collect, []);

  inputs(program.command('report').description('write the trace viewer as one self-contained HTML file'))
    .option('-o, --output <file>', 'output HTML file', 'report.html')
    .action((files: string[], o: ReportInputOptions & { output: string }) => {
      try {
        writeFileSync(o.output, buildPage(files, o));
        process.stdout.write(`wrote ${o.output}\n`);
      } catch (e) {
        fail(e);
      }
    });

  inputs(program.command('view').description('serve the trace viewer on 127.0.0.1 (a free port unless --port)'))
    .option('--port <n>', 'port (default: a free one)', '0')
    .action(async (files: string[], o: ReportInputOptions & { port: string }) => {
      const port = Number(o.port);
      try {
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KernelConfigError(`--port ${o.port}: not a port number`);
        // bad input is reported now; afterwards the page is rebuilt when an input file changes
        const stamp = () => files.map((f) => statSync(f).mtimeMs).join(',');
        let cached = { stamp: stamp(), html: buildPage(files, o) };
        const page = () => {
          const now = stamp();
          if (now !== cached.stamp) cached = { stamp: now, html: buildPage(files, o) };
          return cached.html;
        };
        const { url } = await serveReport(page, port);
        process.stdout.write(`daxref view: serving ${url} (Ctrl-C to stop; reload after editing an input to rebuild)\n`);
      } catch (e) {
        fail(e);
      }
    });
}
