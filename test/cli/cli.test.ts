// The command line as a user meets it: `node bin/daxref.js` spawned on bundled
// scenarios and on bad input. Exit codes: 0 ok, 1 a failed expectation, 2 bad
// input (70 a bug in daxref); bad input is one `file:line:col: message` line (or a message naming
// the bad option), never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXES, KERNELS } from '../../src/model/versions.js';
import { repoRoot } from '../scenario/paths.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';
import { toTrace } from '../../src/trace/itf.js';

interface Out { code: number | null; out: string; err: string }

/** Run daxref from the repository root (so relative scenario paths work as in the README). */
function daxref(...args: string[]): Out {
  const r = spawnSync(process.execPath, ['bin/daxref.js', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const DMA = 'scenarios/truncate-waits-for-dma.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'daxref-cli-'));
const scratch = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

/** A message for bad input: one line, no stack trace. */
function assertCleanError(o: Out, code = 2): void {
  assert.equal(o.code, code, `exit ${o.code}, stderr: ${o.err}`);
  const lines = o.err.trimEnd().split('\n');
  assert.ok(lines.length >= 1 && lines[0].length > 0, 'a message on stderr');
  assert.doesNotMatch(o.err, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  assert.doesNotMatch(o.err, /node:internal|Error: .*\n\s+at /, 'no stack trace');
}

describe('daxref run', () => {
  it('runs the README scenario on its default kernel: every step, the page table, exit 0', () => {
    const o = daxref('run', DMA);
    assert.equal(o.code, 0, o.err);
    assert.equal(o.err, '');
    assert.match(o.out, /^truncate waits for a DMA pin {2}\[kernel v6\.15\]$/m);
    assert.match(o.out, /^-- app\.1 mmap$/m);
    assert.match(o.out, /^-- admin\.1 truncate$/m);
    assert.match(o.out, /^ +\d+ admin +\S+: .*\[sleeps\]$/m, 'truncate sleeps on the GUP reference (v6.15)');
    assert.match(o.out, /^ {2}pfn +device +rc +map +pin +ord +mapping\/share +holders$/m);
    assert.match(o.out, /^operations: app\.1 app\.2 app\.3 app\.4 app\.5 app\.6 admin\.1$/m);
    assert.match(o.out, /^violations: none$/m);
    assert.match(o.out, /^expectations: 2 passed, 0 failed$/m);
  });

  it('--kernel v6.12 shows bug 02: the block is reused under DMA', () => {
    const o = daxref('run', DMA, '--kernel', 'v6.12');
    assert.equal(o.code, 0, o.err);
    assert.match(o.out, /\[kernel v6\.12\]/);
    assert.match(o.out, /^ {2}step \d+: block-reuse-under-dma: /m);
    assert.match(o.out, /^expectations: 2 passed, 0 failed$/m);
  });

  it('--with adds a fix switch and names it in the header', () => {
    const o = daxref('run', DMA, '--kernel', 'v6.12', '--with', 'fs-dax-return-unmapped-busy-pages');
    assert.match(o.out, /\[kernel v6\.12 \+fs-dax-return-unmapped-busy-pages\]/);
    assert.match(o.out, /^violations: none$/m, 'the backport closes bug 02');
    // expectations tied to `kernel: v6.12` hold for v6.12 as released, not for a backport: none is checked
    assert.equal(o.code, 0, o.err);
  });

  it('runs bundled scenarios of every device type with exit 0', () => {
    // (every scenario runs in test/engine/scenarios.test.ts; a few here go through the CLI)
    for (const f of ['s8-first-fault-temp-ref', 'devdax-pte-4k', 'longterm-pin-refused-fsdax', 'p2pdma-mmap-munmap', 'zone-device-private-driver-get-put']) {
      const o = daxref('run', `scenarios/${f}.yaml`);
      assert.equal(o.code, 0, `${f}: ${o.err}`);
      assert.match(o.out, /^expectations: \d+ passed, 0 failed$/m, f);
    }
  });

  it('a failed expectation exits 1 and names it as file:line:col', () => {
    const bad = readFileSync(join(repoRoot, DMA), 'utf8').replace(
      '{ after: app.3, page: F@0, kernel: v6.15, refcount: 2, mapcount: 1 }',
      '{ after: app.3, page: F@0, kernel: v6.15, refcount: 7, mapcount: 1 }',
    );
    assert.notEqual(bad, readFileSync(join(repoRoot, DMA), 'utf8'), 'the test edits an expectation');
    const p = scratch('wrong-expectation.yaml', bad);
    const o = daxref('run', p);
    assert.equal(o.code, 1);
    assert.match(o.err, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: expectation failed: .*refcount`, 'm'));
    assert.match(o.out, /^expectations: 1 passed, 1 failed$/m);
  });
});

describe('daxref run --format', () => {
  it('json is an ITF-shaped trace: #meta, vars, one state per step with an action and a diff', () => {
    const o = daxref('run', DMA, '--format', 'json');
    assert.equal(o.code, 0, o.err);
    const t = JSON.parse(o.out);
    assert.equal(t['#meta'].format, 'ITF');
    assert.equal(t['#meta'].kernel, 'v6.15');
    assert.deepEqual(t.vars, ['threads', 'folios', 'page_tables', 'dax_entries', 'files', 'refs', 'processes', 'devices']);
    assert.deepEqual(t.states[0]['#meta'], { index: 0, action: 'init' });
    for (let i = 1; i < t.states.length; i++) {
      const m = t.states[i]['#meta'];
      assert.equal(m.index, i);
      assert.equal(m.action, `${m.thread}: ${m.fn}`);
      assert.equal(typeof m.diff, 'object');
      for (const v of t.vars) assert.ok(v in t.states[i], `state ${i} has ${v}`);
    }
    assert.equal(t.ops.length, 7);
    assert.deepEqual(t.violations, []);
    assert.ok(t.expectations.every((e: { ok: boolean }) => e.ok));
  });

  it('the example in docs/trace-format.md is what daxref prints today', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'trace-format.md'), 'utf8');
    const block = /```json\n([\s\S]*?)\n```/.exec(doc);
    assert.ok(block, 'docs/trace-format.md has a json example');
    const t = JSON.parse(daxref('run', 'docs/trace-example.yaml', '--format', 'json').out);
    const fault = t.states.find((st: { '#meta': { fn?: string } }) => st['#meta'].fn === 'handle_mm_fault');
    const abridged = { '#meta': t['#meta'], vars: t.vars, states: [t.states[0], fault], ops: t.ops, violations: t.violations, expectations: t.expectations };
    assert.deepEqual(JSON.parse(block[1]), abridged);
  });

  it('json is written piece by piece, byte for byte what JSON.stringify(trace, null, 1) gives', () => {
    const o = daxref('run', 'docs/trace-example.yaml', '--format', 'json');
    const t = toTrace(simulate(loadScenarioFile('docs/trace-example.yaml'), {}));
    assert.equal(o.out, JSON.stringify(t, null, 1) + '\n');
  });

  it('page_ref prints one ftrace-style page_ref_mod line per refcount change', () => {
    const o = daxref('run', 'docs/trace-example.yaml', '--format', 'page_ref');
    assert.equal(o.code, 0, o.err);
    const lines = o.out.trimEnd().split('\n');
    for (const l of lines) assert.match(l, /^\w+-\d+: page_ref_mod: pfn=0x[0-9a-f]+ count=-?\d+ mapcount=-?\d+ mapping=\S+ val=[+-]\d+ caller=\w+$/);
    // the kernel source's values: vmf_insert_page_mkwrite's folio_get, then GUP-fast's try_grab_folio_fast
    assert.deepEqual(lines.map((l) => l.replace(/^app-\d+: /, '')), [
      'page_ref_mod: pfn=0x100000 count=2 mapcount=0 mapping=dax0.0 val=+1 caller=insert_page_into_pte_locked',
      'page_ref_mod: pfn=0x100000 count=3 mapcount=1 mapping=dax0.0 val=+1 caller=try_grab_folio_fast',
    ]);
  });
});

describe('daxref compare, explain, kernels', () => {
  it('compare shows both kernels side by side and marks where they diverge', () => {
    const o = daxref('compare', DMA, '--kernel', 'v6.12', '--kernel', 'latest');
    assert.equal(o.code, 0, o.err);
    const lines = o.out.trimEnd().split('\n');
    assert.match(lines[0], /^v6\.12 +\| latest$/);
    assert.match(o.out, /^app\.3 .*rc=2 mc=0 .* \* app\.3 .*rc=2 mc=1/m, 'old scheme: no mapcount; new: the PTE counts');
    assert.match(lines[lines.length - 1], /^violations: .*block-reuse-under-dma +\* violations: none$/);
  });

  it('explain lists the holders of each reference (the issue example: app.3 on v6.15)', () => {
    const o = daxref('explain', DMA, '--page', 'F@0', '--after', 'app.3');
    assert.equal(o.code, 0, o.err);
    assert.deepEqual(o.out.trimEnd().split('\n'), [
      'F@0 = pfn 0x100018, folio order 0: refcount 2, mapcount 1, pincount 0 [v6.15]',
      '      +1  PTE of app at buf+0x0 (0x7f0000000000)',
      '      +1  GUP reference io (FOLL_GET, 1 page(s))',
    ]);
  });

  it('explain on v6.12 shows the idle reference and a devmap PTE that holds none', () => {
    const o = daxref('explain', DMA, '--page', 'F@0', '--after', 'app.3', '--kernel', 'v6.12');
    assert.match(o.out, /refcount 2, mapcount 0/);
    assert.match(o.out, /^ +\+1 +old-scheme FS-DAX idle reference/m);
    assert.match(o.out, /^ +0 +PTE of app .*devmap, holds no reference$/m);
  });

  it('kernels lists every version and fix switch, one line each', () => {
    const o = daxref('kernels');
    assert.equal(o.code, 0, o.err);
    for (const k of KERNELS) assert.match(o.out, new RegExp(`^${k.id.replace('.', '\\.')} +\\S`, 'm'));
    for (const f of FIXES) assert.match(o.out, new RegExp(`^ {2}${f.id} +\\S`, 'm'));
  });
});

describe('bad input: exit 2, a located one-line message, no stack trace', () => {
  it('bad fixtures of every kind, through the CLI, say file:line:col', () => {
    // (test/scenario/bad-fixtures.test.ts checks every fixture's message; these go through the CLI)
    const kinds = ['yaml-syntax', 'empty', 'top-level-list', 'duplicate-key', 'misindented-field', 'unresolved-alias', 'unknown-op',
      'unknown-field', 'bad-size', 'kernel-number', 'unknown-region', 'address-beyond-region', 'mmap-private-device', 'page-alloc-p2pdma'];
    const dir = join(repoRoot, 'test', 'fixtures', 'bad');
    const all = readdirSync(dir);
    for (const f of kinds.map((k) => `${k}.yaml`)) {
      assert.ok(all.includes(f), `fixture ${f} exists`);
      const rel = `test/fixtures/bad/${f}`;
      const o = daxref('run', rel);
      assertCleanError(o);
      assert.match(o.err, new RegExp(`^daxref: ${rel.replace(/\./g, '\\.')}:\\d+:\\d+: \\S`), `${f}: ${o.err}`);
      assert.equal(o.err.trimEnd().split('\n').length, 1, `${f}: one line`);
      assert.equal(o.out, '', `${f}: nothing on stdout`);
    }
  });

  it('truncated YAML', () => {
    const whole = readFileSync(join(repoRoot, DMA), 'utf8');
    const p = scratch('truncated.yaml', whole.slice(0, whole.indexOf('- touch:') + 20));
    const o = daxref('run', p);
    assertCleanError(o);
    assert.match(o.err, /^daxref: .*truncated\.yaml:\d+:\d+: /);
  });

  it('a touch after munmap faults (SIGSEGV): recorded as the step error, not a crash', () => {
    const p = scratch('touch-after-munmap.yaml', [
      'name: touch after munmap',
      'devices: [{ name: pmem0, type: fsdax, size: 64M }]',
      'files: [{ name: F, device: pmem0, size: 8K }]',
      'threads:',
      '  - name: app',
      '    steps:',
      '      - mmap: { file: F, len: 8K, as: buf }',
      '      - munmap: { at: buf, len: 8K }',
      '      - touch: { at: buf+4K }',
      'expect:',
      '  - { after: app.3, error: SIGSEGV }',
      '',
    ].join('\n'));
    const o = daxref('run', p);
    assert.equal(o.code, 0, o.err);
    assert.match(o.out, /^operations: app\.1 app\.2 app\.3=SIGSEGV$/m);
  });

  it('a file that does not exist', () => {
    const o = daxref('run', 'scenarios/no-such-scenario.yaml');
    assertCleanError(o);
    assert.match(o.err, /^daxref: scenarios\/no-such-scenario\.yaml:1:1: /);
  });

  it('an unknown kernel, an unknown fix, an unknown --format', () => {
    assertCleanError(daxref('run', DMA, '--kernel', 'v5.0'));
    assert.match(daxref('run', DMA, '--kernel', 'v5.0').err, /unknown kernel 'v5\.0'/);
    assertCleanError(daxref('run', DMA, '--with', 'no-such-fix'));
    assert.match(daxref('run', DMA, '--with', 'no-such-fix').err, /unknown fix 'no-such-fix'/);
    assertCleanError(daxref('run', DMA, '--format', 'xml'));
    assertCleanError(daxref('frobnicate'));
  });

  it('explain with a page or point the scenario does not have', () => {
    for (const args of [['--page', 'G@0'], ['--page', 'F@zz'], ['--page', 'F@0', '--after', 'app.99'], ['--page', 'F@0', '--after', 'nobody.1'], ['--page', 'pmem0:999999']]) {
      const o = daxref('explain', DMA, ...args);
      assertCleanError(o);
      assert.match(o.err, /^daxref: --(page|after)/, `${args.join(' ')}: ${o.err}`);
    }
  });

  it('compare with one kernel', () => {
    const o = daxref('compare', DMA, '--kernel', 'v6.12');
    assertCleanError(o);
    assert.match(o.err, /compare needs two --kernel options/);
  });
});

describe('an internal error', () => {
  it('is reported as a bug in daxref, exit 70 (not 1, a violation), without a stack unless DAXREF_DEBUG is set', () => {
    const code = `import('./dist/src/cli/fatal.js').then((m) => m.fatal(new TypeError('boom')))`;
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['-e', code], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env } });
    const quiet = run({ DAXREF_DEBUG: '' });
    assert.equal(quiet.status, 70);
    assert.match(quiet.stderr, /^daxref: internal error \(a bug in daxref; please report it with the scenario\): boom/);
    assert.doesNotMatch(quiet.stderr, /\n\s+at /, 'no stack trace');
    const debug = run({ DAXREF_DEBUG: '1' });
    assert.equal(debug.status, 70);
    assert.match(debug.stderr, /TypeError: boom\n\s+at /, 'the stack on request');
  });
});
