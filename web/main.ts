// The daxref trace viewer page (bundled by Vite into dist/view/, inlined by
// `daxref report`). Plain DOM; every string from the trace goes through
// textContent or an attribute setter, never innerHTML. Only the current step
// is rendered; per-folio series and the timeline overview are computed on demand.
import {
  alignTraces, changedFolioFields, changedUnder, divergentFolios, explainWaits, folioContaining, folioSeries, involvedObjects, pageTableTree, rowStates,
  sleepIntervals, threadNames, unpackTrace, violationSteps,
  type FolioView, type Involved, type PtNode, type Series, type Trace, type TraceState, type TraceViolation, type ViewerData,
} from '../src/view/model.js';
import './style.css';

type Child = Node | string | number | null | undefined | false;

function h(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attrs: Record<string, string | number> = {}): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const data = JSON.parse(document.getElementById('daxref-data')!.textContent!) as ViewerData;
const traces: Trace[] = data.traces.map(unpackTrace);
const compare = traces.length === 2;
// rows: for each row of the timeline, the state shown of each trace
const rows: number[][] = compare ? rowStates(alignTraces(traces[0], traces[1])) : traces[0].states.map((_, i) => [i]);
const rawRows: number[][] = compare ? alignTraces(traces[0], traces[1]) : rows;
const N = rows.length;
const sleeps = traces.map(sleepIntervals);
const violations = traces.map(violationSteps);
const seriesCache = traces.map(() => new Map<string, Series>());
let cur = 0;
let selected: string | null = null;
let showQuiet = false;
let showAllEntries = false;

// Which row first shows each violation (per trace).
const violationRow = violations.map((vs, k) => vs.map((v) => {
  const r = rawRows.findIndex((row) => row[k] >= v.step);
  return r < 0 ? N - 1 : r;
}));

function isSleeping(k: number, th: string, st: number): boolean {
  return sleeps[k][th]?.some(([a, b]) => st >= a && st <= b) ?? false;
}

document.title = `daxref: ${data.title}`;
const root = document.getElementById('app')!;

// ---------- skeleton ----------
const slider = h('input', { type: 'range', min: 0, max: N - 1, value: 0, id: 'step-slider', 'aria-label': 'step' }) as HTMLInputElement;
const stepInput = h('input', { type: 'number', min: 0, max: N - 1, value: 0, id: 'step-input', 'aria-label': 'step number' }) as HTMLInputElement;
const prevBtn = h('button', { id: 'prev', title: 'previous step (←)' }, '◀');
const nextBtn = h('button', { id: 'next', title: 'next step (→)' }, '▶');
const actionEl = h('div', { id: 'action', class: 'action' });
const bannerEl = h('div', { id: 'banner' });
const overview = h('canvas', { id: 'overview', height: 10 }) as HTMLCanvasElement;
const overviewCursor = h('div', { id: 'overview-cursor' });
const timelineEl = h('div', { id: 'timeline' });
const panesEl = h('div', { id: 'panes', class: compare ? 'compare' : 'single' });

root.append(
  h('header', {},
    h('h1', { id: 'title' }, data.title),
    h('span', { class: 'kernels' }, ...traces.map((t, k) => h('span', { class: `kernel k${k}` }, `${data.labels[k]}${t['#meta'].scheme ? ` (${t['#meta'].scheme} scheme)` : ''}`))),
    h('span', { class: 'help' }, '← → step · Home/End · PgUp/PgDn ±10 · click a pfn to chart it'),
  ),
  h('div', { class: 'controls' }, prevBtn, slider, nextBtn, h('label', {}, 'step ', stepInput, ` / ${N - 1}`)),
  h('div', { class: 'overview-wrap' }, overview, overviewCursor),
  actionEl,
  bannerEl,
  h('div', { class: compare ? 'main compare' : 'main' }, h('section', { class: 'timeline-wrap' }, h('h2', {}, 'Timeline (one lane per thread)'), timelineEl), panesEl),
);

// ---------- navigation ----------
function go(row: number) {
  cur = Math.max(0, Math.min(N - 1, Math.round(row)));
  render();
}
slider.addEventListener('input', () => go(Number(slider.value)));
stepInput.addEventListener('change', () => go(Number(stepInput.value)));
prevBtn.addEventListener('click', () => go(cur - 1));
nextBtn.addEventListener('click', () => go(cur + 1));
document.addEventListener('keydown', (e) => {
  if (e.target === stepInput || e.altKey || e.ctrlKey || e.metaKey) return;
  const d: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, PageUp: -10, PageDown: 10, Home: -Infinity, End: Infinity };
  if (!(e.key in d)) return;
  e.preventDefault();
  go(Number.isFinite(d[e.key]) ? cur + d[e.key] : d[e.key] < 0 ? 0 : N - 1);
});
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get('folio')) selected = p.get('folio');
  if (p.get('step') !== null) go(Number(p.get('step')));
  else render();
}
window.addEventListener('hashchange', readHash);
function selectFolio(pfn: string) {
  selected = pfn;
  render();
}

// ---------- overview (whole trace, drawn once per resize) ----------
const laneList: { k: number; th: string }[] = traces.flatMap((t, k) => threadNames(t).map((th) => ({ k, th })));
const COLORS = ['#2f6fd0', '#d07a12', '#2a9a4a', '#8a3fc4', '#c0392b', '#12808f'];
function drawOverview() {
  const w = overview.clientWidth || 800;
  const laneH = 6;
  overview.width = w;
  overview.height = laneList.length * laneH + 4;
  const g = overview.getContext('2d')!;
  g.fillStyle = '#f4f4f4';
  g.fillRect(0, 0, w, overview.height);
  laneList.forEach(({ k, th }, li) => {
    const y = li * laneH + 2;
    const tIdx = threadNames(traces[k]).indexOf(th);
    for (const [a, b] of sleeps[k][th]) {
      const ra = rows.findIndex((r) => r[k] >= a);
      const rb = rows.findIndex((r) => r[k] > b);
      g.fillStyle = '#bbb';
      g.fillRect((Math.max(0, ra) / N) * w, y, (((rb < 0 ? N : rb) - Math.max(0, ra)) / N) * w + 1, laneH - 1);
    }
    g.fillStyle = COLORS[tIdx % COLORS.length];
    for (let r = 0; r < N; r++) {
      const st = rawRows[r][k];
      if (st > 0 && traces[k].states[st]['#meta'].thread === th) g.fillRect((r / N) * w, y, Math.max(1, w / N), laneH - 1);
    }
  });
  g.fillStyle = '#d00';
  violationRow.forEach((rs) => rs.forEach((r) => g.fillRect((r / N) * w, 0, 2, overview.height)));
}
overview.addEventListener('click', (e) => go(((e.offsetX / overview.clientWidth) * N) | 0));
window.addEventListener('resize', () => {
  drawOverview();
  placeCursor();
});
function placeCursor() {
  overviewCursor.style.left = `${((cur + 0.5) / N) * overview.clientWidth}px`;
}

// ---------- timeline window ----------
const WINDOW = 12;
function renderTimeline() {
  const from = Math.max(0, Math.min(cur - WINDOW, N - 1 - 2 * WINDOW));
  const to = Math.min(N - 1, from + 2 * WINDOW);
  const head = h('tr', {}, h('th', {}, '#'), ...laneList.map(({ k, th }) => h('th', { class: `lane k${k}` }, compare ? `${data.labels[k]} ${th}` : th)));
  const body: HTMLElement[] = [];
  for (let r = from; r <= to; r++) {
    const vs = traces.flatMap((_, k) => violations[k].filter((_v, i) => violationRow[k][i] === r));
    const tr = h('tr', { class: `${r === cur ? 'current' : ''}${vs.length ? ' viol' : ''}`, 'data-row': r });
    const num = h('td', { class: 'num' }, String(r));
    if (vs.length) {
      num.append(h('span', { class: 'viol-marker', title: vs.map((v) => `${v.id}: ${v.message}`).join('\n'), 'data-violation': vs.map((v) => v.id).join(' ') }, ' ⚠'));
    }
    tr.append(num);
    for (const { k, th } of laneList) {
      const st = rawRows[r][k];
      const shown = rows[r][k];
      const meta = st > 0 ? traces[k].states[st]['#meta'] : undefined;
      const td = h('td', { class: 'cell' });
      if (isSleeping(k, th, shown)) {
        td.classList.add('sleeping');
        const tst = traces[k].states[shown].threads[th];
        td.title = `${th} ${tst?.status === 'blocked' ? 'is blocked in' : 'sleeps:'} ${tst?.waiting ?? ''}`;
      }
      if (meta && meta.thread === th) {
        td.classList.add('ran');
        td.style.borderLeftColor = COLORS[threadNames(traces[k]).indexOf(th) % COLORS.length];
        td.append(h('span', { class: 'fn' }, meta.fn ?? ''), h('span', { class: 'op' }, ` ${th}.${meta.op} ${meta.opName ?? ''}`));
        td.title = `${meta.fn}: ${meta.what ?? ''}${meta.outcome === 'slept' ? ' [sleeps]' : ''}`;
        if (meta.outcome === 'slept') td.append(h('span', { class: 'zz' }, ' [sleeps]'));
      } else if (td.classList.contains('sleeping')) td.append(h('span', { class: 'zz' }, 'z z'));
      tr.append(td);
    }
    tr.addEventListener('click', () => go(r));
    body.push(tr);
  }
  timelineEl.replaceChildren(h('table', { class: 'tl' }, h('thead', {}, head), h('tbody', {}, ...body)));
}

/** Keep the current step in view inside the timeline's own scroll box (the page does not jump); after the whole render: one layout. */
function scrollTimeline() {
  timelineEl.style.maxHeight = `${Math.max(250, window.innerHeight - Math.max(0, timelineEl.getBoundingClientRect().top) - 8)}px`;
  const row = timelineEl.querySelector<HTMLElement>('tr.current');
  if (row) timelineEl.scrollTop = Math.max(0, row.offsetTop - timelineEl.clientHeight / 2);
}

// ---------- one pane (one trace at one state) ----------
function fmtMapping(f: FolioView): string {
  if (f.mapping === null) return f.share ? `NULL, share ${f.share}` : 'NULL';
  return f.mapping === 'DAX_SHARED' || f.share ? `${f.mapping}, share ${f.share}` : `${f.mapping} @${f.index}`;
}

function pfnLink(pfn: string | null, st: TraceState): Node {
  if (!pfn) return document.createTextNode('-');
  const f = folioContaining(st, pfn);
  const b = h('button', { class: `pfn${f && f.pfn === selected ? ' sel' : ''}`, 'data-pfn': pfn, title: f ? `folio ${f.pfn} (${f.device})` : 'not in the view' }, pfn);
  if (f) b.addEventListener('click', () => selectFolio(f.pfn));
  return b;
}

function activeInvolved(k: number, row: number, st: TraceState): Involved | null {
  const vs = violations[k].filter((_, i) => violationRow[k][i] <= row);
  if (!vs.length) return null;
  const inv: Involved = { folios: new Set(), refs: new Set(), files: new Set(), threads: new Set(), blocks: new Set() };
  for (const v of vs) {
    const o = involvedObjects(v.message, st);
    for (const key of Object.keys(inv) as (keyof Involved)[]) for (const x of o[key] as Set<string & number>) (inv[key] as Set<string | number>).add(x);
  }
  return inv;
}

const HEAD_TITLES: Record<string, string> = {
  refcount: 'folio_ref_count (page->_refcount of the head page)',
  mapcount: 'folio_mapcount: _large_mapcount of a large folio, _mapcount of an order-0 page (new scheme; always 0 for FS-DAX in v6.12)',
  entire_mapcount: '_entire_mapcount: PMD/PUD mappings of the whole folio',
  pincount: '_pincount of a large folio (FOLL_PIN); order-0 pins add GUP_PIN_COUNTING_BIAS to refcount instead',
  order: 'folio_order',
  mapping: 'folio->mapping and index, or the share count of a shared (reflinked) DAX folio',
  block: 'the filesystem block this page backs: in use, free, or reused',
};

function renderPane(k: number): HTMLElement {
  const t = traces[k];
  const stIdx = rows[cur][k];
  const st = t.states[stIdx];
  const ran = rawRows[cur][k] === stIdx; // this trace took a step at this row
  const prev = stIdx > 0 ? t.states[stIdx - 1] : st;
  const changed = ran ? changedFolioFields(st) : new Map<string, Set<string>>();
  const other = compare ? traces[1 - k].states[rows[cur][1 - k]] : null;
  const diverge = other ? divergentFolios(st, other) : new Map<string, Set<string>>();
  const inv = activeInvolved(k, cur, st);
  const pane = h('div', { class: `pane k${k}`, 'data-trace': k });
  if (compare) pane.append(h('h2', { class: 'pane-title' }, `${data.labels[k]}: state ${stIdx}${ran ? '' : ' (no step here)'}`));

  // folio table
  const cols: [string, string, (f: FolioView) => string][] = [
    ['refcount', 'refcount', (f) => String(f.refcount)],
    ['mapcount', 'mapcount', (f) => String(f.mapcount)], // folio_mapcount: _large_mapcount of a large folio, _mapcount of a small one
    ['entire_mapcount', 'entire', (f) => String(f.entire_mapcount)],
    ['pincount', 'pincount', (f) => String(f.pincount)],
    ['order', 'order', (f) => String(f.order)],
    ['mapping', 'mapping / share', fmtMapping],
    ['block', 'block', (f) => f.block.replace(/^in use \((\d+) owners?, allocation #(\d+)\)$/, (_, n, g) => `in use${n === '1' ? '' : ` ×${n}`}, alloc #${g}`)],
  ];
  const ftable = h('table', { class: 'folios' },
    h('thead', {}, h('tr', {}, h('th', {}, 'pfn'), h('th', {}, 'device:block'), h('th', {}, 'pgmap'), ...cols.map(([field, label]) => h('th', { title: HEAD_TITLES[field] }, label)), h('th', {}, 'who holds the references'))));
  const tb = h('tbody');
  // busy folios first; quiet ones (no reference but an idle one, unchanged, not chosen) behind a toggle
  const waitedOn = new Set(explainWaits(st).map((w) => w.folio?.pfn));
  const all = Object.values(st.folios);
  const busy = (f: FolioView) => f.pfn === selected || changed.has(f.pfn) || diverge.has(f.pfn) || inv?.folios.has(f.pfn) || waitedOn.has(f.pfn) || f.mapcount > 0 || f.pincount > 0 || f.holders.some((x) => x.refs > 0 && x.kind !== 'idle');
  const shown = showQuiet ? all : all.filter(busy);
  const quiet = all.length - all.filter(busy).length;
  const limit = showQuiet ? shown.length : 200;
  for (const f of shown.slice(0, limit)) {
    const ch = changed.get(f.pfn);
    const dv = diverge.get(f.pfn);
    const tr = h('tr', { 'data-pfn': f.pfn, class: [f.pfn === selected ? 'sel' : '', ch?.has('*') ? 'appeared' : '', inv?.folios.has(f.pfn) ? 'involved' : '', dv?.has('*') ? 'diverge' : ''].filter(Boolean).join(' ') });
    tr.addEventListener('click', () => selectFolio(f.pfn));
    const dev = f.device.split(':')[0];
    tr.append(h('td', { class: 'mono' }, h('button', { class: 'pfn', 'data-pfn': f.pfn }, f.pfn)), h('td', { class: 'mono' }, f.device), h('td', { class: 'small' }, (st.devices[dev]?.type ?? '').replace('MEMORY_DEVICE_', '')));
    for (const [field, , fmt] of cols) {
      const td = h('td', { class: `mono f-${field}`, 'data-field': field }, fmt(f));
      if (ch?.has(field) || (field === 'mapping' && (ch?.has('index') || ch?.has('share')))) {
        td.classList.add('changed');
        const before = prev.folios[f.pfn];
        if (before) td.append(h('span', { class: 'was' }, ` was ${fmt(before)}`));
      }
      if (dv?.has(field) || (field === 'mapping' && dv?.has('share'))) {
        td.classList.add('diverge');
        const o = other!.folios[f.pfn];
        td.title = `${data.labels[1 - k]}: ${o ? fmt(o) : 'absent'}`;
      }
      tr.append(td);
    }
    const hol = h('td', { class: `holders${ch?.has('holders') ? ' changed' : ''}${dv?.has('holders') ? ' diverge' : ''}` });
    const real = f.holders.filter((x) => x.refs > 0);
    const sum = f.holders.reduce((a, x) => a + x.refs, 0);
    for (const x of f.holders) hol.append(h('div', { class: `holder h-${x.kind}${x.refs ? '' : ' norefs'}${inv && [...inv.refs].some((r) => x.who.includes(`reference ${r} `)) ? ' involved' : ''}` }, h('b', {}, x.refs ? `+${x.refs} ` : '+0 '), x.who));
    if (!f.holders.length) hol.append(h('span', { class: 'muted' }, 'none'));
    if (sum !== f.refcount) hol.append(h('div', { class: 'unaccounted' }, `⚠ ${f.refcount - sum > 0 ? `${f.refcount - sum} reference(s) held by nobody listed` : `${sum - f.refcount} listed reference(s) missing from refcount`}`));
    void real;
    tr.append(hol);
    tb.append(tr);
  }
  if (quiet || shown.length > limit) {
    const more = h('button', { class: 'more', id: `more-folios-${k}` }, showQuiet ? 'hide the quiet folios' : `show ${all.length - Math.min(limit, shown.length)} more folio(s): ${quiet} quiet (no reference but the idle one, unchanged)`);
    more.addEventListener('click', () => {
      showQuiet = !showQuiet;
      render();
    });
    tb.append(h('tr', {}, h('td', { colspan: cols.length + 4 }, more)));
  }
  ftable.append(tb);
  pane.append(h('section', { class: 'folios-sec' }, h('h2', {}, 'Folios (changed fields highlighted)'), Object.keys(st.folios).length ? ftable : h('p', { class: 'muted' }, 'no folio is referenced or mapped')));

  const grid = h('div', { class: 'grid' });
  pane.append(grid);

  // chart
  if (selected && (st.folios[selected] || seriesOf(k, selected).present.includes(1))) grid.append(renderChart(k, selected));

  // threads
  const thChanged = ran ? changedUnder(st, 'threads') : new Set<string>();
  const opNames = new Map<string, string>();
  for (let i = stIdx; i > 0 && opNames.size < Object.keys(st.threads).length; i--) {
    const m = t.states[i]['#meta'];
    if (m.thread && !opNames.has(m.thread)) opNames.set(m.thread, `${m.opName} (op ${m.op})`);
  }
  const thr = h('table', { class: 'threads' }, h('thead', {}, h('tr', {}, h('th', {}, 'thread'), h('th', {}, 'status'), h('th', {}, 'operation'), h('th', {}, 'waiting for'))));
  for (const [name, th] of Object.entries(st.threads)) {
    const c = [...thChanged].some((p) => p === name || p.startsWith(name + '.'));
    const o = other?.threads[name];
    const dv = o && (o.status !== th.status || o.waiting !== th.waiting) ? ' diverge' : '';
    thr.append(h('tr', { class: `${c ? 'changed' : ''}${inv?.threads.has(name) ? ' involved' : ''} st-${th.status}`, 'data-thread': name },
      h('td', {}, name), h('td', { class: dv.trim(), title: o ? `${data.labels[1 - k]}: ${o.status}${o.waiting ? ` on ${o.waiting}` : ''}` : undefined }, th.status + (th.error && th.error !== 'none' ? ` (${th.error})` : '')), h('td', {}, opNames.get(name) ?? `op ${th.op}`), h('td', {}, th.waiting ?? '')));
  }
  const refs = h('table', { class: 'refs' }, h('thead', {}, h('tr', {}, h('th', {}, 'GUP reference'), h('th', {}, 'kind'), h('th', {}, 'state'), h('th', {}, 'pages'))));
  const refChanged = ran ? changedUnder(st, 'refs') : new Set<string>();
  for (const [name, r] of Object.entries(st.refs)) {
    refs.append(h('tr', { class: `${[...refChanged].some((p) => p.startsWith(name + '.')) ? 'changed' : ''}${inv?.refs.has(name) ? ' involved' : ''}`, 'data-ref': name },
      h('td', {}, name), h('td', {}, r.kind), h('td', {}, r.state), h('td', {}, ...r.pages.flatMap((p, i) => [i ? ' ' : '', pfnLink(p, st)]))));
  }
  grid.append(h('section', {}, h('h2', {}, 'Threads'), thr, Object.keys(st.refs).length ? refs : null));

  // page tables
  const pts = h('section', { class: 'pagetables' }, h('h2', {}, 'Page tables (per process:VMA)'));
  const ptPrev = new Map<string, string>();
  for (const [vma, list] of Object.entries(prev.page_tables)) for (const e of list) ptPrev.set(`${vma}|${e.level}|${e.addr}`, JSON.stringify(e));
  const renderNode = (vma: string, n: PtNode): HTMLElement => {
    const li = h('li', {}, h('span', { class: 'lvl' }, n.label));
    if (n.entry) {
      const e = n.entry;
      const key = `${vma}|${e.level}|${e.addr}`;
      const isNew = ran && ptPrev.get(key) !== JSON.stringify(e);
      li.className = isNew ? 'changed' : '';
      li.append(` ${e.addr} → `, pfnLink(e.pfn, st), h('span', { class: 'bits' }, ` [${e.bits}]`));
    }
    if (n.children.length) li.append(h('ul', {}, ...n.children.map((c) => renderNode(vma, c))));
    return li;
  };
  const vmas = Object.entries(st.page_tables);
  for (const [vma, full] of vmas) {
    const list = showAllEntries || full.length <= 48 ? full : full.filter((e, i) => i < 32 || (ran && ptPrev.get(`${vma}|${e.level}|${e.addr}`) !== JSON.stringify(e)) || folioContaining(st, e.pfn)?.pfn === selected);
    const hidden = full.length - list.length;
    const now = new Set(full.map((e) => `${vma}|${e.level}|${e.addr}`));
    const removed = ran ? [...ptPrev.keys()].filter((key) => key.startsWith(vma + '|') && !now.has(key)).length : 0;
    const more = hidden ? h('button', { class: 'more' }, `show all ${full.length} entries (${hidden} hidden: unchanged)`) : '';
    if (more) more.addEventListener('click', () => {
      showAllEntries = true;
      render();
    });
    pts.append(h('div', { class: 'vma' }, h('div', { class: 'vma-name' }, vma, full.length ? ` (${full.length} entr${full.length > 1 ? 'ies' : 'y'})` : h('span', { class: 'muted' }, ' (no entries)'), removed ? h('span', { class: 'changed' }, ` ${removed} entr${removed > 1 ? 'ies' : 'y'} zapped`) : ''), h('ul', { class: 'pt' }, ...pageTableTree(list).map((n) => renderNode(vma, n))), more));
  }
  if (!vmas.length) pts.append(h('p', { class: 'muted' }, 'no VMA'));
  grid.append(pts);

  // DAX page cache and files
  const dax = h('section', { class: 'dax' }, h('h2', {}, 'DAX page cache (per file)'));
  const daxChanged = ran ? changedUnder(st, 'dax_entries') : new Set<string>();
  const fileChanged = ran ? changedUnder(st, 'files') : new Set<string>();
  for (const [file, entries] of Object.entries(st.dax_entries)) {
    const F = st.files[file];
    const prevEntries = new Map((prev.dax_entries[file] ?? []).map((e) => [e.index, JSON.stringify(e)]));
    const tbl = h('table', { class: 'entries' }, h('thead', {}, h('tr', {}, h('th', {}, 'index'), h('th', {}, 'entry'), h('th', {}, 'order'), h('th', {}, 'pfn'), h('th', {}, 'lock'), h('th', {}, 'flags'), h('th', {}, 'waiters'))));
    const keep = (e: (typeof entries)[number]) => e.locked || (selected !== null && folioContaining(st, e.pfn)?.pfn === selected) || (ran && prevEntries.get(e.index) !== JSON.stringify(e));
    const list = showAllEntries || entries.length <= 40 ? entries : entries.filter((e, i) => i < 24 || keep(e));
    for (const e of list) {
      const waiters = Object.entries(st.threads).filter(([, x]) => x.waiting === `dax entry ${file}@${e.index}`).map(([n]) => n);
      tbl.append(h('tr', { class: ran && prevEntries.get(e.index) !== JSON.stringify(e) && daxChanged.size ? 'changed' : '' },
        h('td', {}, e.index), h('td', {}, e.entry), h('td', {}, e.order), h('td', {}, pfnLink(e.pfn, st)), h('td', { class: e.locked ? 'locked' : '' }, e.locked ? 'locked' : '-'),
        h('td', {}, [e.dirty ? 'dirty' : '', e.towrite ? 'towrite' : ''].filter(Boolean).join(',') || '-'), h('td', {}, waiters.join(', ') || '-')));
    }
    if (list.length < entries.length || showAllEntries && entries.length > 40) {
      const more = h('button', { class: 'more' }, showAllEntries ? 'show fewer entries' : `show all ${entries.length} entries (${entries.length - list.length} hidden: unlocked, unchanged)`);
      more.addEventListener('click', () => {
        showAllEntries = !showAllEntries;
        render();
      });
      tbl.append(h('tr', {}, h('td', { colspan: 7 }, more)));
    }
    const gone = ran ? [...prevEntries.keys()].filter((i) => !entries.some((e) => e.index === i)) : [];
    const fc = [...fileChanged].some((p) => p.startsWith(file + '.'));
    dax.append(h('div', { class: `file${inv?.files.has(file) ? ' involved' : ''}`, 'data-file': file },
      h('div', { class: `file-head${fc ? ' changed' : ''}` }, h('b', {}, file), F ? ` size ${F.size}, nlink ${F.nlink}, nrpages ${F.nrpages}, invalidate_lock ${F.invalidate_lock}${F.evicted ? ', evicted' : ''}` : ''),
      entries.length ? tbl : h('div', { class: 'muted' }, 'no entries'),
      gone.length ? h('div', { class: 'changed' }, `entry ${gone.join(', ')} deleted`) : ''));
  }
  grid.append(dax);

  // block allocator
  const blk = h('section', { class: 'blocks' }, h('h2', {}, 'Block allocator'));
  const owners = new Map<string, string>();
  for (const [file, F] of Object.entries(st.files)) F.blocks.forEach((b, i) => { if (b >= 0) owners.set(String(b), `${file}@${i * 4096}`); });
  const byDev = new Map<string, FolioView[]>();
  for (const f of Object.values(st.folios)) {
    const dev = f.device.split(':')[0];
    if (f.block === '-') continue;
    byDev.set(dev, [...(byDev.get(dev) ?? []), f]);
  }
  for (const [dev, fs] of byDev) {
    const cells = h('div', { class: 'blockgrid' });
    for (const f of fs.sort((a, b) => a.rec - b.rec)) {
      const b = f.device.split(':')[1];
      const gen = /allocation #(\d+)/.exec(f.block);
      const free = f.block === 'free' || f.block === 'never allocated';
      const busy = free && f.holders.some((x) => x.kind === 'gup' && x.refs > 0);
      const cls = busy ? 'b-freed-busy' : free ? 'b-free' : gen && Number(gen[1]) > 1 ? 'b-reused' : 'b-used';
      const label = busy ? 'FREE but DMA-referenced' : free ? f.block : `${owners.get(b) ?? 'in use'}${gen && Number(gen[1]) > 1 ? ` (reused, allocation #${gen[1]})` : ''}`;
      cells.append(h('div', { class: `blk ${cls}${inv?.blocks.has(Number(b)) ? ' involved' : ''}`, 'data-block': b, title: f.block }, h('b', {}, `#${b}`), h('span', {}, label)));
    }
    blk.append(h('div', {}, h('div', { class: 'muted' }, dev), cells));
  }
  if (!byDev.size) blk.append(h('p', { class: 'muted' }, 'no filesystem block in the view'));
  grid.append(blk);

  // events of this step
  const meta = ran && stIdx > 0 ? st['#meta'] : undefined;
  if (meta?.events?.length) {
    const evs = meta.events.length > 40 ? [...meta.events.slice(0, 30), ...meta.events.filter((e, i) => i >= 30 && e.kind === 'warn')] : meta.events;
    const rest = meta.events.length - evs.length;
    pane.append(h('section', { class: 'events' }, h('h2', {}, 'What this step did'), h('ul', {}, ...evs.map((e) => h('li', { class: `ev-${e.kind}` }, h('span', { class: 'evfn' }, e.fn), ' ', e.text)), rest ? h('li', { class: 'muted' }, `… and ${rest} more event(s) of the same step`) : '')));
  }
  return pane;
}

function seriesOf(k: number, pfn: string): Series {
  let ser = seriesCache[k].get(pfn);
  if (!ser) seriesCache[k].set(pfn, (ser = folioSeries(traces[k], pfn)));
  return ser;
}

function renderChart(k: number, pfn: string): HTMLElement {
  const t = traces[k];
  const ser = seriesOf(k, pfn);
  const W = 360;
  const H = 120;
  const n = t.states.length;
  let max = 1;
  for (let i = 0; i < n; i++) max = Math.max(max, ser.refcount[i], ser.mapcount[i], ser.pincount[i]);
  const x = (i: number) => 30 + (i / Math.max(1, n - 1)) * (W - 40);
  const y = (v: number) => H - 18 - (v / max) * (H - 30);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  svg.append(s('line', { x1: 30, y1: y(0), x2: W - 10, y2: y(0), stroke: '#999' }));
  const label = (x0: number, y0: number, text: string, anchor = 'end') => {
    const tx = s('text', { x: x0, y: y0, 'text-anchor': anchor, 'font-size': 10 });
    tx.textContent = text;
    svg.append(tx);
  };
  for (const v of [0, max]) label(24, y(v) + 4, String(v));
  label(30, H - 4, 'step 0', 'start');
  label(W - 10, H - 4, `step ${n - 1}`);
  const stride = Math.max(1, Math.floor(n / (W * 2)));
  const line = (arr: Int32Array, color: string, dash = '') => {
    let d = '';
    let prevY: number | null = null;
    for (let i = 0; i < n; i += stride) {
      if (!ser!.present[i]) {
        prevY = null;
        continue;
      }
      const yy = y(arr[i]);
      d += prevY === null ? `M${x(i).toFixed(1)},${yy.toFixed(1)}` : `H${x(i).toFixed(1)}V${yy.toFixed(1)}`;
      prevY = yy;
    }
    const p = s('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, class: `series-${color}` });
    if (dash) p.setAttribute('stroke-dasharray', dash);
    svg.append(p);
  };
  line(ser.refcount, '#2f6fd0');
  line(ser.mapcount, '#d07a12', '5 3');
  line(ser.pincount, '#2a9a4a', '2 2');
  for (const v of violations[k]) svg.append(s('line', { x1: x(v.step), x2: x(v.step), y1: 4, y2: H - 18, stroke: '#d00', 'stroke-width': 1 }));
  const st = rows[cur][k];
  svg.append(s('line', { x1: x(st), x2: x(st), y1: 4, y2: H - 18, stroke: '#000', 'stroke-dasharray': '2 2' }));
  const f = t.states[st].folios[pfn];
  const legend = h('div', { class: 'legend' },
    h('span', { class: 'lg-rc' }, '— refcount'), ' ', h('span', { class: 'lg-mc' }, '- - mapcount'), ' ', h('span', { class: 'lg-pc' }, '·· pincount'),
    f ? ` now rc ${f.refcount}, mc ${f.mapcount}, pin ${f.pincount}` : ' (not in the view now)');
  return h('section', { class: 'chart-sec', 'data-chart': pfn }, h('h2', {}, `Folio ${pfn} over the trace`), svg, legend);
}

// ---------- banner: why threads wait, what broke ----------
function renderBanner() {
  const out: HTMLElement[] = [];
  traces.forEach((t, k) => {
    const st = t.states[rows[cur][k]];
    const pre = compare ? `${data.labels[k]}: ` : '';
    violations[k].forEach((v: TraceViolation, i) => {
      if (violationRow[k][i] > cur) return;
      const here = violationRow[k][i] === cur;
      const jump = h('button', { class: 'jump' }, `step ${violationRow[k][i]}`);
      jump.addEventListener('click', () => go(violationRow[k][i]));
      out.push(h('div', { class: `violation${here ? ' here' : ''}`, 'data-violation': v.id },
        h('b', {}, `${pre}⚠ ${v.id}`), ' broken at ', jump, v.rule ? h('div', { class: 'rule' }, `Invariant: ${v.rule}`) : h('div', { class: 'rule' }, 'Kernel WARN'), h('div', {}, v.message)));
    });
    for (const w of explainWaits(st)) {
      let where = '';
      let what = '';
      for (let i = rows[cur][k]; i > 0; i--) {
        const m = t.states[i]['#meta'];
        if (m.thread === w.thread) {
          where = ` (${m.opName}) in ${m.fn}`;
          what = m.what ? ` (${m.what})` : '';
          break;
        }
      }
      const div = h('div', { class: 'wait', 'data-thread': w.thread }, h('b', {}, `${pre}${w.thread}${where} sleeps`), `${what} on ${w.waiting}`);
      if (w.folio) {
        div.append(' = folio ', pfnLink(w.folio.pfn, st), ` (${w.folio.device}) with refcount ${w.folio.refcount}, mapcount ${w.folio.mapcount}, pincount ${w.folio.pincount}. `);
        div.append(w.holders.length ? h('span', {}, 'References held by: ', ...w.holders.flatMap((x, i) => [i ? '; ' : '', h('b', { class: `h-${x.kind}` }, x.who), ` (+${x.refs})`, origin(k, x.who)])) : h('span', {}, 'No holder listed.'));
      }
      out.push(div);
    }
  });
  bannerEl.replaceChildren(...out);
}

/** Where a GUP reference named in a holder was taken: a button to that step. */
function origin(k: number, who: string): Node | string {
  const name = /^GUP reference (\S+)/.exec(who)?.[1];
  if (!name) return '';
  const t = traces[k];
  for (let i = rows[cur][k]; i > 0; i--) {
    if (t.states[i].refs[name]?.state === 'held' && t.states[i - 1].refs[name]?.state !== 'held') {
      const m = t.states[i]['#meta'];
      const r = rawRows.findIndex((row) => row[k] === i);
      const b = h('button', { class: 'jump origin', title: `${m.fn}: ${m.what ?? ''}` }, `taken by ${m.thread}.${m.op} ${m.opName} at step ${r}`);
      b.addEventListener('click', () => go(r));
      return h('span', {}, ' ', b);
    }
  }
  return '';
}

function renderAction() {
  const parts: HTMLElement[] = [];
  traces.forEach((t, k) => {
    const st = rawRows[cur][k];
    const m = st >= 0 ? t.states[st]['#meta'] : undefined;
    const pre = compare ? h('span', { class: `kernel k${k}` }, data.labels[k]) : null;
    if (!m) parts.push(h('div', {}, pre, ' (no step: this kernel does not take it)'));
    else if (st === 0) parts.push(h('div', {}, pre, ' initial state'));
    else parts.push(h('div', {}, pre, h('b', { class: 'thread' }, m.thread ?? ''), ` ${m.thread}.${m.op} ${m.opName ?? ''}: `, h('b', { class: 'fn' }, m.fn ?? ''), ` ${m.what ?? ''}`, m.outcome === 'slept' ? h('span', { class: 'zz' }, ' [sleeps]') : ''));
  });
  actionEl.replaceChildren(...parts);
}

function defaultFolio() {
  for (let k = 0; k < traces.length; k++) {
    const st = traces[k].states[rows[cur][k]];
    const w = explainWaits(st).find((x) => x.folio);
    if (w) return w.folio!.pfn;
    const inv = activeInvolved(k, cur, st);
    if (inv?.folios.size) return [...inv.folios][0];
    const f = Object.values(st.folios).find((x) => x.holders.some((y) => y.refs > 0 && y.kind !== 'idle'));
    if (f) return f.pfn;
  }
  return Object.keys(traces[0].states[rows[cur][0]].folios)[0] ?? null;
}

function render() {
  if (!selected) selected = defaultFolio();
  slider.value = String(cur);
  stepInput.value = String(cur);
  renderAction();
  renderBanner();
  renderTimeline();
  panesEl.replaceChildren(...traces.map((_, k) => renderPane(k)));
  placeCursor();
  scrollTimeline();
  const hash = `#step=${cur}${selected ? `&folio=${encodeURIComponent(selected)}` : ''}`;
  if (location.hash !== hash) history.replaceState(null, '', hash);
  document.body.dataset.step = String(cur);
}

drawOverview();
readHash();
(window as unknown as { daxrefReady: boolean }).daxrefReady = true;
