// Every bundled scenario is a specification: its expectations (taken from the
// kernel source, the spec and the real-kernel oracle, never from this model)
// must hold on every kernel they name, and on every `kernel: K, with: [FIX..]`
// backport and `without: [FIX..]` revert variant they name (scenarios/*.yaml and the races in scenarios/races/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';

const root = join(import.meta.dirname, '..', '..', '..', 'scenarios');
const files = ['.', 'races'].flatMap((dir) =>
  readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(root, dir, f)),
);

for (const file of files) {
  const scn = loadScenarioFile(file);
  const variants = new Map<string, { kernel: string; with: string[]; without: string[] }>();
  for (const e of scn.expect) {
    if (!e.kernel) continue;
    const w = [...(e.with ?? [])].sort();
    const wo = [...(e.without ?? [])].sort();
    variants.set(`${e.kernel} ${w.join(' ')} - ${wo.join(' ')}`, { kernel: e.kernel, with: w, without: wo });
  }
  if (variants.size === 0) variants.set('', { kernel: scn.kernel ?? 'v6.15', with: [], without: [] });
  for (const v of variants.values()) {
    test(`${scn.name} [${[v.kernel, ...v.with.map((f) => `+${f}`), ...v.without.map((f) => `-${f}`)].join(' ')}]`, () => {
      const r = simulate(scn, v, false);
      const failed = r.expectations.filter((e) => !e.ok).map((e) => `line ${e.expect.pos.line}: ${e.message}`);
      assert.ok(r.expectations.length > 0, 'the scenario checks something on this kernel');
      assert.deepEqual(failed, []);
    });
  }
}
