// The trace viewer in a real browser (Debian's chromium via playwright-core):
// a bundled scenario's report, a step chosen with the keyboard, the rendered
// folio values, the highlighted changes, the violation marker of a race, an
// XSS-shaped scenario name, compare mode.
// Expected folio values come from the scenario's own expectations (taken from
// the kernel source: scenarios/truncate-waits-for-dma.yaml), not from the model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { loadTraces } from '../../src/cli/report.js';
import { renderReport } from '../../src/view/report.js';
import type { Trace } from '../../src/view/model.js';
import { launch } from './browser.js';
import { repoRoot } from '../scenario/paths.js';

const SCN = join(repoRoot, 'scenarios', 'truncate-waits-for-dma.yaml');
const dir = mkdtempSync(join(tmpdir(), 'daxref-view-test-'));
let context: BrowserContext;
let close: () => Promise<void>;

function report(name: string, inputs: string[], kernel: string[]): { file: string; traces: Trace[] } {
  const { packed, traces, labels } = loadTraces(inputs, { kernel });
  const file = join(dir, name);
  writeFileSync(file, renderReport(packed, labels));
  return { file, traces };
}

/** The state at which thread.op completed. */
function opDone(t: Trace, thread: string, op: number): number {
  const i = t.states.findIndex((s) => s['#meta'].thread === thread && s['#meta'].op === op && s['#meta'].outcome === 'op-done');
  assert.ok(i > 0, `${thread}.${op} completes in the trace`);
  return i;
}

/** The pfn backing F@0 at state i (from the DAX entry of the trace). */
function pfnOfF0(t: Trace, i: number): string {
  const e = t.states[i].dax_entries.F.find((x) => x.index === 0);
  assert.ok(e?.pfn, 'F@0 has a DAX entry');
  return e.pfn;
}

async function open(file: string): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  await page.goto(`file://${file}`);
  await page.waitForFunction('window.daxrefReady === true');
  return { page, errors, dialogs };
}

/** Move to step n the way a person does: type a nearby step, then the right arrow key. */
async function goTo(page: Page, n: number) {
  await page.fill('#step-input', String(n - 1));
  await page.press('#step-input', 'Enter');
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('body', 'data-step'), String(n));
}

const cell = (page: Page, pfn: string, field: string, pane = 0) => page.locator(`.pane[data-trace="${pane}"] table.folios tr[data-pfn="${pfn}"] td[data-field="${field}"]`);
const value = async (page: Page, pfn: string, field: string, pane = 0) => (await cell(page, pfn, field, pane).evaluate((td) => td.firstChild?.textContent ?? '')).trim();

before(async () => {
  ({ context, close } = await launch());
});
after(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daxref report in chromium', () => {
  test('v6.15: after app.3 (gup) F@0 shows refcount 2, mapcount 1, and who holds them', async () => {
    const { file, traces } = report('v615.html', [SCN], ['v6.15']);
    const t = traces[0];
    const step = opDone(t, 'app', 3);
    const pfn = pfnOfF0(t, step);
    const { page, errors } = await open(file);
    await goTo(page, step);
    // expect: { after: app.3, page: F@0, kernel: v6.15, refcount: 2, mapcount: 1 }
    assert.equal(await value(page, pfn, 'refcount'), '2');
    assert.equal(await value(page, pfn, 'mapcount'), '1');
    const holders = await page.locator(`table.folios tr[data-pfn="${pfn}"] td.holders`).innerText();
    assert.match(holders, /PTE of app/);
    assert.match(holders, /GUP reference io \(FOLL_GET/);
    assert.equal(await page.locator('#step-slider').inputValue(), String(step));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('v6.15: the step that takes the GUP reference highlights refcount (was 1) and nothing else of the folio', async () => {
    const { file, traces } = report('v615b.html', [SCN], ['v6.15']);
    const t = traces[0];
    const end = opDone(t, 'app', 3);
    const pfn = pfnOfF0(t, end);
    // the step of app.3 whose diff raises the refcount (try_grab_folio)
    const step = t.states.findIndex((s, i) => i <= end && s['#meta'].op === 3 && s['#meta'].thread === 'app' && s['#meta'].fn === 'follow_page_mask' && s['#meta'].diff?.[`folios.${pfn}.refcount`]);
    assert.ok(step > 0);
    const was = t.states[step - 1].folios[pfn].refcount;
    const now = t.states[step].folios[pfn].refcount;
    assert.notEqual(was, now);
    const { page } = await open(file);
    await goTo(page, step);
    assert.equal(await value(page, pfn, 'refcount'), String(now));
    assert.equal(await cell(page, pfn, 'refcount').getAttribute('class').then((c) => /\bchanged\b/.test(c ?? '')), true);
    assert.match(await cell(page, pfn, 'refcount').innerText(), new RegExp(`was ${was}`));
    for (const f of ['mapcount', 'order', 'pincount']) assert.doesNotMatch((await cell(page, pfn, f).getAttribute('class')) ?? '', /\bchanged\b/, `${f} is not highlighted`);
    // one step back: the refcount is the old value and not highlighted as changed by this step
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('body', 'data-step'), String(step - 1));
    assert.equal(await value(page, pfn, 'refcount'), String(was));
    await page.close();
  });

  test('v6.15: while truncate sleeps, the banner names the page and the GUP reference that holds it', async () => {
    const { file, traces } = report('v615c.html', [SCN], ['v6.15']);
    const t = traces[0];
    const step = t.states.findIndex((s) => s.threads.admin?.status === 'sleeping');
    assert.ok(step > 0, 'admin sleeps in the trace');
    const { page } = await open(file);
    await goTo(page, step);
    const wait = await page.locator('#banner .wait[data-thread="admin"]').innerText();
    assert.match(wait, /admin \(truncate\) in dax_break_layout sleeps/);
    assert.match(wait, /GUP reference io/);
    assert.equal(await page.locator('table.tl tr.current td.sleeping').count(), 1, 'the admin lane is shaded as sleeping');
    await page.close();
  });

  test('v6.12: the race counterexample marks the violating step and the objects involved', async () => {
    const { file, traces } = report('v612.html', [SCN], ['v6.12']);
    const t = traces[0];
    // expect: { at: end, kernel: v6.12, violation: block-reuse-under-dma }
    const v = t.violations!.find((x) => x.id === 'block-reuse-under-dma');
    assert.ok(v, 'the trace has the violation');
    const { page } = await open(file);
    await goTo(page, v.step);
    assert.equal(await page.locator(`table.tl tr.current .viol-marker[data-violation~="block-reuse-under-dma"]`).count(), 1);
    const banner = page.locator('#banner .violation.here[data-violation="block-reuse-under-dma"]');
    assert.equal(await banner.count(), 1);
    assert.match(await banner.innerText(), /N9: a block whose page a GUP reference holds is not freed/);
    const pfn = (/pfn (0x[0-9a-f]+)/.exec(v.message) ?? [])[1];
    assert.ok(pfn);
    assert.match((await page.locator(`table.folios tr[data-pfn="${pfn}"]`).getAttribute('class')) ?? '', /\binvolved\b/);
    assert.match((await page.locator('table.refs tr[data-ref="io"]').getAttribute('class')) ?? '', /\binvolved\b/);
    assert.match((await page.locator('.blk.involved').innerText()), /FREE but DMA-referenced/);
    // before the violation: no banner
    await page.keyboard.press('Home');
    assert.equal(await page.locator('#banner .violation').count(), 0);
    await page.close();
  });

  test('a counterexample of daxref check (v6.12, bug 02) opens at its violation', async () => {
    const scn = join(repoRoot, 'scenarios', 'races', 'bug02-unmapped-busy-page.yaml');
    const out = join(dir, 'cex.json');
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'daxref.js'), 'check', scn, '--kernel', 'v6.12', '--format', 'json'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    writeFileSync(out, r.stdout);
    const cex = JSON.parse(r.stdout) as { violation: { invariant: string } };
    const { file, traces } = report('cex.html', [out], []);
    const v = traces[0].violations!.find((x) => x.id === cex.violation.invariant);
    assert.ok(v, 'the counterexample trace records the violation');
    const { page, errors } = await open(file);
    await goTo(page, v.step);
    assert.equal(await page.locator(`table.tl tr.current .viol-marker[data-violation~="${cex.violation.invariant}"]`).count(), 1);
    assert.equal(await page.locator(`#banner .violation.here[data-violation="${cex.violation.invariant}"]`).count(), 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a scenario name with HTML in it is shown as text and runs nothing', async () => {
    const evil = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';
    const src = readFileSync(SCN, 'utf8').replace(/^name: .*$/m, `name: ${JSON.stringify(evil)}`);
    const scn = join(dir, 'evil.yaml');
    writeFileSync(scn, src);
    const { file } = report('evil.html', [scn], ['v6.15']);
    const { page, dialogs, errors } = await open(file);
    assert.equal(await page.locator('#title').textContent(), evil);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 2, 'only the data and the viewer scripts');
    await page.keyboard.press('End');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('compare mode: v6.12 and v6.15 side by side, aligned, divergent mapcount marked', async () => {
    const { file, traces } = report('cmp.html', [SCN], ['v6.12', 'v6.15']);
    assert.equal(traces.length, 2);
    const { page } = await open(file);
    assert.equal(await page.locator('.pane').count(), 2);
    // the row where both kernels finish app.3
    const rows = Number(await page.getAttribute('#step-slider', 'max'));
    let found = -1;
    for (let r = 0; r <= rows && found < 0; r++) {
      await page.fill('#step-input', String(r));
      await page.press('#step-input', 'Enter');
      const text = await page.locator('#action').innerText();
      if ((text.match(/app\.3 gup: get_user_pages done/g) ?? []).length === 2) found = r;
    }
    assert.ok(found >= 0, 'both kernels finish app.3 on the same row');
    const pfn = pfnOfF0(traces[1], opDone(traces[1], 'app', 3));
    // after app.3: v6.12 mapcount 0, v6.15 mapcount 1 (scenario expectations)
    assert.equal(await value(page, pfn, 'mapcount', 0), '0');
    assert.equal(await value(page, pfn, 'mapcount', 1), '1');
    assert.match((await cell(page, pfn, 'mapcount', 0).getAttribute('class')) ?? '', /\bdiverge\b/);
    assert.match((await cell(page, pfn, 'mapcount', 1).getAttribute('class')) ?? '', /\bdiverge\b/);
    assert.doesNotMatch((await cell(page, pfn, 'order', 0).getAttribute('class')) ?? '', /\bdiverge\b/);
    await page.close();
  });
});
