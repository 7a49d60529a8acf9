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
  '#meta': { scenario?: string; description?: string; kernel?: string; scheme?: string; fixes?: string[]; source?: string };
  states: TraceState[];
  violations?: TraceViolation[];
  expectations?: { ok: boolean; message: string; line: number }[];
}

/** What the page embeds: one trace, or two in compare mode. */
export interface ViewerData {
  title: string;
  traces: PackedTrace[];
  labels: string[];
}

export class TraceInputError extends Error {}

/** Accept a trace, or an object with a `trace` field (a `daxref check` result). */
export function readTrace(input: unknown): Trace {
  let t = input as Record<string, unknown> | null;
  // a check result has a number of states, and its trace under violation.trace (or trace)
  if (t && typeof t === 'object' && !Array.isArray(t.states) && t.trace && typeof t.trace === 'object') t = t.trace as Record<string, unknown>;
  if (t && typeof t === 'object' && !Array.isArray(t.states)) {
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
      // asleep on a wait key, or blocked on a lock (or on a region or reference not made yet)
      const st = s.threads[name]?.status;
      const sleeping = st === 'sleeping' || st === 'blocked';
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
    const f = folioAt(t, i, pfn);
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

// ---------- packed traces: what the page embeds ----------
// Every state of a trace repeats the whole view; a long trace is mostly
// unchanged objects. A packed trace stores each distinct entry once (`pool`;
// arrays as lists of pool ids in `lists`) and each state as, per variable, the
// id of each entry (a negative id -n-1 names list n); the step's diff keeps
// only its paths. The page unpacks states lazily (LazyState).

export const VARS = ['threads', 'folios', 'page_tables', 'dax_entries', 'files', 'refs', 'processes', 'devices'] as const;
type Var = (typeof VARS)[number];

export interface PackedTrace {
  '#meta': Trace['#meta'];
  violations?: TraceViolation[];
  expectations?: Trace['expectations'];
  pool: unknown[];
  lists: number[][];
  /** v: the ids of every entry (every KEYFRAME-th state); dv: per variable, [entries set, keys removed] since the previous state. */
  states: { m: Omit<StepMeta, 'diff'> & { d?: string[] }; v?: Ids; dv?: Record<string, [Record<string, number>, string[]]> }[];
}

export class TracePacker {
  private pool: unknown[] = [];
  private lists: number[][] = [];
  private ids = new Map<string, number>();
  private listIds = new Map<string, number>();
  private states: PackedTrace['states'] = [];
  private last: Ids | null = null;

  private intern(x: unknown): number {
    if (Array.isArray(x)) {
      const ids = x.map((e) => this.intern(e));
      const key = ids.join(',');
      let id = this.listIds.get(key);
      if (id === undefined) {
        this.listIds.set(key, (id = this.lists.length));
        this.lists.push(ids);
      }
      return -id - 1;
    }
    if (x && typeof x === 'object') {
      // an object's array fields (a folio's holders) are lists too: {..., holders: {$l: id}, $L: ['holders']}
      const arrays = Object.keys(x).filter((k) => Array.isArray((x as Record<string, unknown>)[k]));
      if (arrays.length) {
        const o: Record<string, unknown> = { ...(x as Record<string, unknown>), $L: arrays };
        for (const k of arrays) o[k] = -this.intern(o[k]) - 1;
        x = o;
      }
    }
    const key = JSON.stringify(x);
    let id = this.ids.get(key);
    if (id === undefined) {
      this.ids.set(key, (id = this.pool.length));
      this.pool.push(x);
    }
    return id;
  }

  /**
   * Add the next state: its view and its meta, the diff reduced to its paths.
   * Without a diff in meta, the paths are found from the pool ids (as
   * diffViews of src/trace/itf.ts would: var.key.field, var.key if added or removed).
   */
  add(view: View, meta: StepMeta): void {
    const v: Ids = {};
    for (const name of VARS) {
      const o: Record<string, number> = (v[name] = {});
      for (const [key, x] of Object.entries(view[name] ?? {})) o[key] = this.intern(x);
    }
    const { diff, ...m } = meta;
    const prev = this.last;
    const d = diff ? Object.keys(diff) : prev ? this.paths(prev, v) : undefined;
    const sm = d ? { ...m, d } : m;
    if (!prev || this.states.length % KEYFRAME === 0) this.states.push({ m: sm, v });
    else {
      const dv: Record<string, [Record<string, number>, string[]]> = {};
      for (const name of VARS) {
        const set: Record<string, number> = {};
        const gone = Object.keys(prev[name]).filter((key) => !(key in v[name]));
        for (const [key, id] of Object.entries(v[name])) if (prev[name][key] !== id) set[key] = id;
        if (gone.length || Object.keys(set).length) dv[name] = [set, gone];
      }
      this.states.push({ m: sm, dv });
    }
    this.last = v;
  }

  private paths(a: Ids, b: Ids): string[] {
    const out: string[] = [];
    for (const name of VARS) {
      const x = a[name] ?? {};
      const y = b[name] ?? {};
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const i = x[key];
        const j = y[key];
        if (i === j) continue;
        const p = i !== undefined && i >= 0 ? this.pool[i] : undefined;
        const q = j !== undefined && j >= 0 ? this.pool[j] : undefined;
        if (!p || !q || typeof p !== 'object' || typeof q !== 'object') {
          out.push(`${name}.${key}`);
          continue;
        }
        const P = p as Record<string, unknown>;
        const Q = q as Record<string, unknown>;
        for (const f of new Set([...Object.keys(P), ...Object.keys(Q)])) if (f !== '$L' && P[f] !== Q[f]) out.push(`${name}.${key}.${f}`);
      }
    }
    return out;
  }

  /** Replace the meta of state i (its diff paths stay). */
  annotate(i: number, meta: Omit<StepMeta, 'diff'>): void {
    const d = this.states[i].m.d;
    this.states[i].m = d ? { ...meta, d } : meta;
  }

  finish(head: Pick<PackedTrace, '#meta' | 'violations' | 'expectations'>): PackedTrace {
    return { ...head, pool: this.pool, lists: this.lists, states: this.states };
  }
}

export function packTrace(t: Trace): PackedTrace {
  const p = new TracePacker();
  for (const s of t.states) p.add(s, s['#meta']);
  return p.finish({ '#meta': t['#meta'], violations: violationSteps(t), expectations: t.expectations });
}

type Ids = Record<string, Record<string, number>>;
const KEYFRAME = 64;

/** The entry ids of one variable at state i: the keyframe before it, then the deltas. */
function idsAt(p: PackedTrace, i: number, name: string): Record<string, number> {
  let k = i;
  while (!p.states[k].v) k--;
  const out = { ...(p.states[k].v![name] ?? {}) };
  for (let j = k + 1; j <= i; j++) {
    const dv = p.states[j].dv?.[name];
    if (!dv) continue;
    Object.assign(out, dv[0]);
    for (const key of dv[1]) delete out[key];
  }
  return out;
}

/** The id of one entry at state i (undefined: absent). */
function idAt(p: PackedTrace, i: number, name: string, key: string): number | undefined {
  for (let j = i; ; j--) {
    const st = p.states[j];
    if (st.v) return st.v[name]?.[key];
    const dv = st.dv?.[name];
    if (dv) {
      if (key in dv[0]) return dv[0][key];
      if (dv[1].includes(key)) return undefined;
    }
  }
}

const decoded = new WeakMap<PackedTrace, Map<number, unknown>>();

/** Pool entry id (a negative id: a list) of a packed trace, decoded once. */
function decodeValue(p: PackedTrace, id: number): unknown {
  if (id < 0) return p.lists[-id - 1].map((x) => decodeValue(p, x));
  const x = p.pool[id] as Record<string, unknown> | null;
  if (!x || typeof x !== 'object' || !Array.isArray(x.$L)) return x;
  let cache = decoded.get(p);
  if (!cache) decoded.set(p, (cache = new Map()));
  let v = cache.get(id);
  if (v === undefined) {
    const { $L, ...o } = x as Record<string, unknown> & { $L: string[] };
    for (const k of $L) o[k] = decodeValue(p, -(o[k] as number) - 1);
    cache.set(id, (v = o));
  }
  return v;
}

/** A state of a packed trace, its variables decoded on first use. */
export class LazyState {
  readonly '#meta': StepMeta;
  private cache: Partial<Record<Var, unknown>> = {};

  constructor(private p: PackedTrace, private i: number) {
    const { d, ...m } = p.states[i].m;
    this['#meta'] = d ? { ...m, diff: Object.fromEntries(d.map((k) => [k, [null, null]])) } : m;
  }

  private value(id: number): unknown {
    return decodeValue(this.p, id);
  }

  private decode<K extends Var>(name: K): View[K] {
    let x = this.cache[name] as View[K] | undefined;
    if (!x) {
      const o: Record<string, unknown> = {};
      for (const [key, id] of Object.entries(idsAt(this.p, this.i, name))) o[key] = this.value(id);
      this.cache[name] = x = o as View[K];
    }
    return x;
  }

  /** One folio without decoding the others. */
  folio(pfn: string): FolioView | undefined {
    const id = idAt(this.p, this.i, 'folios', pfn);
    return id === undefined ? undefined : (this.value(id) as FolioView);
  }

  get threads() { return this.decode('threads'); }
  get folios() { return this.decode('folios'); }
  get page_tables() { return this.decode('page_tables'); }
  get dax_entries() { return this.decode('dax_entries'); }
  get files() { return this.decode('files'); }
  get refs() { return this.decode('refs'); }
  get processes() { return this.decode('processes'); }
  get devices() { return this.decode('devices'); }
}

export function unpackTrace(p: PackedTrace): Trace {
  return { '#meta': p['#meta'], violations: p.violations, expectations: p.expectations, states: p.states.map((_, i) => new LazyState(p, i) as unknown as TraceState) };
}

/** Folio pfn at state i, cheap on a packed trace. */
export function folioAt(t: Trace, i: number, pfn: string): FolioView | undefined {
  const s = t.states[i] as unknown;
  return s instanceof LazyState ? s.folio(pfn) : t.states[i].folios[pfn];
}
