// Issue 3 item 5: every race of scenarios/races/ is found by the exhaustive
// checker on the kernels that have the bug (the exact invariant id its
// `at: end` expectation names) and verified clean (no invariant at all, incl.
// blocked-forever) on the kernels and backports that fix it. The checker
// ignores `schedule`, so this does not depend on the interleaving chosen there.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { check } from '../../src/index.js';
import { loadScenarioFile } from '../../src/scenario/index.js';

// scenarios/check/ holds the checker's other specifications (a reduction, a fixed model
// bug): their end-of-run verdicts are checked the same way, with no bug required.
const scenarios = join(import.meta.dirname, '..', '..', '..', 'scenarios');
const files = ['races', 'check'].flatMap((d) => readdirSync(join(scenarios, d)).filter((f) => f.endsWith('.yaml')).map((f) => join(d, f)));

for (const file of files) {
  const scn = loadScenarioFile(join(scenarios, file));
  const verdicts = scn.expect.filter((e) => e.point.kind === 'end' && e.violation !== undefined && e.kernel);
  if (file.startsWith('races'))
    test(`${file}: names a buggy and a fixed kernel`, () => {
      assert.ok(verdicts.some((e) => e.violation !== 'none'), 'a kernel with the bug');
      assert.ok(verdicts.some((e) => e.violation === 'none'), 'a kernel without it');
    });
  for (const e of verdicts) {
    const variant = [e.kernel!, ...(e.with ?? []).map((f) => `+${f}`), ...(e.without ?? []).map((f) => `-${f}`)].join(' ');
    test(`${file} [${variant}]: ${e.violation === 'none' ? 'ok' : e.violation}`, async () => {
      const r = await check(scn, { kernel: e.kernel, with: e.with ?? [], without: e.without ?? [], ...(e.violation !== 'none' && { invariant: e.violation }), maxStates: 200_000 });
      if (e.violation === 'none') assert.equal(r.verdict, 'ok', r.violation ? `${r.violation.invariant}: ${r.violation.message}` : r.verdict);
      else {
        assert.equal(r.verdict, 'violation');
        assert.equal(r.violation!.invariant, e.violation);
      }
    });
  }
}
