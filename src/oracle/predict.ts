// The model's prediction for an oracle run: the scenario's schedule run the way the real
// kernel runs it (oracle/guest/runtime.c). The one difference from `daxref run`: a step that
// a later step releases finishes at once, as it does in the kernel, instead of waiting for
// its thread's next schedule slot; that slot then finds it done ("resumed").
import type { Scenario } from '../scenario/types.js';
import { kernelConfig } from '../model/versions.js';
import { S_DONE, T_ERR, T_OP, T_STATUS } from '../model/state.js';
import { errnoName } from '../model/errno.js';
import { fileBlock } from '../model/kernel/fs/blocks.js';
import { Machine } from '../engine/machine.js';
import { pageValues } from '../engine/simulate.js';
import type { EntryObs, Observation, PageObs } from './observe.js';
import type { OraclePage } from './translate.js';

/** The model's observation, and where each thread left unfinished stands (the function of its next step). */
export type Prediction = Observation & { asleep: { thread: string; fn: string }[] };

export function predict(scn: Scenario, kernel: string, pages: OraclePage[]): Prediction {
  const M = new Machine(scn, kernelConfig(kernel, [], []));
  const k = M.kernel(M.initial());
  const L = M.L;
  const n = L.threads.length;
  const base: number[] = [];
  scn.threads.reduce((acc, t, i) => ((base[i] = acc), acc + t.steps.length), 0);
  const obs: Observation = { entries: [], steps: new Map(), pages: [], unfinished: [], problems: [], warns: [] };
  const pending: number[] = new Array(n).fill(-1);
  const owes: boolean[] = new Array(n).fill(false);
  const lastBacking = new Map<string, number>();
  const keys = pages.map((p) => ({ f: L.files.findIndex((x) => x.name === p.file), i: p.offset / 4096, key: `${p.file}@${p.offset / 4096}` }));
  const noteBacking = () => {
    for (const p of keys) {
      const r = fileBlock(k, p.f, p.i);
      if (r >= 0) lastBacking.set(p.key, r);
    }
  };
  const readPages = () =>
    obs.pages.push(
      pages.map((p): PageObs | null => {
        const v = pageValues(k, { kind: 'file', file: p.file, offset: p.offset }, lastBacking);
        if (!v) return null;
        return { refcount: v.refcount, mapcount: v.mapcount, pincount: v.order > 0 ? v.pincount : -1, order: v.order, mapping: v.mapping };
      }),
    );
  const done = (t: number) => k.m[L.threads[t].off + T_STATUS] === S_DONE;
  const current = (t: number) => base[t] + k.m[L.threads[t].off + T_OP];

  /** Run thread t until its current step finishes (true) or it cannot move. */
  const runOp = (t: number): boolean => {
    for (let guard = 0; guard < 1_000_000; guard++) {
      k.events = [];
      const out = M.step(k, t);
      for (const ev of k.events) if (ev.kind === 'warn' && ev.id?.startsWith('warn-') && !obs.warns.includes(ev.fn)) obs.warns.push(ev.fn);
      if (out === 'blocked') return false;
      noteBacking();
      if (out === 'op-done') return true;
      if (out === 'slept' && !M.ready(k.m, t)) return false;
    }
    throw new Error('a step did not finish within 1,000,000 atomic steps');
  };
  const finish = (t: number, e: number, blocked: boolean) => {
    const s = pending[t];
    obs.steps.set(s, { step: s, entry: e, blocked, error: errnoName(k.m[L.threads[t].off + T_ERR]) });
    pending[t] = -1;
  };

  const entry = (e: number, t: number): boolean => {
    const T = L.threads[t].name;
    let moved = true;
    const rec = (kind: EntryObs['kind'], step: number) => obs.entries.push({ entry: e, thread: T, kind, step });
    if (owes[t]) {
      owes[t] = false;
      if (pending[t] >= 0) {
        rec('wait', pending[t]);
        if (runOp(t)) finish(t, e, true);
        else owes[t] = true;
      } else rec('resumed', -1);
    } else if (done(t)) {
      rec('idle', -1);
      moved = false;
    } else {
      const s = current(t);
      rec('start', s);
      pending[t] = s;
      if (runOp(t)) finish(t, e, false);
      else owes[t] = true;
    }
    // steps released by this entry finish now
    for (let again = true; again; ) {
      again = false;
      for (let u = 0; u < n; u++) if (pending[u] >= 0 && runOp(u)) (finish(u, e, true), (again = true));
    }
    readPages();
    return moved;
  };

  noteBacking();
  readPages();
  let e = 0;
  for (const s of scn.schedule ?? []) entry(e++, L.threads.findIndex((x) => x.name === s.thread));
  const nsteps = scn.threads.reduce((a, t) => a + t.steps.length, 0);
  const limit = 4 * nsteps + (scn.schedule?.length ?? 0) + 8;
  for (let moved = true; moved && e < limit; ) {
    moved = false;
    for (let t = 0; t < n; t++) {
      if (done(t) && pending[t] < 0) continue;
      if (pending[t] >= 0 && !owes[t]) continue;
      const was = pending[t];
      entry(e++, t);
      if (was < 0 || pending[t] < 0) moved = true;
    }
  }
  for (let t = 0; t < n; t++) if (pending[t] >= 0) obs.unfinished.push(pending[t]);
  const asleep = L.threads.filter((T) => !done(T.id)).map((T) => ({ thread: T.name, fn: M.action(k.m, T.id).fn }));
  return { ...obs, asleep };
}

/**
 * Kernel waits no signal ends: dax_break_layout_final's wait for an idle page (eviction, unmount)
 * and memunmap_pages' wait_for_completion. A real thread left asleep in one never exits.
 */
const UNINTERRUPTIBLE = new Set(['dax_break_layout_final', 'memunmap_pages']);

/**
 * Where the model, run as the oracle runs the scenario on `kernel`, leaves a thread asleep for
 * good in an uninterruptible wait ("thread app in dax_break_layout_final"), or null. Such a real
 * run never ends: its process cannot be killed, its filesystem never unmounts, and every later
 * scenario of the same boot would fail.
 */
export function hangsUninterruptibly(scn: Scenario, kernel: string): string | null {
  const s = predict(scn, kernel, []).asleep.find((x) => UNINTERRUPTIBLE.has(x.fn));
  return s ? `thread ${s.thread} in ${s.fn}` : null;
}
