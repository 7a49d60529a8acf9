// daxref command line: run, compare, explain, kernels.
import { Command, Option } from 'commander';
import { loadScenarioFile } from '../scenario/index.js';
import { KernelConfigError, KERNELS, FIXES, describeConfig } from '../model/versions.js';
import { simulate, pageValues, type SimResult } from '../engine/simulate.js';
import { formatRun, formatPageRef, formatCompare, formatExplain } from './format.js';
import { toTrace } from '../trace/itf.js';

import { fatal, collect } from './fatal.js';
import { registerCheck, readReplay } from './check.js';

const program = new Command();
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
    if (o.format === 'json') process.stdout.write(JSON.stringify(toTrace(r), null, 1) + '\n');
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
        throw new KernelConfigError(`--page ${o.page}: ${(e as Error).message}`);
      }
      process.stdout.write(formatExplain(r, page, o.after));
      void pageValues;
    } catch (e) {
      fatal(e);
    }
  });

program
  .command('kernels')
  .description('list kernel versions and fix switches')
  .action(() => {
    for (const k of KERNELS) process.stdout.write(`${k.id.padEnd(8)} ${k.what}\n`);
    process.stdout.write('\nfix switches (--with / --without):\n');
    for (const f of FIXES) process.stdout.write(`  ${f.id.padEnd(52)} ${f.what}\n`);
    void describeConfig;
  });

registerCheck(program);

program.parseAsync().catch(fatal);
