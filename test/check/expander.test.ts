// The checker's in-place stepping: a step's write log gives the successor's
// fingerprint and entry, and undoing it gives the parent back, on real
// scenarios and every kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scenarioFiles, scenariosDir } from '../scenario-files.js';
import { Worker } from 'node:worker_threads';
import { loadScenarioFile } from '../../src/scenario/index.js';
import { Machine } from '../../src/engine/machine.js';
import { configFor } from '../../src/engine/simulate.js';
import { ChunkPool, Codec, ENTRY_HDR, StateQueue } from '../../src/engine/check/store.js';
import { Expander } from '../../src/engine/check/expander.js';
import { findSymmetry } from '../../src/engine/check/symmetry.js';
import { SharedFingerprintTable } from '../../src/engine/check/fptable.js';

const root = scenariosDir;
const scenarios = [...scenarioFiles('races', 'check'), join(root, 'bench', 'none-k2f2p2w1.yaml')];

test('random walks: every successor fingerprint from the write log equals the one hashed from scratch, its entry decodes to it, and undo restores the parent', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  let steps = 0;
  for (const file of scenarios) {
    const scn = loadScenarioFile(file);
    for (const kernel of ['v6.12', 'latest']) {
      const M = new Machine(scn, configFor(scn, { kernel }));
      const init = M.initial().m;
      const codec = new Codec(init, findSymmetry(scn, M.L, init));
      const x = new Expander(M, codec);
      const entry = new Int32Array(ENTRY_HDR + 2 * init.length);
      const back = new Int32Array(init.length);
      x.writeInitial(entry, 0);
      for (let walk = 0; walk < 20; walk++) {
        x.writeInitial(entry, 0);
        x.load(entry, 0);
        for (let depth = 0; depth < 60; depth++) {
          const parent = x.cur.slice();
          const movers: number[] = [];
          for (let t = 0; t < M.L.threads.length; t++) {
            if (!M.ready(x.cur, t) || x.step(t) === 'blocked') continue;
            movers.push(t);
            for (let j = 0; j < x.k.logN; j += 3) {
              const i = x.k.log[j];
              assert.ok(Number.isInteger(i) && i >= 0 && i < init.length, `${file} ${kernel}: a write inside the state (word ${i})`);
            }
            const fp = [codec.hi, codec.lo];
            const child = x.cur.slice();
            x.write(entry, 0);
            codec.decode(entry, 0, back);
            assert.deepEqual(back, child, `${file} ${kernel}: the entry decodes to the successor`);
            codec.hash(child);
            assert.deepEqual(fp, [codec.hi, codec.lo], `${file} ${kernel}: thread ${t} after ${depth} steps`);
            x.undo();
            assert.deepEqual(x.cur, parent, `${file} ${kernel}: undo gives the parent back`);
            steps++;
          }
          if (!movers.length) break;
          // go on from a random successor
          x.step(movers[rnd(movers.length)]);
          x.write(entry, 0);
          x.undo();
          x.load(entry, 0);
        }
      }
    }
  }
  assert.ok(steps > 5000, `${steps} steps checked`);
});

test('the shared visited set: each fingerprint stored once, also when two workers insert the same ones at once and it grows', async () => {
  const counts = SharedFingerprintTable.countsFor(2);
  const t = new SharedFingerprintTable(null, counts, 0);
  assert.equal(t.add(5, 6), true);
  assert.equal(t.add(5, 6), false);
  assert.equal(t.add(0, 0), true, '(0, 0) is stored (remapped)');
  assert.equal(t.add(0, 0), false);
  // two workers add the same 200k fingerprints (and 100k of their own each), pausing to grow as the search does
  const shared = new SharedFingerprintTable(null, SharedFingerprintTable.countsFor(2), 0);
  const workers = [0, 1].map((me) => new Worker(new URL('./shared-table-worker.js', import.meta.url), { workerData: { table: shared.buffer, counts: shared.countsBuffer, me } }));
  const ask = (w: Worker, m: object) => new Promise<any>((res) => (w.once('message', res), w.postMessage(m)));
  let added = [0, 0];
  let deferred = 0;
  let current = shared.buffer;
  for (;;) {
    const r = await Promise.all(workers.map((w) => ask(w, { go: true })));
    added = r.map((x) => x.added);
    if (r.every((x) => x.done)) break;
    const g = await ask(workers[0], { grow: true });
    current = g.grown;
    const parts = await Promise.all(workers.map((w) => ask(w, { rehash: g.grown })));
    deferred += parts.reduce((a, p) => a + p.deferred.length / 2, 0);
    await ask(workers[0], { deferred: parts.map((p) => p.deferred) });
  }
  for (const w of workers) await w.terminate();
  assert.equal(added[0] + added[1], 400000, 'the 200k common fingerprints once, and each worker its own 100k');
  assert.ok(deferred > 0, 'some rehashed fingerprints were left for the second pass');
  const check = new SharedFingerprintTable(current, shared.countsBuffer, 0);
  for (let i = 0; i < 200000; i++) assert.equal(check.add(Math.imul(i + 1, 0x9e3779b1), i), false, `common fingerprint ${i} was kept through every growth`);
});

test('the shared visited set: workers that ask full() before each state never fill it, whatever the order they run in', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (const perState of [1, 4, 9]) {
    for (let run = 0; run < 20; run++) {
      const counts = SharedFingerprintTable.countsFor(2);
      const a = new SharedFingerprintTable(null, counts, 0);
      const views = [a, new SharedFingerprintTable(a.buffer, counts, 1)];
      const slots = a.bytes / 8;
      const paused = [false, false];
      let fp = 1;
      while (!paused[0] || !paused[1]) {
        const w = rnd(2); // one worker runs a stretch of states while the other waits
        for (let k = rnd(400); k > 0 && !paused[w]; k--) {
          if (views[w].full(perState)) paused[w] = true;
          else for (let j = 0; j < perState; j++) views[w].add(Math.imul(fp++, 0x9e3779b1), fp);
        }
        assert.ok(a.size < slots, `perState ${perState}: ${a.size} fingerprints in ${slots} slots`);
      }
      assert.ok(a.size > Math.floor(slots * 0.88), 'both paused only once the table is past its limit');
      assert.ok(a.size <= Math.floor(slots * 0.88) + (slots - Math.floor(slots * 0.88)) / 2 + 2 * perState, `at most half the room above the limit used (${a.size} of ${slots})`);
    }
  }
});

test('the frontier takes the chunks another queue hands over, in order after its own, and reuses consumed chunks', () => {
  const pool = new ChunkPool();
  const q = new StateQueue(pool);
  const put = (into: StateQueue, ordinal: number, words: number[]) => {
    into.reserve(1 + ENTRY_HDR + words.length);
    into.buf.set([ordinal, 0, 0, words.length, ...words], into.at);
    into.commit(1 + ENTRY_HDR + words.length);
  };
  put(q, 1, []);
  const other = new StateQueue();
  put(other, 2, [5, 9]);
  put(other, 3, []);
  const handed = other.handOver();
  assert.equal(handed.entries, 2);
  assert.equal(other.length, 0, 'the handing queue is empty afterwards');
  q.adopt(handed.chunks, handed.entries);
  put(q, 4, [7, 1, 8, 2]);
  const seen: number[] = [];
  const chunks = new Set<Int32Array>();
  while (q.shift()) { seen.push(q.rBuf[q.rAt]); chunks.add(q.rBuf); }
  assert.deepEqual(seen, [1, 2, 3, 4]);
  q.clear();
  const reused = [pool.take(), pool.take(), pool.take()];
  assert.ok(reused.every((c) => chunks.has(c)), 'the three consumed chunks come back from the pool');
});

test('a frontier splits what is left to read in half, at an entry, wherever its chunks end', () => {
  const put = (into: StateQueue, ordinal: number) => {
    const words = Array.from({ length: ordinal % 3 }, (_, j) => ordinal * 10 + j);
    into.reserve(1 + ENTRY_HDR + words.length);
    into.buf.set([ordinal, 0, 0, words.length, ...words], into.at);
    into.commit(1 + ENTRY_HDR + words.length);
  };
  const drain = (q: StateQueue) => {
    const out: number[] = [];
    while (q.shift()) {
      const o = q.rBuf[q.rAt];
      const body = [...q.rBuf.subarray(q.rAt + 1 + ENTRY_HDR, q.rAt + 1 + ENTRY_HDR + q.rBuf[q.rAt + 3])];
      assert.deepEqual(body, Array.from({ length: o % 3 }, (_, j) => o * 10 + j), `entry ${o} arrives whole`);
      out.push(o);
    }
    return out;
  };
  // 9 entries in chunks of 1, 3 and 5 (each a queue handed over), then 2 written after them, into a
  // reused chunk full of old entries (whose ends only the marker the queue writes tells apart)
  for (let read = 0; read <= 10; read++) {
    const pool = new ChunkPool();
    const dirty = new StateQueue(pool);
    for (let i = 0; i < 50; i++) put(dirty, 100 + (i % 3));
    dirty.clear();
    const q = new StateQueue(pool);
    let next = 1;
    for (const size of [1, 3, 5]) {
      const part = new StateQueue();
      for (let i = 0; i < size; i++) put(part, next++);
      const h = part.handOver();
      q.adopt(h.chunks, h.entries);
    }
    put(q, next++);
    put(q, next++);
    const all = Array.from({ length: 11 }, (_, i) => i + 1);
    const first: number[] = [];
    for (let i = 0; i < read; i++) {
      q.shift();
      first.push(q.rBuf[q.rAt]);
    }
    const left = 11 - read;
    const half = q.splitHalf(2);
    if (left < 2) {
      assert.equal(half, null, `${left} entries left: nothing to split`);
      continue;
    }
    assert.ok(half);
    assert.equal(half.entries, left >> 1, `after reading ${read}: the second half's entries`);
    assert.equal(q.length, left - (left >> 1));
    const kept = drain(q);
    // the receiver adopts the half, then more after it: the half's last chunk must say where it ends
    const other = new StateQueue();
    other.adopt(half.chunks, half.entries);
    const more = new StateQueue();
    put(more, 12);
    const h = more.handOver();
    other.adopt(h.chunks, h.entries);
    const moved = drain(other);
    assert.deepEqual([...first, ...kept, ...moved], [...all, 12], `after reading ${read}: every entry once, in order`);
    assert.equal(moved.length, half.entries + 1);
  }
});
