// `check` on bundled scenarios: verdicts from the kernel's history, shortest
// counterexamples that replay, bounds that end with a report, and reductions
// (partial-order, two workers) that never change a verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioFiles, scenariosDir } from '../scenario-files.js';
import { join } from 'node:path';
import { check, type CheckOptions } from '../../src/engine/check/index.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { buildLayout } from '../../src/model/layout.js';
import { simulate } from '../../src/engine/simulate.js';

const root = scenariosDir;
const tdma = join(root, 'truncate-waits-for-dma.yaml');

test('v6.12: truncate of an unmapped page under a GUP reference frees its block (bug 02)', async () => {
  // spec S1 / bug 02: dax_layout_busy_page_range skips the scan when !mapping_mapped(), so
  // truncate never waits; dax_disassociate_entry WARNs on the busy page, then the block is freed
  const r = await check(tdma, { kernel: 'v6.12' });
  assert.equal(r.verdict, 'violation');
  assert.equal(r.violation!.invariant, 'warn-dax-disassociate-entry-busy');
  const n9 = await check(tdma, { kernel: 'v6.12', invariant: 'block-reuse-under-dma' });
  assert.equal(n9.verdict, 'violation');
  assert.equal(n9.violation!.invariant, 'block-reuse-under-dma');
  assert.match(n9.violation!.message, /block 24 of pmem0 was freed while GUP reference io/);
});

test('v6.15 and latest: no interleaving of the same threads breaks an invariant', async () => {
  for (const kernel of ['v6.15', 'latest']) {
    const r = await check(tdma, { kernel });
    assert.equal(r.verdict, 'ok', kernel);
    assert.ok(r.states > 100 && r.transitions >= r.states - 1, `${kernel}: ${r.states} states`);
  }
});

test('a refault during the idle wait holds truncate until the munmap on v6.15+, not on v6.12', async () => {
  // scenarios/refault-during-idle-wait.yaml without its munmap: the new scheme's idle is rc 0 and
  // the refault's PTE holds a reference, so nothing wakes the truncate (the real 7.3 kernel agrees)
  const scn = loadScenarioFile(join(root, 'refault-during-idle-wait.yaml'));
  const app = scn.threads.find((t) => t.name === 'app')!;
  assert.equal(app.steps.at(-1)!.op, 'munmap');
  const noMunmap = { ...scn, threads: scn.threads.map((t) => (t === app ? { ...t, steps: t.steps.slice(0, -1) } : t)) };
  assert.equal((await check(noMunmap, { kernel: 'v6.12' })).verdict, 'ok');
  for (const kernel of ['v6.15', 'latest']) {
    const r = await check(noMunmap, { kernel });
    assert.equal(r.verdict, 'violation', kernel);
    assert.equal(r.violation!.invariant, 'blocked-forever');
    assert.match(r.violation!.message, /thread trunc .* sleeps on/);
  }
});

test('the backport of the series fix that always scans removes the bug 02 race', async () => {
  const r = await check(tdma, { kernel: 'v6.12', with: ['fs-dax-return-unmapped-busy-pages'], invariant: 'block-reuse-under-dma' });
  assert.equal(r.verdict, 'ok');
});

test('a counterexample replays, step by step, to the same violation at its last step', async () => {
  const r = await check(tdma, { kernel: 'v6.12', invariant: 'block-reuse-under-dma' });
  const trace = r.violation!.trace;
  const scn = loadScenarioFile(tdma);
  const names = scn.threads.map((t) => t.name);
  const path = trace.states.slice(1).map((s) => names.indexOf((s['#meta'] as { thread: string }).thread));
  const again = simulate(scn, { kernel: 'v6.12' }, false, path);
  assert.equal(again.steps.length, path.length);
  const last = again.violations.filter((v) => v.id === 'block-reuse-under-dma');
  assert.equal(last.length, 1);
  assert.equal(last[0].step, path.length, 'the violation appears at the last step, not before');
});

test('the shortest trace is no longer than any schedule that shows the bug', async () => {
  const r = await check(tdma, { kernel: 'v6.12', invariant: 'block-reuse-under-dma' });
  const sim = simulate(loadScenarioFile(tdma), { kernel: 'v6.12' }, false);
  const first = sim.violations.find((v) => v.id === 'block-reuse-under-dma')!;
  assert.ok(r.violation!.trace.states.length - 1 <= first.step, `${r.violation!.trace.states.length - 1} <= ${first.step}`);
});

test('bounds end the search with a report of how far it got', async () => {
  const s = await check(tdma, { kernel: 'latest', maxStates: 50 });
  assert.equal(s.verdict, 'incomplete');
  assert.match(s.incomplete!, /state bound \(50\)/);
  assert.ok(s.states >= 50 && s.states < 60);
  const t = await check(tdma, { kernel: 'latest', maxSeconds: 1e-9 });
  assert.equal(t.verdict, 'incomplete');
  assert.match(t.incomplete!, /time bound/);
});

// Reductions must never change a verdict: every small bundled scenario, on every kernel
// it names, gives the same verdict, invariant and trace length with and without them.
const small = scenarioFiles('', 'check').filter((f) => buildLayout(loadScenarioFile(f)).words < 2000);

test('partial-order reduction, symmetry reduction and two workers never change a verdict', async () => {
  assert.ok(small.length >= 10, `${small.length} small scenarios`);
  for (const file of small) {
    const scn = loadScenarioFile(file);
    const kernels = new Set(scn.expect.map((e) => e.kernel).filter((k): k is string => !!k));
    if (kernels.size === 0) kernels.add('latest');
    for (const kernel of kernels) {
      const runs: [string, CheckOptions][] = [
        ['full', { kernel, por: false, symmetry: false }],
        ['por', { kernel, por: true, symmetry: false }],
        ['symmetry', { kernel, por: false, symmetry: true }],
        ['both', { kernel, por: true, symmetry: true }],
        ['both, 2 workers', { kernel, por: true, symmetry: true, workers: 2 }],
      ];
      const got: { what: string; verdict: string; invariant?: string; steps?: number }[] = [];
      for (const [what, o] of runs) {
        const r = await check(scn, o);
        got.push({ what, verdict: r.verdict, invariant: r.violation?.invariant, steps: r.violation?.steps.length });
      }
      // the same verdict and invariant everywhere; the same shortest trace length at the same
      // granularity (without partial-order reduction every local action is a step of its own)
      const same = (a: (typeof got)[number], b: (typeof got)[number], steps: boolean) => assert.deepEqual(
        { verdict: a.verdict, invariant: a.invariant, ...(steps ? { steps: a.steps } : {}) },
        { verdict: b.verdict, invariant: b.invariant, ...(steps ? { steps: b.steps } : {}) },
        `${file} [${kernel}]: ${a.what} vs ${b.what}`,
      );
      for (const g of got.slice(1)) same(g, got[0], g.what === 'symmetry');
      for (const g of got.slice(3)) same(g, got[1], true);
    }
  }
});

test('two workers visit exactly the states one worker does, on levels large enough to be split and a table grown mid-level', async () => {
  // without partial-order reduction the state space does not depend on the order states are
  // expanded in, so the counts must agree exactly (levels of thousands of states: a worker
  // that runs out mid-level takes half of what the other has left)
  const file = join(root, 'bench', 'none-k2f2p1w1.yaml');
  const one = await check(file, { kernel: 'latest', por: false });
  const two = await check(file, { kernel: 'latest', por: false, workers: 2 });
  assert.equal(one.verdict, 'ok');
  assert.equal(two.verdict, 'ok');
  assert.equal(two.workers, 2);
  assert.ok(one.states > 100000, `${one.states} states`);
  assert.equal(two.states, one.states);
  assert.equal(two.transitions, one.transitions);
});

for (const [name, what] of [['symmetric-faulters.yaml', 'two interchangeable faulters (each its own process)'], ['symmetric-pinners.yaml', 'two interchangeable pinners of one process']]) {
  test(`symmetry reduction: ${what}, about half the states, the same verdicts`, async () => {
    const file = join(root, 'check', name);
    for (const [kernel, verdict] of [['latest', 'ok'], ['v6.12', 'violation']] as const) {
      const off = await check(file, { kernel, invariant: 'block-reuse-under-dma', symmetry: false });
      const on = await check(file, { kernel, invariant: 'block-reuse-under-dma', symmetry: true });
      assert.equal(off.verdict, verdict, kernel);
      assert.equal(on.verdict, verdict, kernel);
      assert.equal(on.violation?.steps.length, off.violation?.steps.length, 'the same shortest trace length');
      assert.ok(on.states < 0.6 * off.states, `${kernel}: ${on.states} states with symmetry, ${off.states} without`);
    }
  });
}

test("a violation's consequences are what comes after it, not what its trace already showed", async () => {
  // bug 03 on v6.12: the truncate WARNs as it deletes the busy entry, and only then does the DMA hit the freed block
  const r = await check(join(root, 'races', 'bug03-locked-entry-skipped.yaml'), { kernel: 'v6.12', invariant: 'block-reuse-under-dma' });
  const shown = r.violation!.trace.states.flatMap((s) => ((s['#meta'] as { violations?: { id: string }[] }).violations ?? []).map((v) => v.id));
  assert.ok(shown.includes('warn-dax-disassociate-entry-busy'), shown.join(', '));
  assert.deepEqual(r.violation!.consequences, ['block-reuse-under-dma']);
});
