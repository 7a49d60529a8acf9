// Benchmark (not a test): the trace viewer on a long trace (>= 10,000 atomic
// steps). Measures the simulation, the report size, the page load in Debian's
// chromium (parse + first render) and the step-change time (one render per
// key press, with layout), then a far jump and the first chart of a folio.
// Run: npm run bench:view   (BENCH_VIEW_STEPS=N to change the target length;
// BENCH_VIEW_KEEP=report.html keeps the page)
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseScenario } from '../src/scenario/index.js';
import { loadTraces, packRun } from '../src/cli/report.js';
import { simulate } from '../src/engine/simulate.js';
import { toTrace } from '../src/trace/itf.js';
import { renderReport } from '../src/view/report.js';
import { unpackTrace } from '../src/view/model.js';
import { launch } from '../test/view/browser.js';

const target = Number(process.env.BENCH_VIEW_STEPS ?? 10_000);

/**
 * Two processes, each mapping its own file, faulting it in, taking one GUP
 * reference, then DMA through it and touching the page in a loop (the view
 * stays the same size at every step, as in a long real trace).
 */
function longScenario(rounds: number): string {
  const thread = (name: string, file: string) => {
    const steps = [`      - mmap: { file: ${file}, len: 8K, shared: true, as: ${name}buf }`, `      - touch: { at: ${name}buf+0, write: true }`, `      - gup: { at: ${name}buf+0, pin: true, as: ${name}io }`];
    for (let i = 0; i < rounds; i++) steps.push(`      - dma_write: { ref: ${name}io }`, `      - touch: { at: ${name}buf+${(i % 2) * 4096}, write: ${i % 3 === 0} }`);
    steps.push(`      - unpin: { ref: ${name}io }`, `      - munmap: { at: ${name}buf, len: 8K }`);
    return [`  - name: ${name}`, '    steps:', ...steps].join('\n');
  };
  return [
    'name: viewer benchmark (long trace)',
    'kernel: v6.15',
    'devices: [{ name: pmem0, type: fsdax, size: 64M }]',
    'files: [{ name: F, device: pmem0, size: 8K }, { name: G, device: pmem0, size: 8K }]',
    'threads:',
    thread('a', 'F'),
    thread('b', 'G'),
    '',
  ].join('\n');
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main() {
  // steps per round depend on how the model fuses actions: calibrate on a short run
  const steps = (n: number) => packRun(parseScenario(longScenario(n), 'bench.yaml'), {}).states.length - 1;
  const [s50, s100] = [steps(50), steps(100)];
  const rounds = Math.ceil(50 + ((target - s50) * 50) / (s100 - s50));
  let t0 = performance.now();
  const packed = packRun(parseScenario(longScenario(rounds), 'bench.yaml'), {});
  const simMs = performance.now() - t0;
  const trace = unpackTrace(packed);
  // the same run read back from a `daxref run --format json` file
  const dir = mkdtempSync(join(tmpdir(), 'daxref-bench-view-'));
  const json = join(dir, 'trace.json');
  writeFileSync(json, JSON.stringify(toTrace(simulate(parseScenario(longScenario(rounds), 'bench.yaml')))));
  const jsonMB = statSync(json).size / 1e6;
  t0 = performance.now();
  loadTraces([json], {});
  const fileMs = performance.now() - t0;
  t0 = performance.now();
  const html = renderReport([packed], [String(trace['#meta'].kernel)]);
  const reportMs = performance.now() - t0;
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  if (process.env.BENCH_VIEW_KEEP) writeFileSync(process.env.BENCH_VIEW_KEEP, html); // to look at it
  const { context, close } = await launch({ width: 1500, height: 1000 });
  try {
    const page = await context.newPage();
    t0 = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForFunction('window.daxrefReady === true', undefined, { timeout: 120_000 });
    const loadMs = performance.now() - t0;
    // in the page: N key presses, each a synchronous render, each followed by a layout
    const stepMs = (await page.evaluate(`(() => {
      const n = 200, t = [];
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
        void document.body.offsetHeight;
        t.push(performance.now() - s);
      }
      t.sort((a, b) => a - b);
      return [t.reduce((a, b) => a + b, 0) / n, t[Math.floor(n * 0.95)], t[n - 1]];
    })()`)) as number[];
    const jumpMs = (await page.evaluate(`(() => {
      const s = performance.now();
      const el = document.getElementById('step-slider');
      el.value = String(Math.floor(Number(el.max) * 0.77));
      el.dispatchEvent(new Event('input'));
      void document.body.offsetHeight;
      return performance.now() - s;
    })()`)) as number;
    const chartMs = (await page.evaluate(`(() => {
      const b = [...document.querySelectorAll('table.folios button.pfn')].find((x) => !x.closest('tr').classList.contains('sel'));
      if (!b) return -1;
      const s = performance.now();
      b.click();
      void document.body.offsetHeight;
      return performance.now() - s;
    })()`)) as number;
    const out = [
      `daxref viewer benchmark: ${trace.states.length - 1} steps, ${Object.keys(trace.states[trace.states.length - 1].refs).length} GUP references`,
      `  simulate + pack         ${ms(simMs)}`,
      `  read + pack a trace file ${ms(fileMs)}  (run --format json, ${jsonMB.toFixed(1)} MB)`,
      `  report HTML             ${ms(reportMs)}, ${(html.length / 1e6).toFixed(1)} MB`,
      `  page load (chromium)    ${ms(loadMs)}  (goto to first render done)`,
      `  step change (→ key)     mean ${ms(stepMs[0])}, p95 ${ms(stepMs[1])}, max ${ms(stepMs[2])}  (200 steps, render + layout)`,
      `  jump to 77% (slider)    ${ms(jumpMs)}`,
      `  first chart of a folio  ${chartMs < 0 ? 'n/a' : ms(chartMs)}  (series over all steps computed on demand)`,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
