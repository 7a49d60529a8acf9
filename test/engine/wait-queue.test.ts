// DAX entry waiters are exclusive and queue in arrival order (prepare_to_wait_exclusive adds
// at the tail; __wake_up with nr_exclusive = 1 wakes from the head): WAKE_NEXT wakes the
// waiter that slept first, whatever the threads' numbers; WAKE_ALL wakes every one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/index.js';
import { Machine } from '../../src/engine/machine.js';
import { kernelConfig } from '../../src/model/versions.js';
import { Label, sleepOn } from '../../src/model/program.js';
import { dax_wake_entry, keyEntry } from '../../src/model/kernel/kernel/wait_bit.js';
import { S_RUNNABLE, S_SLEEPING, T_QPOS, T_STATUS } from '../../src/model/state.js';

const scn = parseScenario(`name: three waiters
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 8K }]
threads:
  - { name: a, steps: [{ fsync: { file: F } }] }
  - { name: b, steps: [{ fsync: { file: F } }] }
  - { name: c, steps: [{ fsync: { file: F } }] }
`, 'three.yaml');

function waiters(order: number[]) {
  const M = new Machine(scn, kernelConfig('latest'));
  const k = M.kernel(M.initial());
  const at = new Label();
  at.pc = 0;
  for (const t of order) sleepOn(k, t, keyEntry(0, 1), at);
  const status = () => M.L.threads.map((T) => (k.m[T.off + T_STATUS] === S_SLEEPING ? `sleeps(${k.m[T.off + T_QPOS]})` : k.m[T.off + T_STATUS] === S_RUNNABLE ? 'runs' : 'other'));
  return { k, status };
}

test('WAKE_NEXT wakes the first waiter to sleep, not the lowest-numbered thread', () => {
  const { k, status } = waiters([2, 0, 1]);
  assert.deepEqual(status(), ['sleeps(1)', 'sleeps(2)', 'sleeps(0)']);
  dax_wake_entry(k, 0, 1, false);
  assert.deepEqual(status(), ['sleeps(0)', 'sleeps(1)', 'runs']);
  dax_wake_entry(k, 0, 1, false);
  assert.deepEqual(status(), ['runs', 'sleeps(0)', 'runs']);
});

test('a wake-up on another entry wakes nobody here; WAKE_ALL wakes everyone and clears their places', () => {
  const { k, status } = waiters([1, 2, 0]);
  dax_wake_entry(k, 0, 2, false);
  assert.deepEqual(status(), ['sleeps(2)', 'sleeps(0)', 'sleeps(1)']);
  dax_wake_entry(k, 0, 1, true);
  assert.deepEqual(status(), ['runs', 'runs', 'runs']);
});
