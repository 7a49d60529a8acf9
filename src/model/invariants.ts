// Invariants checked after every atomic step. Each has a stable id and names
// the rule it mirrors (the spec's O1-O6 / N1-N9, or a kernel WARN_ON). Kernel
// WARNs themselves are reported by the step that fires them (Kernel.warn).
import type { Kernel } from './kernel.js';
import type { Layout } from './state.js';
import {
  E_ANON, E_PRESENT, E_TABLE, E_ZERO, E_SPECIAL, E_DEVMAP, G_FLAGS, G_HELD, G_GRABBING, G_LONGTERM, G_N, G_PAGES, G_PIN, G_STATE, GUP_PIN_COUNTING_BIAS,
  MAPPING_DAX_SHARED, PMD_NR, R_ENTIRE, R_GEN, R_HEAD, R_INDEX, R_LARGE, R_MAP, R_MAPPING, R_ORDER, R_PIN, R_REF, R_USERS, T_TEMPREF,
  V_PRESENT, REC_WORDS, X_EMPTY, X_PMD, X_ZERO, leafRec, xaRec, D_PGMAP_REF, R_DRV,
} from './state.js';
import { idleRefs } from './kernel/mm/memremap.js';
import { pfnOf } from './kernel.js';

export interface Violation {
  id: string;
  message: string;
}

export const INVARIANTS: { id: string; rule: string }[] = [
  { id: 'block-reuse-under-dma', rule: 'N9: a block whose page a GUP reference holds is not freed or reallocated' },
  { id: 'refcount-underflow', rule: 'page_ref_dec below 0 (VM_BUG_ON_PAGE), or below the idle 1 of an old-scheme/device-DAX page (O1)' },
  { id: 'refcount-below-mapcount', rule: 'N2: folio_ref_count >= folio_mapcount (new scheme)' },
  { id: 'mapcount-mismatch', rule: 'N3: mapcounts equal the page-table entries mapping the folio (O2: zero in the old scheme)' },
  { id: 'refcount-unaccounted', rule: 'N2/O1: refcount = idle base + mappings + GUP references + transient references + driver references' },
  { id: 'free-while-referenced', rule: 'a folio reached refcount 0 (freed) while mappings or GUP references still hold it' },
  { id: 'folio-order-mismatch', rule: 'N4: an associated folio has the order of its DAX entry (WARN in dax_associate_entry)' },
  { id: 'share-accounting', rule: 'N5/O4: mapping/index/share agree with the DAX entries that reference the folio' },
  { id: 'longterm-pin-fsdax', rule: 'N7/O3: no FOLL_LONGTERM pin on an FS-DAX folio' },
  { id: 'pgmap-ref-leak', rule: 'O6: no pgmap torn down while pages are referenced; no get_dev_pagemap left unbalanced' },
  { id: 'stale-dax-entry-at-truncate', rule: 'N6: WARN in truncate_folio_batch_exceptionals: no DAX entry left after dax_break_layout' },
  { id: 'blocked-forever', rule: 'a thread sleeps on a key no one will wake, or waits on a lock no one will release' },
  { id: 'unmount-while-dma-busy', rule: 'N9 (bug 07): a filesystem is unmounted while a page of it is DMA-busy' },
];

/** What holds references on each folio, derived from the state. */
export interface Counts {
  ptes: Int32Array; // per record: PTE mappings of the page (normal pages only)
  huge: Int32Array; // per record (head): PMD/PUD mappings
  gup: Int32Array; // per record (head): references from GUP
  pins: Int32Array; // per record (head): FOLL_PIN pages of a large folio (_pincount)
  temp: Int32Array; // per record (head): transient references of threads
}

/** Per layout and scheme: scratch counters (the checker calls countHolders for every new state, so it must not allocate) and per-record constants. */
interface Scratch extends Counts {
  assoc: Int32Array;
  owner: Int32Array;
  live: Int32Array; // records that can ever change: FS-DAX blocks below the first data block hold filesystem metadata
  base: Int32Array; // per record: the idle references of its pgmap type under this scheme
  fsdax: Uint8Array; // per record: an FS-DAX block
  unit: Uint8Array; // per record: a device-DAX alignment unit (one record stands for the whole unit)
}
const scratch = new WeakMap<object, Map<string, Scratch>>();

function scratchOf(k: Kernel): Scratch {
  let byScheme = scratch.get(k.L);
  if (!byScheme) scratch.set(k.L, (byScheme = new Map()));
  let c = byScheme.get(k.cfg.scheme);
  if (!c) {
    const L = k.L;
    const n = L.nrecs;
    const live: number[] = [];
    const base = new Int32Array(n);
    const fsdax = new Uint8Array(n);
    const unit = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      const d = L.devices[L.recDevice[r]];
      if (d.type !== 'fsdax' || L.recPfn[r] >= d.firstDataBlock) live.push(r);
      base[r] = idleRefs(d.pgmap, k.cfg.scheme);
      fsdax[r] = d.type === 'fsdax' ? 1 : 0;
      unit[r] = d.alignPages > 1 ? 1 : 0;
    }
    c = {
      ptes: new Int32Array(n), huge: new Int32Array(n), gup: new Int32Array(n), pins: new Int32Array(n), temp: new Int32Array(n),
      assoc: new Int32Array(n), owner: new Int32Array(n), live: Int32Array.from(live), base, fsdax, unit,
    };
    byScheme.set(k.cfg.scheme, c);
  }
  return c;
}

/** A present leaf mapping a device page (not a table, the zero page or an anonymous copy). */
const isLeaf = (e: number) => (e & E_PRESENT) !== 0 && (e & (E_ZERO | E_ANON | E_TABLE)) === 0;

/**
 * The state words checkInvariants reads (1 = read): records, page tables and
 * VMA presence, GUP references, transient references and DAX entries. A step
 * that writes none of them leaves every invariant as it was in its parent, so
 * the checker need not check the successor again.
 */
export function invariantWords(L: Layout): Uint8Array {
  const w = new Uint8Array(L.words);
  const mark = (from: number, n: number) => w.fill(1, from, from + n);
  mark(L.recOff, L.nrecs * REC_WORDS);
  for (const v of L.vmas) {
    const R = L.regions[v.region];
    w[v.off + V_PRESENT] = 1;
    if (R.hasPte) mark(v.pteOff, R.npages);
    if (R.hasPmd) mark(v.pmdOff, Math.ceil(R.npages / PMD_NR));
    if (R.hasPud) mark(v.pudOff, Math.ceil(R.npages / (PMD_NR * PMD_NR)));
  }
  for (const g of L.refs) mark(g.off, G_PAGES + 2 * g.maxPages);
  for (const t of L.threads) w[t.off + T_TEMPREF] = 1;
  for (const F of L.files) mark(F.xaOff, F.maxPages);
  return w;
}

/** What holds each folio's references, derived from the state, into c's counters (valid until the next call). */
function countHolders(k: Kernel, c: Scratch): Counts {
  c.ptes.fill(0);
  c.huge.fill(0);
  c.gup.fill(0);
  c.pins.fill(0);
  c.temp.fill(0);
  const m = k.m;
  const L = k.L;
  const recOff = L.recOff;
  for (const v of L.vmas) {
    if (!m[v.off + V_PRESENT]) continue;
    const R = L.regions[v.region];
    // A normal PTE (vm_insert_page: p2pmem, either scheme) holds a reference; old-scheme DAX PTEs are devmap+special.
    if (R.hasPte)
      for (let p = 0, e = 0; p < R.npages; p++) if (isLeaf((e = m[v.pteOff + p])) && !(e & (E_SPECIAL | E_DEVMAP))) c.ptes[leafRec(e)]++;
    if (k.old) continue; // old-scheme huge DAX entries are devmap: no reference
    if (R.hasPmd)
      for (let j = 0, n = Math.ceil(R.npages / PMD_NR), e = 0; j < n; j++) if (isLeaf((e = m[v.pmdOff + j]))) c.huge[leafRec(e)]++;
    if (R.hasPud)
      for (let j = 0, n = Math.ceil(R.npages / (PMD_NR * PMD_NR)), e = 0; j < n; j++) if (isLeaf((e = m[v.pudOff + j]))) c.huge[leafRec(e)]++;
  }
  for (const g of L.refs) {
    const st = m[g.off + G_STATE];
    if (st !== G_HELD && st !== G_GRABBING) continue;
    const pin = (m[g.off + G_FLAGS] & G_PIN) !== 0;
    for (let j = 0, n = m[g.off + G_N]; j < n; j++) {
      const h = m[recOff + (m[g.off + G_PAGES + 2 * j] - 1) * REC_WORDS + R_HEAD];
      const large = m[recOff + h * REC_WORDS + R_ORDER] > 0;
      c.gup[h] += pin && !large ? GUP_PIN_COUNTING_BIAS : 1;
      if (pin && large) c.pins[h]++;
    }
  }
  for (const t of L.threads) { const r = m[t.off + T_TEMPREF]; if (r) c.temp[r - 1]++; }
  return c;
}

const name = (k: Kernel, r: number) => `pfn 0x${pfnOf(k.L, r).toString(16)} (${k.L.devices[k.L.recDevice[r]].name}:${k.L.recPfn[r]})`;

export function checkInvariants(k: Kernel): Violation[] {
  const out: Violation[] = [];
  const m = k.m;
  const c = scratchOf(k);
  countHolders(k, c);
  const { live, base: idle, fsdax, unit, assoc, owner } = c;
  for (let li = 0; li < live.length; li++) {
    const r = live[li];
    const o = k.r(r);
    if (m[o + R_HEAD] !== r) continue; // tail pages are checked through their head
    const order = m[o + R_ORDER];
    const rc = m[o + R_REF];
    const base = idle[r];
    if (rc < 0 || rc < base) { out.push({ id: 'refcount-underflow', message: `${name(k, r)}: refcount ${rc} below ${base}` }); continue; }
    let ptes = 0;
    const pages = unit[r] ? 1 : 1 << order;
    for (let j = 0; j < pages; j++) {
      ptes += c.ptes[r + j];
      if (m[k.r(r + j) + R_MAP] !== c.ptes[r + j])
        out.push({ id: 'mapcount-mismatch', message: `${name(k, r + j)}: page mapcount ${m[k.r(r + j) + R_MAP]} but ${c.ptes[r + j]} PTE(s) map it` });
    }
    const mc = order > 0 ? m[o + R_LARGE] : m[o + R_MAP];
    if (order > 0 && (m[o + R_ENTIRE] !== c.huge[r] || m[o + R_LARGE] !== ptes + c.huge[r]))
      out.push({ id: 'mapcount-mismatch', message: `${name(k, r)}: entire/large mapcount ${m[o + R_ENTIRE]}/${m[o + R_LARGE]} but ${c.huge[r]} huge and ${ptes} PTE mapping(s)` });
    if (!k.old && rc < mc) out.push({ id: 'refcount-below-mapcount', message: `${name(k, r)}: refcount ${rc} < mapcount ${mc}` });
    if (order > 0 && m[o + R_PIN] !== c.pins[r]) out.push({ id: 'refcount-unaccounted', message: `${name(k, r)}: pincount ${m[o + R_PIN]} but ${c.pins[r]} pinned page(s)` });
    const drv = m[o + R_DRV];
    const expected = base + ptes + c.huge[r] + c.gup[r] + c.temp[r] + drv;
    if (rc !== expected) {
      const id = rc === 0 && base === 0 ? 'free-while-referenced' : 'refcount-unaccounted';
      out.push({ id, message: `${name(k, r)}: refcount ${rc}, but its holders account for ${expected} (base ${base}, ${ptes + c.huge[r]} mapping(s), GUP ${c.gup[r]}, transient ${c.temp[r]}, driver ${drv})` });
    }
  }
  // DAX entries vs folio association (fs/dax.c WARNs; N4, N5, O4)
  assoc.fill(0);
  owner.fill(-1);
  for (const F of k.L.files) {
    for (let i = 0; i < F.maxPages; i++) {
      const x = m[F.xaOff + i];
      if (!x || x & (X_ZERO | X_EMPTY)) continue;
      const h = xaRec(x);
      const order = x & X_PMD ? 9 : 0;
      if (!k.old && (m[k.r(h) + R_HEAD] !== h || m[k.r(h) + R_ORDER] !== order)) {
        const head = m[k.r(h) + R_HEAD];
        const what = head !== h ? `is a page of the order-${m[k.r(head) + R_ORDER]} folio at ${name(k, head)}` : `has order ${m[k.r(h) + R_ORDER]}`;
        out.push({ id: 'folio-order-mismatch', message: `${F.name}@${i * 4096}: entry of order ${order} but ${name(k, h)} ${what}` });
      }
      // old scheme: each page is associated; new: the entry's folio (dax_to_folio), which may be larger than the entry
      const pages = k.old ? 1 << order : 1;
      const at = k.old ? h : m[k.r(h) + R_HEAD];
      for (let j = 0; j < pages; j++) { assoc[at + j]++; owner[at + j] = F.id; }
    }
  }
  for (let li = 0; li < live.length; li++) {
    const r = live[li];
    if (!fsdax[r]) continue;
    const o = k.r(r);
    if (!k.old && m[o + R_HEAD] !== r) continue;
    const mapping = m[o + R_MAPPING];
    const share = m[o + R_INDEX];
    const a = assoc[r];
    const shared = k.old ? mapping === MAPPING_DAX_SHARED : mapping === 0 && share > 0;
    let ok: boolean;
    // dax_folio_put leaves an order-0 folio's index/share as it was (only mapping is cleared), so with no
    // entry left only mapping is checked
    if (a === 0) ok = k.old ? mapping === 0 || (mapping === MAPPING_DAX_SHARED && share === 0) : mapping === 0;
    else if (shared) ok = share === a;
    else ok = a === 1 && mapping === owner[r] + 1;
    if (!ok)
      out.push({ id: 'share-accounting', message: `${name(k, r)}: mapping ${mapping === MAPPING_DAX_SHARED ? 'DAX_SHARED' : mapping ? k.L.files[mapping - 1].name : 'NULL'}, share/index ${share}, but ${a} DAX entr${a === 1 ? 'y' : 'ies'} reference it` });
  }
  // GUP references: N7 and N9
  for (const g of k.L.refs) {
    const st = m[g.off + G_STATE];
    if (st !== G_HELD && st !== G_GRABBING) continue;
    for (let j = 0; j < m[g.off + G_N]; j++) {
      const r = m[g.off + G_PAGES + 2 * j] - 1;
      if (!fsdax[r]) continue;
      if (m[g.off + G_FLAGS] & G_LONGTERM) out.push({ id: 'longterm-pin-fsdax', message: `${g.name} is a FOLL_LONGTERM pin of FS-DAX ${name(k, r)}` });
      if (m[k.r(r) + R_USERS] === 0 || m[k.r(r) + R_GEN] !== m[g.off + G_PAGES + 2 * j + 1])
        out.push({ id: 'block-reuse-under-dma', message: `block ${k.L.recPfn[r]} of ${k.L.devices[k.L.recDevice[r]].name} was ${m[k.r(r) + R_USERS] ? 'reallocated' : 'freed'} while GUP reference ${g.name} still holds ${name(k, r)}: DMA can corrupt it` });
    }
  }
  return out;
}

/** Checks that only make sense when nothing more can happen. */
export function checkFinal(k: Kernel): Violation[] {
  const out: Violation[] = [];
  for (const d of k.L.devices)
    if (k.m[d.off + D_PGMAP_REF] > 0) out.push({ id: 'pgmap-ref-leak', message: `${d.name}: ${k.m[d.off + D_PGMAP_REF]} get_dev_pagemap reference(s) never put` });
  return out;
}
