// Every bundled scenario is a specification: its expectations (taken from the
// kernel source, the spec and the real-kernel oracle, never from this model)
// must hold on every kernel they name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { simulate } from '../../src/engine/simulate.js';

const root = join(import.meta.dirname, '..', '..', '..', 'scenarios');
const files = readdirSync(root).filter((f) => f.endsWith('.yaml')).map((f) => join(root, f));

for (const file of files) {
  const scn = loadScenarioFile(file);
  const kernels = new Set(scn.expect.map((e) => e.kernel).filter((k): k is string => !!k));
  if (kernels.size === 0) kernels.add(scn.kernel ?? 'v6.15');
  for (const kernel of kernels) {
    test(`${scn.name} [${kernel}]`, () => {
      const r = simulate(scn, { kernel }, false);
      const failed = r.expectations.filter((e) => !e.ok).map((e) => `line ${e.expect.pos.line}: ${e.message}`);
      assert.ok(r.expectations.length > 0, 'the scenario checks something on this kernel');
      assert.deepEqual(failed, []);
    });
  }
}
