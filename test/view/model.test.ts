// The viewer's pure data model on small hand-made inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignTraces, changedFolioFields, involvedObjects, jsonForScript, pageTableTree, readTrace, rowStates, sleepIntervals, TraceInputError, type Trace, type TraceState } from '../../src/view/model.js';

const state = (i: number, meta: Partial<TraceState['#meta']>, threads: TraceState['threads'] = {}): TraceState => ({
  '#meta': { index: i, action: 'x', ...meta },
  threads,
  folios: {},
  page_tables: {},
  dax_entries: {},
  files: {},
  refs: {},
  processes: {},
  devices: {},
});

test('readTrace accepts a trace, {trace}, and a check result with violation.trace; rejects others', () => {
  const t = { states: [state(0, {})] };
  assert.equal(readTrace(t), t);
  assert.equal(readTrace({ trace: t }), t);
  assert.equal(readTrace({ verdict: 'violation', violation: { trace: t } }), t);
  assert.throws(() => readTrace({ states: [] }), TraceInputError);
  assert.throws(() => readTrace({ states: [{ x: 1 }] }), /states\[0\]/);
  assert.throws(() => readTrace([1]), TraceInputError);
});

test('jsonForScript cannot close the script element', () => {
  const s = jsonForScript({ name: '</script><img src=x onerror=alert(1)><!--\u2028' });
  assert.doesNotMatch(s, /<|>|\u2028/);
  assert.deepEqual(JSON.parse(s), { name: '</script><img src=x onerror=alert(1)><!--\u2028' });
});

test('sleep intervals and changed folio fields come from the states and the diff', () => {
  const t: Trace = {
    '#meta': {},
    states: [
      state(0, {}, { a: { status: 'runnable', op: 1 } }),
      state(1, { diff: { 'folios.0x10.refcount': [1, 2], 'folios.0x10.holders': [[], []], 'folios.0x11': [null, {}] } }, { a: { status: 'sleeping', op: 1, waiting: 'page@rec1' } }),
      state(2, {}, { a: { status: 'sleeping', op: 1, waiting: 'page@rec1' } }),
      state(3, {}, { a: { status: 'done', op: 2 } }),
    ],
  };
  assert.deepEqual(sleepIntervals(t), { a: [[1, 2]] });
  const ch = changedFolioFields(t.states[1]);
  assert.deepEqual([...ch.get('0x10')!].sort(), ['holders', 'refcount']);
  assert.deepEqual([...ch.get('0x11')!], ['*']);
});

test('page-table tree: x86-64 indices per level, down to the entries that exist', () => {
  const tree = pageTableTree([
    { addr: '0x7f0000000000', level: 'PTE', pfn: '0x100018', bits: 'write' },
    { addr: '0x7f0000001000', level: 'PTE', pfn: '0x100019', bits: 'ro' },
    { addr: '0x7f0000200000', level: 'PMD', pfn: '0x100200', bits: 'write' },
  ]);
  assert.equal(tree.length, 1);
  assert.equal(tree[0].label, 'PGD[254]'); // 0x7f0000000000 >> 39
  const pmds = tree[0].children[0].children;
  assert.deepEqual(pmds.map((n) => n.label), ['PMD[0]', 'PMD[1]']);
  assert.deepEqual(pmds[0].children.map((n) => [n.label, n.entry?.pfn]), [['PTE[0]', '0x100018'], ['PTE[1]', '0x100019']]);
  assert.equal(pmds[1].entry?.pfn, '0x100200');
});

test('alignment of two traces: same operations line up, an extra step gets a gap', () => {
  const mk = (fns: [string, number, string][]): Trace => ({ '#meta': {}, states: [state(0, {}), ...fns.map(([th, op, fn], i) => state(i + 1, { thread: th, op, fn }))] });
  const a = mk([['t', 1, 'f'], ['t', 1, 'g'], ['u', 1, 'h']]);
  const b = mk([['t', 1, 'f'], ['t', 1, 'x'], ['t', 1, 'g'], ['u', 1, 'h']]);
  const rows = alignTraces(a, b);
  assert.deepEqual(rows, [[0, 0], [1, 1], [-1, 2], [2, 3], [3, 4]]);
  assert.deepEqual(rowStates(rows), [[0, 0], [1, 1], [1, 2], [2, 3], [3, 4]]);
});

test('involved objects: the folio, block, reference and thread a message names', () => {
  const v = state(0, {}, { admin: { status: 'runnable', op: 1 } });
  v.folios['0x100018'] = { rec: 24, pfn: '0x100018', device: 'pmem0:24', order: 0, refcount: 2, mapcount: 0, entire_mapcount: 0, pincount: 0, mapping: null, index: 0, share: 0, block: 'free', holders: [] };
  v.folios['0x100019'] = { ...v.folios['0x100018'], rec: 25, pfn: '0x100019', device: 'pmem0:25' };
  v.refs.io = { state: 'held', kind: 'FOLL_GET', pages: ['0x100018'] };
  v.refs.i = { state: 'held', kind: 'FOLL_GET', pages: [] };
  const inv = involvedObjects('block 24 of pmem0 was freed while GUP reference io still holds pfn 0x100018 (pmem0:24): DMA can corrupt it', v);
  assert.deepEqual([...inv.folios], ['0x100018']);
  assert.deepEqual([...inv.blocks], [24]);
  assert.deepEqual([...inv.refs], ['io']);
  const inv2 = involvedObjects('thread admin (step 1, truncate) sleeps on page@rec25, and nothing left can wake it', v);
  assert.deepEqual([...inv2.threads], ['admin']);
  assert.deepEqual([...inv2.folios], ['0x100019']);
});

test('jsonErrorOffset points at the first offending character', async () => {
  const { jsonErrorOffset } = await import('../../src/cli/report.js');
  assert.equal(jsonErrorOffset('{\n  "states": [1,\n  }'), 20);
  assert.equal(jsonErrorOffset('{"a": 1,,}'), 8);
  assert.equal(jsonErrorOffset('{"a": tru}'), 6);
  assert.equal(jsonErrorOffset('{"a": "x\\"y"} x'), 14);
  assert.equal(jsonErrorOffset('[1, 2'), 5);
});

test('a packed run unpacks to the states, metas and diff paths of `daxref run --format json`', async () => {
  const { loadScenarioFile } = await import('../../src/scenario/index.js');
  const { simulate } = await import('../../src/engine/simulate.js');
  const { toTrace } = await import('../../src/trace/itf.js');
  const { packRun } = await import('../../src/cli/report.js');
  const { unpackTrace, packTrace } = await import('../../src/view/model.js');
  const { repoRoot } = await import('../scenario/paths.js');
  for (const f of ['truncate-waits-for-dma.yaml', 's5-fork-private.yaml', 'devdax-pmd-gup-munmap.yaml', 't6-small-file-pte.yaml']) {
    const scn = loadScenarioFile(`${repoRoot}scenarios/${f}`);
    const t = toTrace(simulate(scn, { kernel: 'v6.12' })) as unknown as Trace;
    for (const u of [unpackTrace(packRun(scn, { kernel: 'v6.12' })), unpackTrace(packTrace(t))]) {
      assert.equal(u.states.length, t.states.length);
      t.states.forEach((s, i) => {
        const { diff, ...meta } = s['#meta'];
        const { diff: diff2, ...meta2 } = u.states[i]['#meta'];
        assert.deepEqual(meta2, meta, `${f} state ${i} meta`);
        assert.deepEqual(Object.keys(diff2 ?? {}).sort(), Object.keys(diff ?? {}).sort(), `${f} state ${i} diff paths`);
        for (const v of ['threads', 'folios', 'page_tables', 'dax_entries', 'files', 'refs', 'processes', 'devices'] as const) assert.deepEqual(u.states[i][v], s[v], `${f} state ${i} ${v}`);
      });
      assert.deepEqual(u.violations, t.violations);
    }
  }
});
