// The JSON trace: ITF-shaped (Apalache's Informal Trace Format): `vars`, and
// `states`, each with a `#meta` naming the action that led to it; plus a
// per-step `diff` of the view (path -> [before, after]). Documented in
// docs/trace-format.md.
import type { SimResult } from '../engine/simulate.js';
import { describeConfig } from '../model/versions.js';
import { INVARIANTS } from '../model/invariants.js';

const RULES = new Map(INVARIANTS.map((i) => [i.id, i.rule]));

export function diffViews(a: unknown, b: unknown, path = '', out: Record<string, [unknown, unknown]> = {}): Record<string, [unknown, unknown]> {
  if (a === b) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) diffViews((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key, out);
    return out;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out[path] = [a ?? null, b ?? null];
  return out;
}

/** The `#meta` of a whole trace. */
export function traceMeta(r: SimResult) {
  return {
    format: 'ITF',
    'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
    source: r.scenario.source,
    scenario: r.scenario.name,
    description: `daxref run of "${r.scenario.name}"`,
    kernel: describeConfig(r.config),
    scheme: r.config.scheme,
    fixes: [...r.config.fixes],
    // 'every action': each action was a step of its own (daxref check --no-por); replay must do the same
    granularity: r.machine.fuseLocal ? 'local actions fused' : 'every action',
  };
}

/** The `#meta` of state i (i >= 1: after step i), given the diff of its view. */
export function stepMeta(r: SimResult, i: number, diff: Record<string, [unknown, unknown]>) {
  const s = r.steps[i - 1];
  return { index: i, action: `${s.thread}: ${s.fn}`, thread: s.thread, op: s.op, opName: s.opName, fn: s.fn, what: s.what, outcome: s.outcome, events: s.events.map((e) => ({ kind: e.kind, fn: e.fn, text: e.text, ...(e.id ? { id: e.id } : {}) })), violations: s.violations, diff };
}

/** Everything of the trace but its states. */
export function traceTail(r: SimResult) {
  return {
    ops: r.ops,
    // `rule`: the invariant in words (absent for kernel WARNs, whose message says it)
    violations: r.violations.map((v) => (RULES.has(v.id) ? { ...v, rule: RULES.get(v.id) } : v)),
    expectations: r.expectations.map((e) => ({ ok: e.ok, message: e.message, line: e.expect.pos.line })),
  };
}

export const TRACE_VARS = ['threads', 'folios', 'page_tables', 'dax_entries', 'files', 'refs', 'processes', 'devices'] as const;

export function toTrace(r: SimResult) {
  return {
    '#meta': traceMeta(r),
    vars: [...TRACE_VARS],
    states: r.views.map((v, i) => ({ '#meta': i === 0 ? { index: 0, action: 'init' } : stepMeta(r, i, diffViews(r.views[i - 1], v)), ...v })),
    ...traceTail(r),
  };
}

/**
 * Write a trace as JSON piece by piece (one state at a time), so that a long
 * run whose trace exceeds the largest string V8 can build (≈512 MiB) is still
 * written; the text is what JSON.stringify(trace, null, 1) would give, parsed.
 */
export function writeTraceJson(trace: ReturnType<typeof toTrace>, write: (s: string) => void): void {
  const keys = Object.keys(trace) as (keyof typeof trace)[];
  write('{\n');
  keys.forEach((key, i) => {
    const last = i === keys.length - 1 ? '\n' : ',\n';
    if (key !== 'states') {
      write(` ${JSON.stringify(key)}: ${JSON.stringify(trace[key], null, 1).replace(/\n/g, '\n ')}${last}`);
      return;
    }
    write(' "states": [\n');
    trace.states.forEach((s, j) => write(`  ${JSON.stringify(s, null, 1).replace(/\n/g, '\n  ')}${j === trace.states.length - 1 ? '\n' : ',\n'}`));
    write(` ]${last}`);
  });
  write('}\n');
}
