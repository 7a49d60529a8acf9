// What a valid scenario parses to.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  loadScenarioFile, parseScenario, ScenarioError, type Scenario, type Step,
} from '../../src/scenario/index.js';
import { EXAMPLE } from './example.js';

/** Drop source positions, to compare structure only. */
function strip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) =>
    (k === 'pos' || k === 'kernelPos' || k === 'fieldPos' ? undefined : v)));
}

const at = (line: number, col: number) => ({ file: 'example.yaml', line, col });

/** A minimal scenario around some steps. */
function withSteps(steps: string, extra = ''): Scenario {
  return parseScenario(`name: t
devices:
  - { name: pmem0, type: fsdax, size: 64M }
  - { name: dax0, type: devdax, size: 64M }
files: [{ name: F, device: pmem0, size: 8K }, { name: G, device: pmem0, size: 8K }]
threads:
  - name: app
    steps:
${steps}
${extra}`, 't.yaml');
}
const stepsOf = (s: Scenario): Step[] => s.threads[0].steps;

describe('the reference example', () => {
  const s = parseScenario(EXAMPLE, 'example.yaml');

  it('parses to the expected structure', () => {
    assert.deepEqual(strip(s), {
      name: 'truncate waits for a DMA pin',
      kernel: 'v6.15',
      source: 'example.yaml',
      devices: [{ name: 'pmem0', type: 'fsdax', size: 64 << 20, fs: 'xfs' }],
      files: [{ name: 'F', device: 'pmem0', size: 8192 }],
      threads: [
        {
          name: 'app',
          process: 'app',
          steps: [
            { op: 'mmap', file: 'F', len: 8192, offset: 0, shared: true, sync: false, as: 'buf' },
            { op: 'touch', at: { region: 'buf', offset: 0 }, write: false, len: 4096 },
            { op: 'gup', at: { region: 'buf', offset: 0 }, len: 4096, pin: false, longterm: false, fast: true, write: true, as: 'io' },
            { op: 'munmap', at: { region: 'buf', offset: 0 }, len: 8192 },
            { op: 'dma_write', ref: 'io' },
            { op: 'unpin', ref: 'io' },
          ],
        },
        { name: 'admin', process: 'admin', steps: [{ op: 'truncate', file: 'F', size: 0 }] },
      ],
      schedule: ['app', 'app', 'app', 'app', 'admin', 'app', 'app', 'admin'].map((thread) => ({ thread })),
      expect: [
        { point: { kind: 'after', thread: 'app', step: 3 }, page: { kind: 'file', file: 'F', offset: 0 }, kernel: 'v6.15', refcount: 2, mapcount: 1 },
        { point: { kind: 'after', thread: 'app', step: 3 }, page: { kind: 'file', file: 'F', offset: 0 }, kernel: 'v6.12', refcount: 2, mapcount: 0 },
        { point: { kind: 'end' }, kernel: 'v6.15', violation: 'none' },
        { point: { kind: 'end' }, kernel: 'v6.12', violation: 'block-reuse-under-dma' },
      ],
    });
  });

  it('keeps 1-based source positions on every object', () => {
    assert.deepEqual(s.kernelPos, at(2, 9));
    assert.deepEqual(s.devices[0].pos, at(3, 11));
    assert.deepEqual(s.files[0].pos, at(4, 11));
    assert.deepEqual(s.threads[1].pos, at(14, 5));
    assert.deepEqual(s.threads[0].steps.map((st) => st.pos.line), [8, 9, 10, 11, 12, 13]);
    assert.deepEqual(s.threads[0].steps[1].pos, at(9, 9));
    assert.deepEqual(s.schedule![4].pos, at(17, 32));
    assert.deepEqual(s.expect[2].pos, at(21, 5));
    assert.deepEqual(s.expect[0].fieldPos.kernel, at(19, 40));
    assert.deepEqual(s.expect[0].fieldPos.after, at(19, 14));
  });

  it('reads the same from JSON', () => {
    const json = JSON.stringify(parseYaml(EXAMPLE));
    assert.deepEqual(strip(parseScenario(json, 'example.yaml')), strip(s));
  });
});

describe('steps', () => {
  it('accepts operations with no fields as `- exit`, `exit:`, `exit: null` and `exit: {}`', () => {
    // one form per scenario: nothing may follow an exit in its thread
    const forms = ['- exit', '- exit:', '- exit: null', '- exit: {}', '- { exit: {}, label: bye }'];
    assert.deepEqual(forms.map((f) => strip(stepsOf(withSteps(`      ${f}`)))), [
      [{ op: 'exit' }], [{ op: 'exit' }], [{ op: 'exit' }], [{ op: 'exit' }], [{ op: 'exit', label: 'bye' }],
    ]);
  });

  it('rounds mmap and munmap lengths up to whole pages, as the kernel does', () => {
    const s = withSteps('      - mmap: { file: F, len: 5000, as: buf }\n      - munmap: { at: buf, len: 1 }');
    assert.equal((stepsOf(s)[0] as { len: number }).len, 8192);
    assert.equal((stepsOf(s)[1] as { len: number }).len, 4096);
  });

  it('maps a devdax device directly and fills device defaults', () => {
    const s = withSteps('      - mmap: { device: dax0, len: 2M, sync: true, as: d }');
    assert.deepEqual(strip(stepsOf(s)[0]), { op: 'mmap', device: 'dax0', len: 2 << 20, offset: 0, shared: true, sync: true, as: 'd' });
    assert.equal(s.devices[1].align, 2 << 20);
    assert.equal(s.devices[1].fs, undefined);
  });

  it('parses every file and device operation with its defaults', () => {
    const s = withSteps(`      - truncate: { file: F, size: 100 }
      - punch_hole: { file: F, offset: 1, len: 4095 }
      - reflink: { src: F, dst: G, offset: 0, len: 4K }
      - reflink: { src: F, dst: G, offset: 0, len: 4K, dst_offset: 8K }
      - write: { file: F, offset: 0x1000, len: 4K }
      - fsync: { file: F }
      - fsync: { file: F, offset: 0, len: 4K }
      - fork: { child: kid }
      - unlink: { file: G }
      - unmount: { device: pmem0 }
      - remove_device: { device: dax0 }`);
    assert.deepEqual(strip(stepsOf(s)), [
      { op: 'truncate', file: 'F', size: 100 },
      { op: 'punch_hole', file: 'F', offset: 1, len: 4095 },
      { op: 'reflink', src: 'F', dst: 'G', offset: 0, len: 4096, dst_offset: 0 },
      { op: 'reflink', src: 'F', dst: 'G', offset: 0, len: 4096, dst_offset: 8192 },
      { op: 'write', file: 'F', offset: 4096, len: 4096 },
      { op: 'fsync', file: 'F' },
      { op: 'fsync', file: 'F', offset: 0, len: 4096 },
      { op: 'fork', child: 'kid' },
      { op: 'unlink', file: 'G' },
      { op: 'unmount', device: 'pmem0' },
      { op: 'remove_device', device: 'dax0' },
    ]);
  });

  it('lets a thread run in a named process and use regions mapped by another thread', () => {
    const s = parseScenario(`name: t
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 8K }]
threads:
  - { name: a, process: p, steps: [{ mmap: { file: F, len: 8K, as: buf } }, { fork: { child: c } }] }
  - { name: b, process: c, steps: [{ touch: { at: buf+4K, write: true } }] }
`, 't.yaml');
    assert.deepEqual(s.threads.map((t) => [t.name, t.process]), [['a', 'p'], ['b', 'c']]);
    assert.deepEqual(strip(s.threads[1].steps[0]), { op: 'touch', at: { region: 'buf', offset: 4096 }, write: true, len: 4096 });
  });
});

describe('expectations', () => {
  it('parses every check, device pages and fix lists', () => {
    const s = withSteps('      - truncate: { file: F, size: 2M }', `expect:
  - { after: app.1, page: F@1M, refcount: 1, mapcount: 0, pincount: 0, order: 9, entire_mapcount: 0, share: 0, mapping: F, holders: 1 }
  - { after: app.1, page: "pmem0:0x10", mapping: null }
  - { after: app.1, error: EOPNOTSUPP, blocked: false, kernel: v6.12, with: [fs-dax-return-unmapped-busy-pages, fs-dax-dont-skip-locked-entries] }
  - { after: app.1, error: none, kernel: latest, without: [gup-dont-allow-foll-longterm-pinning-of-fs-dax-pages] }
  - { after: app.1, error: none }
  - { at: end, violation: none }`);
    assert.deepEqual(strip(s.expect), [
      { point: { kind: 'after', thread: 'app', step: 1 }, page: { kind: 'file', file: 'F', offset: 1 << 20 },
        refcount: 1, mapcount: 0, pincount: 0, order: 9, entire_mapcount: 0, share: 0, mapping: 'F', holders: 1 },
      { point: { kind: 'after', thread: 'app', step: 1 }, page: { kind: 'device', device: 'pmem0', pfn: 16 }, mapping: null },
      { point: { kind: 'after', thread: 'app', step: 1 }, error: 'EOPNOTSUPP', blocked: false, kernel: 'v6.12',
        with: ['fs-dax-return-unmapped-busy-pages', 'fs-dax-dont-skip-locked-entries'] },
      { point: { kind: 'after', thread: 'app', step: 1 }, error: 'none', kernel: 'latest', without: ['gup-dont-allow-foll-longterm-pinning-of-fs-dax-pages'] },
      { point: { kind: 'after', thread: 'app', step: 1 }, error: 'none' },
      { point: { kind: 'end' }, violation: 'none' },
    ]);
  });

  it('allows a page the scenario grows the file to', () => {
    const s = withSteps('      - write: { file: F, offset: 8K, len: 4K }', 'expect: [{ after: app.1, page: F@8K, refcount: 1 }]');
    assert.deepEqual(s.expect[0].page, { kind: 'file', file: 'F', offset: 8192 });
  });
});

describe('loadScenarioFile', () => {
  it('reads and parses a file, naming it in positions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daxref-'));
    const path = join(dir, 'ex.yaml');
    writeFileSync(path, EXAMPLE);
    const s = loadScenarioFile(path);
    assert.equal(s.source, path);
    assert.equal(s.devices[0].pos.file, path);
  });

  it('reports a missing file at line 1, column 1', () => {
    assert.throws(() => loadScenarioFile('/nonexistent/x.yaml'), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.message, '/nonexistent/x.yaml:1:1: cannot read scenario file (no such file)');
      return true;
    });
  });
});
