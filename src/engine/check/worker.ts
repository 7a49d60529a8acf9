// One worker of the 2-worker search (parallel.ts), running the search core
// (explore.ts) against one visited set shared by both workers
// (SharedFingerprintTable), so only new states move between them: a worker
// keeps the parent link of each state it finds first, and at the end of a
// level hands the second half of the new states it found to the other worker,
// so both next levels are the same size. A worker left with nothing to expand
// while the other still has states gets half of those (the main thread asks
// through a control word). Violations found in a level are all at the same
// depth, so a trace is as short as with one worker.
import { parentPort, workerData } from 'node:worker_threads';
import { Machine } from '../machine.js';
import { configFor } from '../simulate.js';
import { SharedFingerprintTable } from './fptable.js';
import { Explorer } from './explore.js';
import { CTL_PAUSE, CTL_SPLIT, MIN_SPLIT, transferOf, type ExpandStatus, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import type { Handed } from './store.js';

const init = workerData as WorkerInit;
const W = init.workers;
const me = init.id;
const M = new Machine(init.scenario, configFor(init.scenario, init.sim), init.por, init.por);
const table = new SharedFingerprintTable(init.table, init.counts, me);
const E = new Explorer(M, table, { por: init.por, symmetry: init.symmetry, invariant: init.invariant, worker: me, workers: W });

const control = new Int32Array(init.control);
const perState = M.L.threads.length; // the most new states one expanded state adds

function expand(deadline: number): FromWorker {
  let status: ExpandStatus = 'done';
  let split = null as Handed | null;
  const before = E.transitions;
  const r = E.expandLevel((i) => {
    if ((i & 1023) === 0 && Date.now() > deadline) status = 'timedOut';
    else if ((E.links.length + 64) * W >= E.links.maxStates) status = 'linksFull'; // a link holds its parent's gid
    else if (control[CTL_PAUSE] !== 0) status = 'paused';
    else if (table.full(perState)) {
      Atomics.store(control, CTL_PAUSE, 1); // the other worker stops at its next state, not at its next reading of the counts
      status = 'paused';
    } else if (control[CTL_SPLIT + me] !== 0) {
      Atomics.store(control, CTL_SPLIT + me, 0);
      split = E.queue.splitHalf(MIN_SPLIT);
      if (!split) return false;
      status = 'split';
    } else return false;
    return true;
  });
  const transitions = E.transitions - before;
  if (r === 'found') return { type: 'expanded', transitions, found: E.found, status: 'done' };
  const out: FromWorker = { type: 'expanded', transitions, status: r === 'done' ? 'done' : status };
  if (r === 'stopped' && split) out.split = split;
  return out;
}

function level(): FromWorker {
  return { type: 'level', states: E.links.length, queue: E.queue.length, bytes: E.links.bytes + (me === 0 ? table.bytes : 0) };
}

// worker 0 starts from the initial state
if (me === 0) E.start();
E.nextLevel();
parentPort!.postMessage({ type: 'ready', found: E.found } satisfies FromWorker);

parentPort!.on('message', (msg: ToWorker) => {
  let r: FromWorker;
  if (msg.type === 'expand') {
    if (msg.inbox) E.queue.adopt(msg.inbox.chunks, msg.inbox.entries);
    r = expand(msg.deadline);
  }
  else if (msg.type === 'grow') r = { type: 'grown', table: table.grown() };
  else if (msg.type === 'rehash') {
    r = { type: 'rehashed', deferred: table.rehashInto(msg.table, me, W) };
  } else if (msg.type === 'insertDeferred') {
    table.insertDeferred(msg.deferred);
    r = { type: 'inserted' };
  } else if (msg.type === 'next') {
    r = { type: 'dealt', outbox: E.takeOut() };
  } else if (msg.type === 'absorb') {
    E.nextLevel(msg.inbox);
    r = level();
  } else {
    const l = E.links.get(Math.floor(msg.gid / W));
    r = { type: 'link', parent: l.parent, thread: l.thread };
  }
  parentPort!.postMessage(r, transferOf(r.type === 'dealt' ? r.outbox : r.type === 'expanded' ? r.split : undefined));
});
