// The simulator: one interleaving, chosen by the scenario's schedule (or
// round-robin by operation), with a trace of every atomic step, the
// invariants checked after each, and the scenario's expectations.
import type { Expect, Scenario, SourcePos } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import type { KEvent, Kernel } from '../model/kernel.js';
import { kernelConfig, type KernelConfig, DEFAULT_KERNEL, KernelConfigError, findKernel, describeConfig } from '../model/versions.js';
import { checkFinal, checkInvariants, type Violation } from '../model/invariants.js';
import { S_DONE, S_SLEEPING, T_ERR, T_KEY, T_OP, T_STATUS, R_HEAD, R_ORDER, R_REF, R_LARGE, R_MAP, R_PIN, R_ENTIRE, R_MAPPING, R_INDEX, MAPPING_DAX_SHARED } from '../model/state.js';
import { errnoName } from '../model/errno.js';
import { describeKey } from '../model/kernel/kernel/wait_bit.js';
import { fileBlock } from '../model/kernel/fs/blocks.js';
import { devRec } from '../model/kernel/drivers/dax_device.js';
import { Machine } from './machine.js';
import { holdersOf, viewState, type View } from './view.js';

export interface SimOptions {
  kernel?: string;
  with?: string[];
  without?: string[];
  /** A ready-made configuration (a variant); overrides kernel/with/without. */
  config?: KernelConfig;
  /** Every action its own atomic step (a trace of `check --no-por`); default: local actions fused. */
  everyAction?: boolean;
  /** After a replay, go on round-robin to the end (what the violation leads to). */
  continueReplay?: boolean;
}

export interface TraceStep {
  index: number; // 1-based atomic step number
  thread: string;
  op: number; // 1-based operation index in the thread
  opName: string;
  fn: string; // kernel function of the action
  what: string;
  outcome: 'ran' | 'slept' | 'op-done';
  events: KEvent[];
  violations: Violation[]; // first reported at this step
}

export interface OpResult {
  thread: string;
  op: number;
  error: string;
  blocked: boolean; // it blocked or slept at least once
  done: boolean;
  step: number; // atomic step at which it completed
}

export interface ExpectResult {
  expect: Expect;
  ok: boolean;
  message: string;
}

export interface SimResult {
  scenario: Scenario;
  config: KernelConfig;
  machine: Machine;
  steps: TraceStep[];
  views: View[]; // views[0]: initial; views[i]: after step i
  ops: OpResult[];
  violations: (Violation & { step: number })[];
  expectations: ExpectResult[];
}

export function configFor(scn: Scenario, opts: SimOptions): KernelConfig {
  if (opts.config) return opts.config;
  const id = opts.kernel ?? scn.kernel ?? DEFAULT_KERNEL;
  try {
    return kernelConfig(id, opts.with ?? [], opts.without ?? []);
  } catch (e) {
    if (e instanceof KernelConfigError && !opts.kernel && scn.kernelPos) throw ScenarioError.at(scn.kernelPos, e.message);
    throw e;
  }
}

/** A replayed trace does not fit the scenario (a step that cannot run). */
export class ReplayError extends Error {}

/**
 * Run a scenario. With `replay` (thread indices, one per atomic step: a
 * counterexample from the checker), run exactly those steps instead of the
 * schedule; the end-of-run checks apply only if nothing can move afterwards.
 * keepViews: true keeps every view in the result; a function receives each
 * view instead (a long trace need not be held whole).
 */
export function simulate(scn: Scenario, opts: SimOptions = {}, keepViews: boolean | ((v: View) => void) = true, replay?: number[]): SimResult {
  const config = configFor(scn, opts);
  const M = new Machine(scn, config, !opts.everyAction);
  const s = M.initial();
  const k = M.kernel(s);
  const L = M.L;
  const steps: TraceStep[] = [];
  const touched = new Set<number>(); // folios once shown stay in the view
  const sink = typeof keepViews === 'function' ? keepViews : (v: View) => views.push(v);
  const views: View[] = [];
  if (keepViews) sink(viewState(k));
  const violations: SimResult['violations'] = [];
  const seen = new Set<string>();
  const ops: OpResult[] = [];
  const pending: Record<number, { blocked: boolean }> = {};
  const expectations: ExpectResult[] = [];
  const relevant = scn.expect.filter((e) => appliesTo(e, config));
  const lastBacking = new Map<string, number>();
  const filePages = relevant.flatMap((e) => (e.page?.kind === 'file' ? [{ f: L.files.findIndex((x) => x.name === (e.page as { file: string }).file), i: Math.floor(e.page.offset / 4096), key: `${e.page.file}@${Math.floor(e.page.offset / 4096)}` }] : []));
  const noteBacking = () => {
    for (const p of filePages) {
      const r = fileBlock(k, p.f, p.i);
      if (r >= 0) lastBacking.set(p.key, r);
    }
  };
  noteBacking();

  const record = (v: Violation, step: number) => {
    const key = `${v.id}|${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    violations.push({ ...v, step });
    return true;
  };

  const evalAt = (point: { thread?: string; op?: number }) => {
    for (const e of relevant) {
      const p = e.point;
      if (p.kind === 'end' ? point.thread !== undefined : p.thread !== point.thread || p.step !== point.op) continue;
      expectations.push(checkExpect(k, e, violations, ops, lastBacking));
    }
  };

  /** Could thread t take a step now? Tried on the state and undone: nothing is recorded. */
  const canStep = (t: number): boolean => {
    if (!M.ready(k.m, t)) return false;
    const ev = k.events;
    const warned = k.warned;
    k.events = null;
    k.warned = [];
    const moved = M.step(k, t) !== 'blocked';
    k.undo();
    k.events = ev;
    k.warned = warned;
    return moved;
  };

  /** A runnable thread whose next action cannot run (a lock held, a region not made yet) is 'blocked'. */
  const markBlocked = (v: View) => {
    for (const T of L.threads) {
      const tv = v.threads[T.name];
      if (tv.status !== 'runnable' || !M.ready(k.m, T.id) || canStep(T.id)) continue;
      const act = M.action(k.m, T.id);
      tv.status = 'blocked';
      tv.waiting = `${act.fn} (${act.what})`;
    }
  };

  /** Run one atomic step of t; false if it could not move. */
  const stepOnce = (t: number): boolean => {
    const T = L.threads[t];
    if (!M.ready(k.m, t)) return false;
    const opIdx = k.m[T.off + T_OP];
    k.events = [];
    k.warned = [];
    const outcome = M.step(k, t);
    if (outcome === 'blocked') {
      (pending[t] ??= { blocked: false }).blocked = true;
      return false;
    }
    const act = M.lastAction!;
    const idx = steps.length + 1;
    const vs: Violation[] = [];
    noteBacking();
    for (const ev of k.events) if (ev.kind === 'warn' && record({ id: ev.id!, message: ev.text }, idx)) vs.push({ id: ev.id!, message: ev.text });
    for (const v of checkInvariants(k)) if (record(v, idx)) vs.push(v);
    const st = scn.threads[t].steps[opIdx];
    steps.push({ index: idx, thread: T.name, op: opIdx + 1, opName: st.op, fn: act.fn, what: act.what, outcome, events: k.events, violations: vs });
    if (keepViews) {
      const v = viewState(k, touched);
      for (const f of Object.values(v.folios)) touched.add(f.rec);
      markBlocked(v);
      sink(v);
    }
    if (outcome === 'slept') (pending[t] ??= { blocked: false }).blocked = true;
    if (outcome === 'op-done') {
      ops.push({ thread: T.name, op: opIdx + 1, error: errnoName(k.m[T.off + T_ERR]), blocked: pending[t]?.blocked ?? false, done: true, step: idx });
      delete pending[t];
      evalAt({ thread: T.name, op: opIdx + 1 });
    }
    return true;
  };

  /** Run thread t's current operation until it completes or blocks. Returns whether anything ran. */
  const runOp = (t: number): boolean => {
    let moved = false;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const before = ops.length;
      if (!stepOnce(t)) return moved;
      moved = true;
      if (ops.length > before) return true;
    }
    throw new Error('an operation did not finish within 1,000,000 steps');
  };

  /**
   * THREAD@FUNCTION: run thread t's current operation until it has run an
   * atomic step of kernel function fn. Reaching the end of the operation, or
   * a point where the thread cannot move, first is an error: the schedule
   * would otherwise go on from a different point than the one it names.
   */
  const runUntil = (t: number, fn: string, pos: SourcePos): void => {
    const T = L.threads[t];
    const first = steps.length;
    const opIdx = k.m[T.off + T_OP];
    const ran = () => [...new Set(steps.slice(first).map((s) => s.fn))];
    const where = () => `thread ${T.name} (step ${opIdx + 1}, ${scn.threads[t].steps[opIdx].op}) on ${describeConfig(config)}`;
    const fail = (why: string) => {
      const fns = ran();
      throw ScenarioError.at(pos, `schedule entry '${T.name}@${fn}': ${where()} ${why} without running a step of ${fn}${fns.length ? `; it ran ${fns.join(', ')}` : ''}`);
    };
    for (;;) {
      const before = ops.length;
      if (!stepOnce(t)) fail(k.m[T.off + T_STATUS] === S_DONE ? 'had finished' : 'cannot move here (asleep or blocked)');
      if (steps[steps.length - 1].fn === fn) return;
      if (ops.length > before) fail('completed its operation');
    }
  };

  const done = (t: number) => k.m[L.threads[t].off + T_STATUS] === S_DONE;
  if (replay) {
    replay.forEach((t, i) => {
      if (t < 0 || t >= L.threads.length) throw new ReplayError(`step ${i + 1}: no thread #${t} in this scenario`);
      if (!stepOnce(t)) throw new ReplayError(`step ${i + 1}: thread ${L.threads[t].name} cannot move here (finished, asleep or blocked)`);
    });
    const canMove = L.threads.some((T) => canStep(T.id));
    if (canMove && !opts.continueReplay) return { scenario: scn, config, machine: M, steps, views, ops, violations, expectations };
  } else if (scn.schedule) {
    for (const e of scn.schedule) {
      const t = L.threads.findIndex((x) => x.name === e.thread);
      if (done(t)) continue;
      if (e.steps) for (let i = 0; i < e.steps && stepOnce(t); i++); // THREAD:N: preempt it after N atomic steps
      else if (e.until) runUntil(t, e.until, e.pos);
      else runOp(t);
    }
  }
  // then (or without a schedule) round-robin by operation until nothing can move
  for (let moved = !replay || !!opts.continueReplay; moved; ) {
    moved = false;
    for (const T of L.threads) if (!done(T.id) && runOp(T.id)) moved = true;
  }
  const idx = steps.length;
  for (const T of L.threads) {
    const st = k.m[T.off + T_STATUS];
    if (st === S_DONE) continue;
    const op = k.m[T.off + T_OP] + 1;
    const why = st === S_SLEEPING ? `sleeps on ${describeKey(k, k.m[T.off + T_KEY])}` : `waits in ${M.action(k.m, T.id).fn} (${M.action(k.m, T.id).what})`;
    record({ id: 'blocked-forever', message: `thread ${T.name} (step ${op}, ${scn.threads[T.id].steps[op - 1].op}) ${why}, and nothing left can wake it` }, idx);
    ops.push({ thread: T.name, op, error: 'none', blocked: true, done: false, step: idx });
  }
  for (const v of checkFinal(k)) record(v, idx);
  for (const e of replay ? [] : relevant) {
    if (e.point.kind === 'end') expectations.push(checkExpect(k, e, violations, ops, lastBacking));
    else if (!ops.some((o) => o.done && o.thread === (e.point as { thread: string }).thread && o.op === (e.point as { step: number }).step)) {
      const p = e.point as { thread: string; step: number };
      const blockedOnly = e.blocked === true && Object.keys(e).every((f) => ['point', 'kernel', 'with', 'without', 'pos', 'fieldPos', 'blocked'].includes(f));
      expectations.push({ expect: e, ok: blockedOnly, message: blockedOnly ? `${p.thread}.${p.step} never completed (blocked)` : `${p.thread}.${p.step} never completed: it is still blocked at the end` });
    }
  }
  return { scenario: scn, config, machine: M, steps, views, ops, violations, expectations };
}

/**
 * Whether an expectation is checked on this run. `kernel: K` alone means K as released;
 * `kernel: K, with: [X..], without: [Y..]` means K plus exactly those fixes (a backport)
 * and minus exactly those (a revert), so no two of these variants both apply. Without
 * `kernel`, `with` only requires those fixes to be in force and `without` those to be out.
 */
export function appliesTo(e: Expect, c: KernelConfig): boolean {
  if (e.with && !e.with.every((f) => c.fixes.has(f))) return false;
  if (e.without && e.without.some((f) => c.fixes.has(f))) return false;
  if (!e.kernel) return true;
  if (e.kernel !== c.kernel) return false;
  const want = new Set([...(findKernel(c.kernel)?.fixes ?? []), ...(e.with ?? [])]);
  for (const f of e.without ?? []) want.delete(f);
  return want.size === c.fixes.size && [...want].every((f) => c.fixes.has(f));
}

/** The folio values an expectation can check, for a page named in a scenario. */
export function pageValues(k: Kernel, page: NonNullable<Expect['page']>, lastBacking?: Map<string, number>) {
  const L = k.L;
  let r: number;
  if (page.kind === 'file') {
    const f = L.files.findIndex((x) => x.name === page.file);
    r = fileBlock(k, f, Math.floor(page.offset / 4096));
    // after a truncate or eviction, F@off still names the page that last backed it
    if (r < 0) r = lastBacking?.get(`${page.file}@${Math.floor(page.offset / 4096)}`) ?? -1;
    if (r < 0) return null;
  } else {
    const d = L.devices.findIndex((x) => x.name === page.device);
    const D = L.devices[d];
    if (page.pfn >= D.nrecs * D.alignPages) return null;
    r = devRec(k, d, page.pfn);
  }
  const h = k.m[k.r(r) + R_HEAD];
  const o = k.r(h);
  const order = k.m[o + R_ORDER];
  const mp = k.m[o + R_MAPPING];
  const shared = k.old ? mp === MAPPING_DAX_SHARED : mp === 0;
  return {
    rec: r,
    head: h,
    refcount: k.m[o + R_REF],
    mapcount: order > 0 ? k.m[o + R_LARGE] : k.m[o + R_MAP],
    pincount: k.m[o + R_PIN],
    order,
    entire_mapcount: k.m[o + R_ENTIRE],
    share: shared ? k.m[o + R_INDEX] : 0,
    mapping: mp > 0 && mp <= L.files.length ? L.files[mp - 1].name : mp === 0 ? null : mp === MAPPING_DAX_SHARED ? 'DAX_SHARED' : 'device',
    holders: holdersOf(k, h).filter((x) => x.refs > 0).length,
  };
}

function checkExpect(k: Kernel, e: Expect, violations: Violation[], ops: OpResult[], lastBacking: Map<string, number>): ExpectResult {
  const fails: string[] = [];
  const where = e.point.kind === 'end' ? 'at end' : `after ${e.point.thread}.${e.point.step}`;
  if (e.page) {
    const v = pageValues(k, e.page, lastBacking);
    const label = e.page.kind === 'file' ? `${e.page.file}@${e.page.offset}` : `${e.page.device}:${e.page.pfn}`;
    if (!v) fails.push(`${label} has no page (a hole, or outside the device)`);
    else
      for (const f of ['refcount', 'mapcount', 'pincount', 'order', 'entire_mapcount', 'share', 'holders'] as const) {
        if (e[f] !== undefined && e[f] !== v[f]) fails.push(`${label} ${f} is ${v[f]}, expected ${e[f]}`);
      }
    if (v && e.mapping !== undefined && e.mapping !== v.mapping) fails.push(`${label} mapping is ${v.mapping}, expected ${e.mapping}`);
  }
  if (e.error !== undefined && e.point.kind === 'after') {
    const p = e.point;
    const o = ops.find((x) => x.thread === p.thread && x.op === p.step);
    if (o && o.error !== e.error) fails.push(`${p.thread}.${p.step} error is ${o.error}, expected ${e.error}`);
  }
  if (e.blocked !== undefined && e.point.kind === 'after') {
    const p = e.point;
    const o = ops.find((x) => x.thread === p.thread && x.op === p.step);
    if (o && o.blocked !== e.blocked) fails.push(`${p.thread}.${p.step} ${o.blocked ? 'blocked' : 'did not block'}, expected ${e.blocked ? 'blocked' : 'not blocked'}`);
  }
  if (e.violation !== undefined) {
    const ids = [...new Set(violations.map((v) => v.id))];
    if (e.violation === 'none' ? ids.length > 0 : !ids.includes(e.violation))
      fails.push(`violations ${where}: ${ids.length ? ids.join(', ') : 'none'}; expected ${e.violation}`);
  }
  return { expect: e, ok: fails.length === 0, message: fails.length ? `${where}: ${fails.join('; ')}` : `${where}: ok` };
}
