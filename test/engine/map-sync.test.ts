// MAP_SYNC (fs/dax.c dax_fault_is_synchronous / dax_finish_sync_fault /
// dax_insert_pfn_mkwrite): which faults take the synchronous path, and the
// DAX entry tags they leave. Values from the kernel source: only a write
// fault whose iomap has IOMAP_F_DIRTY (here: it allocated the block) returns
// VM_FAULT_NEEDDSYNC; its entry goes in clean and dax_insert_pfn_mkwrite tags
// it dirty; the ordinary write fault tags its entry dirty in dax_insert_entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';
import { repoRoot } from '../scenario/paths.js';

const file = join(repoRoot, 'scenarios', 'map-sync-write-fault.yaml');
const text = readFileSync(file, 'utf8');

for (const kernel of ['v6.12', 'v6.15', 'latest']) {
  test(`MAP_SYNC: only the allocating write fault takes the NEEDDSYNC path [${kernel}]`, () => {
    const r = simulate(parseScenario(text, file), { kernel });
    const syncOps = new Set(r.steps.filter((s) => s.fn === 'dax_finish_sync_fault' || s.fn === 'dax_insert_pfn_mkwrite').map((s) => `${s.thread}.${s.op}`));
    assert.deepEqual([...syncOps], ['app.6']);
    const end = r.views[r.views.length - 1];
    const entries = Object.fromEntries(end.dax_entries.F.map((e) => [e.index, e]));
    assert.equal(entries[0].dirty, true, 'ordinary write fault: dax_insert_entry tags dirty');
    assert.equal(entries[2].dirty, true, 'synchronous fault: dax_insert_pfn_mkwrite tags dirty');
    assert.equal(entries[2].entry, 'real');
    assert.deepEqual(r.violations, []);
  });
}

test('without MAP_SYNC the same faults never take the synchronous path', () => {
  const plain = text.replace('shared: true, sync: true, as: m', 'shared: true, as: m');
  assert.notEqual(plain, text);
  const r = simulate(parseScenario(plain, file), { kernel: 'v6.15' });
  assert.equal(r.steps.filter((s) => s.fn === 'dax_finish_sync_fault').length, 0);
  assert.ok(r.expectations.every((e) => e.ok), 'the refcounts are the same as with MAP_SYNC');
});

test('a MAP_SYNC write fault with durable metadata is an ordinary fault', () => {
  // fsync before the write: the block exists and nothing is pinned in the log
  const r = simulate(parseScenario(text, file), { kernel: 'v6.15' });
  const app4 = r.steps.filter((s) => s.thread === 'app' && s.op === 4).map((s) => s.fn);
  assert.ok(app4.includes('vmf_insert_page_mkwrite'));
  assert.ok(!app4.includes('dax_finish_sync_fault'));
});
