// The 2-worker search: breadth-first, one level at a time, both workers
// expanding their own part of the frontier against one shared visited set
// (worker.ts). This thread only paces the levels, has the table grown while
// both workers are paused, and rebuilds a counterexample from their links.
import { Worker } from 'node:worker_threads';
import type { Scenario } from '../../scenario/types.js';
import type { SimOptions } from '../simulate.js';
import type { SearchOptions, SearchResult } from './bfs.js';
import { fmtBytes } from './bfs.js';
import { CTL_PAUSE, CTL_SPLIT, transferOf, type Found, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { SharedFingerprintTable } from './fptable.js';

const WORKERS = 2;

class Channel {
  private waiting: ((m: FromWorker) => void)[] = [];
  private failed: Error | null = null;
  constructor(readonly w: Worker) {
    w.on('message', (m: FromWorker) => this.waiting.shift()?.(m));
    w.on('error', (e) => {
      this.failed = e;
      for (const f of this.waiting.splice(0)) f({ type: 'link', parent: -1, thread: -1 });
    });
  }
  /** The worker's next message (after sending `msg`, if given). */
  ask<T extends FromWorker['type']>(msg: ToWorker | null, transfer: ArrayBuffer[] = []): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.waiting.push((m) => (this.failed ? reject(this.failed) : resolve(m as Extract<FromWorker, { type: T }>)));
      if (msg) this.w.postMessage(msg, transfer);
    });
  }
}

export async function searchParallel(scn: Scenario, sim: SimOptions, o: SearchOptions): Promise<SearchResult> {
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const url = new URL('./worker.js', import.meta.url);
  const chans: Channel[] = [];
  const counts = SharedFingerprintTable.countsFor(WORKERS);
  const table = new SharedFingerprintTable(null, counts, 0).buffer;
  const control = new Int32Array(new SharedArrayBuffer((CTL_SPLIT + WORKERS) * 4));
  for (let id = 0; id < WORKERS; id++) {
    const data: WorkerInit = { scenario: scn, sim, por: o.por, symmetry: o.symmetry, invariant: o.invariant, id, workers: WORKERS, table, counts, control: control.buffer as SharedArrayBuffer };
    chans.push(new Channel(new Worker(url, { workerData: data })));
  }
  let states = 0;
  let transitions = 0;
  let depth = 0;
  let bytes = 0;
  const result = (verdict: SearchResult['verdict'], extra: Partial<SearchResult> = {}): SearchResult => ({
    verdict, states, transitions, depth, seconds: elapsed(), bytesPerState: bytes / Math.max(1, states), ...extra,
  });
  try {
    const ready = await Promise.all(chans.map((c) => c.ask<'ready'>(null)));
    states = 1;
    const rootGid = 0; // worker 0's first state
    const pathTo = async (gid: number): Promise<number[]> => {
      const out: number[] = [];
      while (gid !== rootGid) {
        const l = await chans[gid % WORKERS].ask<'link'>({ type: 'link', gid });
        out.push(l.thread);
        gid = l.parent;
      }
      return out.reverse();
    };
    const report = async (f: Found): Promise<SearchResult> => {
      const path = f.kind === 'state' ? await pathTo(f.gid) : [...(await pathTo(f.parent)), f.thread];
      return result('violation', { violation: { id: f.id, message: f.message, path } });
    };
    const first = ready.find((r) => r.found)?.found;
    if (first) return await report(first);

    for (let queued = 1; queued > 0; ) {
      const deadline = Date.now() + (Number.isFinite(o.maxSeconds) ? Math.max(0, o.maxSeconds - elapsed()) * 1000 : 1e12);
      // expand the level, each worker its own part; a worker done early gets
      // half of what the other has left; whenever the shared table is too
      // full, both workers pause and one grows it
      for (;;) {
        type Expanded = Extract<FromWorker, { type: 'expanded' }>;
        const running = new Map<number, Promise<[number, Expanded]>>();
        const go = (w: number, msg: ToWorker, transfer: ArrayBuffer[] = []) =>
          running.set(w, chans[w].ask<'expanded'>(msg, transfer).then((r): [number, Expanded] => [w, r]));
        for (let w = 0; w < WORKERS; w++) go(w, { type: 'expand', deadline });
        let paused = false;
        while (running.size > 0) {
          const [w, r] = await Promise.race(running.values());
          running.delete(w);
          Atomics.store(control, CTL_SPLIT + w, 0); // a request it did not act on lapses
          transitions += r.transitions;
          if (r.found) return await report(r.found);
          if (r.status === 'timedOut') return result('incomplete', { incomplete: `time bound (${o.maxSeconds} s) reached` });
          if (r.status === 'linksFull') return result('incomplete', { incomplete: 'parent links full (the global state ids reached 2^32 / threads)' });
          if (r.status === 'paused') paused = true;
          else if (r.status === 'split') {
            const idle = [...Array(WORKERS).keys()].find((u) => u !== w && !running.has(u))!;
            go(idle, { type: 'expand', deadline, inbox: r.split }, transferOf(r.split));
            go(w, { type: 'expand', deadline });
          } else if (!paused) for (const u of running.keys()) Atomics.store(control, CTL_SPLIT + u, 1);
        }
        if (!paused) break;
        const g = await chans[0].ask<'grown'>({ type: 'grow' });
        const parts = await Promise.all(chans.map((c) => c.ask<'rehashed'>({ type: 'rehash', table: g.table })));
        await chans[0].ask<'inserted'>({ type: 'insertDeferred', deferred: parts.map((p) => p.deferred) });
        Atomics.store(control, CTL_PAUSE, 0);
      }
      // each worker takes the new states the other dealt it
      const dealt = await Promise.all(chans.map((c) => c.ask<'dealt'>({ type: 'next' })));
      const lv = await Promise.all(chans.map((c, i) => {
        const from = dealt[(i + 1) % WORKERS];
        return c.ask<'level'>({ type: 'absorb', inbox: from.outbox }, transferOf(from.outbox));
      }));
      states = lv.reduce((a, r) => a + r.states, 0);
      bytes = lv.reduce((a, r) => a + r.bytes, 0);
      queued = lv.reduce((a, r) => a + r.queue, 0);
      if (queued > 0) depth++;
      const rss = process.memoryUsage.rss();
      o.onProgress?.({ states, transitions, depth, queue: queued, seconds: elapsed(), rss });
      if (states >= o.maxStates && queued > 0) return result('incomplete', { incomplete: `state bound (${o.maxStates}) reached` });
      if (rss > o.maxMemory) return result('incomplete', { incomplete: `memory bound (${fmtBytes(o.maxMemory)}) reached` });
    }
    return result('ok');
  } finally {
    await Promise.all(chans.map((c) => c.w.terminate()));
  }
}
