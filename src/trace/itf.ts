// The JSON trace: ITF-shaped (Apalache's Informal Trace Format): `vars`, and
// `states`, each with a `#meta` naming the action that led to it; plus a
// per-step `diff` of the view (path -> [before, after]). Documented in
// docs/trace-format.md.
import type { SimResult } from '../engine/simulate.js';
import { describeConfig } from '../model/versions.js';

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

export function toTrace(r: SimResult) {
  return {
    '#meta': {
      format: 'ITF',
      'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
      source: r.scenario.source,
      description: `daxref run of "${r.scenario.name}"`,
      kernel: describeConfig(r.config),
      scheme: r.config.scheme,
      fixes: [...r.config.fixes],
      // 'every action': each action was a step of its own (daxref check --no-por); replay must do the same
      granularity: r.machine.fuseLocal ? 'local actions fused' : 'every action',
    },
    vars: ['threads', 'folios', 'page_tables', 'dax_entries', 'files', 'refs', 'processes', 'devices'],
    states: r.views.map((v, i) => {
      const s = i === 0 ? null : r.steps[i - 1];
      return {
        '#meta': s
          ? { index: i, action: `${s.thread}: ${s.fn}`, thread: s.thread, op: s.op, opName: s.opName, fn: s.fn, what: s.what, outcome: s.outcome, events: s.events.map((e) => ({ kind: e.kind, fn: e.fn, text: e.text, ...(e.id ? { id: e.id } : {}) })), violations: s.violations, diff: diffViews(r.views[i - 1], v) }
          : { index: 0, action: 'init' },
        ...v,
      };
    }),
    ops: r.ops,
    violations: r.violations,
    expectations: r.expectations.map((e) => ({ ok: e.ok, message: e.message, line: e.expect.pos.line })),
  };
}
