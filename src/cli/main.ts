// daxref command line: run, compare, explain, kernels.
import { Command, Option } from 'commander';
import { loadScenarioFile } from '../scenario/index.js';
import type { PageRef, Scenario } from '../scenario/types.js';
import { parseAfter } from '../scenario/values.js';
import { KernelConfigError, KERNELS, FIXES } from '../model/versions.js';
import { simulate, type SimResult } from '../engine/simulate.js';
import { formatRun, formatPageRef, formatCompare, formatExplain } from './format.js';
import { toTrace, writeTraceJson } from '../trace/itf.js';

import { fatal, collect, UsageError } from './fatal.js';
import { registerCheck, readReplay } from './check.js';

// A reader that stops early (`daxref run ... | head`) closes the pipe: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  fatal(e);
});

const program = new Command();
// Bad command lines are bad input too: exit 2 (commander's own default is 1); help and --version exit 0.
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program.name('daxref').description('An executable model of Linux ZONE_DEVICE (FS-DAX, device-DAX) page reference counting').version('0.1.0');

program
  .command('run')
  .description('run a scenario along its schedule: every atomic step, the pages touched, the expectations')
  .argument('<scenario>', 'scenario file (YAML or JSON)')
  .option('--kernel <k>', 'kernel version (v6.12, v6.15, latest)')
  .option('--with <fix>', 'add a fix switch (repeatable)', collect, [])
  .option('--without <fix>', 'remove a fix switch (repeatable)', collect, [])
  .addOption(new Option('--format <f>', 'output').choices(['text', 'json', 'page_ref']).default('text'))
  .option('--replay <trace.json>', 'replay the atomic steps of a trace (a counterexample from `daxref check`) instead of the schedule')
  .action((file: string, o: { kernel?: string; with: string[]; without: string[]; format: string; replay?: string }) => {
    let r: SimResult;
    try {
      const scn = loadScenarioFile(file);
      const replay = o.replay ? readReplay(o.replay, scn) : undefined;
      r = simulate(scn, { kernel: o.kernel, with: o.with, without: o.without, everyAction: replay?.everyAction }, true, replay?.threads);
    } catch (e) {
      fatal(e);
    }
    if (o.format === 'json') writeTraceJson(toTrace(r), (x) => process.stdout.write(x));
    else if (o.format === 'page_ref') process.stdout.write(formatPageRef(r));
    else process.stdout.write(formatRun(r));
    const failed = r.expectations.filter((x) => !x.ok);
    for (const f of failed) process.stderr.write(`${f.expect.pos.file}:${f.expect.pos.line}:${f.expect.pos.col}: expectation failed: ${f.message}\n`);
    process.exitCode = failed.length ? 1 : 0;
  });

program
  .command('compare')
  .description('run a scenario on two kernels side by side and show where they diverge')
  .argument('<scenario>')
  .option('--kernel <k>', 'kernel (give twice)', collect, [])
  .option('--with <fix>', 'fix switch for the second run (repeatable)', collect, [])
  .action((file: string, o: { kernel: string[]; with: string[] }) => {
    try {
      const scn = loadScenarioFile(file);
      const ks = o.kernel.length ? o.kernel : ['v6.12', 'latest'];
      if (ks.length !== 2) throw new KernelConfigError('compare needs two --kernel options');
      const a = simulate(scn, { kernel: ks[0] });
      const b = simulate(scn, { kernel: ks[1], with: o.with });
      process.stdout.write(formatCompare(a, b));
    } catch (e) {
      fatal(e);
    }
  });

program
  .command('explain')
  .description('list the holders of every reference on a page at a point of the run')
  .argument('<scenario>')
  .requiredOption('--page <page>', 'file@offset or device:pfn')
  .option('--after <thread.n>', 'after this operation (default: the end)')
  .option('--kernel <k>')
  .option('--with <fix>', 'fix switch (repeatable)', collect, [])
  .action(async (file: string, o: { page: string; after?: string; kernel?: string; with: string[] }) => {
    try {
      const { parsePageRef } = await import('../scenario/index.js');
      const scn = loadScenarioFile(file);
      const r = simulate(scn, { kernel: o.kernel, with: o.with });
      let page;
      try {
        page = parsePageRef(o.page);
      } catch (e) {
        throw new UsageError(`--page ${o.page}: ${(e as Error).message}`);
      }
      checkExplainArgs(scn, page, o.after);
      process.stdout.write(formatExplain(r, page, o.after));
    } catch (e) {
      fatal(e);
    }
  });

/** `explain` names a page and a point of the run: both must exist in the scenario. */
function checkExplainArgs(scn: Scenario, page: PageRef, after?: string): void {
  if (page.kind === 'file' && !scn.files.some((f) => f.name === page.file))
    throw new UsageError(`--page ${page.file}@${page.offset}: no file '${page.file}' in ${scn.source}`);
  if (page.kind === 'device') {
    const d = scn.devices.find((x) => x.name === page.device);
    if (!d) throw new UsageError(`--page ${page.device}:${page.pfn}: no device '${page.device}' in ${scn.source}`);
    if (page.pfn * 4096 >= d.size) throw new UsageError(`--page ${page.device}:${page.pfn}: beyond the device (${d.size / 4096} pages)`);
  }
  if (after === undefined) return;
  let at: { thread: string; step: number };
  try {
    at = parseAfter(after);
  } catch (e) {
    throw new UsageError(`--after: ${(e as Error).message}`);
  }
  const t = scn.threads.find((x) => x.name === at.thread);
  if (!t) throw new UsageError(`--after ${after}: no thread '${at.thread}' in ${scn.source}`);
  if (at.step > t.steps.length) throw new UsageError(`--after ${after}: thread ${at.thread} has ${t.steps.length} step(s)`);
}

program
  .command('kernels')
  .description('list kernel versions and fix switches')
  .action(() => {
    for (const k of KERNELS) process.stdout.write(`${k.id.padEnd(8)} ${k.what}\n`);
    process.stdout.write('\nfix switches (--with / --without):\n');
    for (const f of FIXES) process.stdout.write(`  ${f.id.padEnd(52)} ${f.what}\n`);
  });

registerCheck(program);
(await import('./report.js')).registerReportCommands(program);
(await import('../oracle/cli.js')).registerOracle(program);

program.parseAsync().catch(fatal);
