// A worker for expander.test.ts: adds fingerprints to a shared visited set, pausing when it is full.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedFingerprintTable } from '../../src/engine/check/fptable.js';

const t = new SharedFingerprintTable(workerData.table, workerData.counts, workerData.me);
let added = 0;
let i = 0;
parentPort!.on('message', (m: { rehash?: SharedArrayBuffer; grow?: boolean }) => {
  if (m.rehash) {
    t.rehashInto(m.rehash, workerData.me, 2);
    parentPort!.postMessage({ rehashed: true });
    return;
  }
  if (m.grow) {
    parentPort!.postMessage({ grown: t.grown() });
    return;
  }
  for (; i < 300000; i++) {
    if (t.full) {
      parentPort!.postMessage({ paused: true, added });
      return;
    }
    // 200k fingerprints both workers add, then 100k of this worker's own
    const own = i >= 200000;
    const hi = own ? 0x40000000 + workerData.me * 0x1000000 + i : Math.imul(i + 1, 0x9e3779b1);
    if (t.add(hi, own ? 7 : i)) added++;
  }
  parentPort!.postMessage({ done: true, added });
});
