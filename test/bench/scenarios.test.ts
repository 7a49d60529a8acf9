// The bench scenarios (scenarios/bench/) are generated from bench/instances.ts:
// the checked-in files must be what the generator writes now, load cleanly, and
// have model.pml's threads (F faulters, P pinners, W writeback, a truncate unless
// faulter 0 unlinks) with a kernel configuration that exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { INSTANCES, KERNEL_OF, instanceName, isEvict, scenarioPath } from '../../bench/instances.js';
import { scenarioYaml } from '../../bench/gen-scenarios.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { kernelConfig } from '../../src/model/versions.js';
import { repoRoot } from '../scenario/paths.js';

test('scenarios/bench holds exactly the generated instances', () => {
  const onDisk = readdirSync(join(repoRoot, 'scenarios', 'bench')).filter((f) => f.endsWith('.yaml')).sort();
  const wanted = INSTANCES.map((i) => scenarioPath(i).replace('scenarios/bench/', '')).sort();
  assert.deepEqual(onDisk, wanted);
});

for (const i of INSTANCES) {
  test(`bench scenario ${instanceName(i)} is up to date and well formed`, () => {
    const path = join(repoRoot, scenarioPath(i));
    assert.equal(readFileSync(path, 'utf8'), scenarioYaml(i), 'rerun npm run bench:scenarios');
    const scn = loadScenarioFile(path);
    const names = scn.threads.map((t) => t.name.replace(/\d+$/, ''));
    const count = (n: string) => names.filter((x) => x === n).length;
    assert.deepEqual([count('fault'), count('pin'), count('wb')], [i.F, i.P, i.W]);
    assert.equal(names.length, i.F + i.P + i.W + (isEvict(i.variant) ? 0 : 1)); // the unlink is faulter 0's
    const k = KERNEL_OF[i.variant];
    assert.equal(scn.kernel, k.kernel);
    assert.doesNotThrow(() => kernelConfig(k.kernel, [], k.without));
  });
}
