// Schedule entries that preempt an operation (THREAD:N, THREAD@FUNCTION) and expectations tied
// to a backport variant (kernel: K, with: [FIX]).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario, ScenarioError } from '../../src/scenario/index.js';
import { appliesTo, simulate } from '../../src/engine/simulate.js';
import { kernelConfig } from '../../src/model/versions.js';

const scenario = (schedule: string, expect = '', appLast = '') =>
  parseScenario(`name: t
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 4K }]
threads:
  - name: app
    steps:
      - mmap: { file: F, len: 4K, shared: true, as: buf }
      - touch: { at: buf+0, write: true }${appLast && `\n      - ${appLast}`}
  - name: wb
    steps:
      - fsync: { file: F }
schedule: ${schedule}
expect:
${expect || '  - { at: end, violation: none }'}
`, 't.yaml');

describe('schedule THREAD:N', () => {
  it('parses the step count', () => {
    const s = scenario('[app, app, "wb:2", wb]');
    assert.deepEqual(s.schedule!.map((e) => [e.thread, e.steps]), [['app', undefined], ['app', undefined], ['wb', 2], ['wb', undefined]]);
  });

  it('rejects a zero or malformed count with the entry position', () => {
    for (const bad of ['"wb:0"', '"wb:x"', '"wb:"']) {
      assert.throws(() => scenario(`[${bad}]`), (e: unknown) => e instanceof ScenarioError && /^t\.yaml:12:\d+: bad schedule entry/.test(String(e.message)));
    }
  });

  it('stops the thread after N atomic steps, in the middle of its operation', () => {
    // fsync: tag_pages_for_writeback, then dax_writeback_one locks the entry; preempted there
    const r = simulate(scenario('[app, app, "wb:2"]'), { kernel: 'latest' }, false);
    const wbSteps = r.steps.filter((s) => s.thread === 'wb');
    assert.ok(wbSteps.length > 2, 'the round-robin tail finishes fsync');
    const firstApp = r.steps.findIndex((s) => s.thread === 'app');
    const firstWb = r.steps.findIndex((s) => s.thread === 'wb');
    assert.ok(firstApp < firstWb);
    assert.deepEqual(r.steps.slice(firstWb, firstWb + 2).map((s) => s.fn), ['tag_pages_for_writeback', 'dax_writeback_one']);
    assert.equal(r.ops.find((o) => o.thread === 'wb')!.step, wbSteps.at(-1)!.index);
  });
});

describe('schedule THREAD@FUNCTION', () => {
  it('parses the function name', () => {
    const s = scenario('[app, "wb@dax_writeback_one", "app:1"]');
    assert.deepEqual(s.schedule!.map((e) => [e.thread, e.steps, e.until]), [['app', undefined, undefined], ['wb', undefined, 'dax_writeback_one'], ['app', 1, undefined]]);
  });

  it('rejects a malformed function name with the entry position', () => {
    for (const bad of ['"wb@"', '"wb@dax writeback"', '"wb@1x"', '"wb:2@f"']) {
      assert.throws(() => scenario(`[${bad}]`), (e: unknown) => e instanceof ScenarioError && /^t\.yaml:12:\d+: bad schedule entry/.test(String(e.message)), bad);
    }
  });

  it('stops the thread right after its first step in that function', () => {
    // the same point as wb:2 (kernel fs/dax.c: dax_writeback_one holds the entry locked across the flush)
    const s = scenario('[app, app, "wb@dax_writeback_one", app]', '', 'munmap: { at: buf, len: 4K }');
    for (const kernel of ['v6.12', 'latest']) {
      const r = simulate(s, { kernel }, false);
      const i = r.steps.findIndex((x) => x.fn === 'dax_writeback_one');
      assert.deepEqual(r.steps.slice(i - 1, i + 2).map((x) => `${x.thread} ${x.opName}`), ['wb fsync', 'wb fsync', 'app munmap'], kernel);
      assert.equal(r.steps[i - 1].fn, 'tag_pages_for_writeback');
    }
  });

  it('is an error at the entry when the operation ends without running the function', () => {
    assert.throws(
      () => simulate(scenario('[app, app, "wb@dax_iomap_pte_fault"]'), { kernel: 'latest' }, false),
      (e: unknown) =>
        e instanceof ScenarioError &&
        /^t\.yaml:12:\d+: schedule entry 'wb@dax_iomap_pte_fault': thread wb \(step 1, fsync\) on latest completed its operation without running a step of dax_iomap_pte_fault; it ran tag_pages_for_writeback, dax_writeback_one, xfs_file_fsync$/.test(e.message),
    );
  });

  it('is an error at the entry when the thread blocks before the function', () => {
    // app has not mapped the file yet: its fault waits for the region (no step of the fault runs)
    assert.throws(
      () => simulate(parseScenario(`name: t
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 4K }]
threads:
  - name: app
    steps:
      - mmap: { file: F, len: 4K, shared: true, as: buf }
  - name: other
    process: app
    steps:
      - touch: { at: buf+0, write: true }
schedule: ["other@dax_iomap_pte_fault", app]
`, 't.yaml'), { kernel: 'latest' }, false),
      (e: unknown) => e instanceof ScenarioError && /^t\.yaml:12:\d+: schedule entry 'other@dax_iomap_pte_fault': thread other \(step 1, touch\) on latest cannot move here \(asleep or blocked\) without running a step of dax_iomap_pte_fault$/.test(e.message),
    );
  });
});

describe('expectations of backport variants', () => {
  const s = scenario('[app, app, wb]', `  - { at: end, kernel: v6.12, violation: none }
  - { at: end, kernel: v6.12, with: [fs-dax-return-unmapped-busy-pages], violation: none }
  - { at: end, with: [fs-dax-return-unmapped-busy-pages], violation: none }`);
  const [plain, backport, anyKernel] = s.expect;

  it('kernel: K alone applies to K as released only', () => {
    assert.equal(appliesTo(plain, kernelConfig('v6.12')), true);
    assert.equal(appliesTo(plain, kernelConfig('v6.12', ['fs-dax-return-unmapped-busy-pages'])), false);
    assert.equal(appliesTo(plain, kernelConfig('latest')), false);
  });

  it('kernel: K, with: [FIX] applies to K plus exactly those fixes', () => {
    assert.equal(appliesTo(backport, kernelConfig('v6.12', ['fs-dax-return-unmapped-busy-pages'])), true);
    assert.equal(appliesTo(backport, kernelConfig('v6.12')), false);
    assert.equal(appliesTo(backport, kernelConfig('v6.12', ['fs-dax-return-unmapped-busy-pages', 'fs-dax-dont-skip-locked-entries'])), false);
  });

  it('with: [FIX] without a kernel applies wherever the fixes are in force', () => {
    assert.equal(appliesTo(anyKernel, kernelConfig('v6.15')), true);
    assert.equal(appliesTo(anyKernel, kernelConfig('v6.12', ['fs-dax-return-unmapped-busy-pages'])), true);
    assert.equal(appliesTo(anyKernel, kernelConfig('v6.12')), false);
  });
});
