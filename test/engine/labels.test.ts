// A trace names each atomic step after the kernel function it models, as the
// configured kernel has it: v6.12 inserts devmap entries with vmf_insert_mixed /
// vmf_insert_pfn_pmd and breaks layouts in xfs_break_dax_layouts; the series
// added vmf_insert_page_mkwrite, vmf_insert_folio_pmd and dax_break_layout.
// An ext4 file's steps carry ext4's names, an XFS file's XFS's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';

const root = join(import.meta.dirname, '..', '..', '..', 'scenarios');
const fns = (file: string, kernel: string, withFixes: string[] = []) =>
  new Set(simulate(loadScenarioFile(join(root, file)), { kernel, with: withFixes }).steps.map((s) => s.fn));

test('v6.12 traces name v6.12 functions; v6.15 and later the functions the series added', () => {
  const old = fns('s1-pin-munmap-truncate.yaml', 'v6.12');
  assert.ok(old.has('vmf_insert_mixed'), [...old].join(', '));
  assert.ok(!old.has('vmf_insert_page_mkwrite') && !old.has('dax_break_layout'), [...old].join(', '));
  // a truncate that waits for a mapped page waits in xfs_break_dax_layouts on v6.12
  const waits = fns('t2-xfs-truncate-waits-mapped.yaml', 'v6.12');
  assert.ok(waits.has('xfs_break_dax_layouts') && !waits.has('dax_break_layout'), [...waits].join(', '));
  for (const kernel of ['v6.15', 'latest']) {
    const now = fns('s1-pin-munmap-truncate.yaml', kernel);
    assert.ok(now.has('vmf_insert_page_mkwrite') && now.has('dax_break_layout'), `${kernel}: ${[...now].join(', ')}`);
    assert.ok(!now.has('vmf_insert_mixed') && !now.has('xfs_break_dax_layouts'), `${kernel}: ${[...now].join(', ')}`);
  }
  const pmd = fns('t1-ext4-pmd-aligned.yaml', 'v6.12');
  assert.ok(pmd.has('vmf_insert_pfn_pmd') && !pmd.has('vmf_insert_folio_pmd'), [...pmd].join(', '));
  assert.ok(fns('t1-ext4-pmd-aligned.yaml', 'latest').has('vmf_insert_folio_pmd'));
});

test("a backported fix keeps v6.12's functions; the old busy scan's name says when it skips", () => {
  const steps = simulate(loadScenarioFile(join(root, 'races', 'bug02-unmapped-busy-page.yaml')), { kernel: 'v6.12' }).steps;
  assert.ok(steps.some((s) => s.fn === 'dax_layout_busy_page_range' && s.what.includes('!mapping_mapped')));
  const fixed = simulate(loadScenarioFile(join(root, 'races', 'bug02-unmapped-busy-page.yaml')), { kernel: 'v6.12', with: ['fs-dax-return-unmapped-busy-pages'] }).steps;
  assert.ok(fixed.some((s) => s.fn === 'xfs_break_dax_layouts'), 'the backport waits in the v6.12 function');
  assert.ok(!fixed.some((s) => s.what.includes('!mapping_mapped')), 'with the fix there is no shortcut to name');
});

test('ext4 scenarios name ext4 functions (the model runs one filesystem path for both)', () => {
  for (const kernel of ['v6.12', 'latest']) {
    const ext4 = fns('t2-ext4-truncate-waits-mapped.yaml', kernel);
    const all = [...ext4].join(', ');
    assert.ok(ext4.has('ext4_dax_huge_fault') && ext4.has('filemap_invalidate_lock') && ext4.has('ext4_wait_dax_page') && ext4.has('ext4_truncate'), `${kernel}: ${all}`);
    assert.ok(![...ext4].some((f) => f.startsWith('xfs_')), `${kernel}: no XFS function in an ext4 trace: ${all}`);
    if (kernel === 'v6.12') assert.ok(ext4.has('ext4_break_layouts'), all);
    const xfs = fns('t2-xfs-truncate-waits-mapped.yaml', kernel);
    assert.ok(xfs.has('xfs_filemap_huge_fault') || xfs.has('xfs_filemap_fault'), `${kernel}: ${[...xfs].join(', ')}`);
    assert.ok(![...xfs].some((f) => f.startsWith('ext4_')), `${kernel}: no ext4 function in an XFS trace`);
  }
});
