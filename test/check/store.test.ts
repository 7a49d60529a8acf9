// The checker's state store: fingerprints, the frontier encoding, parent links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FingerprintTable } from '../../src/engine/check/fptable.js';
import { Codec, Links, StateQueue } from '../../src/engine/check/store.js';

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

test('a state encodes as its differences from the initial state and decodes back', () => {
  const init = Int32Array.from({ length: 50 }, (_, i) => i % 7);
  const codec = new Codec(init, Int32Array.from({ length: 50 }, (_, i) => i));
  const s = init.slice();
  s[3] = 99;
  s[40] = -5;
  const buf = new Int32Array(1 + 2 * 50);
  assert.equal(codec.encode(s, buf, 0), 5);
  assert.deepEqual([...buf.subarray(0, 5)], [2, 3, 99, 40, -5]);
  const fp = [codec.hi, codec.lo];
  const back = new Int32Array(50);
  codec.decode(buf, 0, back);
  assert.deepEqual(back, s);
  codec.encode(init, buf, 0);
  assert.notDeepEqual([codec.hi, codec.lo], fp, 'a different state has a different fingerprint');
  codec.encode(s.slice(), buf, 0);
  assert.deepEqual([codec.hi, codec.lo], fp, 'equal states have equal fingerprints');
});

test('the frontier is first in, first out across chunks', () => {
  const q = new StateQueue();
  for (let i = 0; i < 3000; i++) {
    q.reserve(2 + 2 * 2000);
    q.buf[q.at] = i; // ordinal
    q.buf[q.at + 1] = 2000; // pairs
    q.buf[q.at + 3] = i;
    q.buf[q.at + 4001] = -(i + 1);
    q.commit(4002); // 3000 such entries fill three 16 MiB chunks
  }
  for (let i = 0; i < 3000; i++) {
    assert.equal(q.shift(), true);
    assert.equal(q.rBuf[q.rAt], i);
    assert.equal(q.rBuf[q.rAt + 3], i);
    assert.equal(q.rBuf[q.rAt + 4001], -(i + 1));
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
