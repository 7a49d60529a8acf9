// The trace viewer's data model: pure functions over the JSON trace of
// `daxref run --format json` (src/trace/itf.ts) or a `daxref check` result
// (whose `trace` field has the same shape). Used by the page (web/, bundled by
// Vite) and by the CLI and tests; no DOM, no Node.
import type { View, FolioView, Holder } from '../engine/view.js';

export type { View, FolioView, Holder };

export interface TraceEvent {
  kind: string;
  fn: string;
  text: string;
  id?: string;
}

export interface StepMeta {
  index: number;
  action: string;
  thread?: string;
  op?: number;
  opName?: string;
  fn?: string;
  what?: string;
  outcome?: string;
  events?: TraceEvent[];
  violations?: { id: string; message: string }[];
  diff?: Record<string, [unknown, unknown]>;
}

export type TraceState = View & { '#meta': StepMeta };

export interface TraceViolation {
  id: string;
  message: string;
  step: number;
  rule?: string;
}

export interface Trace {
  '#meta': { scenario?: string; description?: string; kernel?: string; scheme?: string; fixes?: string[]; source?: string; device_types?: Record<string, { type: string; pgmap: string }> };
  states: TraceState[];
  violations?: TraceViolation[];
  expectations?: { ok: boolean; message: string; line: number }[];
}

/** What the page embeds: one trace, or two in compare mode. */
export interface ViewerData {
  title: string;
  traces: Trace[];
  labels: string[];
}

export class TraceInputError extends Error {}

/** Accept a trace, or an object with a `trace` field (a `daxref check` result). */
export function readTrace(input: unknown): Trace {
  let t = input as Record<string, unknown> | null;
  if (t && typeof t === 'object' && !Array.isArray(t) && !('states' in t) && t.trace && typeof t.trace === 'object') t = t.trace as Record<string, unknown>;
  if (t && typeof t === 'object' && !Array.isArray(t) && !('states' in t)) {
    const v = (t as { violation?: { trace?: unknown } }).violation;
    if (v && typeof v === 'object' && v.trace && typeof v.trace === 'object') t = v.trace as Record<string, unknown>;
  }
  if (!t || typeof t !== 'object' || !Array.isArray(t.states) || t.states.length === 0) throw new TraceInputError('not a daxref trace: expected an object with a non-empty "states" array (or a "trace" field holding one)');
  t.states.forEach((s: unknown, i: number) => {
    if (!s || typeof s !== 'object' || typeof (s as Record<string, unknown>).folios !== 'object' || typeof (s as Record<string, unknown>).threads !== 'object')
      throw new TraceInputError(`not a daxref trace: states[${i}] has no "folios" or "threads" object`);
  });
  if (!t['#meta'] || typeof t['#meta'] !== 'object') t['#meta'] = {};
  return t as unknown as Trace;
}

export function traceTitle(t: Trace): string {
  const m = t['#meta'];
  return m.scenario ?? m.description ?? 'daxref trace';
}

export function threadNames(t: Trace): string[] {
  return Object.keys(t.states[0].threads);
}

/** Per thread: [from, to] state intervals during which it sleeps (to inclusive). */
export function sleepIntervals(t: Trace): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const name of threadNames(t)) {
    const iv: [number, number][] = [];
    let start = -1;
    t.states.forEach((s, i) => {
      const sleeping = s.threads[name]?.status === 'sleeping';
      if (sleeping && start < 0) start = i;
      if (!sleeping && start >= 0) {
        iv.push([start, i - 1]);
        start = -1;
      }
    });
    if (start >= 0) iv.push([start, t.states.length - 1]);
    out[name] = iv;
  }
  return out;
}

/** The state index of the first violation of each invariant (step n is state n). */
export function violationSteps(t: Trace): TraceViolation[] {
  if (t.violations) return t.violations;
  const out: TraceViolation[] = [];
  t.states.forEach((s, i) => {
    for (const v of s['#meta'].violations ?? []) out.push({ ...v, step: i });
  });
  return out;
}

/** Changed fields per folio at state i: pfn -> set of field names ('*' = the folio appeared). */
export function changedFolioFields(s: TraceState): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const path of Object.keys(s['#meta'].diff ?? {})) {
    if (!path.startsWith('folios.')) continue;
    const rest = path.slice('folios.'.length);
    const dot = rest.indexOf('.');
    const pfn = dot < 0 ? rest : rest.slice(0, dot);
    const field = dot < 0 ? '*' : rest.slice(dot + 1).split('.')[0];
    let set = out.get(pfn);
    if (!set) out.set(pfn, (set = new Set()));
    set.add(field);
  }
  return out;
}

/** Paths of the diff under a prefix ('threads', 'dax_entries', ...), without the prefix. */
export function changedUnder(s: TraceState, prefix: string): Set<string> {
  const out = new Set<string>();
  for (const path of Object.keys(s['#meta'].diff ?? {})) if (path === prefix || path.startsWith(prefix + '.')) out.add(path.slice(prefix.length + 1));
  return out;
}

export interface Series {
  refcount: Int32Array;
  mapcount: Int32Array;
  pincount: Int32Array;
  present: Uint8Array;
}

/** refcount / mapcount / pincount of a folio over all states (present[i] = 0 where not in the view). */
export function folioSeries(t: Trace, pfn: string): Series {
  const n = t.states.length;
  const s: Series = { refcount: new Int32Array(n), mapcount: new Int32Array(n), pincount: new Int32Array(n), present: new Uint8Array(n) };
  for (let i = 0; i < n; i++) {
    const f = t.states[i].folios[pfn];
    if (!f) continue;
    s.present[i] = 1;
    s.refcount[i] = f.refcount;
    s.mapcount[i] = f.mapcount;
    s.pincount[i] = f.pincount;
  }
  return s;
}

/** The folio of a view that contains pfn (a head, or a tail within its order). */
export function folioContaining(v: View, pfn: string | null): FolioView | undefined {
  if (!pfn) return undefined;
  if (v.folios[pfn]) return v.folios[pfn];
  const p = parseInt(pfn, 16);
  for (const f of Object.values(v.folios)) {
    const h = parseInt(f.pfn, 16);
    if (p >= h && p < h + (1 << f.order)) return f;
  }
  return undefined;
}

export interface WaitExplanation {
  thread: string;
  waiting: string;
  folio?: FolioView;
  holders: Holder[];
}

/** Why each sleeping thread sleeps: the page it waits on and who holds that page's references. */
export function explainWaits(v: View): WaitExplanation[] {
  const out: WaitExplanation[] = [];
  for (const [name, th] of Object.entries(v.threads)) {
    if (th.status !== 'sleeping' || !th.waiting) continue;
    const m = /rec(\d+)/.exec(th.waiting);
    const folio = m && /page/.test(th.waiting) ? Object.values(v.folios).find((f) => f.rec === Number(m[1])) : undefined;
    out.push({ thread: name, waiting: th.waiting, folio, holders: folio ? folio.holders.filter((h) => h.refs > 0) : [] });
  }
  return out;
}

export interface Involved {
  folios: Set<string>;
  refs: Set<string>;
  files: Set<string>;
  threads: Set<string>;
  blocks: Set<number>;
}

const escRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The objects a violation message names, as they appear in view v. */
export function involvedObjects(message: string, v: View): Involved {
  const has = (name: string) => new RegExp(`(^|[^\\w.])${escRe(name)}(?![\\w])`).test(message);
  const inv: Involved = { folios: new Set(), refs: new Set(), files: new Set(), threads: new Set(), blocks: new Set() };
  for (const f of Object.values(v.folios)) {
    const rec = new RegExp(`\\brec${f.rec}\\b`).test(message);
    const dev = f.device.split(':');
    const block = new RegExp(`block ${escRe(dev[1])} of ${escRe(dev[0])}\\b`).test(message);
    if (message.includes(f.pfn) || rec || message.includes(`(${f.device})`) || block) inv.folios.add(f.pfn);
    if (block || message.includes(`(${f.device})`)) inv.blocks.add(Number(dev[1]));
  }
  for (const r of Object.keys(v.refs)) if (has(r) && /reference|through|pin/i.test(message)) inv.refs.add(r);
  for (const f of Object.keys(v.files)) if (has(f) && new RegExp(`(^|[^\\w])${escRe(f)}(@|\\b(?!:))`).test(message)) inv.files.add(f);
  for (const th of Object.keys(v.threads)) if (new RegExp(`thread ${escRe(th)}\\b`).test(message)) inv.threads.add(th);
  return inv;
}

export interface PtNode {
  label: string;
  children: PtNode[];
  entry?: View['page_tables'][string][number];
}

const LEVELS: [string, number][] = [['PGD', 39], ['PUD', 30], ['PMD', 21], ['PTE', 12]];

/** Page-table entries of one VMA as a PGD/PUD/PMD/PTE tree (x86-64, 4 levels) down to the entries that exist. */
export function pageTableTree(entries: View['page_tables'][string]): PtNode[] {
  const roots: PtNode[] = [];
  for (const e of entries) {
    const addr = parseInt(e.addr, 16);
    const depth = LEVELS.findIndex(([l]) => l === e.level);
    let list = roots;
    for (let d = 0; d <= depth; d++) {
      const [name, shift] = LEVELS[d];
      const idx = Math.floor(addr / 2 ** shift) % 512;
      const label = `${name}[${idx}]`;
      let node = list.find((n) => n.label === label);
      if (!node) list.push((node = { label, children: [] }));
      if (d === depth) node.entry = e;
      list = node.children;
    }
  }
  return roots;
}

/**
 * Align two traces of one scenario: rows of [state of a, state of b] (-1: that
 * trace has no step here; show its previous state). Steps are grouped into runs
 * of one thread operation; runs are matched in order by (thread, op,
 * occurrence); within a pair of runs, steps are matched by kernel function.
 */
export function alignTraces(a: Trace, b: Trace): [number, number][] {
  const runs = (t: Trace) => {
    const out: { key: string; steps: number[] }[] = [];
    const seen = new Map<string, number>();
    for (let i = 1; i < t.states.length; i++) {
      const m = t.states[i]['#meta'];
      const base = `${m.thread}.${m.op}`;
      const last = out[out.length - 1];
      if (last && last.key.startsWith(base + '#')) last.steps.push(i);
      else {
        const n = (seen.get(base) ?? 0) + 1;
        seen.set(base, n);
        out.push({ key: `${base}#${n}`, steps: [i] });
      }
    }
    return out;
  };
  const ra = runs(a);
  const rb = runs(b);
  const rows: [number, number][] = [[0, 0]];
  let j = 0;
  const fnA = (i: number) => a.states[i]['#meta'].fn ?? '';
  const fnB = (i: number) => b.states[i]['#meta'].fn ?? '';
  for (const run of ra) {
    const k = rb.findIndex((r, x) => x >= j && r.key === run.key);
    if (k < 0) {
      for (const s of run.steps) rows.push([s, -1]);
      continue;
    }
    for (; j < k; j++) for (const s of rb[j].steps) rows.push([-1, s]);
    rows.push(...alignSteps(run.steps, rb[k].steps, fnA, fnB));
    j = k + 1;
  }
  for (; j < rb.length; j++) for (const s of rb[j].steps) rows.push([-1, s]);
  return rows;
}

/** LCS of two short step lists by kernel function name (quadratic; runs are short). */
function alignSteps(x: number[], y: number[], fx: (i: number) => string, fy: (i: number) => string): [number, number][] {
  if (x.length * y.length > 250_000) return x.map((s, i) => [s, y[i] ?? -1] as [number, number]).concat(y.slice(x.length).map((s) => [-1, s] as [number, number]));
  const n = x.length;
  const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let k = m - 1; k >= 0; k--) L[i][k] = fx(x[i]) === fy(y[k]) ? L[i + 1][k + 1] + 1 : Math.max(L[i + 1][k], L[i][k + 1]);
  const out: [number, number][] = [];
  let i = 0;
  let k = 0;
  while (i < n && k < m) {
    if (fx(x[i]) === fy(y[k])) out.push([x[i++], y[k++]]);
    else if (L[i + 1][k] >= L[i][k + 1]) out.push([x[i++], -1]);
    else out.push([-1, y[k++]]);
  }
  while (i < n) out.push([x[i++], -1]);
  while (k < m) out.push([-1, y[k++]]);
  return out;
}

/** For each row, the state to show of each trace (a missing step shows the previous state). */
export function rowStates(rows: [number, number][]): [number, number][] {
  let a = 0;
  let b = 0;
  return rows.map(([x, y]) => {
    if (x >= 0) a = x;
    if (y >= 0) b = y;
    return [a, b];
  });
}

/** Folio fields that differ between two views (pfn -> field names); a folio in one only: '*'. */
export function divergentFolios(a: View, b: View): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const fields: (keyof FolioView)[] = ['refcount', 'mapcount', 'entire_mapcount', 'pincount', 'order', 'mapping', 'share', 'block'];
  for (const pfn of new Set([...Object.keys(a.folios), ...Object.keys(b.folios)])) {
    const fa = a.folios[pfn];
    const fb = b.folios[pfn];
    if (!fa || !fb) {
      out.set(pfn, new Set(['*']));
      continue;
    }
    const d = new Set<string>();
    for (const f of fields) if (fa[f] !== fb[f]) d.add(f);
    if (JSON.stringify(fa.holders) !== JSON.stringify(fb.holders)) d.add('holders');
    if (d.size) out.set(pfn, d);
  }
  return out;
}

/** Serialize for a <script type="application/json"> element: no "</script", "<!--" or line separators survive. */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
