// `daxref oracle` on the command line (registered from src/cli/main.ts).
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { ScenarioError } from '../scenario/errors.js';
import { runOracle, formatResult, failures, loadKnown, OracleError, ORACLE_DIR, ORACLE_KERNELS } from './run.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerOracle(program: Command): void {
  program
    .command('oracle')
    .description('run scenarios on real Linux kernels (QEMU, emulated pmem) and compare every step with the model')
    .argument('<scenario...>', 'scenario files')
    .option('--kernel <k>', `real kernel: ${Object.keys(ORACLE_KERNELS).join(' or ')} (repeatable; default both)`, collect, [])
    .addOption(new Option('--fs <fs>', 'filesystem for every scenario (default: each scenario\'s own)').choices(['ext4', 'xfs']))
    .option('--known <file>', 'known differences (each with its reason)', join(ORACLE_DIR, 'known-differences.yaml'))
    .option('--log-dir <dir>', 'keep the guest console logs here')
    .addOption(new Option('--format <f>', 'output').choices(['text', 'json']).default('text'))
    .action(async (files: string[], o: { kernel: string[]; fs?: 'ext4' | 'xfs'; known: string; logDir?: string; format: string }) => {
      try {
        const kernels = o.kernel.length ? o.kernel : Object.keys(ORACLE_KERNELS);
        const results = await runOracle(files, { kernels, fs: o.fs, known: o.known, logDir: o.logDir, log: (m) => process.stderr.write(`daxref oracle: ${m}\n`) });
        let bad = 0;
        if (o.format === 'json') {
          process.stdout.write(JSON.stringify(results.map((r) => ({ file: r.file, kernel: r.kernel, fs: r.fs, skipped: r.skipped, problems: r.problems, notes: r.notes, disagreements: r.judged?.map((j) => ({ ...j.d, entry: Number.isFinite(j.d.entry) ? j.d.entry : 'end', known: j.known?.reason })) })), null, 1) + '\n');
        } else for (const r of results) process.stdout.write(formatResult(r) + '\n');
        for (const r of results) bad += failures(r);
        const ran = results.filter((r) => !r.skipped);
        const agree = ran.filter((r) => failures(r) === 0).length;
        // a listed difference that did not show up in a run it applies to: maybe the model was fixed
        const hit = new Set(results.flatMap((r) => (r.judged ?? []).flatMap((j) => (j.known ? [`${j.known.scenario}|${j.known.reason}`] : []))));
        for (const k of loadKnown(o.known))
          if (ran.some((r) => r.file.split('/').pop() === k.scenario && (!k.kernel || k.kernel === r.kernel) && (!k.fs || k.fs === r.fs)) && !hit.has(`${k.scenario}|${k.reason}`))
            process.stderr.write(`daxref oracle: note: the known difference for ${k.scenario}${k.kernel ? ` on ${k.kernel}` : ''} did not occur: remove it from ${o.known}?\n`);
        process.stderr.write(`daxref oracle: ${ran.length} run(s), ${agree} without unlisted disagreement, ${results.length - ran.length} skipped; ${bad} unlisted disagreement(s) or problem(s)\n`);
        process.exitCode = bad ? 1 : 0;
      } catch (e) {
        if (e instanceof ScenarioError || e instanceof OracleError) {
          process.stderr.write(`daxref oracle: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
    });
}
