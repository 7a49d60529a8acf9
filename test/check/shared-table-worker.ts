// A worker for expander.test.ts: adds fingerprints to a shared visited set, pausing when it is full.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedFingerprintTable } from '../../src/engine/check/fptable.js';

const t = new SharedFingerprintTable(workerData.table, workerData.counts, workerData.me);
let added = 0;
let i = 0;
parentPort!.on('message', (m: { rehash?: SharedArrayBuffer; deferred?: Int32Array[]; grow?: boolean }) => {
  if (m.rehash) {
    parentPort!.postMessage({ deferred: t.rehashInto(m.rehash, workerData.me, 2) });
    return;
  }
  if (m.deferred) {
    t.insertDeferred(m.deferred);
    parentPort!.postMessage({ inserted: true });
    return;
  }
  if (m.grow) {
    parentPort!.postMessage({ grown: t.grown() });
    return;
  }
  for (; i < 300000; i++) {
    if (t.full(1)) {
      parentPort!.postMessage({ paused: true, added });
      return;
    }
    // 200k fingerprints both workers add, then 100k of this worker's own (the same high words, a low word of its own)
    const own = i >= 200000;
    const hi = Math.imul(i + 1, 0x9e3779b1);
    if (t.add(hi, own ? 7 + workerData.me : i)) added++;
  }
  parentPort!.postMessage({ done: true, added });
});
