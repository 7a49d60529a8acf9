// Model prediction vs kernel readings, entry by entry: the disagreements, and a side-by-side
// table that marks them.
import type { Observation, PageObs, StepObs } from './observe.js';

export interface Disagreement {
  /** Entry number (-1: before the first entry; Infinity: at the end). */
  entry: number;
  /** What differs, e.g. `F@8K refcount`, `app.3 truncate blocked`, `entry`. */
  what: string;
  model: string;
  kernel: string;
}

export interface Row {
  entry: number;
  title: string;
  lines: { what: string; model: string; kernel: string; differs: boolean }[];
}

export interface Comparison { rows: Row[]; disagreements: Disagreement[] }

export function fmtPage(p: PageObs | null | undefined): string {
  if (!p) return '(no page)';
  const pin = p.order > 0 && p.pincount >= 0 ? ` pin ${p.pincount}` : '';
  return `rc ${p.refcount} mc ${p.mapcount}${pin} o${p.order} ${p.mapping ?? 'null'}`;
}

function fmtStep(s: StepObs | undefined, blockedNow: boolean): string {
  if (!s) return blockedNow ? 'blocked' : 'not finished';
  return `${s.blocked ? 'blocked, then ' : ''}done${s.error !== 'none' ? ` ${s.error}` : ''}`;
}

/** Compare the model's prediction with the kernel's readings (labels: `thread.n op` per global step). */
export function compareRuns(model: Observation, kernel: Observation, labels: string[], pageLabels: string[]): Comparison {
  const rows: Row[] = [];
  const disagreements: Disagreement[] = [];
  const n = Math.max(model.entries.length, kernel.entries.length);
  const pagesAt = (e: number) => {
    const lines: Row['lines'] = [];
    const mp = model.pages[e + 1] ?? [];
    const kp = kernel.pages[e + 1] ?? [];
    pageLabels.forEach((label, i) => {
      const a = mp[i] ?? null;
      const b = kp[i] ?? null;
      const fields: string[] = [];
      if (!a !== !b) fields.push('page');
      else if (a && b) {
        for (const f of ['refcount', 'mapcount', 'order', 'mapping'] as const) if (a[f] !== b[f]) fields.push(f);
        if (a.order > 0 && b.order > 0 && b.pincount >= 0 && a.pincount !== b.pincount) fields.push('pincount');
      }
      lines.push({ what: label, model: fmtPage(a), kernel: fmtPage(b), differs: fields.length > 0 });
      for (const f of fields) disagreements.push({ entry: e, what: `${label} ${f}`, model: fmtPage(a), kernel: fmtPage(b) });
    });
    return lines;
  };
  rows.push({ entry: -1, title: 'before the first step', lines: pagesAt(-1) });
  const finishedAt = (o: Observation, e: number) => [...o.steps.values()].filter((s) => s.entry === e).map((s) => s.step);
  for (let e = 0; e < n; e++) {
    const a = model.entries[e];
    const b = kernel.entries[e];
    const lines: Row['lines'] = [];
    const desc = (x: typeof a) => (x ? `${x.kind}${x.step >= 0 ? ` ${labels[x.step]}` : ''}` : '(no entry)');
    const title = `${a?.thread ?? b?.thread}: ${desc(a ?? b)}`;
    if (!a || !b || a.thread !== b.thread || a.kind !== b.kind || a.step !== b.step) {
      lines.push({ what: 'entry', model: desc(a), kernel: desc(b), differs: true });
      disagreements.push({ entry: e, what: 'entry', model: desc(a), kernel: desc(b) });
    }
    // the steps that finished or blocked in this entry, on either side
    const started = [a, b].filter((x) => x && x.kind === 'start').map((x) => x!.step);
    const ids = [...new Set([...started, ...finishedAt(model, e), ...finishedAt(kernel, e)])].sort((x, y) => x - y);
    for (const s of ids) {
      const ms = model.steps.get(s);
      const ks = kernel.steps.get(s);
      const mNow = ms && ms.entry === e ? ms : undefined;
      const kNow = ks && ks.entry === e ? ks : undefined;
      const m = mNow ? fmtStep(mNow, false) : ms && ms.entry < e ? `done earlier (entry ${ms.entry})` : 'blocked';
      const k = kNow ? fmtStep(kNow, false) : ks && ks.entry < e ? `done earlier (entry ${ks.entry})` : 'blocked';
      const differs = m !== k;
      lines.push({ what: labels[s], model: m, kernel: k, differs });
      if (differs) disagreements.push({ entry: e, what: `${labels[s]} ${diffKind(mNow, kNow)}`, model: m, kernel: k });
    }
    lines.push(...pagesAt(e));
    rows.push({ entry: e, title, lines });
  }
  const mu = model.unfinished.map((s) => labels[s]).join(', ') || 'none';
  const ku = kernel.unfinished.map((s) => labels[s]).join(', ') || 'none';
  if (mu !== ku) disagreements.push({ entry: Infinity, what: 'blocked at the end', model: mu, kernel: ku });
  const mw = [...model.warns].sort().join(', ') || 'none';
  const kw = [...new Set(kernel.warns.map((f) => inlinedWarn(f, model.warns)))].sort().join(', ') || 'none';
  if (mw !== kw) disagreements.push({ entry: Infinity, what: 'kernel WARN', model: mw, kernel: kw });
  rows.push({
    entry: Infinity,
    title: 'end',
    lines: [
      { what: 'still blocked', model: mu, kernel: ku, differs: mu !== ku },
      { what: 'WARN in', model: mw, kernel: kw, differs: mw !== kw },
    ],
  });
  return { rows, disagreements };
}

function diffKind(m: StepObs | undefined, k: StepObs | undefined): string {
  if (!m || !k) return 'blocked';
  if (m.blocked !== k.blocked) return 'blocked';
  return 'error';
}

/** A known difference, checked in with its reason (oracle/known-differences.json). */
export interface KnownDifference {
  scenario: string; // file name, e.g. s1-pin-munmap-truncate.yaml
  kernel?: string; // 6.12 or 7.3
  fs?: string;
  entry?: number;
  what?: string; // prefix of Disagreement.what
  reason: string;
}

export function isKnown(d: Disagreement, scenarioFile: string, kernel: string, fs: string, known: KnownDifference[]): KnownDifference | undefined {
  const base = scenarioFile.split('/').pop();
  return known.find(
    (k) => k.scenario === base && (k.kernel === undefined || k.kernel === kernel) && (k.fs === undefined || k.fs === fs) &&
      (k.entry === undefined || k.entry === d.entry) && (k.what === undefined || d.what.startsWith(k.what)),
  );
}

/**
 * Static functions of fs/dax.c that the compiler may inline into their callers: a WARN in them is
 * reported by the kernel under the caller's symbol (7.3 reports dax_associate_entry's WARNs as
 * dax_insert_entry's; dax_folio_put's as dax_disassociate_entry.isra.0's). Only call sites that
 * exist in fs/dax.c are listed.
 */
const DISASSOCIATE_CALLERS = ['dax_insert_entry', 'grab_mapping_entry', '__dax_invalidate_entry', 'dax_delete_mapping_range'];
const INLINED_INTO: Record<string, string[]> = {
  dax_associate_entry: ['dax_insert_entry'],
  dax_folio_init: ['dax_associate_entry', 'dax_insert_entry'],
  dax_disassociate_entry: DISASSOCIATE_CALLERS,
  dax_folio_put: ['dax_disassociate_entry', ...DISASSOCIATE_CALLERS],
};

/**
 * The kernel's WARN symbol, without the suffix of a compiler-made clone (`.isra.0`,
 * `.constprop.0`, `.part.0`, `.cold`), read as the model's function when the model WARNs in a
 * function inlined there.
 */
export function inlinedWarn(kernelFn: string, modelFns: string[]): string {
  const fn = kernelFn.replace(/(\.(isra|constprop|part|cold)(\.\d+)?)+$/, '');
  return modelFns.find((m) => m !== fn && INLINED_INTO[m]?.includes(fn)) ?? fn;
}

