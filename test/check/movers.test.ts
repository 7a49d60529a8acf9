// The checker runs a lock acquisition in the middle of an operation together
// with the thread's next action (Machine.fuseMovers). That is sound only if an
// action marked `acquire` does nothing but take a sleeping lock: it may write
// the lock's own words (an rwsem's reader count, or its writer word from free
// to this thread) and the thread's own words, nothing another thread reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scenarioFiles, scenariosDir } from '../scenario-files.js';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { Machine } from '../../src/engine/machine.js';
import { configFor } from '../../src/engine/simulate.js';
import { check } from '../../src/engine/check/index.js';
import { F_INVAL_R, F_INVAL_W, F_IRWSEM_R, F_IRWSEM_W, P_MMAP_R, P_MMAP_W, THREAD_WORDS, T_TEMPREF, T_QPOS, T_KEY, T_STATUS } from '../../src/model/state.js';

const scenarios = scenarioFiles('', 'races', 'check');

test('an acquisition writes only its lock word (taking it) and its own thread words, on random walks of every scenario and kernel', () => {
  let seed = 5;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  let seen = 0;
  for (const file of scenarios) {
    const scn = loadScenarioFile(file);
    for (const kernel of ['v6.12', 'v6.15', 'latest']) {
      const M = new Machine(scn, configFor(scn, { kernel }), false); // one action per step
      const L = M.L;
      const readers = new Set<number>();
      const writers = new Set<number>();
      for (const F of L.files) { readers.add(F.off + F_INVAL_R); readers.add(F.off + F_IRWSEM_R); writers.add(F.off + F_INVAL_W); writers.add(F.off + F_IRWSEM_W); }
      for (const P of L.processes) { readers.add(P.off + P_MMAP_R); writers.add(P.off + P_MMAP_W); }
      const k = M.kernel(M.initial());
      for (let walk = 0; walk < 400; walk++) {
        const t = rnd(L.threads.length);
        if (M.step(k, t) === 'blocked') continue;
        const act = M.lastAction!;
        if (!act.acquire) continue;
        seen++;
        const own = L.threads[t].off;
        for (let j = 0; j < k.logN; j += 3) {
          const [i, before, after] = [k.log[j], k.log[j + 1], k.log[j + 2]];
          const where = `${file} [${kernel}] ${L.threads[t].name}: ${act.fn}: ${act.what}: word ${i} ${before} -> ${after}`;
          if (i >= own && i < own + THREAD_WORDS) {
            assert.ok(![T_STATUS, T_KEY, T_QPOS, T_TEMPREF].includes(i - own), `${where}: a thread word others read`);
            continue;
          }
          if (readers.has(i)) assert.equal(after, before + 1, `${where}: a reader count may only go up`);
          else if (writers.has(i)) assert.ok(before === 0 && after === t + 1, `${where}: a writer word may only go from free to this thread`);
          else assert.fail(`${where}: not a lock word`);
        }
      }
    }
  }
  assert.ok(seen > 100, `${seen} acquisitions checked`);
});

test('a counterexample found with acquisitions fused still shows each acquisition as a step, and replays', async () => {
  const file = join(scenariosDir, 'races', 'bug03-locked-entry-skipped.yaml');
  const r = await check(file, { kernel: 'v6.12', invariant: 'block-reuse-under-dma' });
  assert.equal(r.verdict, 'violation');
  const steps = r.violation!.steps;
  assert.ok(steps.some((s) => /xfs_ilock|invalidate_lock|inode_lock|mmap_read_lock/.test(s)), steps.join('\n'));
  const off = await check(file, { kernel: 'v6.12', invariant: 'block-reuse-under-dma', por: false });
  assert.equal(off.verdict, 'violation');
});
