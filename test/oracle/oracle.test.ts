// The oracle's host side without QEMU: scenario -> C translation, parsing the guest's
// output, the model's prediction in the kernel's order, and the comparison.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, parseScenario, ScenarioError } from '../../src/scenario/index.js';
import { translate, unsupportedReason, oraclePages } from '../../src/oracle/translate.js';
import { parseKernelRun, parsePageLine, splitConsole } from '../../src/oracle/kernel-output.js';
import { compareRuns, inlinedWarn, isKnown } from '../../src/oracle/compare.js';
import { hangsUninterruptibly, predict } from '../../src/oracle/predict.js';
import { loadKnown, modelScenario, mkfsOptions, ORACLE_DIR } from '../../src/oracle/run.js';
import { stepLabels } from '../../src/oracle/observe.js';

const root = join(import.meta.dirname, '..', '..', '..');
const scn = (name: string) => loadScenarioFile(join(root, 'scenarios', name));

const hasGcc = (() => {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('translate: steps, GUP kinds, schedule and pages of truncate-waits-for-dma', () => {
  const c = translate(scn('truncate-waits-for-dma.yaml'));
  assert.match(c, /\{ \.thread = 0, \.op = DR_MMAP, \.file = 0, \.region = 0, \.offset = 0UL, \.len = 8192UL, \.shared = 1, \.sync = 0, \.label = "app.1 mmap" \}/);
  assert.match(c, /\.op = DR_GUP, .*\.gup = DR_GUP_GET, \.label = "app.3 gup"/);
  assert.match(c, /\.op = DR_TRUNCATE, \.file = 0, \.len = 0UL, \.label = "admin.1 truncate"/);
  assert.match(c, /static const int schedule\[\] = \{ 0, 0, 0, 0, 1, 0, 0, 1 \};/);
  assert.match(c, /\{ 0, 0UL, "F@0" \}/);
  assert.match(c, /\.nschedule = 8,/);
});

test('translate: FOLL_PIN becomes O_DIRECT, FOLL_LONGTERM io_uring, fork names the child process', () => {
  const s = parseScenario(
    `name: pins
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files: [{ name: F, device: pmem0, size: 8K }]
threads:
  - name: p
    steps:
      - mmap: { file: F, len: 8K, as: m }
      - gup: { at: m+4K, pin: true, as: a }
      - gup: { at: m+0, pin: true, longterm: true, as: b }
      - fork: { child: kid }
  - name: k
    process: kid
    steps:
      - exit
`,
    'inline.yaml',
  );
  const c = translate(s);
  assert.match(c, /\.offset = 4096UL, \.len = 4096UL, \.ref = 0, \.write = 1, \.gup = DR_GUP_PIN/);
  assert.match(c, /\.ref = 1, \.write = 1, \.gup = DR_GUP_LONGTERM/);
  assert.match(c, /\.op = DR_FORK, \.process = 1,/);
  assert.match(c, /\{ "kid", 0 \}/); // not running until forked
  assert.match(c, /\{ "k", 1 \}/);
});

test('translate: the generated program compiles against the runtime', { skip: hasGcc ? false : 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'oracle-test-'));
  try {
    for (const f of ['truncate-waits-for-dma.yaml', 's5-fork-shared.yaml', 's6-reflink-two-files.yaml']) {
      writeFileSync(join(dir, 'p.c'), translate(scn(f)));
      execFileSync('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-I', join(ORACLE_DIR, 'guest'), join(dir, 'p.c')]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsupportedReason: device-DAX, reflink on ext4, remove_device are skipped with a reason', () => {
  assert.match(unsupportedReason(scn('devdax-fork.yaml'), 'xfs') ?? '', /device-DAX/);
  assert.match(unsupportedReason(scn('s6-reflink-two-files.yaml'), 'ext4') ?? '', /reflink needs xfs/);
  assert.equal(unsupportedReason(scn('s6-reflink-two-files.yaml'), 'xfs'), null);
  assert.equal(unsupportedReason(scn('t2-ext4-truncate-waits-mapped.yaml'), 'ext4'), null);
});

test('oraclePages: the pages the expectations name, then the ends of touched and pinned ranges, once each', () => {
  assert.deepEqual(oraclePages(scn('t2-ext4-truncate-waits-mapped.yaml')).map((p) => p.label), ['F@8K', 'F@4K', 'F@2M', 'F@0', 'F@4092K']);
  assert.deepEqual(oraclePages(scn('s6-reflink-two-files.yaml')).map((p) => p.label).sort(), ['A@0', 'B@0']);
});

test('parsePageLine: counters, and the mapping named by inode', () => {
  const files = new Map([[12, 'F']]);
  assert.deepEqual(parsePageLine('pfn=48044 ref=2 map=1 pin=-1 order=0 pgmap=fsdax mapping=ino:12', files), { refcount: 2, mapcount: 1, pincount: -1, order: 0, mapping: 'F' });
  assert.equal(parsePageLine('pfn=1 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=tag:1', files)?.mapping, 'DAX_SHARED');
  assert.equal(parsePageLine('pfn=1 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=ino:99', files)?.mapping, '?ino:99');
  assert.equal(parsePageLine('', files), null);
});

/** A kernel run of t2-ext4 on 6.12 as the guest prints it (the values of REPORT.md T2). */
function t2Console(truncateBlocks: boolean, rcWhileBlocked: number): string {
  const p = (e: number, rc: number, mapping: string) =>
    `DAXREF 000 {"t":"pages","entry":${e},"pages":["pfn=40202 ref=${rc} map=0 pin=-1 order=0 pgmap=fsdax mapping=${mapping}","pfn=40201 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=${mapping}","pfn=40400 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=${mapping}","pfn=40200 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=${mapping}","pfn=405ff ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=${mapping}"]}`;
  const lines = [
    'c[?7lDAXREF 000 {"t":"layout","file":0,"ino":12,"extents":[[0,138412032,4194304,1]]}',
    p(-1, 1, 'null'),
    'DAXREF 000 {"t":"entry","entry":0,"thread":0,"kind":"start","step":0}',
    'DAXREF 000 {"t":"step","step":0,"entry":0,"blocked":0,"err":"none","ms":2}',
    p(0, 1, 'null'),
    'DAXREF 000 {"t":"entry","entry":1,"thread":0,"kind":"start","step":1}',
    'DAXREF 000 {"t":"step","step":1,"entry":1,"blocked":0,"err":"none","ms":2}',
    p(1, 1, 'ino:12'),
    'DAXREF 000 {"t":"entry","entry":2,"thread":0,"kind":"start","step":2}',
    'DAXREF 000 {"t":"step","step":2,"entry":2,"blocked":0,"err":"none","ms":2}',
    p(2, 2, 'ino:12'),
    'DAXREF 000 {"t":"entry","entry":3,"thread":1,"kind":"start","step":5}',
    truncateBlocks ? 'DAXREF 000 {"t":"blocked","step":5,"entry":3}' : 'DAXREF 000 {"t":"step","step":5,"entry":3,"blocked":0,"err":"none","ms":2}',
    p(3, rcWhileBlocked, 'ino:12'),
    'DAXREF 000 {"t":"entry","entry":4,"thread":0,"kind":"start","step":3}',
    'DAXREF 000 {"t":"step","step":3,"entry":4,"blocked":0,"err":"none","ms":2}',
    p(4, rcWhileBlocked, 'ino:12'),
    'DAXREF 000 {"t":"entry","entry":5,"thread":0,"kind":"start","step":4}',
    'DAXREF 000 {"t":"step","step":4,"entry":5,"blocked":0,"err":"none","ms":2}',
    ...(truncateBlocks ? ['DAXREF 000 {"t":"step","step":5,"entry":5,"blocked":1,"err":"none","ms":3000}'] : []),
    p(5, 1, 'null'),
    'DAXREF 000 {"t":"end"}',
    'DAXREF-GUEST done uptime 30.1',
  ];
  return lines.join('\n');
}

function t2Compare(console: string) {
  const s = scn('t2-ext4-truncate-waits-mapped.yaml');
  const pages = oraclePages(s);
  const { runs } = splitConsole(console);
  const real = parseKernelRun(runs.get('000')!, s.threads.map((t) => t.name), ['F']);
  const notes: string[] = [];
  const m = modelScenario(s, 'ext4', real.layout, notes);
  const model = predict(m, 'v6.12', pages);
  return { real, notes, cmp: compareRuns(model, real.obs, stepLabels(s), pages.map((p) => p.label)) };
}

test('compare: the REPORT T2 readings agree with the v6.12 model at every entry', () => {
  const { real, notes, cmp } = t2Compare(t2Console(true, 2));
  assert.equal(real.complete, true);
  assert.match(notes.join('\n'), /block 33792 \(2 MiB-aligned\)/);
  assert.deepEqual(cmp.disagreements, []);
  const released = cmp.rows.find((r) => r.entry === 5)!.lines.find((l) => l.what === 'trunc.1 truncate')!;
  assert.equal(released.kernel, 'blocked, then done');
});

test('compare: a truncate that does not wait, and a wrong refcount, are reported', () => {
  const { cmp } = t2Compare(t2Console(false, 3));
  const whats = cmp.disagreements.map((d) => `${d.entry} ${d.what}`);
  assert.ok(whats.includes('3 trunc.1 truncate blocked'), whats.join('; '));
  assert.ok(whats.includes('3 F@8K refcount'), whats.join('; '));
  const d = cmp.disagreements.find((x) => x.what === 'F@8K refcount')!;
  assert.equal(d.model, 'rc 2 mc 0 o0 F');
  assert.equal(d.kernel, 'rc 3 mc 0 o0 F');
});

test('kernel WARNs: both first-line formats name the function; a WARN inlined into its caller matches the model', () => {
  const warn = (text: string) => `DAXREF 000 {"t":"kwarn","text":"${text}"}`;
  const console = t2Console(true, 2).replace(
    'DAXREF 000 {"t":"end"}',
    [
      warn('[   22.4] WARNING: CPU: 0 PID: 190 at fs/dax.c:390 dax_disassociate_entry+0x86/0xb0'), // up to 6.18
      warn('[   57.1] WARNING: fs/dax.c:495 at dax_insert_entry+0x31b/0x3d0, CPU#1: 009/395'), // 7.x
      'DAXREF 000 {"t":"end"}',
    ].join('\n'),
  );
  const { real, cmp } = t2Compare(console);
  assert.deepEqual(real.obs.warns, ['dax_disassociate_entry', 'dax_insert_entry']);
  assert.ok(cmp.disagreements.some((d) => d.what === 'kernel WARN'));
  // dax_associate_entry is static and called only from dax_insert_entry: 7.3 reports its WARN there
  const s = scn('t2-ext4-truncate-waits-mapped.yaml');
  const pages = oraclePages(s);
  const model = predict(modelScenario(s, 'ext4', real.layout, []), 'v6.12', pages);
  model.warns.push('dax_associate_entry', 'dax_disassociate_entry');
  const same = compareRuns(model, real.obs, stepLabels(s), pages.map((p) => p.label));
  assert.deepEqual(same.disagreements.filter((d) => d.what === 'kernel WARN'), []);
});

test("a WARN in a compiler clone of a function (dax_disassociate_entry.isra.0) is that function's, and dax_folio_put's inlined into it", () => {
  assert.equal(inlinedWarn('dax_disassociate_entry.isra.0', ['dax_folio_put']), 'dax_folio_put');
  assert.equal(inlinedWarn('dax_disassociate_entry.isra.0', []), 'dax_disassociate_entry');
  assert.equal(inlinedWarn('dax_insert_entry.constprop.0', ['dax_associate_entry']), 'dax_associate_entry');
  assert.equal(inlinedWarn('dax_insert_entry', ['dax_folio_put']), 'dax_folio_put');
  assert.equal(inlinedWarn('vmf_insert_page_mkwrite', ['dax_folio_put']), 'vmf_insert_page_mkwrite');
});

test('a scenario whose thread the model leaves in an uninterruptible wait for good is not run on that kernel (it would wedge the boot)', () => {
  // munmap's eviction waits (TASK_UNINTERRUPTIBLE) for its own thread's reference on v6.15+; v6.12 does not wait
  const s = scn('check/evict-waits-on-own-reference.yaml');
  assert.match(hangsUninterruptibly(s, 'latest') ?? '', /thread app in dax_break_layout_final/);
  assert.equal(hangsUninterruptibly(s, 'v6.12'), null);
  // a truncate that waits for a pin is interruptible, and the unpin ends it anyway
  assert.equal(hangsUninterruptibly(scn('truncate-waits-for-dma.yaml'), 'latest'), null);
});

test('compare: a program that never finished is a problem, not an agreement', () => {
  const s = scn('t2-ext4-truncate-waits-mapped.yaml');
  const { runs } = splitConsole(t2Console(true, 2).replace('DAXREF 000 {"t":"end"}', ''));
  const real = parseKernelRun(runs.get('000')!, s.threads.map((t) => t.name), ['F']);
  assert.equal(real.complete, false);
  assert.match(real.obs.problems.join('\n'), /did not reach its end/);
});

test('known differences: matched by scenario, kernel and prefix; a missing reason is a located error', () => {
  const d = { entry: 3, what: 'F@8K refcount', model: 'a', kernel: 'b' };
  const known = [{ scenario: 't2-ext4-truncate-waits-mapped.yaml', kernel: '6.12', what: 'F@8K', reason: 'r' }];
  assert.ok(isKnown(d, 'scenarios/t2-ext4-truncate-waits-mapped.yaml', '6.12', 'ext4', known));
  assert.equal(isKnown(d, 'scenarios/t2-ext4-truncate-waits-mapped.yaml', '7.3', 'ext4', known), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'oracle-known-'));
  try {
    const f = join(dir, 'k.yaml');
    writeFileSync(f, '- scenario: a.yaml\n  reason: fine\n- scenario: b.yaml\n  kernel: "6.12"\n');
    assert.throws(() => loadKnown(f), (e: unknown) => e instanceof ScenarioError && /k\.yaml:3:3: missing `reason`/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the checked-in known-differences file loads, and every entry has a reason', () => {
  const list = loadKnown(join(ORACLE_DIR, 'known-differences.yaml'));
  assert.ok(list.length > 0);
  for (const k of list) assert.ok(k.reason.length > 10, k.scenario);
});

test('mkfs options: a 2 MiB stripe unit on xfs only when a file asks for 2 MiB alignment', () => {
  assert.match(mkfsOptions(scn('s3-pmd-partial-munmap.yaml'), 'xfs'), /su=2m/);
  assert.equal(mkfsOptions(scn('t1-xfs-unaligned.yaml'), 'xfs'), '');
  assert.equal(mkfsOptions(scn('s3-pmd-partial-munmap.yaml'), 'ext4'), '');
});
