// The checker skips the invariant check of a successor whose step wrote none
// of the words invariantWords() marks (its parent passed the same check). That
// is sound only if checkInvariants reads nothing else: changing any unmarked
// word of a reachable state must not change what it reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioFiles } from '../scenario-files.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { Machine } from '../../src/engine/machine.js';
import { configFor } from '../../src/engine/simulate.js';
import { checkInvariants, invariantWords } from '../../src/model/invariants.js';

const scenarios = scenarioFiles('', 'races', 'check');

test('checkInvariants reads only the words invariantWords marks, on states along random walks of every scenario and scheme', () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  let probes = 0;
  const changed = [1, -1, 7, 1 << 12, 123456];
  for (const file of scenarios) {
    const scn = loadScenarioFile(file);
    for (const kernel of ['v6.12', 'latest']) {
      const M = new Machine(scn, configFor(scn, { kernel }));
      const marked = invariantWords(M.L);
      const s = M.initial();
      const k = M.kernel(s);
      for (let depth = 0; depth < 40; depth++) {
        if (depth % 8 === 0) {
          const before = JSON.stringify(checkInvariants(k));
          for (let i = 0; i < s.m.length; i++) {
            if (marked[i]) continue;
            const v = s.m[i];
            s.m[i] = v + changed[rnd(changed.length)];
            const after = JSON.stringify(checkInvariants(k));
            s.m[i] = v;
            assert.equal(after, before, `${file} ${kernel}: word ${i} is not marked, yet changing it changes the invariants' verdict`);
            probes++;
          }
        }
        const movers = M.L.threads.map((T) => T.id).filter((t) => M.ready(s.m, t));
        let moved = false;
        while (movers.length && !moved) {
          const t = movers.splice(rnd(movers.length), 1)[0];
          moved = M.step(k, t) !== 'blocked';
        }
        if (!moved) break;
      }
    }
  }
  assert.ok(probes > 20000, `${probes} words probed`);
});
