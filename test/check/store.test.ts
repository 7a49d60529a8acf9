// The checker's state store: fingerprints, the frontier encoding, parent links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FingerprintTable } from '../../src/engine/check/fptable.js';
import { Codec, entryWords, Links, Marks, StateQueue } from '../../src/engine/check/store.js';

test('the fingerprint table keeps every distinct fingerprint once, through growth', () => {
  const t = new FingerprintTable();
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const fps: [number, number][] = [];
  for (let i = 0; i < 200_000; i++) fps.push([rnd(), rnd()]);
  for (const [hi, lo] of fps) assert.equal(t.add(hi, lo), true);
  assert.equal(t.size, 200_000);
  for (const [hi, lo] of fps.slice(0, 1000)) assert.equal(t.add(hi, lo), false);
  assert.equal(t.size, 200_000);
  assert.equal(t.has(fps[77][0], fps[77][1]), true);
  // 72%..90% full after growth: at most 8 / 0.72 bytes per fingerprint
  assert.ok(t.bytes / t.size <= 8 / 0.72 + 0.01, `${t.bytes / t.size} bytes per fingerprint`);
});

test('(0, 0) is a fingerprint like any other', () => {
  const t = new FingerprintTable();
  assert.equal(t.add(0, 0), true);
  assert.equal(t.add(0, 0), false);
  assert.equal(t.has(0, 0), true);
});

/** A (index, old, new) write log that turns `from` into `to`, with a word written twice on the way. */
function logOf(from: Int32Array, to: Int32Array): Int32Array {
  const l: number[] = [];
  for (let i = 0; i < from.length; i++) if (from[i] !== to[i]) l.push(i, from[i], from[i] + 7, i, from[i] + 7, to[i]);
  return Int32Array.from(l);
}

test('a successor hashed from its parent and the write log has the fingerprint it has from scratch', () => {
  const init = Int32Array.from({ length: 50 }, (_, i) => i % 7);
  // units {10,11,12} and {20,21,22} are interchangeable; word 30 is a lock-holder word
  const sym = { groups: [[Int32Array.of(10, 11, 12), Int32Array.of(20, 21, 22)]], unitHolder: [-1], holders: Int32Array.of(30) };
  // the last codec starts just below the point where its unit marks start over
  const late = new Codec(init, sym);
  (late as unknown as { marks: Marks }).marks.round = 0x3fffffff - 250;
  for (const codec of [new Codec(init), new Codec(init, sym), late]) {
    let x = 99;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    let parent = init.slice();
    codec.hash(parent);
    let p = [codec.h1, codec.h2];
    for (let i = 0; i < 500; i++) {
      const child = parent.slice();
      for (let w = rnd(4); w >= 0; w--) child[rnd(50)] = rnd(5);
      const l = logOf(parent, child);
      codec.step(p[0], p[1], l, l.length, child);
      const fast = [codec.hi, codec.lo, codec.h1, codec.h2];
      codec.hash(child);
      assert.deepEqual(fast, [codec.hi, codec.lo, codec.h1, codec.h2], `step ${i}`);
      parent = child;
      p = [codec.h1, codec.h2];
    }
  }
});

test('the fingerprint tells states apart, but not states that differ by a swap of interchangeable units or by who holds a lock', () => {
  const init = new Int32Array(40);
  const sym = { groups: [[Int32Array.of(10, 11, 12), Int32Array.of(20, 21, 22)]], unitHolder: [-1], holders: Int32Array.of(30) };
  const c = new Codec(init, sym);
  const fp = (set: [number, number][]) => {
    const m = init.slice();
    for (const [i, v] of set) m[i] = v;
    c.hash(m);
    return `${c.hi}:${c.lo}`;
  };
  assert.notEqual(fp([[3, 1]]), fp([]));
  assert.notEqual(fp([[3, 1]]), fp([[4, 1]]));
  assert.equal(fp([[10, 1], [11, 2], [21, 5]]), fp([[20, 1], [21, 2], [11, 5]]), 'units swapped');
  assert.notEqual(fp([[10, 1], [11, 2]]), fp([[10, 1], [21, 2]]), 'words of different units are not interchangeable');
  assert.equal(fp([[30, 2]]), fp([[30, 5]]), 'held by thread 1 or 4');
  assert.notEqual(fp([[30, 2]]), fp([]), 'held or free');
  // a unit's own holder word (its process's mmap_lock) counts as held/free; its other words as they are
  const u = new Codec(init, { groups: [[Int32Array.of(10, 11, 12), Int32Array.of(20, 21, 22)]], unitHolder: [1], holders: Int32Array.of() });
  const ufp = (set: [number, number][]) => {
    const m = init.slice();
    for (const [i, v] of set) m[i] = v;
    u.hash(m);
    return `${u.hi}:${u.lo}`;
  };
  assert.equal(ufp([[11, 2]]), ufp([[21, 5]]), 'held by thread 1 in one unit, thread 4 in the other');
  assert.notEqual(ufp([[11, 2]]), ufp([]), 'held or free inside a unit');
  assert.notEqual(ufp([[12, 2]]), ufp([[12, 5]]), 'other unit words count as they are');
});

test('an entry decodes back to its state: each differing word packed with its index, wide values escaped', () => {
  for (const n of [2, 50, 581, 5000, 1 << 20]) {
    const init = Int32Array.from({ length: n }, (_, i) => i % 7);
    const codec = new Codec(init);
    const pk = codec.packing;
    const lim = -pk.esc;
    // values around the packable range's edges, the escape itself, and the widest
    const values = [0, 1, -1, lim - 1, -(lim - 1), lim, -lim, pk.esc - 1, 0x7fffffff, -0x80000000];
    const want = init.slice();
    const buf = new Int32Array(3 + 2 * values.length);
    buf[0] = 11;
    buf[1] = 22;
    let w = 3;
    values.forEach((v, j) => {
      const i = (n - 1 - j * 7919) % n; // spread over the state, the highest index first
      const at = (i + n) % n;
      if (want[at] !== init[at]) return; // one value per word
      want[at] = v;
      w += pk.put(buf, w, at, v);
    });
    buf[2] = w - 3;
    assert.equal(entryWords(buf, 0), w, `n = ${n}: the entry's length`);
    assert.ok(w - 3 < 2 * values.length, `n = ${n}: narrow values take one word`);
    const back = new Int32Array(n);
    codec.decode(buf, 0, back);
    assert.deepEqual(back, want, `n = ${n}`);
  }
});

test('the frontier is first in, first out across chunks', () => {
  const q = new StateQueue();
  for (let i = 0; i < 3000; i++) {
    q.reserve(4 + 2 * 2000);
    q.buf[q.at] = i; // ordinal
    q.buf[q.at + 3] = 4000; // body words
    q.buf[q.at + 5] = i;
    q.buf[q.at + 4003] = -(i + 1);
    q.commit(4004); // 3000 such entries (12M words) fill 47 chunks of 1 MiB, 65 entries each
  }
  for (let i = 0; i < 3000; i++) {
    assert.equal(q.shift(), true);
    assert.equal(q.rBuf[q.rAt], i);
    assert.equal(q.rBuf[q.rAt + 5], i);
    assert.equal(q.rBuf[q.rAt + 4003], -(i + 1));
  }
  assert.equal(q.shift(), false);
});

test('parent links give the thread sequence back to the initial state', () => {
  const l = new Links(8); // threads 0..7
  l.push(0, 0); // the initial state
  const a = l.push(0, 5);
  const b = l.push(a, 2);
  const c = l.push(b, 7);
  assert.deepEqual(l.path(c), [5, 2, 7]);
  assert.deepEqual(l.get(c), { parent: b, thread: 7 });
});
