// exit(2) is exit_group: the process's other threads are killed and never run their later
// steps; what those steps would have made (a mapping, a GUP reference, a forked process)
// never exists, so the threads waiting for it are not left blocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';
import { check } from '../../src/index.js';

const scn = parseScenario(`name: exit first
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 8K }]
threads:
  - { name: killer, process: app, steps: [exit] }
  - name: app
    steps:
      - mmap:  { file: F, len: 8K, shared: true, as: buf }
      - touch: { at: buf+0, write: true }
      - gup:   { at: buf+0, pin: true, as: io }
  - { name: dev, process: drv, steps: [{ dma_write: { ref: io } }, { unpin: { ref: io } }] }
schedule: [killer, app, app, app, dev, dev]
`, 'exit-first.yaml');

test('after an exit, the other threads of the process run nothing, and no page is mapped', () => {
  const r = simulate(scn, { kernel: 'latest' });
  assert.deepEqual(r.ops.filter((o) => o.done).map((o) => `${o.thread}.${o.op}`), ['killer.1', 'dev.1', 'dev.2']);
  assert.ok(!r.steps.some((s) => s.thread === 'app'), 'a killed thread takes no step');
  assert.deepEqual(r.violations, []);
});

test('no interleaving of the exit with the others leaves a thread blocked', async () => {
  for (const kernel of ['v6.12', 'latest']) assert.equal((await check(scn, { kernel })).verdict, 'ok', kernel);
});
