// One worker of the 2-worker search (parallel.ts), running the search core
// (explore.ts) against one visited set shared by both workers
// (SharedFingerprintTable), so only new states move between them: a worker
// keeps the parent link of each state it finds first and deals the new states
// of every other block of states it expands to the other worker, so both
// levels stay about the same size. Violations
// found in a level are all at the same depth, so a trace is as short as with
// one worker.
import { parentPort, workerData } from 'node:worker_threads';
import type { Scenario } from '../../scenario/types.js';
import { Machine } from '../machine.js';
import { configFor, type SimOptions } from '../simulate.js';
import { SharedFingerprintTable } from './fptable.js';
import { Explorer, type Found } from './explore.js';

export type { Found };

export interface WorkerInit {
  scenario: Scenario;
  sim: SimOptions;
  por: boolean;
  symmetry: boolean;
  invariant?: string;
  id: number;
  workers: number;
  table: SharedArrayBuffer;
  counts: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'expand'; deadline: number }
  | { type: 'grow' }
  | { type: 'rehash'; table: SharedArrayBuffer }
  | { type: 'insertDeferred'; deferred: Int32Array[] }
  | { type: 'next' }
  | { type: 'absorb'; inbox: ArrayBuffer[]; entries: number }
  | { type: 'link'; gid: number };

/** How an expand request ended: the level is done here, the table must grow first, time ran out, or the parent links cannot take more global ids. */
export type ExpandStatus = 'done' | 'paused' | 'timedOut' | 'linksFull';

export type FromWorker =
  | { type: 'ready'; found?: Found }
  | { type: 'expanded'; transitions: number; found?: Found; status: ExpandStatus }
  | { type: 'grown'; table: SharedArrayBuffer }
  | { type: 'rehashed'; deferred: Int32Array }
  | { type: 'inserted' }
  | { type: 'dealt'; outbox: ArrayBuffer[]; entries: number }
  | { type: 'level'; states: number; queue: number; bytes: number }
  | { type: 'link'; parent: number; thread: number };

const init = workerData as WorkerInit;
const W = init.workers;
const me = init.id;
const M = new Machine(init.scenario, configFor(init.scenario, init.sim), init.por);
const table = new SharedFingerprintTable(init.table, init.counts, me);
const E = new Explorer(M, table, { por: init.por, symmetry: init.symmetry, invariant: init.invariant, worker: me, workers: W });
E.dealOut();

function expand(deadline: number): FromWorker {
  let status: ExpandStatus = 'done';
  const before = E.transitions;
  const r = E.expandLevel((i) => {
    if ((i & 1023) === 0 && Date.now() > deadline) status = 'timedOut';
    else if ((E.links.length + 64) * W >= E.links.maxStates) status = 'linksFull'; // a link holds its parent's gid
    else if (table.full) status = 'paused';
    else return false;
    return true;
  });
  const transitions = E.transitions - before;
  if (r === 'found') return { type: 'expanded', transitions, found: E.found, status: 'done' };
  return { type: 'expanded', transitions, status: r === 'done' ? 'done' : status };
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
  if (msg.type === 'expand') r = expand(msg.deadline);
  else if (msg.type === 'grow') r = { type: 'grown', table: table.grown() };
  else if (msg.type === 'rehash') {
    r = { type: 'rehashed', deferred: table.rehashInto(msg.table, me, W) };
  } else if (msg.type === 'insertDeferred') {
    table.insertDeferred(msg.deferred);
    r = { type: 'inserted' };
  } else if (msg.type === 'next') {
    const o = E.takeOut();
    r = { type: 'dealt', outbox: o.chunks.map((c) => c.buffer as ArrayBuffer), entries: o.entries };
  } else if (msg.type === 'absorb') {
    E.nextLevel({ chunks: msg.inbox.map((b) => new Int32Array(b)), entries: msg.entries });
    r = level();
  } else {
    const l = E.links.get(Math.floor(msg.gid / W));
    r = { type: 'link', parent: l.parent, thread: l.thread };
  }
  parentPort!.postMessage(r, r.type === 'dealt' ? r.outbox : []);
});
