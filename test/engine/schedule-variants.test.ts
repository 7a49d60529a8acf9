// Schedule entries that preempt an operation (THREAD:N) and expectations tied
// to a backport variant (kernel: K, with: [FIX]).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario, ScenarioError } from '../../src/scenario/index.js';
import { appliesTo, simulate } from '../../src/engine/simulate.js';
import { kernelConfig } from '../../src/model/versions.js';

const scenario = (schedule: string, expect = '') =>
  parseScenario(`name: t
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 4K }]
threads:
  - name: app
    steps:
      - mmap: { file: F, len: 4K, shared: true, as: buf }
      - touch: { at: buf+0, write: true }
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
